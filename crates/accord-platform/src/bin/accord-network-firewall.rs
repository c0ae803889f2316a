//! `accord-network-firewall`: network-firewall as its own process, driving a simulated VPC of
//! its own (state beside its store). Configuration: `--config FILE` (TOML) and
//! `ACCORD_NETWORK_FIREWALL__…` environment variables (see
//! `accord_network_firewall::config`); unknown keys are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_network_firewall::config::NetworkFirewallConfig;
use accord_platform::{NetworkFirewallSettings, Platform};
use accord_runtime::metrics::Metrics;
use accord_store::Store;
use anyhow::Context as _;
use clap::Parser;

/// The Accord network-firewall service.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_NETWORK_FIREWALL_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: NetworkFirewallConfig =
        accord_runtime::config::load("network-firewall", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("network-firewall", cfg.runtime.log_format)?;
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("network-firewall"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .data_dir(&cfg.runtime.data_dir)
        .network_firewall(NetworkFirewallSettings {
            grpc_addr: cfg.runtime.grpc_addr,
            reconcile_interval: cfg.reconcile_interval,
            store: Some(
                Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?,
            ),
        })
        .start()
        .await?;
    if let Some(f) = &running.network_firewall {
        tracing::info!(grpc = %f.grpc_addr, metrics = ?running.metrics_addr, "network-firewall serving");
    }
    running.join(cfg.runtime.shutdown_grace).await
}
