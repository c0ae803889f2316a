//! `accord up`: every Accord service in one process, for development. Wired by the lead.

use crate::cli::UpArgs;
use crate::config::Settings;

/// Runs `accord up`. `args.nats_url` holds the resolved global `--nats-url`.
pub async fn run(args: UpArgs, settings: &Settings) -> anyhow::Result<()> {
    let _ = (args, settings);
    anyhow::bail!("accord up is wired by the lead")
}
