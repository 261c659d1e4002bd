//! Publishing with confirms, against the real broker.

use std::time::Duration;

use dmumatch::amqp::publish::{Confirm, Outgoing, publish_confirmed};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{
        ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
        QueueDeclareOptions, QueueDeleteOptions,
    },
    types::FieldTable,
};

use crate::helpers::AMQP_URL;

/// A connection, a fresh topic exchange, a channel to declare and delete
/// with, and a confirm-mode channel to publish on.
struct Broker {
    conn: Connection,
    admin: Channel,
    confirms: Channel,
    exchange: String,
}

impl Broker {
    async fn new() -> Broker {
        let conn = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .unwrap();
        let exchange = format!(
            "t{}.publish",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let admin = conn.create_channel().await.unwrap();
        admin
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let confirms = conn.create_channel().await.unwrap();
        confirms
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        Broker {
            conn,
            admin,
            confirms,
            exchange,
        }
    }

    /// Deletes the exchange (and `queue`, if any) and closes the connection.
    async fn remove(self, queue: Option<&str>) {
        if let Some(queue) = queue {
            self.admin
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await
                .unwrap();
        }
        self.admin
            .exchange_delete(
                self.exchange.as_str().into(),
                ExchangeDeleteOptions::default(),
            )
            .await
            .unwrap();
        let _ = self.conn.close(200, "bye".into()).await;
    }
}

/// The relay marks a row published only if its confirm arrived. A channel
/// error in the middle of a burst must not throw away the confirms that
/// came before it, or those rows would be published a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirms_received_before_a_channel_error_are_kept() {
    let broker = Broker::new().await;
    let exchange = broker.exchange.clone();

    // Nothing is bound, so the broker returns and confirms the first three
    // at once, in order, before it reaches the fourth: an exchange that does
    // not exist closes the channel (404 NOT_FOUND).
    let missing = format!("{exchange}.missing");
    let targets = [&exchange, &exchange, &exchange, &missing, &exchange];
    let messages = targets
        .iter()
        .map(|x| Outgoing {
            exchange: x.as_str(),
            routing_key: "eligibility.decided",
            payload: b"{}",
            properties: BasicProperties::default(),
        })
        .collect();
    let sent = publish_confirmed(&broker.confirms, messages, Duration::from_secs(10)).await;
    broker.remove(None).await;

    let error = sent.error.expect("the channel error is reported");
    assert!(error.to_string().contains("NOT_FOUND"), "{error}");
    for (i, c) in sent.confirms[..3].iter().enumerate() {
        assert!(
            matches!(
                c,
                Confirm::Returned {
                    reply_code: 312,
                    ..
                }
            ),
            "message {i}: {c:?}"
        );
    }
    assert!(
        sent.confirms[3..].iter().all(|c| *c == Confirm::Timeout),
        "{:?}",
        sent.confirms
    );
}

/// lapin attaches a returned message to whichever confirm it completes next,
/// and completes the tags of a `multiple` ack in hash order, so in a burst
/// that mixes routable and unroutable messages the return can land on the
/// wrong one. The relay would then mark an unroutable row published (lost)
/// and publish a routable one again. Returns are matched by `message_id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_return_is_reported_for_its_own_message() {
    let broker = Broker::new().await;
    let exchange = broker.exchange.clone();
    let queue = format!("{exchange}.bound");
    broker
        .admin
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    broker
        .admin
        .queue_bind(
            queue.as_str().into(),
            exchange.as_str().into(),
            "bound".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();

    // Runs of routable and unroutable messages, so that the broker's
    // coalesced acks cover both kinds.
    let unroutable = |i: usize| (i / 3) % 2 == 1;
    let n = 600;
    let messages = (0..n)
        .map(|i| Outgoing {
            exchange: exchange.as_str(),
            routing_key: if unroutable(i) { "unbound" } else { "bound" },
            payload: b"{}",
            properties: BasicProperties::default()
                .with_message_id(format!("m{i}").into())
                .with_delivery_mode(2),
        })
        .collect();
    let sent = publish_confirmed(&broker.confirms, messages, Duration::from_secs(30)).await;
    broker.remove(Some(&queue)).await;

    assert!(sent.error.is_none(), "{:?}", sent.error);
    let wrong: Vec<String> = sent
        .confirms
        .iter()
        .enumerate()
        .filter(|(i, c)| unroutable(*i) != matches!(c, Confirm::Returned { .. }))
        .map(|(i, c)| {
            format!(
                "m{i} ({}): {}",
                if unroutable(i) {
                    "unroutable"
                } else {
                    "routable"
                },
                c.label()
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {n} wrong: {wrong:?}", wrong.len());
}

/// End to end: while no queue is bound for decisions, the relay's passes
/// mix routable `contact.enriched` rows with returned `eligibility.decided`
/// ones. Each enrichment arrives once; each decision comes back, waits, and
/// arrives once as soon as a queue is bound. (With the returns attributed
/// as lapin reports them, some enrichments arrived twice and some decisions
/// were marked published without having reached any queue.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_nobody_receives_are_retried_until_a_queue_is_bound() {
    use crate::helpers::{campaign, contact, created, metric_value, planned, spawn_app_with};
    use dmumatch::pb::Encoding;
    use std::collections::HashMap;

    const WAIT: Duration = Duration::from_secs(60);
    let mut app = spawn_app_with(|s| s.bind = "contact.#").await;
    app.publish_campaign(&planned(campaign("cmp-1", 1)), Encoding::Protobuf)
        .await;
    let n = 300;
    for i in 0..n {
        app.publish_contact(&created(contact(&format!("c-{i}"), 1)), Encoding::Protobuf)
            .await;
    }
    let first = app.recv_n(n, WAIT).await;
    assert!(first.iter().all(|r| r.enriched().is_some()));
    let metrics = app.metrics().await;
    let returned = metric_value(
        &metrics,
        "dmumatch_published_total",
        &["result=\"returned\""],
    );
    assert!(returned >= 1.0, "nothing came back: {returned}");
    // What came back waits in the queue with a backoff that grows with each
    // attempt, and no row is ever without either a queue entry or a receipt.
    app.wait_count(
        "SELECT count(*) FROM outbox_pending WHERE attempts >= 2 AND retry_at IS NOT NULL",
        i64::try_from(n + 1).unwrap(),
        WAIT,
    )
    .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM outbox o \
             WHERE NOT EXISTS (SELECT 1 FROM outbox_pending p WHERE p.id = o.id) \
               AND NOT EXISTS (SELECT 1 FROM outbox_published r WHERE o.id = ANY(r.ids))"
        )
        .await,
        0,
        "outbox rows neither queued nor published"
    );

    app.bind("eligibility.#").await;
    app.bind("campaign.#").await;
    let mut rest = app.recv_n(n + 1, WAIT).await;
    rest.extend(app.quiet(Duration::from_secs(3)).await);
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in first.iter().chain(&rest) {
        let id = r.properties.message_id().as_ref().unwrap().to_string();
        *copies.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = copies.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(rest.iter().filter(|r| r.decided().is_some()).count(), n);
    assert_eq!(rest.iter().filter(|r| r.summary().is_some()).count(), 1);
    app.cleanup().await;
}
