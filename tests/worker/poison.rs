//! Poison messages go to the DLQ with the reason, and the worker goes on.

use std::time::Duration;

use dmumatch::pb::{self, Encoding};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_goes_to_the_dlq_with_its_reason_and_the_worker_goes_on() {
    let mut app = spawn_app_with(|s| s.config.max_message_bytes = 2048).await;
    let crm = app.config.topology.crm_exchange.clone();
    let cmp = app.config.topology.campaign_exchange.clone();
    let pbuf = Some("application/x-protobuf");
    let json = Some("application/json");

    let mut unknown_enum = contact("c-x", 1);
    unknown_enum.relationship = 99;
    let mut missing_id = contact("", 1);
    missing_id.email = "x@y.nl".into();
    let mut no_case = created(contact("c-y", 1));
    no_case.event = None;
    let mut big = contact("c-big", 1);
    big.job_title = "x".repeat(4000);
    // (exchange, routing key, content type, body, expected error kind)
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            &crm,
            "contact.created",
            json,
            b"{not json".to_vec(),
            "decode",
        ),
        (
            &crm,
            "contact.created",
            pbuf,
            vec![0xff, 0xff, 0xff, 0x0f],
            "decode",
        ),
        (
            &crm,
            "contact.created",
            pbuf,
            encode(&created(unknown_enum)),
            "invalid",
        ),
        (
            &crm,
            "contact.updated",
            json,
            Encoding::Json.encode(&updated(missing_id)),
            "invalid",
        ),
        (&crm, "contact.created", pbuf, encode(&no_case), "invalid"),
        (
            &crm,
            "contact.created",
            Some("text/plain"),
            b"hello".to_vec(),
            "content_type",
        ),
        (
            &crm,
            "contact.created",
            pbuf,
            encode(&created(big)),
            "oversize",
        ),
        (
            &crm,
            "contact.objected",
            json,
            br#"{"eventId":"e","contactObjected":{"contactId":"c"}}"#.to_vec(),
            "invalid",
        ),
        (
            &cmp,
            "campaign.planned",
            json,
            br#"{"eventId":"e","campaignPlanned":{}}"#.to_vec(),
            "invalid",
        ),
        // A function id the taxonomy does not have would target nobody, silently.
        (
            &cmp,
            "campaign.updated",
            json,
            br#"{"eventId":"e3","campaignUpdated":{"campaign":{"campaignId":"c","channel":"EMAIL","dmuProfile":{"owningFunctions":["IT"]}}}}"#.to_vec(),
            "invalid",
        ),
    ];
    for (exchange, key, ct, body, _) in &cases {
        app.publish_raw(exchange, key, *ct, body).await;
    }
    // The worker goes on.
    app.publish_contact(&created(contact("c-ok", 1)), Encoding::Protobuf)
        .await;
    let got = app.recv_n(1, WAIT).await;
    assert_eq!(got[0].enriched().unwrap().contact_id, "c-ok");

    let mut letters = Vec::new();
    for q in [
        app.contacts_queue(),
        app.rights_queue(),
        app.campaigns_queue(),
    ] {
        let dlq = dmumatch::config::Topology::dead_letter_queue(&q);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let want = cases
                .iter()
                .filter(|c| {
                    let routed_to_rights = c.1 == "contact.objected";
                    let routed_to_campaigns = c.1.starts_with("campaign.");
                    (q == app.rights_queue()) == routed_to_rights
                        && (q == app.campaigns_queue()) == routed_to_campaigns
                })
                .count();
            if app.queue_len(&dlq).await as usize >= want {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{dlq} short");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for m in app.drain_queue(&dlq).await {
            letters.push((q.clone(), m));
        }
    }
    assert_eq!(letters.len(), cases.len());
    for (exchange, key, ct, body, kind) in &cases {
        let (queue, m) = letters
            .iter()
            .find(|(_, m)| m.delivery.data == *body)
            .unwrap_or_else(|| panic!("{kind} not in a DLQ"));
        let p = &m.delivery.properties;
        assert_eq!(header(p, "x-dmumatch-error-kind").as_deref(), Some(*kind));
        assert!(!header(p, "x-dmumatch-error").unwrap().is_empty());
        assert_eq!(header(p, "x-original-exchange").as_deref(), Some(*exchange));
        assert_eq!(header(p, "x-original-routing-key").as_deref(), Some(*key));
        assert_eq!(
            p.content_type().as_ref().map(|c| c.as_str()),
            *ct,
            "original properties kept"
        );
        assert!(p.message_id().is_some());
        let metrics = app.metrics().await;
        assert!(
            metrics.contains(&format!(
                "dmumatch_dead_lettered_total{{queue=\"{queue}\",kind=\"{kind}\"}}"
            )),
            "{metrics}"
        );
    }
    // The reason names what is wrong.
    let (_, m) = letters
        .iter()
        .find(|(_, m)| String::from_utf8_lossy(&m.delivery.data).contains("\"IT\""))
        .expect("dead-lettered");
    let error = header(&m.delivery.properties, "x-dmumatch-error").unwrap();
    assert!(
        error.contains("owningFunctions has unknown function \"IT\""),
        "{error}"
    );
    // Poison is acknowledged on the input queues: nothing is left there.
    for q in [
        app.contacts_queue(),
        app.rights_queue(),
        app.campaigns_queue(),
    ] {
        assert_eq!(app.queue_len(&q).await, 0);
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_database_rejects_is_isolated_from_its_batch() {
    // A long batch window, so the burst below lands in one batch.
    let mut app = spawn_app_with(|s| s.config.batch_wait_ms = 500).await;
    let crm = app.config.topology.crm_exchange.clone();
    let bad = created(contact("c-\u{0}-nul", 1)); // PostgreSQL text refuses NUL
    let mut messages = Vec::new();
    for i in 0..5 {
        let e = if i == 2 {
            bad.clone()
        } else {
            created(contact(&format!("c-{i}"), 1))
        };
        messages.push((
            crm.clone(),
            "contact.created".to_owned(),
            Encoding::Protobuf.encode(&e),
            Encoding::Protobuf,
        ));
    }
    app.publish_many(messages).await;
    let got = app.recv_n(4, WAIT).await;
    let mut ids: Vec<String> = got
        .iter()
        .map(|r| r.enriched().unwrap().contact_id.clone())
        .collect();
    ids.sort();
    assert_eq!(ids, ["c-0", "c-1", "c-3", "c-4"]);
    let dlq = dmumatch::config::Topology::dead_letter_queue(&app.contacts_queue());
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.queue_len(&dlq).await < 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let letters = app.drain_queue(&dlq).await;
    assert_eq!(letters.len(), 1);
    let p = &letters[0].delivery.properties;
    assert_eq!(
        header(p, "x-dmumatch-error-kind").as_deref(),
        Some("database")
    );
    let reason = header(p, "x-dmumatch-error").unwrap();
    assert!(reason.contains("22021"), "{reason}");
    let event: pb::ContactEvent =
        pb::decode(Some("application/x-protobuf"), &letters[0].delivery.data).unwrap();
    assert_eq!(event.event_id, bad.event_id);
    // It was one batch of five, retried message by message.
    let metrics = app.metrics().await;
    let q = app.contacts_queue();
    assert!(
        metrics.contains(&format!("dmumatch_batch_size_sum{{queue=\"{q}\"}} 5")),
        "{metrics}"
    );
    app.cleanup().await;
}

/// A per-message TTL is not carried into the DLQ: the copy would expire
/// there after the original was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_does_not_expire_with_its_original() {
    let app = spawn_app().await;
    let crm = app.config.topology.crm_exchange.clone();
    let props = lapin::BasicProperties::default()
        .with_delivery_mode(2)
        .with_content_type("text/plain".into())
        .with_message_id("m-ttl".into())
        .with_expiration("60000".into());
    app.publish_raw_with(&crm, "contact.created", props, b"hello")
        .await;
    let dlq = dmumatch::config::Topology::dead_letter_queue(&app.contacts_queue());
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.queue_len(&dlq).await < 1 {
        assert!(tokio::time::Instant::now() < deadline, "{dlq} empty");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let letters = app.drain_queue(&dlq).await;
    assert_eq!(letters.len(), 1);
    let p = &letters[0].delivery.properties;
    assert_eq!(p.expiration(), &None);
    assert_eq!(header(p, "x-original-expiration").as_deref(), Some("60000"));
    assert_eq!(
        header(p, "x-dmumatch-error-kind").as_deref(),
        Some("content_type")
    );
    // Every other property is kept.
    assert_eq!(p.message_id().as_ref().map(|m| m.as_str()), Some("m-ttl"));
    assert_eq!(
        p.content_type().as_ref().map(|c| c.as_str()),
        Some("text/plain")
    );
    app.cleanup().await;
}
