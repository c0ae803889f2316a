//! `accord-addon-manager`: the addon-manager as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_ADDON_MANAGER__…` environment variables (see `config.rs`); unknown keys
//! are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_addon_manager::{StartOptions, config::AddonManagerConfig, start};
use accord_runtime::metrics::Metrics;
use anyhow::Context as _;
use clap::Parser;

/// The Accord addon-manager.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_ADDON_MANAGER_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: AddonManagerConfig =
        accord_runtime::config::load("addon-manager", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("addon-manager", cfg.runtime.log_format)?;
    let shutdown = accord_runtime::shutdown::signal_token();
    let bus = accord_bus::Bus::connect(&cfg.runtime.nats_url, "addon-manager")
        .await
        .context("connecting to NATS")?;
    let store = accord_store::Store::open(cfg.runtime.data_dir.join("store"))
        .context("opening the store")?;
    let metrics = Metrics::new("addon-manager");
    let (metrics_addr, _m) =
        accord_runtime::metrics::serve(cfg.runtime.metrics_addr, metrics.clone(), shutdown.clone())
            .await?;
    let running = start(StartOptions {
        grpc_addr: cfg.runtime.grpc_addr,
        store,
        bus,
        metrics,
        plugin_dir: cfg.plugin_dir.clone(),
        shipped_addons: cfg.shipped_addons.clone(),
        host_config: cfg.plugins.host_config(),
        shutdown: shutdown.clone(),
    })
    .await?;
    tracing::info!(grpc = %running.grpc_addr, metrics = %metrics_addr, "addon-manager serving");
    accord_runtime::process::supervise(running.tasks, shutdown, cfg.runtime.shutdown_grace).await
}
