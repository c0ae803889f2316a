//! `accord health …`: GPU node health. Today `check` (the checks offline over JSON Lines of
//! telemetry samples); the commands reading the telemetry service's Health API join this enum.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `accord health …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum HealthCommand {
    /// Run the health checks over telemetry samples, one JSON line per finding
    ///
    /// Input lines: samples exactly as node agents publish them (TelemetrySample v1 JSON),
    /// checked in file order with the telemetry service's checks and defaults. Output: one line
    /// per finding, {"line", "cluster", "node", "check", "kind", "severity", "gpu"?, "xid"?,
    /// "port"?, "evidence"}, where "line" is the input line that tripped it. A line that is not
    /// a v1 sample (malformed, another version, over 1 MiB) gives {"line", "error"} and the
    /// command exits non-zero at the end. Blank lines are skipped. Works offline: no token,
    /// server or NATS.
    #[command(
        after_help = "Examples:\n  accord health check samples.jsonl\n  tail -f samples.jsonl | accord health check -\n  accord health check samples.jsonl --config health-checks.yaml"
    )]
    Check(HealthCheckArgs),
}

/// `accord health check`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthCheckArgs {
    /// JSON Lines file of telemetry samples, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Check settings (YAML or JSON, the format of crates/accord-health/health-checks.yaml:
    /// defaults, then overrides per instance type and per cluster) [default: the shipped
    /// defaults]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}
