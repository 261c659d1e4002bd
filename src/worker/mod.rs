//! `dmumatch worker`: RabbitMQ in, PostgreSQL state, decision events out.
//! SKELETON, being built (issue #4).

use crate::config::WorkerConfig;

pub async fn run(_config: WorkerConfig) -> anyhow::Result<()> {
    anyhow::bail!("dmumatch worker: not built yet")
}
