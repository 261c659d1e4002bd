//! Events out of order, within one burst: an objection on the rights queue
//! racing the contact's creation on the contacts queue (either way round),
//! and older versions after a newer one in the same batch. Across batches
//! the worker tests cover the same (`rights::an_objection_before_the_contact_
//! applies_when_it_arrives`, `contacts::duplicates_and_stale_versions_change_nothing`,
//! `contacts::without_versions_occurred_at_orders`).

use std::time::Duration;

use dmumatch::pb::{self, Encoding};
use prost::Message as _;

use crate::checks::{count, wait_processed};
use crate::harness::*;
use crate::workload::{campaign, contact};

fn contact_msg(stage: &Stage, event: pb::contact_event::Event) -> Msg {
    let key = event.routing_key().to_owned();
    Msg {
        exchange: stage.config.topology.crm_exchange.clone(),
        routing_key: key,
        content_type: Some(Encoding::Protobuf.content_type().into()),
        body: Encoding::Protobuf.encode(&pb::ContactEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            occurred_at: None,
            event: Some(event),
        }),
    }
}

fn objection(id: &str) -> pb::contact_event::Event {
    pb::contact_event::Event::ContactObjected(pb::ContactObjected {
        contact_id: id.into(),
        suppression: Some(pb::Suppression {
            scope: pb::suppression_scope::Value::All as i32,
            reason: pb::suppression_reason::Value::Objection as i32,
            ..Default::default()
        }),
    })
}

fn created(c: pb::Contact) -> pb::contact_event::Event {
    pb::contact_event::Event::ContactCreated(pb::ContactCreated { contact: Some(c) })
}

fn updated(c: pb::Contact) -> pb::contact_event::Event {
    pb::contact_event::Event::ContactUpdated(pb::ContactUpdated { contact: Some(c) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_events_end_in_the_right_state() {
    // A long batch window: each burst below lands in one batch per queue.
    let mut stage = Stage::with(|c| c.batch_wait_ms = 1000).await;
    let planned = Msg {
        exchange: stage.config.topology.campaign_exchange.clone(),
        routing_key: "campaign.planned".into(),
        content_type: Some(Encoding::Protobuf.content_type().into()),
        body: Encoding::Protobuf.encode(&pb::CampaignEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            occurred_at: None,
            event: Some(pb::campaign_event::Event::CampaignPlanned(
                pb::CampaignPlanned {
                    campaign: Some(campaign("cmp-a", 1, &[])),
                },
            )),
        }),
    };
    stage.publish(&[planned]).await;
    let mut w = stage.spawn("worker", &[]);
    w.wait_ready(Duration::from_secs(60)).await;
    let db = stage.db().await;
    stage
        .wait_count(
            &db,
            "SELECT count(*) FROM campaigns WHERE active",
            1,
            Duration::from_secs(30),
        )
        .await;

    // c-1: objection first; c-2: objection after the creation; c-3: the
    // newest version first, then older ones (v3, v1, v2) in one batch.
    let newest = contact(3, 3, "or");
    let burst = vec![
        contact_msg(&stage, objection("c-1")),
        contact_msg(&stage, created(contact(1, 1, "or"))),
        contact_msg(&stage, created(contact(2, 1, "or"))),
        contact_msg(&stage, objection("c-2")),
        contact_msg(&stage, updated(newest.clone())),
        contact_msg(&stage, created(contact(3, 1, "or"))),
        contact_msg(&stage, updated(contact(3, 2, "or"))),
    ];
    stage.publish(&burst).await;
    wait_processed(&stage, &db, 1 + burst.len() as i64, Duration::from_secs(60)).await;

    let suppressed = pb::decision::Value::Suppressed as i16;
    for id in ["c-1", "c-2"] {
        let d: i16 = db
            .query_one(
                "SELECT decision FROM decisions WHERE contact_id = $1 AND campaign_id = 'cmp-a'",
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(d, suppressed, "{id} ends suppressed whatever came first");
    }
    let row = db
        .query_one(
            "SELECT version, data FROM contacts WHERE contact_id = 'c-3'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 3, "the newest version stays");
    let stored = pb::Contact::decode(row.get::<_, Vec<u8>>(1).as_slice()).unwrap();
    assert_eq!(stored.job_title, newest.job_title);
    // The older versions were counted stale and changed nothing.
    let q = stage.config.topology.contacts_queue();
    let stale = w
        .metric(
            "dmumatch_events_total",
            &[&format!("queue=\"{q}\""), "outcome=\"stale\""],
        )
        .await;
    assert_eq!(stale, 2.0, "v1 and v2 of c-3 after v3");
    // The last decision of c-3 is the one for version 3.
    let history: i64 = count(
        &db,
        "SELECT count(*) FROM decision_history WHERE contact_id = 'c-3'",
    )
    .await;
    assert_eq!(history, 1, "decided once, for version 3");
    assert_eq!(w.terminate().code(), Some(0));
    stage.cleanup().await;
}
