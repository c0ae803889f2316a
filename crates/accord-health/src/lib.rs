//! GPU node health checks: the pure heart of the telemetry service and of
//! `accord health check`. Node agents' [`TelemetrySample`](accord_core::telemetry)s go in, one
//! at a time; [`HealthFinding`]s come out, and each node has a [`Verdict`] per check.
//!
//! - [`check`]: the check ids, severities and verdicts.
//! - [`config`]: the defaults and their overrides per instance type and per cluster
//!   ([`HealthConfig`], `health-checks.yaml` writes the defaults out).
//! - [`xid`]: the XID catalogue as severities.
//! - [`checker`]: [`HealthChecker`], every node's state, fed sample by sample.
//! - [`node`]: one node's state machines (the rules themselves) and its memory budget.
//! - [`window`]: the fixed-size sliding windows and episodes the rules keep.
//! - [`finding`]: what a check raises, its evidence and its deterministic id.
//! - [`jsonl`]: JSON Lines of samples in, JSON Lines of findings out (the CLI's form).
//! - [`exposition`]: one cluster's latest samples as Prometheus / OpenMetrics text under
//!   dcgm-exporter's names (the customer metrics endpoint), and the XID counters it exposes.
//!
//! Invariants:
//! - No IO, no clock, no async: time is the samples' `ts_ms`; the same samples in the same
//!   order give the same findings, byte for byte, with the same ids.
//! - Bounded memory per node (about 3.4 KiB for 8 GPUs and 8 ports, [`node`]), independent of
//!   how long or how often it reports.
//! - Duplicate and out-of-order samples and counter resets never raise a finding nor count as
//!   events.
//! - A condition (a port down, not ready, a thermal violation, a remap failure, a rate over its
//!   limit) raises one finding per episode, not one per sample.

pub mod check;
pub mod checker;
pub mod config;
pub mod exposition;
pub mod finding;
pub mod jsonl;
pub mod node;
pub mod window;
pub mod xid;

#[cfg(test)]
mod tests;

pub use check::{CheckId, CheckVerdict, Severity, Verdict};
pub use checker::{HealthChecker, NodeVerdicts, Observation};
pub use config::{Checks, ConfigError, DEFAULTS_YAML, HealthConfig};
pub use finding::{Evidence, FindingId, HealthFinding, Reading, Signal, SignalValue};
pub use jsonl::{JsonlSummary, MAX_LINE_BYTES, check_jsonl};
pub use node::EVENT_VERDICT_HOLD_MS;
