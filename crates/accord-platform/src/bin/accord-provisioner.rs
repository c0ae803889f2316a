//! `accord-provisioner`: the provisioner as its own process, with the simulated fleet as its
//! infrastructure driver. Configuration: `--config FILE` (TOML) and `ACCORD_PROVISIONER__…`
//! environment variables (see `accord_provisioner::config`); unknown keys are errors. Prints
//! machine-readable start-up lines (`grpc_addr=…`, `metrics_addr=…`, and the bootstrap
//! credentials on an empty store).

use std::{path::PathBuf, process::ExitCode};

use accord_platform::{
    AutoClustersOptions, HostConfig, Platform, ProvisionerSettings, RemediationTimeouts,
};
use accord_provisioner::config::ProvisionerConfig;
use accord_runtime::metrics::Metrics;
use accord_sim::SimConfig;
use accord_store::Store;
use anyhow::Context as _;
use clap::Parser;

/// The Accord provisioner.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_PROVISIONER_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: ProvisionerConfig =
        accord_runtime::config::load("provisioner", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("provisioner", cfg.runtime.log_format)?;
    let data = &cfg.runtime.data_dir;
    if cfg.plugin_dir.is_none() {
        tracing::warn!(
            "no plugin_dir configured: AutoClusters does not run (findings are not remediated)"
        );
    }
    let mut platform = Platform::from_runtime(&cfg.runtime)?;
    if let Some(path) = &cfg.image_public_key_file {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("reading the image public key {}", path.display()))?;
        let key = accord_image::verifying_key_from_pem(&pem)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        platform = platform.image_key(key);
    }
    let running = platform
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("provisioner"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .simulator(
            SimConfig::default()
                .with_clock_factor(cfg.sim_clock_factor)
                .with_telemetry_interval(cfg.telemetry_interval)
                .with_state_file(data.join("sim-fleet.json")),
        )
        .provisioner(ProvisionerSettings {
            grpc_addr: cfg.runtime.grpc_addr,
            resync_interval: cfg.resync_interval,
            store: Some(Store::open(data.join("store")).context("opening the store")?),
            autoclusters: cfg
                .plugin_dir
                .clone()
                .map(|plugin_dir| AutoClustersOptions {
                    plugin_dir,
                    host_config: HostConfig::default(),
                    timeouts: RemediationTimeouts::scaled(
                        cfg.sim_clock_factor,
                        std::time::Duration::from_secs(2),
                    ),
                }),
            replica_grace: std::time::Duration::from_secs(60)
                .mul_f64(cfg.sim_clock_factor.clamp(0.0, 1.0))
                .max(std::time::Duration::from_secs(2)),
        })
        .start()
        .await?;
    if let Some(p) = &running.provisioner {
        println!("grpc_addr={}", p.grpc_addr);
    }
    if let Some(addr) = running.metrics_addr {
        println!("metrics_addr={addr}");
    }
    if let Some(b) = &running.bootstrap {
        println!("admin_token={}", b.admin.token);
        println!("operator_token={}", b.operator.token);
        println!("project={}", b.project.metadata.id);
    }
    running.join(cfg.runtime.shutdown_grace).await
}
