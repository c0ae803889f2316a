//! The provisioner's own metrics (besides the gRPC metrics every service has): what the
//! controller does and how the infrastructure answers.
//!
//! - `accord_provisioner_infra_operations_total{operation, result}` — driver calls issued
//!   (`ensure-control-plane`, `upgrade-control-plane`, `delete-control-plane`, `provision-node`,
//!   `drain-node`, `terminate-node`) by `ok` / `error`.
//! - `accord_provisioner_infra_events_total{kind}` — events received from the infrastructure.
//! - `accord_provisioner_reconciles_total{scope}` — reconcile passes (`cluster` / `pool`).
//! - `accord_provisioner_findings_total{outcome}` — health findings taken by AutoClusters:
//!   `decided`, `duplicate` (already decided), `unknown-node`, `unknown-cluster`, `malformed`,
//!   `disabled` (AutoClusters not running here).
//!
//! Commits and committed events are counted by the kit's engine
//! (`accord_provisioner_commits_total`, `accord_provisioner_events_committed_total{event}`).

use accord_runtime::metrics::Labels;
use prometheus_client::metrics::{counter::Counter, family::Family};

/// Handles to every provisioner metric (cheap to clone; all share the registered series).
#[derive(Clone, Default)]
pub struct ProvisionerMetrics {
    /// `{operation, result}`.
    pub infra_operations: Family<Labels<2>, Counter>,
    /// `{kind}`.
    pub infra_events: Family<Labels<1>, Counter>,
    /// `{scope}`.
    pub reconciles: Family<Labels<1>, Counter>,
    /// `{outcome}`.
    pub findings: Family<Labels<1>, Counter>,
    /// `{outcome}` of each `image.*` event taken.
    pub image_events: Family<Labels<1>, Counter>,
    /// Nodes not booted because their image was refused (withdrawn or failed verification).
    pub image_refusals: Family<Labels<1>, Counter>,
}

impl ProvisionerMetrics {
    /// Creates the metrics and registers them.
    pub fn register(metrics: &accord_runtime::metrics::Metrics) -> Self {
        Self {
            infra_operations: metrics.registered(
                "accord_provisioner_infra_operations",
                "Infrastructure driver calls by operation and result",
            ),
            infra_events: metrics.registered(
                "accord_provisioner_infra_events",
                "Events received from the infrastructure driver by kind",
            ),
            reconciles: metrics.registered(
                "accord_provisioner_reconciles",
                "Controller reconcile passes by scope",
            ),
            findings: metrics.registered(
                "accord_provisioner_findings",
                "Health findings taken by AutoClusters by outcome",
            ),
            image_events: metrics.registered(
                "accord_provisioner_image_events",
                "image.* events taken by outcome (refused: bad manifest or signature)",
            ),
            image_refusals: metrics.registered(
                "accord_provisioner_image_refusals",
                "Node boots refused because the image was withdrawn or failed verification",
            ),
        }
    }
}
