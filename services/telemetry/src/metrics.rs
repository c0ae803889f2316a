//! The telemetry service's own metrics (besides the gRPC and engine metrics every service has):
//!
//! - `accord_telemetry_samples_accepted_total` — samples checked;
//! - `accord_telemetry_samples_dropped_total{reason}` — samples not checked, by [`DropReason`].

use accord_runtime::metrics::{Labels, Metrics};
use prometheus_client::metrics::{counter::Counter, family::Family};

/// Why a sample was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Over [`crate::ingest::MAX_SAMPLE_BYTES`].
    Oversized,
    /// Not a telemetry sample (bad JSON, missing fields, an over-long field).
    Malformed,
    /// A schema version this service does not read.
    UnsupportedVersion,
    /// Published on another node's or cluster's subject.
    SubjectMismatch,
    /// A cluster the service does not know (not created, or deleted).
    UnknownCluster,
    /// Same `ts_ms` as the node's last checked sample.
    Duplicate,
    /// Older than the node's last checked sample.
    OutOfOrder,
    /// The store failed: reading the cluster, or committing the sample's findings (the sample
    /// was checked then, and is also counted as accepted).
    StoreError,
}

impl DropReason {
    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Oversized => "oversized",
            DropReason::Malformed => "malformed",
            DropReason::UnsupportedVersion => "unsupported-version",
            DropReason::SubjectMismatch => "subject-mismatch",
            DropReason::UnknownCluster => "unknown-cluster",
            DropReason::Duplicate => "duplicate",
            DropReason::OutOfOrder => "out-of-order",
            DropReason::StoreError => "store-error",
        }
    }
}

/// Handles to the counters (cheap to clone).
#[derive(Clone, Default)]
pub struct TelemetryMetrics {
    accepted: Counter,
    dropped: Family<Labels<1>, Counter>,
}

impl TelemetryMetrics {
    /// Creates the counters and registers them in `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        Self {
            accepted: metrics.registered(
                "accord_telemetry_samples_accepted",
                "Telemetry samples checked",
            ),
            dropped: metrics.registered(
                "accord_telemetry_samples_dropped",
                "Telemetry samples not checked, by reason",
            ),
        }
    }

    pub fn accepted(&self) {
        self.accepted.inc();
    }

    pub fn dropped(&self, reason: DropReason) {
        self.dropped
            .get_or_create(&[("reason", reason.as_str())])
            .inc();
    }

    /// Samples checked so far.
    pub fn accepted_total(&self) -> u64 {
        self.accepted.get()
    }

    /// Samples dropped for `reason` so far.
    pub fn dropped_total(&self, reason: DropReason) -> u64 {
        self.dropped
            .get_or_create(&[("reason", reason.as_str())])
            .get()
    }
}
