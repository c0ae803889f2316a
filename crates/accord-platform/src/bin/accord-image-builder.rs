//! `accord-image-builder`: image-builder as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_IMAGE_BUILDER__…` environment variables (see
//! `accord_image_builder::config`); unknown keys are errors; `signing_key_file` is required.
//! Prints machine-readable start-up lines (`grpc_addr=…`, `metrics_addr=…`) on stdout.

use std::{path::PathBuf, process::ExitCode};

use accord_image_builder::config::ImageBuilderConfig;
use accord_platform::{ImageBuilderSettings, Platform};
use accord_runtime::metrics::Metrics;
use accord_store::Store;
use anyhow::Context as _;
use clap::Parser;

/// The Accord image-builder service.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// TOML configuration file.
    #[arg(long, env = "ACCORD_IMAGE_BUILDER_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    accord_runtime::process::main_with(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg: ImageBuilderConfig =
        accord_runtime::config::load("image-builder", args.config.as_deref())?;
    let _telemetry = accord_runtime::telemetry::init("image-builder", cfg.runtime.log_format)?;
    let mut settings = ImageBuilderSettings::new(cfg.runtime.grpc_addr, cfg.signing_key()?);
    settings.stage_duration = cfg.stage_duration;
    settings.matrix_yaml = cfg.matrix_yaml()?;
    settings.archive_yaml = cfg.archive_yaml()?;
    settings.instance_types = cfg.instance_types.clone();
    settings.store =
        Some(Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?);
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("image-builder"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .data_dir(&cfg.runtime.data_dir)
        .image_builder(settings)
        .start()
        .await?;
    if let Some(s) = &running.image_builder {
        println!("grpc_addr={}", s.grpc_addr);
        tracing::info!(grpc = %s.grpc_addr, metrics = ?running.metrics_addr, key = %s.engine.key_id(), "image-builder serving");
    }
    if let Some(addr) = running.metrics_addr {
        println!("metrics_addr={addr}");
    }
    running.join(cfg.runtime.shutdown_grace).await
}
