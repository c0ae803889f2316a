//! `accord health …`: GPU node health. `check` runs the checks offline over JSON Lines of
//! telemetry samples; `get nodes` and `findings` read the telemetry service's Health API.

use std::{path::PathBuf, time::Duration};

use clap::{Args, Subcommand};

use crate::parse::parse_duration;

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
    /// Show what the telemetry service concludes about a cluster's nodes
    #[command(subcommand)]
    Get(HealthGetCommand),
    /// List the health findings the telemetry service raised on a cluster, newest first
    #[command(
        after_help = "Examples:\n  accord health findings --cluster demo\n  accord health findings --cluster demo --since 10m -o json"
    )]
    Findings(HealthFindingsArgs),
}

/// `accord health get …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum HealthGetCommand {
    /// Every node of a cluster that reported: its pool, overall verdict and failing checks
    #[command(after_help = "Examples:\n  accord health get nodes --cluster demo")]
    Nodes(HealthClusterArgs),
}

/// A cluster to read health of.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthClusterArgs {
    /// The cluster (name or id)
    #[arg(short = 'c', long, value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord health findings`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct HealthFindingsArgs {
    #[command(flatten)]
    pub target: HealthClusterArgs,
    /// Only findings from samples taken this long ago or later (e.g. 10m, 1h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// At most this many findings (the service caps it at 1000)
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
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
