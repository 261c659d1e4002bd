//! Poison input the worker sets apart (each kind in the DLQ with its reason
//! and counted), and `dmumatch dlq list|replay` on it.

use std::process::Command;
use std::time::Duration;

use dmumatch::config::Topology;
use dmumatch::pb::{self, Encoding};
use lapin::{options::*, types::FieldTable};

use crate::checks::count;
use crate::harness::*;
use crate::workload::contact;

fn dlq_cmd(stage: &Stage, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("dlq")
        .args(args)
        .env_clear()
        .env("AMQP_URL", AMQP_URL)
        .env("DMUMATCH_QUEUE_PREFIX", &stage.config.topology.queue_prefix)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn created(i: usize, tag: &str) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: uuid::Uuid::new_v4().to_string(),
        occurred_at: None,
        event: Some(pb::contact_event::Event::ContactCreated(
            pb::ContactCreated {
                contact: Some(contact(i, 1, tag)),
            },
        )),
    }
}

async fn wait_len(stage: &mut Stage, queue: &str, want: u32) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = stage.queue_len(queue).await;
        if n == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{queue}: {n}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_listed_and_replayed_and_the_worker_goes_on() {
    let mut stage = Stage::new().await;
    let crm = stage.config.topology.crm_exchange.clone();
    let contacts_dlq = Topology::dead_letter_queue(&stage.config.topology.contacts_queue());
    let msg = |key: &str, ct: Option<&str>, body: Vec<u8>| Msg {
        exchange: crm.clone(),
        routing_key: key.into(),
        content_type: ct.map(str::to_owned),
        body,
    };
    // Too large for the first worker (500 bytes), fine for the second.
    let big = created(1, "dl");
    let big_body = Encoding::Json.encode(&big);
    assert!(big_body.len() > 500, "{}", big_body.len());
    let good = created(2, "dl");
    // (message, kind the worker gives it)
    let poison = vec![
        (msg("contact.created", Some("application/json"), big_body.clone()), "oversize"),
        (
            msg(
                "contact.created",
                Some("application/json"),
                br#"{"eventId":"e-enum","contactCreated":{"contact":{"contactId":"c","relationship":"FRIEND"}}}"#.to_vec(),
            ),
            "decode",
        ),
        (
            msg(
                "contact.updated",
                Some("application/json"),
                Encoding::Protobuf.encode(&good), // protobuf sent as JSON
            ),
            "decode",
        ),
        (msg("contact.created", Some("application/xml"), b"<contact/>".to_vec()), "content_type"),
        (
            msg(
                "contact.created",
                Some("application/json"),
                br#"{"eventId":"e-noid","contactCreated":{"contact":{"email":"x@y.example"}}}"#.to_vec(),
            ),
            "invalid",
        ),
    ];
    let mut all: Vec<Msg> = poison.iter().map(|(m, _)| m.clone()).collect();
    all.push(msg(
        "contact.created",
        Some("application/x-protobuf"),
        Encoding::Protobuf.encode(&good),
    ));
    stage.publish(&all).await;

    let mut w = stage.spawn("small", &[("DMUMATCH_MAX_MESSAGE_BYTES", "500")]);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM contacts WHERE contact_id = 'c-2'",
            1,
            Duration::from_secs(60),
        )
        .await;
    wait_len(&mut stage, &contacts_dlq, poison.len() as u32).await;
    for kind in ["oversize", "decode", "content_type", "invalid"] {
        let want = poison.iter().filter(|(_, k)| *k == kind).count() as f64;
        let got = w
            .metric(
                "dmumatch_dead_lettered_total",
                &[&format!("kind=\"{kind}\"")],
            )
            .await;
        assert_eq!(got, want, "dead-lettered as {kind}");
    }
    assert_eq!(w.terminate().code(), Some(0));

    // list: every dead letter with its reason, and all of them still there.
    for _ in 0..2 {
        let (code, out, err) = dlq_cmd(&stage, &["list"]);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<Vec<&str>> = out
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        assert_eq!(rows.len(), poison.len(), "{out}");
        for (m, kind) in &poison {
            let row = rows
                .iter()
                .find(|r| r[5].starts_with(&format!("{kind}:")) && r[3] == m.routing_key)
                .unwrap_or_else(|| panic!("{kind} {} not listed:\n{out}", m.routing_key));
            assert_eq!(row[0], contacts_dlq);
            assert_eq!(row[2], crm);
            assert!(!row[1].is_empty(), "an event id (the message id)");
        }
        assert!(
            err.contains(&format!(
                "{contacts_dlq}: {} shown of {}",
                poison.len(),
                poison.len()
            )),
            "{err}"
        );
        // List consumes nothing: every letter comes back. A quorum queue takes
        // the requeue asynchronously, after the command has exited (CI once
        // read 1 of 5 right away), so wait for it.
        wait_len(&mut stage, &contacts_dlq, poison.len() as u32).await;
    }
    let (_, out, _) = dlq_cmd(
        &stage,
        &[
            "list",
            "--queue",
            &stage.config.topology.contacts_queue(),
            "--count",
            "2",
        ],
    );
    assert_eq!(out.lines().count(), 3, "--count 2:\n{out}");

    // A spy on the input exchange sees what replay publishes.
    let spy = format!("{}.spy", stage.prefix);
    {
        let ch = stage.amqp().await.create_channel().await.unwrap();
        ch.queue_declare(
            spy.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
        ch.queue_bind(
            spy.as_str().into(),
            crm.as_str().into(),
            "contact.*".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    }
    let letters_before: Vec<_> = {
        let (_, out, _) = dlq_cmd(&stage, &["list"]);
        out.lines()
            .skip(1)
            .map(|l| l.split('\t').nth(1).unwrap().to_owned())
            .collect()
    };
    let (code, out, err) = dlq_cmd(&stage, &["replay"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains(&format!("{} replayed, 0 kept", poison.len())),
        "{err}"
    );
    assert_eq!(
        stage.queue_len(&contacts_dlq).await,
        0,
        "acked after the confirm"
    );
    let ch = stage.amqp().await.create_channel().await.unwrap();
    let mut seen = Vec::new();
    while let Some(m) = ch
        .basic_get(spy.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let p = &m.delivery.properties;
        let headers = p.headers().clone().unwrap_or_default();
        for h in dmumatch::cli::dlq::ERROR_HEADERS {
            assert!(!headers.contains_key(h), "{h} kept on replay");
        }
        seen.push(p.message_id().as_ref().unwrap().to_string());
    }
    seen.sort();
    let mut want = letters_before;
    want.sort();
    assert_eq!(seen, want, "replayed under the same message ids");

    // With the default limit the large one goes through; the rest are
    // still poison and come back to the DLQ.
    let mut w = stage.spawn("default", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM contacts WHERE contact_id = 'c-1'",
            1,
            Duration::from_secs(60),
        )
        .await;
    wait_len(&mut stage, &contacts_dlq, poison.len() as u32 - 1).await;
    assert_eq!(count(&db, "SELECT count(*) FROM inbox").await, 2);
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
