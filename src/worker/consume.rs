//! One consumer per input queue: deliveries → batches → one transaction →
//! one `ack(multiple)`; poison to the DLQ; the database down → wait, not spin.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::{
    BasicProperties, Channel,
    message::Delivery,
    options::{BasicAckOptions, BasicCancelOptions, BasicNackOptions},
    types::AMQPValue,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::WorkerError;
use super::decode::{self, CampaignInbound, ContactInbound, Poison, PoisonKind};
use super::metrics as m;
use super::process::{self, Ctx, Outcome, ProcessError};
use crate::amqp::publish::{Confirm, Outgoing, publish_confirmed};
use crate::http::Readiness;

/// Which events a queue carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Contacts,
    Campaigns,
}

/// Exponential backoff with a ceiling.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    min: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            next: min,
            min,
            max,
        }
    }
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Sleeps unless stopped first; says whether it slept the whole time.
pub async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// A consumer's settings and handles.
pub struct QueueConsumer {
    pub queue: String,
    pub kind: QueueKind,
    pub dead_letter_exchange: String,
    pub channel: Channel,
    pub consumer_tag: String,
    /// Confirm-mode channel for dead letters (never the consuming channel).
    pub dlq_channel: Channel,
    pub ctx: Arc<Ctx>,
    pub readiness: Arc<Readiness>,
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub max_message_bytes: usize,
    pub confirm_timeout: Duration,
}

struct Item {
    delivery: Delivery,
    arrived: Instant,
}

enum Parsed {
    Contact(ContactInbound),
    Campaign(CampaignInbound),
}

impl Parsed {
    fn routing_key(&self) -> &'static str {
        match self {
            Parsed::Contact(c) => c.event.routing_key(),
            Parsed::Campaign(c) => c.event.routing_key(),
        }
    }
}

enum Handled {
    Done,
    /// Stopped while the database was unreachable: deliveries requeued.
    Abandoned,
}

/// A batch whose transaction has ended (committed, or stopped while the
/// database was unreachable); not yet acknowledged.
enum Processed {
    Done {
        batch: Vec<Item>,
        parsed: Vec<Result<Parsed, Poison>>,
        outcomes: Vec<Option<Outcome>>,
        started: Instant,
    },
    Abandoned(Vec<Item>),
}

/// Aborted when dropped: a consumer dropped mid-batch (its connection lost)
/// takes its batch along, and the batch's transaction rolls back.
type InFlight = AbortOnDropHandle<Processed>;

/// What the consumer waits for between batches.
enum Next {
    Finished(Result<Processed, tokio::task::JoinError>),
    /// Boxed: a delivery is much larger than the other variant.
    Delivery(Box<Option<lapin::Result<Delivery>>>),
}

impl QueueConsumer {
    /// Consumes until `stop` (then drains: the deliveries not started are
    /// requeued) or until the channel fails (the session is rebuilt; the
    /// broker requeues whatever was not acknowledged).
    pub async fn run(
        self,
        mut stream: lapin::Consumer,
        stop: CancellationToken,
    ) -> Result<(), WorkerError> {
        let this = Arc::new(self);
        let mut inflight = None;
        let mut result = this.consume(&mut stream, &stop, &mut inflight).await;
        if let Some(task) = inflight {
            if result.is_err() {
                // Its transaction rolls back (or committed: the redelivery
                // is then found in the inbox); nothing of it is acknowledged.
                task.abort();
            } else if let Err(e) = this.finish(task).await {
                result = Err(e);
            }
        }
        if result.is_ok() {
            this.drain(&mut stream).await;
        }
        crate::amqp::close_channel(&this.channel).await;
        crate::amqp::close_channel(&this.dlq_channel).await;
        result
    }

    /// Two batches in flight: while one's transaction runs, the next is
    /// collected and started, so the database works on both at once. Each
    /// batch is acknowledged only after its own commit and after every
    /// earlier batch, so one `ack(multiple)` never covers an unfinished one.
    /// (Row locks in id order keep the two transactions from deadlocking;
    /// version gates make the state independent of which commits first.)
    async fn consume(
        self: &Arc<Self>,
        stream: &mut lapin::Consumer,
        stop: &CancellationToken,
        inflight: &mut Option<InFlight>,
    ) -> Result<(), WorkerError> {
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => return Ok(()),
                // Idle: the batch in flight is acknowledged as soon as it is done.
                joined = async { inflight.as_mut().expect("in flight").await },
                    if inflight.is_some() => Next::Finished(joined),
                d = stream.next() => Next::Delivery(Box::new(d)),
            };
            let first = match next {
                Next::Finished(joined) => {
                    *inflight = None;
                    if let Handled::Abandoned = self.finish_processed(joined).await? {
                        return Ok(());
                    }
                    continue;
                }
                Next::Delivery(d) => *d,
            };
            let mut batch = vec![self.item(first)?];
            let deadline = Instant::now() + self.batch_wait;
            while batch.len() < self.batch_size {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => {
                        // The batch in flight first: a multiple nack must
                        // not cover deliveries about to be acknowledged.
                        if let Some(task) = inflight.take() {
                            self.finish(task).await?;
                        }
                        requeue(batch.last().map(|i| &i.delivery)).await;
                        return Ok(());
                    }
                    _ = tokio::time::sleep_until(deadline) => break,
                    d = stream.next() => batch.push(self.item(d)?),
                }
            }
            let next = AbortOnDropHandle::new(tokio::spawn({
                let (this, stop) = (self.clone(), stop.clone());
                async move { this.process_batch(batch, &stop).await }
            }));
            if let Some(previous) = inflight.replace(next)
                && let Handled::Abandoned = self.finish(previous).await?
            {
                // Stopped while the database was down: the next batch ends
                // the same way, after the previous one's requeue.
                if let Some(task) = inflight.take() {
                    self.finish(task).await?;
                }
                return Ok(());
            }
        }
    }

    fn item(&self, d: Option<lapin::Result<Delivery>>) -> Result<Item, WorkerError> {
        match d {
            Some(Ok(delivery)) => Ok(Item {
                delivery,
                arrived: Instant::now(),
            }),
            Some(Err(e)) => Err(e.into()),
            None => Err(WorkerError::ConsumerEnded(self.queue.clone())),
        }
    }

    /// After a stop: cancel the consumer, then requeue what the broker had
    /// already pushed to us.
    async fn drain(&self, stream: &mut lapin::Consumer) {
        let _ = self
            .channel
            .basic_cancel(
                self.consumer_tag.as_str().into(),
                BasicCancelOptions::default(),
            )
            .await;
        let mut last = None;
        while let Ok(Some(Ok(d))) =
            tokio::time::timeout(Duration::from_millis(200), stream.next()).await
        {
            last = Some(d);
        }
        requeue(last.as_ref()).await;
    }

    /// Parses and processes a batch (its transaction), without acknowledging it.
    async fn process_batch(&self, batch: Vec<Item>, stop: &CancellationToken) -> Processed {
        let started = Instant::now();
        let mut parsed: Vec<Result<Parsed, Poison>> = batch
            .iter()
            .map(|item| self.parse(&item.delivery))
            .collect();
        let good: Vec<usize> = (0..parsed.len()).filter(|&i| parsed[i].is_ok()).collect();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
        if !good.is_empty() {
            let Some(results) = self.process_with_retry(&parsed, &good, stop).await else {
                return Processed::Abandoned(batch);
            };
            for (i, r) in good.iter().zip(results) {
                match r {
                    Ok(o) => outcomes[*i] = Some(o),
                    Err(p) => parsed[*i] = Err(p),
                }
            }
        }
        Processed::Done {
            batch,
            parsed,
            outcomes,
            started,
        }
    }

    /// Waits for a batch's transaction, then dead-letters its poison and
    /// acknowledges it (or requeues it, if it was abandoned).
    async fn finish(&self, task: InFlight) -> Result<Handled, WorkerError> {
        self.finish_processed(task.await).await
    }

    async fn finish_processed(
        &self,
        joined: Result<Processed, tokio::task::JoinError>,
    ) -> Result<Handled, WorkerError> {
        let processed = joined.map_err(|e| WorkerError::Task(format!("batch task failed: {e}")))?;
        let (batch, parsed, outcomes, started) = match processed {
            Processed::Abandoned(batch) => {
                requeue(batch.last().map(|i| &i.delivery)).await;
                return Ok(Handled::Abandoned);
            }
            Processed::Done {
                batch,
                parsed,
                outcomes,
                started,
            } => (batch, parsed, outcomes, started),
        };
        // Dead letters are confirmed before anything is acknowledged.
        let poison: Vec<(usize, &Poison)> = parsed
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().err().map(|p| (i, p)))
            .collect();
        if !poison.is_empty() {
            self.dead_letter(&batch, &poison).await?;
        }
        let last = &batch.last().expect("batches are never empty").delivery;
        // `false`: lapin did not send it (the channel is closed or being
        // recovered). Nothing is acknowledged then; the broker redelivers the
        // batch and the inbox finds it done.
        if !last.ack(BasicAckOptions { multiple: true }).await? {
            return Err(WorkerError::Task(format!(
                "{}: acknowledgement not sent, the channel is closed",
                self.queue
            )));
        }

        m_record(self, &batch, &parsed, &outcomes, started);
        Ok(Handled::Done)
    }

    fn parse(&self, d: &Delivery) -> Result<Parsed, Poison> {
        let content_type = d.properties.content_type().as_ref().map(|c| c.as_str());
        match self.kind {
            QueueKind::Contacts => {
                decode::contact_event(content_type, &d.data, self.max_message_bytes)
                    .map(Parsed::Contact)
            }
            QueueKind::Campaigns => {
                decode::campaign_event(content_type, &d.data, self.max_message_bytes)
                    .map(Parsed::Campaign)
            }
        }
    }

    async fn process(&self, parsed: &[Result<Parsed, Poison>], which: &[usize]) -> ProcessResult {
        let run = async {
            match self.kind {
                QueueKind::Contacts => {
                    let events: Vec<&ContactInbound> = which
                        .iter()
                        .filter_map(|&i| match &parsed[i] {
                            Ok(Parsed::Contact(c)) => Some(c),
                            _ => None,
                        })
                        .collect();
                    process::contacts(&self.ctx, &self.queue, &events).await
                }
                QueueKind::Campaigns => {
                    let events: Vec<&CampaignInbound> = which
                        .iter()
                        .filter_map(|&i| match &parsed[i] {
                            Ok(Parsed::Campaign(c)) => Some(c),
                            _ => None,
                        })
                        .collect();
                    process::campaigns(&self.ctx, &self.queue, &events).await
                }
            }
        };
        // A panic in the engine must isolate one message, not kill the
        // consumer and redeliver the whole batch until the delivery limit.
        match AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(outcomes)) => ProcessResult::Done(outcomes),
            Ok(Err(e)) if e.is_data() => ProcessResult::Poison(Poison {
                kind: PoisonKind::Database,
                reason: e.to_string(),
            }),
            Ok(Err(e)) => ProcessResult::Unavailable(e),
            Err(panic) => ProcessResult::Poison(Poison {
                kind: PoisonKind::Panic,
                reason: panic_message(&panic),
            }),
        }
    }

    /// The whole batch in one transaction; on a data error or a panic, each
    /// message in its own, so only the poison is set apart. While the
    /// database is unavailable: back off and retry, keeping the deliveries;
    /// None if stopped meanwhile.
    async fn process_with_retry(
        &self,
        parsed: &[Result<Parsed, Poison>],
        good: &[usize],
        stop: &CancellationToken,
    ) -> Option<Vec<Result<Outcome, Poison>>> {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
        loop {
            match self.process(parsed, good).await {
                ProcessResult::Done(o) => {
                    self.readiness.set_db(true);
                    return Some(o.into_iter().map(Ok).collect());
                }
                ProcessResult::Poison(p) if good.len() == 1 => {
                    return Some(vec![Err(p)]);
                }
                ProcessResult::Poison(p) => {
                    tracing::warn!(queue = %self.queue, kind = p.kind.as_str(),
                        size = good.len(), "batch failed; retrying message by message");
                    break;
                }
                ProcessResult::Unavailable(e) => {
                    self.unavailable(&e);
                    if !sleep_or_stop(backoff.next_delay(), stop).await {
                        return None;
                    }
                }
            }
        }
        let mut results = Vec::with_capacity(good.len());
        for &i in good {
            loop {
                match self.process(parsed, &[i]).await {
                    ProcessResult::Done(o) => {
                        results.push(Ok(o[0]));
                        break;
                    }
                    ProcessResult::Poison(p) => {
                        results.push(Err(p));
                        break;
                    }
                    ProcessResult::Unavailable(e) => {
                        self.unavailable(&e);
                        // What committed so far is redelivered and found in the inbox.
                        if !sleep_or_stop(backoff.next_delay(), stop).await {
                            return None;
                        }
                    }
                }
            }
        }
        self.readiness.set_db(true);
        Some(results)
    }

    fn unavailable(&self, e: &ProcessError) {
        self.readiness.set_db(false);
        metrics::counter!(m::DB_ERRORS, "kind" => "unavailable").increment(1);
        tracing::warn!(queue = %self.queue, error = %e, "database unavailable; deliveries kept, retrying");
    }

    /// Publishes poison messages to the queue's DLQ with the reason in the
    /// headers, and waits for the broker's confirms.
    async fn dead_letter(
        &self,
        batch: &[Item],
        poison: &[(usize, &Poison)],
    ) -> Result<(), WorkerError> {
        let messages: Vec<Outgoing<'_>> = poison
            .iter()
            .map(|(i, p)| {
                let d = &batch[*i].delivery;
                Outgoing {
                    exchange: &self.dead_letter_exchange,
                    routing_key: &self.queue,
                    payload: &d.data,
                    properties: dead_letter_properties(d, p),
                }
            })
            .collect();
        let confirms = publish_confirmed(&self.dlq_channel, messages, self.confirm_timeout)
            .await
            .all()?;
        for ((i, p), c) in poison.iter().zip(&confirms) {
            if *c != Confirm::Ack {
                return Err(WorkerError::DeadLetter(format!(
                    "{} from {}: {}",
                    p.kind.as_str(),
                    self.queue,
                    c.label()
                )));
            }
            metrics::counter!(m::DEAD_LETTERED, "queue" => self.queue.clone(),
                "kind" => p.kind.as_str())
            .increment(1);
            // The reason may quote the body: it stays in the DLQ header.
            tracing::warn!(queue = %self.queue, kind = p.kind.as_str(),
                delivery_tag = batch[*i].delivery.delivery_tag, "dead-lettered");
        }
        Ok(())
    }
}

enum ProcessResult {
    Done(Vec<Outcome>),
    Poison(Poison),
    Unavailable(ProcessError),
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("processing panicked: {text}")
}

/// The original properties, persistent, with the reason headers added and
/// without `expiration`: a per-message TTL would expire the copy in the DLQ
/// after the original was acknowledged (RabbitMQ's own dead-lettering drops
/// it too). Its value goes into `x-original-expiration`.
pub fn dead_letter_properties(d: &Delivery, p: &Poison) -> BasicProperties {
    let mut headers = d.properties.headers().clone().unwrap_or_default();
    let mut put = |k: &str, v: &str| {
        headers.insert(k.into(), AMQPValue::LongString(v.into()));
    };
    put("x-dmumatch-error", &p.reason);
    put("x-dmumatch-error-kind", p.kind.as_str());
    put("x-original-exchange", d.exchange.as_str());
    put("x-original-routing-key", d.routing_key.as_str());
    if let Some(expiration) = d.properties.expiration() {
        put("x-original-expiration", expiration.as_str());
    }
    // Every property but `expiration` (lapin has no way to unset one).
    let o = &d.properties;
    let mut out = BasicProperties::default()
        .with_headers(headers)
        .with_delivery_mode(2);
    macro_rules! keep {
        ($($get:ident => $with:ident),* $(,)?) => {
            $(if let Some(v) = o.$get() {
                out = out.$with(v.clone());
            })*
        };
    }
    keep!(
        content_type => with_content_type,
        content_encoding => with_content_encoding,
        priority => with_priority,
        correlation_id => with_correlation_id,
        reply_to => with_reply_to,
        message_id => with_message_id,
        timestamp => with_timestamp,
        kind => with_type,
        user_id => with_user_id,
        app_id => with_app_id,
        cluster_id => with_cluster_id,
    );
    out
}

/// `nack(multiple, requeue)` up to this delivery: everything not acknowledged
/// on the channel goes back to the queue at once.
async fn requeue(last: Option<&Delivery>) {
    if let Some(d) = last {
        let _ = d
            .nack(BasicNackOptions {
                multiple: true,
                requeue: true,
            })
            .await;
    }
}

fn m_record(
    c: &QueueConsumer,
    batch: &[Item],
    parsed: &[Result<Parsed, Poison>],
    outcomes: &[Option<Outcome>],
    started: Instant,
) {
    let queue = c.queue.clone();
    metrics::histogram!(m::BATCH_SECONDS, "queue" => queue.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!(m::BATCH_SIZE, "queue" => queue.clone()).record(batch.len() as f64);
    let latency = metrics::histogram!(m::PROCESSING_SECONDS, "queue" => queue.clone());
    // Counted per batch: a labelled counter costs a key and a registry lookup.
    let mut counts: HashMap<(&'static str, &'static str), u64> = HashMap::new();
    for ((item, p), o) in batch.iter().zip(parsed).zip(outcomes) {
        latency.record(item.arrived.elapsed().as_secs_f64());
        let (kind, outcome) = match (p, o) {
            (Ok(p), Some(o)) => (p.routing_key(), o.label()),
            // The publisher chose this routing key (`campaign.*` takes any
            // word): only known ones become a label.
            _ => (
                known_type(item.delivery.routing_key.as_str()),
                "dead_lettered",
            ),
        };
        *counts.entry((kind, outcome)).or_default() += 1;
    }
    let (mut processed, mut skipped, mut dead) = (0, 0, 0);
    for ((kind, outcome), n) in counts {
        match outcome {
            "processed" => processed += n,
            "dead_lettered" => dead += n,
            _ => skipped += n,
        }
        metrics::counter!(m::EVENTS, "queue" => queue.clone(), "type" => kind,
            "outcome" => outcome)
        .increment(n);
    }
    tracing::debug!(queue = %c.queue, size = batch.len(), processed, skipped, dead_lettered = dead,
        seconds = started.elapsed().as_secs_f64(), "batch acknowledged");
}

/// A routing key as a metric label: one of the contract's event types, or "other".
fn known_type(routing_key: &str) -> &'static str {
    crate::pb::routing_key::INBOUND
        .iter()
        .find(|k| **k == routing_key)
        .copied()
        .unwrap_or("other")
}
