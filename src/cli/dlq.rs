//! `dmumatch dlq list|replay [--queue Q] [--count N]`: look at dead letters
//! and send them back where they came from.
//!
//! - `list` takes up to N messages off each DLQ without acknowledging them,
//!   prints one line each, then returns them all to the queue
//!   (`nack(requeue)`): nothing is consumed.
//! - `replay` publishes each message again to its original exchange and
//!   routing key (the worker's `x-original-*` headers, else the broker's
//!   `x-death`), with publisher confirms and `mandatory`, the same
//!   `message_id` and properties, without the worker's error headers. The
//!   DLQ copy is acknowledged only after the broker confirmed the new one; a
//!   message that cannot be replayed (unroutable, nacked, no known origin)
//!   stays in the DLQ. Replay takes at most the messages present when it
//!   starts, so a message that fails again is not replayed in a loop.

use std::time::Duration;

use clap::{Args, Subcommand};
use lapin::{
    BasicProperties, Channel,
    message::BasicGetMessage,
    options::{
        BasicAckOptions, BasicGetOptions, BasicNackOptions, ConfirmSelectOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};

use crate::amqp::{
    self,
    publish::{Confirm, Outgoing, publish_confirmed},
};
use crate::config::{Connections, Topology};
use crate::pb;

/// The headers the worker adds to a dead letter; replay removes them.
pub const ERROR_HEADERS: &[&str] = &[
    "x-dmumatch-error",
    "x-dmumatch-error-kind",
    "x-original-exchange",
    "x-original-routing-key",
    "x-original-expiration",
];

#[derive(Args, Debug)]
pub struct DlqArgs {
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// Show dead letters (event id, routing key, reason, x-death count) and
    /// leave them in place.
    List(DlqOptions),
    /// Publish dead letters again to their original exchange and routing
    /// key; each DLQ copy is acknowledged once the broker confirmed it.
    Replay(DlqOptions),
}

#[derive(Args, Debug, Clone)]
pub struct DlqOptions {
    /// A dead-letter queue, or the input queue whose DLQ is meant
    /// (default: the DLQs of all three input queues).
    #[arg(long)]
    pub queue: Option<String>,
    /// At most this many messages per queue (list: 100 by default; replay:
    /// every message present at the start).
    #[arg(long)]
    pub count: Option<u32>,
    /// Prefix of dmumatch's queues, as the worker's.
    #[arg(long, env = "DMUMATCH_QUEUE_PREFIX", default_value = "dmumatch")]
    pub queue_prefix: String,
    /// Longest wait for the broker's confirm of one replayed message, in seconds.
    #[arg(long, default_value_t = 30)]
    pub confirm_timeout_secs: u64,
    #[command(flatten)]
    pub connections: Connections,
}

impl DlqOptions {
    /// The DLQs this run is about.
    pub fn queues(&self) -> Vec<String> {
        match &self.queue {
            Some(q) if q.ends_with(".dlq") => vec![q.clone()],
            Some(q) => vec![Topology::dead_letter_queue(q)],
            None => {
                let t = Topology {
                    crm_exchange: String::new(),
                    campaign_exchange: String::new(),
                    decisions_exchange: String::new(),
                    queue_prefix: self.queue_prefix.clone(),
                    delivery_limit: 0,
                };
                [t.contacts_queue(), t.rights_queue(), t.campaigns_queue()]
                    .iter()
                    .map(|q| Topology::dead_letter_queue(q))
                    .collect()
            }
        }
    }
}

/// What a dead letter says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub event_id: String,
    /// Where it was first published: (exchange, routing key).
    pub origin: Option<(String, String)>,
    /// `kind: reason` from the worker's headers, else the broker's x-death reason.
    pub reason: String,
    /// Times the broker dead-lettered it (the sum of the x-death counts).
    pub deaths: i64,
}

fn text(v: &AMQPValue) -> Option<String> {
    match v {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn integer(v: &AMQPValue) -> Option<i64> {
    match v {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortShortUInt(n) => Some(i64::from(*n)),
        AMQPValue::Timestamp(n) => i64::try_from(*n).ok(),
        _ => None,
    }
}

/// The x-death entries (the broker's own dead-lettering record).
fn deaths(headers: &FieldTable) -> Vec<&FieldTable> {
    match headers.inner().get("x-death") {
        Some(AMQPValue::FieldArray(a)) => a
            .as_slice()
            .iter()
            .filter_map(|v| match v {
                AMQPValue::FieldTable(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Letter {
    pub fn read(properties: &BasicProperties, body: &[u8]) -> Letter {
        let empty = FieldTable::default();
        let headers = properties.headers().as_ref().unwrap_or(&empty);
        let header = |k: &str| headers.inner().get(k).and_then(text);
        let deaths = deaths(headers);
        let event_id = properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str().to_owned())
            .filter(|m| !m.is_empty())
            .or_else(|| event_id_of(properties, body))
            .unwrap_or_default();
        let origin = match (
            header("x-original-exchange"),
            header("x-original-routing-key"),
        ) {
            (Some(x), Some(k)) => Some((x, k)),
            _ => deaths.last().and_then(|d| {
                let x = d.inner().get("exchange").and_then(text)?;
                let k = match d.inner().get("routing-keys") {
                    Some(AMQPValue::FieldArray(a)) => a.as_slice().first().and_then(text),
                    _ => None,
                }?;
                Some((x, k))
            }),
        };
        let reason = match (header("x-dmumatch-error-kind"), header("x-dmumatch-error")) {
            (Some(kind), Some(why)) => format!("{kind}: {why}"),
            (Some(kind), None) => kind,
            _ => deaths
                .first()
                .and_then(|d| d.inner().get("reason").and_then(text))
                .map(|r| format!("broker: {r}"))
                .unwrap_or_else(|| "unknown".into()),
        };
        Letter {
            event_id,
            origin,
            reason,
            deaths: deaths
                .iter()
                .filter_map(|d| d.inner().get("count").and_then(integer))
                .sum(),
        }
    }
}

/// The event id inside the body, if it decodes as either input event.
fn event_id_of(properties: &BasicProperties, body: &[u8]) -> Option<String> {
    let ct = properties.content_type().as_ref().map(|c| c.as_str());
    if let Ok(e) = pb::decode::<pb::ContactEvent>(ct, body)
        && !e.event_id.is_empty()
    {
        return Some(e.event_id);
    }
    pb::decode::<pb::CampaignEvent>(ct, body)
        .ok()
        .map(|e| e.event_id)
        .filter(|id| !id.is_empty())
}

/// The properties to publish a dead letter again with: the original ones,
/// without the worker's error headers, and with the original `expiration`
/// back (the worker's dead letter keeps it in a header, so that the copy
/// does not expire in the DLQ).
pub fn replay_properties(properties: &BasicProperties) -> BasicProperties {
    let mut kept = FieldTable::default();
    let mut expiration = None;
    if let Some(headers) = properties.headers() {
        for (k, v) in headers.inner() {
            if k.as_str() == "x-original-expiration" {
                expiration = text(v);
            }
            if !ERROR_HEADERS.contains(&k.as_str()) {
                kept.insert(k.clone(), v.clone());
            }
        }
    }
    let out = properties.clone().with_headers(kept);
    match expiration {
        Some(e) => out.with_expiration(e.into()),
        None => out,
    }
}

async fn message_count(channel: &Channel, queue: &str) -> anyhow::Result<u32> {
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                durable: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("queue {queue}: {e}"))?;
    Ok(q.message_count())
}

async fn get(channel: &Channel, queue: &str) -> anyhow::Result<Option<BasicGetMessage>> {
    Ok(channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: false })
        .await?)
}

/// One line, tab-separated; the reason is cut short (it may quote the body).
fn line(queue: &str, l: &Letter) -> String {
    let (x, k) = l.origin.clone().unwrap_or_default();
    let mut reason: String = l.reason.replace(['\t', '\n'], " ");
    if reason.chars().count() > 160 {
        reason = reason.chars().take(157).collect::<String>() + "...";
    }
    format!("{queue}\t{}\t{x}\t{k}\t{}\t{reason}", l.event_id, l.deaths)
}

pub fn run(args: DlqArgs) -> anyhow::Result<i32> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            match args.command {
                DlqCommand::List(mut o) => {
                    o.connections.resolve_secret_files()?;
                    list(&o).await
                }
                DlqCommand::Replay(mut o) => {
                    o.connections.resolve_secret_files()?;
                    replay(&o).await
                }
            }
        })
}

async fn connect(o: &DlqOptions) -> anyhow::Result<lapin::Connection> {
    let c = &o.connections;
    Ok(amqp::connect(&c.amqp_url, c.ca_file.as_deref(), "dmumatch-dlq").await?)
}

/// `dmumatch dlq list`.
pub async fn list(o: &DlqOptions) -> anyhow::Result<i32> {
    let conn = connect(o).await?;
    println!("queue\tevent_id\texchange\trouting_key\tx_death_count\treason");
    for queue in o.queues() {
        let channel = conn.create_channel().await?;
        let present = message_count(&channel, &queue).await?;
        let limit = o.count.unwrap_or(100).min(present);
        let mut taken = Vec::new();
        while taken.len() < limit as usize {
            let Some(m) = get(&channel, &queue).await? else {
                break;
            };
            println!(
                "{}",
                line(
                    &queue,
                    &Letter::read(&m.delivery.properties, &m.delivery.data)
                )
            );
            taken.push(m);
        }
        // Every message taken goes back, at once.
        if let Some(last) = taken.last() {
            last.delivery
                .nack(BasicNackOptions {
                    multiple: true,
                    requeue: true,
                })
                .await?;
        }
        eprintln!("{queue}: {} shown of {present}", taken.len());
        let _ = channel.close(200, "bye".into()).await;
    }
    let _ = conn.close(200, "bye".into()).await;
    Ok(0)
}

/// `dmumatch dlq replay`.
pub async fn replay(o: &DlqOptions) -> anyhow::Result<i32> {
    let conn = connect(o).await?;
    let publisher = conn.create_channel().await?;
    publisher
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let timeout = Duration::from_secs(o.confirm_timeout_secs);
    let (mut replayed, mut kept) = (0usize, 0usize);
    for queue in o.queues() {
        let channel = conn.create_channel().await?;
        let present = message_count(&channel, &queue).await?;
        let limit = o.count.map_or(present, |n| n.min(present));
        // Left unacknowledged until the end, so they are not taken twice.
        let mut left = Vec::new();
        for _ in 0..limit {
            let Some(m) = get(&channel, &queue).await? else {
                break;
            };
            let d = &m.delivery;
            let letter = Letter::read(&d.properties, &d.data);
            let Some((exchange, routing_key)) = letter.origin.clone() else {
                eprintln!("{queue}\t{}\tkept: no original exchange", letter.event_id);
                left.push(m);
                continue;
            };
            let confirms = publish_confirmed(
                &publisher,
                vec![Outgoing {
                    exchange: &exchange,
                    routing_key: &routing_key,
                    payload: &d.data,
                    properties: replay_properties(&d.properties),
                }],
                timeout,
            )
            .await
            .all()?;
            match &confirms[0] {
                Confirm::Ack => {
                    // `false`: lapin did not send it (the channel closed); the
                    // copy stays in the DLQ and this one is published twice.
                    if !d.ack(BasicAckOptions::default()).await? {
                        anyhow::bail!(
                            "{queue}\t{}\treplayed, but its DLQ copy could not be acknowledged \
                             (channel closed): it is still in the DLQ",
                            letter.event_id
                        );
                    }
                    println!(
                        "{queue}\t{}\treplayed to {exchange} {routing_key}",
                        letter.event_id
                    );
                    replayed += 1;
                }
                other => {
                    eprintln!(
                        "{queue}\t{}\tkept: {} by {exchange} {routing_key}",
                        letter.event_id,
                        other.label()
                    );
                    left.push(m);
                }
            }
        }
        kept += left.len();
        for m in &left {
            m.delivery
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: true,
                })
                .await?;
        }
        let _ = channel.close(200, "bye".into()).await;
    }
    let _ = publisher.close(200, "bye".into()).await;
    let _ = conn.close(200, "bye".into()).await;
    eprintln!("{replayed} replayed, {kept} kept in the DLQ");
    Ok(i32::from(kept > 0))
}

#[cfg(test)]
mod tests {
    use lapin::types::{FieldArray, LongString};

    use super::*;

    fn s(v: &str) -> AMQPValue {
        AMQPValue::LongString(LongString::from(v))
    }

    #[test]
    fn the_worker_headers_name_origin_and_reason_and_replay_drops_them() {
        let mut h = FieldTable::default();
        h.insert("x-dmumatch-error".into(), s("contact missing"));
        h.insert("x-dmumatch-error-kind".into(), s("invalid"));
        h.insert("x-original-exchange".into(), s("crm.events"));
        h.insert("x-original-routing-key".into(), s("contact.created"));
        h.insert("x-original-expiration".into(), s("60000"));
        h.insert("x-custom".into(), s("kept"));
        let p = BasicProperties::default()
            .with_message_id("e-1".into())
            .with_headers(h);
        let l = Letter::read(&p, b"");
        assert_eq!(l.event_id, "e-1");
        assert_eq!(
            l.origin,
            Some(("crm.events".into(), "contact.created".into()))
        );
        assert_eq!(l.reason, "invalid: contact missing");
        assert_eq!(l.deaths, 0);
        let r = replay_properties(&p);
        let keys: Vec<&str> = r
            .headers()
            .as_ref()
            .unwrap()
            .inner()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(keys, ["x-custom"]);
        assert_eq!(r.message_id(), p.message_id());
        assert_eq!(r.expiration().as_ref().map(|e| e.as_str()), Some("60000"));
    }

    #[test]
    fn a_broker_dead_letter_is_read_from_x_death() {
        let mut death = FieldTable::default();
        death.insert("reason".into(), s("delivery_limit"));
        death.insert("count".into(), AMQPValue::LongLongInt(2));
        death.insert("exchange".into(), s("crm.events"));
        let mut keys = FieldArray::default();
        keys.push(s("contact.updated"));
        death.insert("routing-keys".into(), AMQPValue::FieldArray(keys));
        let mut deaths = FieldArray::default();
        deaths.push(AMQPValue::FieldTable(death));
        let mut h = FieldTable::default();
        h.insert("x-death".into(), AMQPValue::FieldArray(deaths));
        let body = br#"{"eventId":"e-9","contactErased":{"contactId":"c"}}"#;
        let p = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_headers(h);
        let l = Letter::read(&p, body);
        assert_eq!(
            l.event_id, "e-9",
            "from the body when there is no message_id"
        );
        assert_eq!(
            l.origin,
            Some(("crm.events".into(), "contact.updated".into()))
        );
        assert_eq!(l.reason, "broker: delivery_limit");
        assert_eq!(l.deaths, 2);
    }

    #[test]
    fn queue_names() {
        let o = DlqOptions {
            queue: None,
            count: None,
            queue_prefix: "p".into(),
            confirm_timeout_secs: 1,
            connections: Connections {
                amqp_url: String::new(),
                database_url: String::new(),
                ca_file: None,
                db_pool_size: 1,
            },
        };
        assert_eq!(
            o.queues(),
            ["p.contacts.dlq", "p.contact-rights.dlq", "p.campaigns.dlq"]
        );
        let one = DlqOptions {
            queue: Some("p.contacts".into()),
            ..o.clone()
        };
        assert_eq!(one.queues(), ["p.contacts.dlq"]);
        let dlq = DlqOptions {
            queue: Some("p.campaigns.dlq".into()),
            ..o
        };
        assert_eq!(dlq.queues(), ["p.campaigns.dlq"]);
    }
}
