//! Time: decisions past their `validUntil` are decided again (same write
//! path as events). Also the housekeeping: purge published outbox rows and
//! old inbox rows.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::consume::sleep_or_stop;
use super::metrics as m;
use super::process::{self, Ctx, ProcessError};
use crate::db::store;

/// Due decisions handled per transaction.
const PAGE: i64 = 500;
/// How often old rows are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);

pub struct Sweeper {
    pub ctx: Arc<Ctx>,
    pub interval: Duration,
    pub outbox_retention: Duration,
    pub inbox_retention: Duration,
}

impl Sweeper {
    pub async fn run(self, stop: CancellationToken) {
        let mut purged_at: Option<Instant> = None;
        loop {
            match sweep_once(&self.ctx).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(decisions = n, "re-decided expired decisions"),
                Err(e) => tracing::warn!(error = %e, "sweep failed; next interval"),
            }
            if purged_at.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
                self.purge().await;
                purged_at = Some(Instant::now());
            }
            if !sleep_or_stop(self.interval, &stop).await {
                return;
            }
        }
    }

    async fn purge(&self) {
        let result = async {
            let client = self
                .ctx
                .pool
                .get()
                .await
                .map_err(crate::db::DbError::from)?;
            store::purge(
                &client,
                self.outbox_retention.as_secs_f64(),
                self.inbox_retention.as_secs_f64(),
            )
            .await
        }
        .await;
        match result {
            Ok((0, 0)) => {}
            Ok((outbox, inbox)) => tracing::info!(outbox, inbox, "purged old rows"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}

/// One sweep: every decision of an active campaign whose `validUntil` is at
/// or before now, page by page. Returns how many were decided again.
pub async fn sweep_once(ctx: &Ctx) -> Result<usize, ProcessError> {
    let now = (ctx.clock)();
    let client = ctx.pool.get().await?;
    let mut after = None;
    let mut total = 0;
    loop {
        let keys = store::due_decisions(&client, now, after.as_ref(), PAGE).await?;
        let Some(last) = keys.last().cloned() else {
            break;
        };
        let n = process::due(ctx, &keys).await?;
        metrics::counter!(m::SWEPT).increment(n as u64);
        total += n;
        if keys.len() < PAGE as usize {
            break;
        }
        after = Some(last);
    }
    Ok(total)
}
