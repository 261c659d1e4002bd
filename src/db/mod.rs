//! PostgreSQL adapter: pool, migrations, state. SKELETON, being built (issue #4).

use crate::config::Connections;

/// `dmumatch migrate`: create the database if missing, apply `migrations/`.
pub async fn migrate(_connections: &Connections) -> anyhow::Result<()> {
    anyhow::bail!("dmumatch migrate: not built yet")
}
