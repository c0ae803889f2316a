//! Commands that work offline on JSON Lines: `accord remediation decide` (a remediation policy
//! over health findings) and `accord triage classify` (the triage rules over tickets); and
//! `accord remediation approve|reject` (approval mode, over the API).

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `accord remediation …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RemediationCommand {
    /// Decide what to do about health findings, one JSON line in, one JSON line out
    ///
    /// Input lines: {"id", "event": {"kind": "gpu-xid"|"ib-link"|"node-not-ready"|"gpu-thermal"|
    /// "gpu-ecc"|"gpu-row-remap"|"gpu-nvlink"|"gpu-pcie", "cluster", "node", "xid"?, "gpu"?,
    /// "port"? ("mlx5_0/1", or a number), "state"?, "minutes"?, "temp_c"?, "signal"? (e.g.
    /// "row_remap_failure"), "severity"?},
    /// "context": {"remediation_allowed", "xid_count_24h", "remediations_7d",
    /// "unhealthy_in_pool", "pool_size", "mig", …}}. Output lines, same order: {"id", "action",
    /// "responsibility", "reason"}; a malformed line gives {"id"?, "line", "error"} and the
    /// command exits non-zero at the end; so does a finding of a kind the policy's interface
    /// lacks (a policy built against accord:plugin@0.1.0 knows the first four). Without --policy, the `gpu-remediation` policy pushed
    /// to the plugin bucket is used when NATS answers within a second, else the shipped file.
    Decide(DecideArgs),
    /// Approve a remediation waiting for approval (clusters in approval mode): it starts
    #[command(
        after_help = "Examples:\n  accord get remediations --cluster demo --state pending-approval\n  accord remediation approve rem-01jd6v3xq5n8c7m2k4p9r0s1t2 --reason \"drained the job\""
    )]
    Approve(ResolveArgs),
    /// Reject a remediation waiting for approval: nothing touches the node
    #[command(
        after_help = "Examples:\n  accord remediation reject rem-01jd6v3xq5n8c7m2k4p9r0s1t2 --reason \"we replace it ourselves\""
    )]
    Reject(ResolveArgs),
}

/// `accord remediation approve|reject`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ResolveArgs {
    /// Remediation id (`rem-…`, as `accord get remediations` shows it)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Why (kept in the remediation's timeline)
    #[arg(long, default_value = "")]
    pub reason: String,
}

/// `accord remediation decide`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DecideArgs {
    /// JSON Lines file of findings, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,
    /// Policy component (.wasm); default: `policy.gpu-remediation` from the plugin bucket if
    /// NATS is reachable and one was pushed, else the shipped gpu-remediation policy
    /// ($ACCORD_PLUGIN_DIR or plugins/target/wasm32-wasip2/release/gpu_remediation.wasm)
    #[arg(long, value_name = "PATH", env = "ACCORD_REMEDIATION_POLICY")]
    pub policy: Option<std::path::PathBuf>,
}

// ------------------------------------------------------------------ triage

/// `accord triage …`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TriageCommand {
    /// Classify support tickets, one JSON line in, one JSON line out
    ///
    /// Input lines: {"id", "title", "description"?, "component"?, "cluster"?, "context"?:
    /// {"addons": {"<add-on>": "provider-managed"|"shared"|"customer-owned"},
    /// "customer_components": [...]}}. Output lines, same order: {"id", "category", "layer",
    /// "component", "rule": {"id", "text"}, "actions", "checklist", "confidence",
    /// "needs_review"}; a malformed line gives {"id"?, "line", "error"} and the command exits
    /// non-zero at the end. Works offline: no token, server or NATS.
    #[command(
        after_help = "Examples:\n  accord triage classify tickets.jsonl\n  echo '{\"id\":\"1\",\"title\":\"kubectl times out\"}' | accord triage classify -\n  accord triage classify tickets.jsonl --rules my-rules.yaml"
    )]
    Classify(ClassifyArgs),
}

/// `accord triage classify`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ClassifyArgs {
    /// JSON Lines file of tickets, or `-` for standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Rule file (YAML, the format of services/support-triage/rules/triage-rules.yaml)
    /// [default: the shipped rules]
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
}
