//! `dmumatch rules` — SKELETON, being built.

use clap::Args;

#[derive(Args, Debug)]
pub struct RulesArgs {}

/// Returns the process exit code.
pub fn run(_args: RulesArgs) -> anyhow::Result<i32> {
    anyhow::bail!("dmumatch rules: not built yet")
}
