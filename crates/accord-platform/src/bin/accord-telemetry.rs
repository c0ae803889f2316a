//! `accord-telemetry`: the telemetry service as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_TELEMETRY__…` environment variables (see `accord_telemetry::config`);
//! unknown keys are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_platform::{Platform, TelemetrySettings};
use accord_runtime::metrics::Metrics;
use accord_store::Store;
use accord_telemetry::config::TelemetryConfig;
use anyhow::Context as _;
use clap::Parser;

/// The Accord telemetry service.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_TELEMETRY_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: TelemetryConfig = accord_runtime::config::load("telemetry", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("telemetry", cfg.runtime.log_format)?;
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("telemetry"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .telemetry(TelemetrySettings {
            grpc_addr: cfg.runtime.grpc_addr,
            health: cfg.health()?,
            cluster_metrics_addr: Some(cfg.cluster_metrics_addr),
            store: Some(
                Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?,
            ),
        })
        .start()
        .await?;
    if let Some(t) = &running.telemetry {
        tracing::info!(
            grpc = %t.grpc_addr,
            cluster_metrics = ?t.engine.cluster_metrics_addr(),
            metrics = ?running.metrics_addr,
            "telemetry serving"
        );
    }
    running.join(cfg.runtime.shutdown_grace).await
}
