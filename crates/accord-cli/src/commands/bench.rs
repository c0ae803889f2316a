//! `accord bench`: Accord's benchmarks. Wired by the lead.

use crate::cli::BenchArgs;
use crate::config::Settings;

/// Runs `accord bench`.
pub async fn run(args: BenchArgs, settings: &Settings) -> anyhow::Result<()> {
    let _ = (args, settings);
    anyhow::bail!("accord bench is wired by the lead")
}
