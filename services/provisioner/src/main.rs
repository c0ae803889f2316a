//! `accord-provisioner`: the provisioner as its own process, with the simulated fleet as its
//! infrastructure driver. Configuration: `--config FILE` (TOML) and `ACCORD_PROVISIONER__…`
//! environment variables (see `config.rs`); unknown keys are errors.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use accord_provisioner::{StartOptions, config::ProvisionerConfig, start};
use accord_runtime::metrics::Metrics;
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
    let shutdown = accord_runtime::shutdown::signal_token();
    let bus = accord_bus::Bus::connect(&cfg.runtime.nats_url, "provisioner")
        .await
        .context("connecting to NATS")?;
    let store = accord_store::Store::open(cfg.runtime.data_dir.join("store"))
        .context("opening the store")?;
    let fleet = accord_sim::SimFleet::new(
        accord_sim::SimConfig::default()
            .with_clock_factor(cfg.sim_clock_factor)
            .with_telemetry_interval(cfg.telemetry_interval)
            .with_state_file(cfg.runtime.data_dir.join("sim-fleet.json")),
    )
    .context("starting the simulated fleet")?;
    let fleet = Arc::new(fleet);
    let metrics = Metrics::new("provisioner");
    let (metrics_addr, _m) =
        accord_runtime::metrics::serve(cfg.runtime.metrics_addr, metrics.clone(), shutdown.clone())
            .await?;
    let running = start(StartOptions {
        grpc_addr: cfg.runtime.grpc_addr,
        store,
        bus: bus.clone(),
        driver: fleet.clone(),
        metrics,
        resync_interval: cfg.resync_interval,
        shutdown: shutdown.clone(),
    })
    .await?;
    tokio::spawn(accord_sim::run_agents(
        fleet.clone(),
        bus.clone(),
        shutdown.clone(),
    ));
    let (f, b, s) = (fleet, bus, shutdown.clone());
    tokio::spawn(async move {
        if let Err(e) = accord_sim::serve_faults(f, b, s).await {
            tracing::error!(error = %e, "simulator fault server stopped");
        }
    });
    // Machine-readable start-up lines (tests and scripts read them).
    println!("grpc_addr={}", running.grpc_addr);
    println!("metrics_addr={metrics_addr}");
    if let Some(b) = &running.bootstrap {
        println!("admin_token={}", b.admin.token);
        println!("operator_token={}", b.operator.token);
        println!("project={}", b.project.metadata.id);
    }
    accord_runtime::process::supervise(running.tasks, shutdown, cfg.runtime.shutdown_grace).await
}
