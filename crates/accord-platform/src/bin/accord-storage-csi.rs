//! `accord-storage-csi`: storage-csi as its own process, driving simulated storage back ends of
//! its own (state in `<data_dir>/sim/storage.json`, so operations in flight survive a restart).
//! Configuration: `--config FILE` (TOML) and `ACCORD_STORAGE_CSI__…` environment variables (see
//! `accord_storage_csi::config`); unknown keys are errors. Prints machine-readable start-up
//! lines (`grpc_addr=…`, `metrics_addr=…`) on stdout.

use std::{path::PathBuf, process::ExitCode};

use accord_platform::{Platform, StorageCsiSettings};
use accord_runtime::metrics::Metrics;
use accord_storage_csi::config::StorageCsiConfig;
use accord_store::Store;
use anyhow::Context as _;
use clap::Parser;

/// The Accord storage-csi service.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_STORAGE_CSI_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: StorageCsiConfig =
        accord_runtime::config::load("storage-csi", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("storage-csi", cfg.runtime.log_format)?;
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("storage-csi"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .data_dir(&cfg.runtime.data_dir)
        .storage_csi(StorageCsiSettings {
            grpc_addr: cfg.runtime.grpc_addr,
            reconcile_interval: cfg.reconcile_interval,
            settings: cfg.settings(),
            sim_clock_factor: cfg.sim_clock_factor,
            store: Some(
                Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?,
            ),
        })
        .start()
        .await?;
    if let Some(s) = &running.storage_csi {
        println!("grpc_addr={}", s.grpc_addr);
        tracing::info!(grpc = %s.grpc_addr, metrics = ?running.metrics_addr, "storage-csi serving");
    }
    if let Some(addr) = running.metrics_addr {
        println!("metrics_addr={addr}");
    }
    running.join(cfg.runtime.shutdown_grace).await
}
