//! `dmumatch classify` — SKELETON, being built.

use clap::Args;

#[derive(Args, Debug)]
pub struct ClassifyArgs {}

/// Returns the process exit code.
pub fn run(_args: ClassifyArgs) -> anyhow::Result<i32> {
    anyhow::bail!("dmumatch classify: not built yet")
}
