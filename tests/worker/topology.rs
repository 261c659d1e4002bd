//! The broker topology: idempotent, dead-lettering into the DLQs.

use std::time::Duration;

use dmumatch::amqp::topology;
use dmumatch::config::{Topology, WorkerConfig};
use lapin::{
    BasicProperties, Connection, ConnectionProperties,
    options::{BasicGetOptions, BasicPublishOptions, BasicRejectOptions},
};

use crate::helpers::{AMQP_URL, Cleanup};

/// Fresh names, removed again when the guard drops (also on failure).
fn names(delivery_limit: u32) -> (Topology, Cleanup) {
    let prefix = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let mut config = WorkerConfig::from_env();
    let t = &mut config.topology;
    t.crm_exchange = format!("{prefix}.crm.events");
    t.campaign_exchange = format!("{prefix}.campaign.events");
    t.decisions_exchange = format!("{prefix}.dmu.decisions");
    t.queue_prefix = prefix.clone();
    t.delivery_limit = delivery_limit;
    let t = t.clone();
    (t, Cleanup { config, db: prefix })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declaration_is_idempotent_and_rejected_messages_reach_the_dlq() {
    let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let (t, _cleanup) = names(2);
    let first = topology::declare(&conn, &t).await.unwrap();
    // RabbitMQ 3.10+ with the stream_queue feature flag (this machine's).
    assert!(first.at_least_once);
    assert_eq!(topology::declare(&conn, &t).await.unwrap(), first);

    let ch = conn.create_channel().await.unwrap();
    let queue = t.contacts_queue();
    let dlq = Topology::dead_letter_queue(&queue);
    for body in [&b"rejected"[..], b"redelivered"] {
        ch.basic_publish(
            t.crm_exchange.as_str().into(),
            "contact.created".into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let n = ch
            .queue_declare(
                queue.as_str().into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                Default::default(),
            )
            .await
            .unwrap()
            .message_count();
        if n == 2 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One rejected outright; one redelivered past the delivery limit (2).
    let get = |q: String| {
        let ch = ch.clone();
        async move {
            ch.basic_get(q.as_str().into(), BasicGetOptions { no_ack: false })
                .await
                .unwrap()
        }
    };
    let mut rejected = false;
    loop {
        assert!(tokio::time::Instant::now() < deadline);
        let Some(m) = get(queue.clone()).await else {
            break;
        };
        let requeue = m.delivery.data != b"rejected" || rejected;
        rejected |= !requeue;
        m.delivery
            .reject(BasicRejectOptions { requeue })
            .await
            .unwrap();
    }
    let mut letters = Vec::new();
    while letters.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "{letters:?}");
        match get(dlq.clone()).await {
            Some(m) => letters.push(m.delivery.data.clone()),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    letters.sort();
    assert_eq!(letters, [b"redelivered".to_vec(), b"rejected".to_vec()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_declared_otherwise_is_kept_as_it_is() {
    let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let (t, _cleanup) = names(5);
    // An operator's classic queue, without our arguments.
    let ch = conn.create_channel().await.unwrap();
    ch.queue_declare(
        t.contacts_queue().as_str().into(),
        lapin::options::QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        Default::default(),
    )
    .await
    .unwrap();
    let declared = topology::declare(&conn, &t).await.unwrap();
    assert!(!declared.at_least_once);
    // Everything else is there, and the connection is usable.
    let ch = conn.create_channel().await.unwrap();
    for q in [
        t.rights_queue(),
        t.campaigns_queue(),
        Topology::dead_letter_queue(&t.contacts_queue()),
    ] {
        ch.queue_declare(
            q.as_str().into(),
            lapin::options::QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    }
}
