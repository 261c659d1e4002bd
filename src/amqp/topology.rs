//! The broker topology, declared idempotently at every (re)connect.
//!
//! - `crm.events`, `campaign.events`, `dmu.decisions`: durable topic exchanges.
//! - `<prefix>.contacts` ← crm.events `contact.created`, `contact.updated`;
//!   `<prefix>.contact-rights` ← `contact.objected`, `contact.erased`,
//!   `contact.consent_changed`; `<prefix>.campaigns` ← campaign.events `campaign.*`.
//!   Quorum queues with an explicit delivery limit and dead-lettering into
//!   `<prefix>.dlx` (direct, routing key = the queue), at-least-once where the
//!   broker supports it.
//! - `<queue>.dlq`: one quorum DLQ per input queue, bound to the DLX.

use lapin::{
    Channel, Connection, ExchangeKind,
    options::{
        ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    },
    types::{AMQPValue, FieldTable},
};

use super::AmqpError;
use crate::config::Topology;
use crate::pb::routing_key as rk;

/// An input queue and what feeds it.
#[derive(Debug, Clone)]
pub struct InputQueue {
    pub name: String,
    pub exchange: String,
    pub routing_keys: Vec<&'static str>,
}

/// The three input queues, in the order the worker consumes them.
pub fn input_queues(t: &Topology) -> Vec<InputQueue> {
    vec![
        InputQueue {
            name: t.contacts_queue(),
            exchange: t.crm_exchange.clone(),
            routing_keys: vec![rk::CONTACT_CREATED, rk::CONTACT_UPDATED],
        },
        InputQueue {
            name: t.rights_queue(),
            exchange: t.crm_exchange.clone(),
            routing_keys: vec![
                rk::CONTACT_OBJECTED,
                rk::CONTACT_ERASED,
                rk::CONTACT_CONSENT_CHANGED,
            ],
        },
        InputQueue {
            name: t.campaigns_queue(),
            exchange: t.campaign_exchange.clone(),
            routing_keys: vec!["campaign.*"],
        },
    ]
}

/// What the declaration ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// Every input queue was declared with at-least-once dead-lettering (false
    /// also when an existing queue with other arguments was kept as it is).
    pub at_least_once: bool,
}

fn durable() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn string(s: &str) -> AMQPValue {
    AMQPValue::LongString(s.into())
}

fn input_arguments(t: &Topology, queue: &str, at_least_once: bool) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), string("quorum"));
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongInt(i32::try_from(t.delivery_limit).unwrap_or(i32::MAX)),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        string(&t.dead_letter_exchange()),
    );
    args.insert("x-dead-letter-routing-key".into(), string(queue));
    if at_least_once {
        // Needs the stream_queue feature flag (3.10+); also requires
        // reject-publish overflow, or the broker silently uses at-most-once.
        args.insert("x-dead-letter-strategy".into(), string("at-least-once"));
        args.insert("x-overflow".into(), string("reject-publish"));
    }
    args
}

/// Deletes what [`declare`] made (input queues, their DLQs, the exchanges and
/// the DLX) and `extra_queues`: for benchmarks and tests that run under fresh
/// names. Best effort: a name that is already gone is skipped. Each delete has
/// a channel of its own, because a failed one closes its channel.
pub async fn delete(conn: &Connection, t: &Topology, extra_queues: &[String]) {
    let mut queues = extra_queues.to_vec();
    for q in input_queues(t) {
        queues.push(Topology::dead_letter_queue(&q.name));
        queues.push(q.name);
    }
    for q in queues {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch
                .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                .await;
            let _ = ch.close(200, "bye".into()).await;
        }
    }
    for x in [
        t.crm_exchange.clone(),
        t.campaign_exchange.clone(),
        t.decisions_exchange.clone(),
        t.dead_letter_exchange(),
    ] {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch
                .exchange_delete(x.as_str().into(), ExchangeDeleteOptions::default())
                .await;
            let _ = ch.close(200, "bye".into()).await;
        }
    }
}

/// Declares everything; safe to run on every start and by every replica.
pub async fn declare(conn: &Connection, t: &Topology) -> Result<Declared, AmqpError> {
    let mut ch = conn.create_channel().await?;
    let exchange_options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for name in [&t.crm_exchange, &t.campaign_exchange, &t.decisions_exchange] {
        ch.exchange_declare(
            name.as_str().into(),
            ExchangeKind::Topic,
            exchange_options,
            FieldTable::default(),
        )
        .await?;
    }
    let dlx = t.dead_letter_exchange();
    ch.exchange_declare(
        dlx.as_str().into(),
        ExchangeKind::Direct,
        exchange_options,
        FieldTable::default(),
    )
    .await?;

    let mut at_least_once = true;
    for q in input_queues(t) {
        let (channel, strong) = declare_input(conn, ch, t, &q.name).await?;
        ch = channel;
        at_least_once &= strong;
        for key in &q.routing_keys {
            ch.queue_bind(
                q.name.as_str().into(),
                q.exchange.as_str().into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        }
        let dlq = Topology::dead_letter_queue(&q.name);
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), string("quorum"));
        ch.queue_declare(dlq.as_str().into(), durable(), args)
            .await?;
        ch.queue_bind(
            dlq.as_str().into(),
            dlx.as_str().into(),
            q.name.as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    let _ = ch.close(200, "topology declared".into()).await;
    Ok(Declared { at_least_once })
}

/// Declares an input queue with at-least-once dead-lettering; falls back when
/// the broker refuses it, and keeps a queue that already exists with other
/// arguments (declared by an operator or a policy) rather than failing. A
/// refused declaration closes the channel, hence the channel juggling.
async fn declare_input(
    conn: &Connection,
    ch: Channel,
    t: &Topology,
    queue: &str,
) -> Result<(Channel, bool), AmqpError> {
    let first = ch
        .queue_declare(queue.into(), durable(), input_arguments(t, queue, true))
        .await;
    let Err(refused) = first else {
        return Ok((ch, true));
    };
    let ch = conn.create_channel().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..durable()
    };
    if ch
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .is_ok()
    {
        tracing::warn!(
            queue,
            error = %refused,
            "queue exists with other arguments; using it as it is"
        );
        return Ok((ch, false));
    }
    let ch = conn.create_channel().await?;
    ch.queue_declare(queue.into(), durable(), input_arguments(t, queue, false))
        .await?;
    tracing::warn!(
        queue,
        error = %refused,
        "broker refused at-least-once dead-lettering; using at-most-once"
    );
    Ok((ch, false))
}
