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
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
    let mut running = start(StartOptions {
        grpc_addr: cfg.runtime.grpc_addr,
        store,
        bus,
        metrics,
        rules,
        shutdown: shutdown.clone(),
    })
    .await?;
    tracing::info!(grpc = %running.grpc_addr, metrics = %metrics_addr, "support-triage serving");
    tokio::select! {
        () = shutdown.cancelled() => {}
        Some(res) = running.tasks.join_next() => {
            shutdown.cancel();
            if let Ok(Err(e)) = res {
                return Err(e);
            }
        }
    }
    while running.tasks.join_next().await.is_some() {}
    Ok(())
}
