//! `accord-addon-manager`: the addon-manager as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_ADDON_MANAGER__…` environment variables (see
//! `accord_addon_manager::config`); unknown keys are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_addon_manager::config::AddonManagerConfig;
use accord_platform::{AddonManagerSettings, Platform};
use accord_runtime::metrics::Metrics;
use accord_store::Store;
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
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("addon-manager"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .addon_manager(AddonManagerSettings {
            grpc_addr: cfg.runtime.grpc_addr,
            plugin_dir: cfg.plugin_dir.clone(),
            shipped_addons: cfg.shipped_addons.clone(),
            host_config: cfg.plugins.host_config(),
            api_endpoint: cfg.api_endpoint.clone(),
            store: Some(
                Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?,
            ),
        })
        .start()
        .await?;
    if let Some(a) = &running.addon_manager {
        tracing::info!(grpc = %a.grpc_addr, metrics = ?running.metrics_addr, "addon-manager serving");
    }
    running.join(cfg.runtime.shutdown_grace).await
}
