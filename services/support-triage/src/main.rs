//! `accord-support-triage`: the support-triage as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_SUPPORT_TRIAGE__…` environment variables (see `config.rs`); unknown keys
//! are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_runtime::metrics::Metrics;
use accord_support_triage::{RuleSet, StartOptions, config::SupportTriageConfig, start};
use anyhow::Context as _;
use clap::Parser;

/// The Accord support-triage.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_SUPPORT_TRIAGE_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: SupportTriageConfig =
        accord_runtime::config::load("support-triage", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("support-triage", cfg.runtime.log_format)?;
    let shutdown = accord_runtime::shutdown::signal_token();
    let bus = accord_bus::Bus::connect(&cfg.runtime.nats_url, "support-triage")
        .await
        .context("connecting to NATS")?;
    let store = accord_store::Store::open(cfg.runtime.data_dir.join("store"))
        .context("opening the store")?;
    let metrics = Metrics::new("support-triage");
    let (metrics_addr, _m) =
        accord_runtime::metrics::serve(cfg.runtime.metrics_addr, metrics.clone(), shutdown.clone())
            .await?;
    let rules = match &cfg.rules {
        Some(path) => RuleSet::load(path)
            .with_context(|| format!("loading the triage rules {}", path.display()))?,
        None => RuleSet::shipped().context("the shipped triage rules")?,
    };
    let running = start(StartOptions {
        grpc_addr: cfg.runtime.grpc_addr,
        store,
        bus,
        metrics,
        rules,
        shutdown: shutdown.clone(),
    })
    .await?;
    tracing::info!(grpc = %running.grpc_addr, metrics = %metrics_addr, "support-triage serving");
    accord_runtime::process::supervise(running.tasks, shutdown, cfg.runtime.shutdown_grace).await
}
