//! `accord-support-triage`: support-triage as its own process. Configuration: `--config FILE`
//! (TOML) and `ACCORD_SUPPORT_TRIAGE__…` environment variables (see
//! `accord_support_triage::config`); unknown keys are errors.

use std::{path::PathBuf, process::ExitCode};

use accord_platform::{NotifySettings, Platform, RuleSet, SupportTriageSettings};
use accord_runtime::metrics::Metrics;
use accord_store::Store;
use accord_support_triage::config::SupportTriageConfig;
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
    let rules = match &cfg.rules {
        Some(path) => RuleSet::load(path)
            .with_context(|| format!("loading the triage rules {}", path.display()))?,
        None => RuleSet::shipped().context("the shipped triage rules")?,
    };
    let running = Platform::from_runtime(&cfg.runtime)?
        .shutdown(accord_runtime::shutdown::signal_token())
        .metrics(Metrics::new("support-triage"))
        .serve_metrics(cfg.runtime.metrics_addr)
        .support_triage(SupportTriageSettings {
            grpc_addr: cfg.runtime.grpc_addr,
            rules,
            store: Some(
                Store::open(cfg.runtime.data_dir.join("store")).context("opening the store")?,
            ),
            notify: NotifySettings {
                allow_loopback: cfg.notifications.allow_loopback,
                ..NotifySettings::default()
            },
        })
        .start()
        .await?;
    if let Some(s) = &running.support_triage {
        tracing::info!(grpc = %s.grpc_addr, metrics = ?running.metrics_addr, "support-triage serving");
    }
    running.join(cfg.runtime.shutdown_grace).await
}
