//! The outbox relay: unpublished rows → `dmu.decisions`, with a window of
//! publisher confirms; a row is marked published only once the broker
//! confirmed it (acked, not returned). Replicas share the rows through
//! `FOR UPDATE SKIP LOCKED`, and so do the passes of one relay: several run
//! at once, each on its own confirm channel and transaction, so that one
//! pass's database commit overlaps the next one's publishing.

use std::sync::Arc;
use std::time::Duration;

use lapin::{BasicProperties, Channel};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::WorkerError;
use super::consume::{Backoff, sleep_or_stop};
use super::metrics as m;
use super::process::Ctx;
use crate::amqp::publish::{Confirm, Outgoing, publish_confirmed};
use crate::db::{DbError, store};
use crate::http::Readiness;

pub struct Relay {
    pub ctx: Arc<Ctx>,
    /// Confirm-mode channels used by nothing else: one pass in flight on each.
    pub channels: Vec<Channel>,
    pub exchange: String,
    pub window: usize,
    pub confirm_timeout: Duration,
    pub poll: Duration,
    /// The final pass at shutdown gives up after this long.
    pub drain_deadline: Duration,
    pub readiness: Arc<Readiness>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pass {
    pub claimed: usize,
    pub failed: usize,
}

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    #[error("confirms of an earlier pass still pending after {0:?}; channel given up")]
    Stuck(Duration),
}

impl From<tokio_postgres::Error> for RelayError {
    fn from(e: tokio_postgres::Error) -> Self {
        RelayError::Db(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for RelayError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        RelayError::Db(e.into())
    }
}

/// The AMQP properties of the contract: message id = event id, content type,
/// full message name as type, timestamp, persistent.
fn properties(row: &store::OutboxMessage) -> BasicProperties {
    BasicProperties::default()
        .with_content_type(row.content_type.as_str().into())
        .with_message_id(row.event_id.as_str().into())
        .with_type(row.message_type.as_str().into())
        .with_timestamp(u64::try_from(row.created_at.timestamp()).unwrap_or(0))
        .with_delivery_mode(2)
        .with_app_id("dmumatch".into())
}

impl Relay {
    /// Relays until `stop`, then makes a last pass over what is pending.
    pub async fn run(self, stop: CancellationToken) -> Result<(), WorkerError> {
        // A lane that fails stops its siblings after their current pass, not
        // in the middle of it: a pass dropped after its publish would roll
        // back rows the broker already confirmed, and they would go out twice.
        let lanes_stop = stop.child_token();
        let (this, lanes_stop, stop) = (&self, &lanes_stop, &stop);
        let lanes = self
            .channels
            .iter()
            .enumerate()
            .map(|(lane, channel)| async move {
                let result = this.lane(lane == 0, channel, lanes_stop, stop).await;
                if result.is_err() {
                    lanes_stop.cancel();
                }
                result
            });
        let results = futures_util::future::join_all(lanes).await;
        self.update_gauge().await;
        for channel in &self.channels {
            crate::amqp::close_channel(channel).await;
        }
        results.into_iter().collect()
    }

    /// One pass after another on `channel`, until `stop` (the session's stop
    /// or a sibling's failure).
    async fn lane(
        &self,
        first: bool,
        channel: &Channel,
        stop: &CancellationToken,
        session_stop: &CancellationToken,
    ) -> Result<(), WorkerError> {
        let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
        let mut gauge_at: Option<Instant> = None;
        loop {
            let pause = loop {
                match self.pass(channel).await {
                    Ok(p) if p.failed > 0 => break Some(backoff.next_delay()),
                    Ok(p) => {
                        backoff.reset();
                        if p.claimed < self.window || stop.is_cancelled() {
                            break None;
                        }
                        // More is waiting: wake a sibling lane to take the next window.
                        self.ctx.outbox_written.notify_one();
                    }
                    Err(RelayError::Db(e)) => {
                        self.readiness.set_db(false);
                        metrics::counter!(m::DB_ERRORS, "kind" => "unavailable").increment(1);
                        tracing::warn!(error = %e, "outbox relay: database unavailable");
                        break Some(backoff.next_delay());
                    }
                    Err(RelayError::Amqp(e)) => return Err(e.into()),
                    Err(e @ RelayError::Stuck(_)) => return Err(WorkerError::Task(e.to_string())),
                }
            };
            if first && gauge_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                self.update_gauge().await;
                gauge_at = Some(Instant::now());
            }
            match pause {
                // Failures back off; a wake-up must not cut that short.
                Some(delay) => {
                    if !sleep_or_stop(delay, stop).await {
                        break;
                    }
                }
                None => {
                    tokio::select! {
                        _ = stop.cancelled() => break,
                        _ = self.ctx.outbox_written.notified() => {}
                        _ = tokio::time::sleep(self.poll) => {}
                    }
                }
            }
        }
        // Last pass: publish what the drained consumers committed. Not after a
        // sibling lane failed: the session is about to be rebuilt.
        if !session_stop.is_cancelled() {
            return Ok(());
        }
        let deadline = Instant::now() + self.drain_deadline;
        while Instant::now() < deadline {
            match self.pass(channel).await {
                Ok(p) if p.claimed == self.window && p.failed == 0 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay: final pass failed");
                    break;
                }
            }
        }
        Ok(())
    }

    async fn update_gauge(&self) {
        if let Ok(client) = self.ctx.pool.get().await
            && let Ok(n) = store::outbox_backlog(&client).await
        {
            metrics::gauge!(m::OUTBOX_BACKLOG).set(n as f64);
        }
    }

    async fn pass(&self, channel: &Channel) -> Result<Pass, RelayError> {
        // A pass that timed out left its confirms pending in lapin, which
        // would hand the returns they carry to this pass's confirms. Wait for
        // them first (at once when there are none); what they bring back is
        // stale, since their rows are already back for a retry.
        match tokio::time::timeout(self.confirm_timeout, channel.wait_for_confirms()).await {
            Ok(stale) => {
                let stale = stale?;
                if !stale.is_empty() {
                    tracing::debug!(returns = stale.len(), "stale returns of an earlier pass");
                }
            }
            Err(_) => return Err(RelayError::Stuck(self.confirm_timeout)),
        }
        let mut client = self.ctx.pool.get().await?;
        let txn = client.transaction().await?;
        let rows = store::outbox_claim(&txn, i64::try_from(self.window).unwrap_or(1000)).await?;
        if rows.is_empty() {
            txn.commit().await?;
            return Ok(Pass::default());
        }
        let messages: Vec<Outgoing<'_>> = rows
            .iter()
            .map(|r| Outgoing {
                exchange: &self.exchange,
                routing_key: &r.routing_key,
                payload: &r.payload,
                properties: properties(r),
            })
            .collect();
        let sent = publish_confirmed(channel, messages, self.confirm_timeout).await;
        let mut published = Vec::with_capacity(rows.len());
        let mut failed = Vec::new();
        for (row, confirm) in rows.iter().zip(&sent.confirms) {
            match confirm {
                Confirm::Ack => published.push(row.id),
                other => failed.push((row, other)),
            }
        }
        // One increment per pass: a labelled counter costs a registry lookup.
        if !published.is_empty() {
            metrics::counter!(m::PUBLISHED, "result" => Confirm::Ack.label())
                .increment(published.len() as u64);
        }
        store::outbox_mark_published(&txn, &published).await?;
        // What was not confirmed waits with its own backoff, after a channel
        // error too: a row that makes the broker close the channel (too large,
        // refused) would otherwise bring the session down again at once.
        let ids: Vec<i64> = failed.iter().map(|(row, _)| row.id).collect();
        store::outbox_retry_later(&txn, &ids).await?;
        txn.commit().await?;
        for (_, confirm) in &failed {
            metrics::counter!(m::PUBLISHED, "result" => confirm.label()).increment(1);
        }
        if let Some(e) = sent.error {
            tracing::warn!(
                confirmed = published.len(),
                unconfirmed = ids.len(),
                "outbox relay: channel failed during a pass; confirmed rows marked"
            );
            return Err(e.into());
        }
        // One line per pass, not per row: with no queue bound, every row of
        // every pass comes back.
        if let Some((row, confirm)) = failed.first() {
            let returned = failed
                .iter()
                .filter(|(_, c)| matches!(c, Confirm::Returned { .. }))
                .count();
            tracing::warn!(
                unpublished = failed.len(),
                returned,
                first_routing_key = %row.routing_key,
                first_result = confirm.label(),
                "decision events not confirmed or unroutable (no queue bound); will retry"
            );
        }
        tracing::debug!(
            claimed = rows.len(),
            published = published.len(),
            retry = failed.len(),
            "relay pass"
        );
        self.readiness.set_db(true);
        Ok(Pass {
            claimed: rows.len(),
            failed: rows.len() - published.len(),
        })
    }
}
