//! Contact events in (JSON and protobuf) → enrichment and decisions out.

use std::time::Duration;

use dmumatch::pb::{self, Encoding};
use prost::Message;

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_in_json_and_protobuf_are_enriched_and_decided() {
    let mut app = spawn_app().await;
    let cmp1 = campaign("cmp-1", 1);
    let cmp2 = campaign("cmp-2", 1);
    app.publish_campaign(&planned(cmp1.clone()), Encoding::Json)
        .await;
    app.publish_campaign(&planned(cmp2.clone()), Encoding::Protobuf)
        .await;
    // No contacts yet: two empty audiences.
    let summaries = app.recv_n(2, WAIT).await;
    for s in &summaries {
        assert_eq!(s.routing_key, "campaign.audience_evaluated");
        assert_eq!(s.summary().unwrap().total, 0);
    }

    let c1 = contact("c-1", 1);
    let c2 = contact("c-2", 1);
    app.publish_contact(&created(c1.clone()), Encoding::Json)
        .await;
    app.publish_contact(&created(c2.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(6, WAIT).await;

    let enriched: Vec<_> = got.iter().filter_map(Received::enriched).collect();
    assert_eq!(enriched.len(), 2);
    for e in &enriched {
        assert_eq!(e.contact_version, 1);
    }
    let decided: Vec<_> = got.iter().filter_map(Received::decided).collect();
    assert_eq!(decided.len(), 4);
    for (c, k) in [(&c1, &cmp1), (&c1, &cmp2), (&c2, &cmp1), (&c2, &cmp2)] {
        let d = decided
            .iter()
            .find(|d| d.contact_id == c.contact_id && d.campaign_id == k.campaign_id)
            .expect("a decision per contact x campaign");
        assert_eq!(outcome_of(d), outcome_of(&expected(c, k, as_of())));
        assert_eq!(d.decided_at, Some(as_of().into()));
        assert!(d.supersedes_decision_id.is_empty());
        let id = uuid::Uuid::parse_str(&d.decision_id).unwrap();
        assert_eq!(id.get_version_num(), 7);
    }
    // The contract's message properties.
    for r in &got {
        let p = &r.properties;
        assert_eq!(
            p.message_id().as_ref().unwrap().as_str(),
            r.event.event_id.as_str()
        );
        assert_eq!(
            p.content_type().as_ref().unwrap().as_str(),
            "application/x-protobuf"
        );
        assert_eq!(
            p.kind().as_ref().unwrap().as_str(),
            "dmumatch.v1.DecisionEvent"
        );
        assert!(p.timestamp().is_some());
        assert_eq!(*p.delivery_mode(), Some(2));
    }

    // The database: contacts without names, latest decisions, audit trail,
    // and every outbox row published.
    for row in app
        .db
        .query("SELECT data FROM contacts", &[])
        .await
        .unwrap()
    {
        let data: Vec<u8> = row.get(0);
        let c = pb::Contact::decode(data.as_slice()).unwrap();
        assert!(c.first_name.is_empty() && c.last_name.is_empty());
        assert!(!String::from_utf8_lossy(&data).contains("Jansen"));
    }
    assert_eq!(app.count("SELECT count(*) FROM decisions").await, 4);
    assert_eq!(
        app.count("SELECT count(*) FROM decision_history WHERE published")
            .await,
        4
    );
    app.wait_count("SELECT count(*) FROM outbox_pending", 0, WAIT)
        .await;
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 8);
    let rows = app
        .db
        .query("SELECT organisation_id, country FROM organisations", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(1), "NL");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_can_be_published_as_json() {
    let mut app = spawn_app_with(|s| s.config.output_encoding = Encoding::Json).await;
    app.publish_campaign(&planned(campaign("cmp-1", 1)), Encoding::Json)
        .await;
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Json)
        .await;
    let got = app.recv_n(3, WAIT).await;
    for r in &got {
        assert_eq!(
            r.properties.content_type().as_ref().unwrap().as_str(),
            "application/json"
        );
    }
    assert_eq!(got.iter().filter_map(Received::decided).count(), 1);
    // The stored payload is the canonical JSON mapping.
    let payload: Vec<u8> = app
        .db
        .query_one(
            "SELECT payload FROM outbox WHERE routing_key = 'eligibility.decided'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(v["eligibilityDecided"]["contactId"], "c-1");
    app.cleanup().await;
}

/// The purge deletes the outbox rows of receipts older than the retention, and
/// never a row still waiting to be published, however old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_deletes_published_rows_by_their_receipt_and_keeps_pending_ones() {
    let mut app = spawn_app().await;
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;
    app.wait_count("SELECT count(*) FROM outbox_pending", 0, WAIT)
        .await;
    // A row that is to be retried in an hour, created long ago.
    app.db
        .batch_execute(
            "BEGIN; \
             INSERT INTO outbox (event_id, aggregate_type, aggregate_id, routing_key, type, \
                 content_type, payload, created_at) \
             VALUES (gen_random_uuid(), 'contact', 'c-2', 'contact.enriched', 'x', 'x', '', \
                 now() - interval '3 days'); \
             UPDATE outbox_pending SET retry_at = now() + interval '1 hour'; \
             COMMIT",
        )
        .await
        .unwrap();
    let pool = dmumatch::db::pool(&app.config.connections).unwrap();
    let client = pool.get().await.unwrap();
    let purge = || dmumatch::db::store::purge(&client, 3600.0, 1e9);
    assert_eq!(purge().await.unwrap().0, 0, "published a moment ago");
    app.db
        .execute(
            "UPDATE outbox_published SET published_at = published_at - interval '2 hours'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(purge().await.unwrap().0, 1, "the contactEnriched of c-1");
    assert_eq!(app.count("SELECT count(*) FROM outbox_published").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox JOIN outbox_pending USING (id)")
            .await,
        1,
        "the pending row stays"
    );
    assert_eq!(purge().await.unwrap().0, 0);
    drop(client);
    app.cleanup().await;
}

/// Queue entries whose outbox row is gone (triggers disabled, a data-only
/// restore) come first in the claim's order; more than a relay window of them
/// must not hold up the rows behind. TRUNCATE takes the queue along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_entries_without_their_row_do_not_hold_up_the_relay() {
    let mut app = spawn_app().await;
    app.db
        .execute(
            "INSERT INTO outbox_pending (id) SELECT g FROM generate_series(-2500, -1) AS g",
            &[],
        )
        .await
        .unwrap();
    app.publish_contact(&created(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    let got = app.recv_n(1, WAIT).await;
    assert!(got[0].enriched().is_some());
    app.wait_count("SELECT count(*) FROM outbox_pending", 0, WAIT)
        .await;
    app.db
        .batch_execute(
            "INSERT INTO outbox_pending (id) VALUES (-1); \
             TRUNCATE outbox",
        )
        .await
        .unwrap();
    assert_eq!(app.count("SELECT count(*) FROM outbox_pending").await, 0);
    app.cleanup().await;
}

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for sql in [
        "SELECT count(*) FROM decision_history",
        "SELECT count(*) FROM outbox",
        "SELECT count(*) FROM decisions",
        "SELECT version FROM contacts WHERE contact_id = 'c-1'",
    ] {
        out.push(app.db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_and_stale_versions_change_nothing() {
    let mut app = spawn_app().await;
    let cmp = campaign("cmp-1", 1);
    app.publish_campaign(&planned(cmp.clone()), Encoding::Protobuf)
        .await;
    app.recv_n(1, WAIT).await;

    let v2 = contact("c-1", 2);
    let first = created(v2.clone());
    app.publish_contact(&first, Encoding::Protobuf).await;
    app.recv_n(2, WAIT).await; // enriched + decided

    let before = snapshot(&app).await;

    // The same event again (a redelivery or a duplicate publish).
    app.publish_contact(&first, Encoding::Json).await;
    // An older version, and the same version under a new event id.
    app.publish_contact(&updated(contact("c-1", 1)), Encoding::Protobuf)
        .await;
    let mut same = contact("c-1", 2);
    same.job_title = "Stagiair".into();
    app.publish_contact(&updated(same), Encoding::Protobuf)
        .await;

    app.wait_count(
        "SELECT count(*) FROM inbox WHERE queue LIKE '%.contacts'",
        3,
        WAIT,
    )
    .await;
    let late = app.quiet(Duration::from_millis(1500)).await;
    assert!(late.is_empty(), "nothing is published: {late:?}");
    assert_eq!(snapshot(&app).await, before);
    let metrics = app.metrics().await;
    let q = app.contacts_queue();
    assert!(
        metrics.contains(&format!(
            "dmumatch_events_total{{queue=\"{q}\",type=\"contact.created\",outcome=\"duplicate\"}} 1"
        )),
        "{metrics}"
    );
    assert!(metrics.contains(&format!(
        "dmumatch_events_total{{queue=\"{q}\",type=\"contact.updated\",outcome=\"stale\"}} 2"
    )));

    // A newer version is taken: enriched again, decided again, and published
    // only if the outcome changed.
    let mut v3 = contact("c-1", 3);
    v3.job_title = "Medewerker inkoop".into();
    app.publish_contact(&updated(v3.clone()), Encoding::Protobuf)
        .await;
    let got = app.recv_n(1, WAIT).await;
    assert_eq!(got[0].enriched().unwrap().contact_version, 3);
    let changed = !same_outcome(&expected(&v2, &cmp, as_of()), &expected(&v3, &cmp, as_of()));
    let more = app.quiet(Duration::from_millis(1500)).await;
    assert_eq!(more.len(), usize::from(changed), "{more:?}");
    app.wait_count(
        "SELECT count(*) FROM contacts WHERE contact_id = 'c-1' AND version = 3",
        1,
        WAIT,
    )
    .await;
    app.cleanup().await;
}

/// A contact's stored version and job title.
async fn stored(app: &TestApp, id: &str) -> (i64, String) {
    let row = app
        .db
        .query_one(
            "SELECT version, data FROM contacts WHERE contact_id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let data: Vec<u8> = row.get(1);
    (
        row.get(0),
        pb::Contact::decode(data.as_slice()).unwrap().job_title,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_versions_occurred_at_orders() {
    let mut app = spawn_app().await;
    let newer = {
        let mut e = created(contact("c-1", 0));
        e.occurred_at = Some(pb::Timestamp {
            seconds: 2_000_000_000,
            nanos: 0,
        });
        e
    };
    let older = {
        let mut c = contact("c-1", 0);
        c.job_title = "CEO".into();
        let mut e = updated(c);
        e.occurred_at = Some(pb::Timestamp {
            seconds: 1_900_000_000,
            nanos: 0,
        });
        e
    };
    app.publish_contact(&newer, Encoding::Protobuf).await;
    app.recv_n(1, WAIT).await; // enriched
    app.publish_contact(&older, Encoding::Protobuf).await;
    app.wait_count("SELECT count(*) FROM inbox", 2, WAIT).await;
    assert!(app.quiet(Duration::from_millis(1000)).await.is_empty());
    assert_eq!(stored(&app, "c-1").await, (0, "Hoofd ICT".to_owned()));

    // Neither a version nor a time: arrival orders, so each update applies
    // (it once froze the contact after its first event).
    for (i, title) in ["CEO", "Medewerker inkoop"].into_iter().enumerate() {
        let mut c = contact("c-1", 0);
        c.job_title = title.into();
        let mut e = updated(c);
        e.occurred_at = None;
        app.publish_contact(&e, Encoding::Protobuf).await;
        // Enriched again: the title changed its function and seniority.
        assert!(app.recv_n(1, WAIT).await[0].enriched().is_some(), "{i}");
        assert_eq!(stored(&app, "c-1").await, (0, title.to_owned()));
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_without_a_version_is_ordered_by_time_against_a_versioned_one() {
    let mut app = spawn_app().await;
    let at = |seconds| Some(pb::Timestamp { seconds, nanos: 0 });
    let mut v5 = created(contact("c-1", 5));
    v5.occurred_at = at(1_900_000_000);
    app.publish_contact(&v5, Encoding::Protobuf).await;
    app.recv_n(1, WAIT).await; // enriched

    // Older than v5's time: stale. Later: applies, and the version stays 5,
    // so a late v4 is still stale after it.
    let mut earlier = contact("c-1", 0);
    earlier.job_title = "CEO".into();
    let mut earlier = updated(earlier);
    earlier.occurred_at = at(1_800_000_000);
    let mut later = contact("c-1", 0);
    later.job_title = "Medewerker inkoop".into();
    let mut later = updated(later);
    later.occurred_at = at(2_000_000_000);
    let v4 = updated(contact("c-1", 4));
    for e in [&earlier, &later, &v4] {
        app.publish_contact(e, Encoding::Protobuf).await;
    }
    app.wait_count("SELECT count(*) FROM inbox", 4, WAIT).await;
    assert_eq!(
        stored(&app, "c-1").await,
        (5, "Medewerker inkoop".to_owned())
    );
    let metrics = app.metrics().await;
    let q = app.contacts_queue();
    assert!(
        metrics.contains(&format!(
            "dmumatch_events_total{{queue=\"{q}\",type=\"contact.updated\",outcome=\"stale\"}} 2"
        )),
        "{metrics}"
    );
    app.cleanup().await;
}
