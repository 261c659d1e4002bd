//! `dmumatch worker`: RabbitMQ in, PostgreSQL state, decision events out.

pub mod decide;
pub mod decode;
pub mod metrics;
pub mod process;

use crate::config::WorkerConfig;

pub async fn run(_config: WorkerConfig) -> anyhow::Result<()> {
    anyhow::bail!("dmumatch worker: not built yet")
}
