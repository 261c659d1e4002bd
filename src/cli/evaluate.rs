//! `dmumatch evaluate` — SKELETON, being built.

use clap::Args;

#[derive(Args, Debug)]
pub struct EvaluateArgs {}

/// Returns the process exit code.
pub fn run(_args: EvaluateArgs) -> anyhow::Result<i32> {
    anyhow::bail!("dmumatch evaluate: not built yet")
}
