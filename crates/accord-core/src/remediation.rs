//! Health findings and remediation decisions: the vocabulary shared by the telemetry service
//! (which raises findings), the provisioner (which asks a remediation policy and acts) and
//! support-triage (which opens incidents). Field names match the JSON Lines format of
//! `accord remediation decide`.
//!
//! An InfiniBand port is named as agents name it (`"port": "mlx5_0/1"`, [`IbPortName`]); a bare
//! number, as findings wrote it before, is still read (port 1 of HCA `mlx5_<number>`).
//! `signal` and `severity` came later too: optional, so older findings still read.

use serde::{Deserialize, Serialize};

use crate::responsibility::SupportScope;
pub use crate::telemetry::IbPortName;

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// A GPU reported an XID error.
    GpuXid,
    /// An InfiniBand port changed state or counted link errors.
    IbLink,
    /// The node's kubelet is not ready.
    NodeNotReady,
    /// A GPU ran too hot or hit a power limit.
    GpuThermal,
    /// A GPU counted double-bit (uncorrectable) ECC errors.
    GpuEcc,
    /// A GPU remapped rows for uncorrectable errors, or failed to remap one.
    GpuRowRemap,
    /// A GPU's NVLinks counted CRC flit errors faster than their limit.
    GpuNvlink,
    /// A GPU's PCIe link replayed packets faster than its limit.
    GpuPcie,
}

impl FindingKind {
    /// Every kind, in declaration order.
    pub const ALL: [FindingKind; 8] = [
        FindingKind::GpuXid,
        FindingKind::IbLink,
        FindingKind::NodeNotReady,
        FindingKind::GpuThermal,
        FindingKind::GpuEcc,
        FindingKind::GpuRowRemap,
        FindingKind::GpuNvlink,
        FindingKind::GpuPcie,
    ];

    /// The JSON spelling, e.g. `gpu-xid`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::GpuXid => "gpu-xid",
            FindingKind::IbLink => "ib-link",
            FindingKind::NodeNotReady => "node-not-ready",
            FindingKind::GpuThermal => "gpu-thermal",
            FindingKind::GpuEcc => "gpu-ecc",
            FindingKind::GpuRowRemap => "gpu-row-remap",
            FindingKind::GpuNvlink => "gpu-nvlink",
            FindingKind::GpuPcie => "gpu-pcie",
        }
    }
}

/// A health finding about one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Kind.
    pub kind: FindingKind,
    /// Cluster id.
    pub cluster: String,
    /// Node id or name.
    pub node: String,
    /// XID code (gpu-xid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid: Option<u32>,
    /// GPU index (the `gpu-*` kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<u32>,
    /// IB port (ib-link), e.g. `mlx5_0/1`; a bare number is read as `mlx5_<number>/1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<IbPortName>,
    /// IB port state (ib-link), e.g. `down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Minutes the condition has lasted (node-not-ready).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    /// Temperature in °C (gpu-thermal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temp_c: Option<u32>,
    /// The telemetry field the check read, e.g. `row_remap_failure` or `symbol_error`: tells
    /// the rules of one kind apart (a remapped row from a failed remap). Absent in findings
    /// written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The check's severity (`info`, `warning`, `critical`). Absent in findings written before
    /// it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// What a policy knows about the node, its pool and its cluster when it decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RemediationContext {
    /// The customer's AutoClusters opt-in ("when allowed").
    pub remediation_allowed: bool,
    /// The same XID on the same GPU in the last 24 hours (this one included); for the other
    /// `gpu-*` kinds, findings of the same kind on the same GPU.
    pub xid_count_24h: u32,
    /// Remediations of this node in the last 7 days.
    pub remediations_7d: u32,
    /// Unhealthy nodes in the pool now (this one included).
    pub unhealthy_in_pool: u32,
    /// Nodes in the pool.
    pub pool_size: u32,
    /// Whether MIG is enabled.
    pub mig: bool,
    /// Remediations running in the pool now.
    pub in_flight_in_pool: u32,
    /// The pool's limit on concurrent remediations.
    pub max_in_flight_per_pool: u32,
    /// Unhealthy nodes in the cluster now.
    pub unhealthy_in_cluster: u32,
    /// Nodes in the cluster.
    pub cluster_size: u32,
    /// Circuit breaker in percent of the cluster.
    pub max_unhealthy_percent: u32,
    /// Whether a maintenance window is open.
    pub in_maintenance_window: bool,
}

impl Default for RemediationContext {
    fn default() -> Self {
        Self {
            remediation_allowed: false,
            xid_count_24h: 1,
            remediations_7d: 0,
            unhealthy_in_pool: 1,
            pool_size: 1,
            mig: false,
            in_flight_in_pool: 0,
            max_in_flight_per_pool: 1,
            unhealthy_in_cluster: 1,
            cluster_size: 1,
            max_unhealthy_percent: 50,
            in_maintenance_window: false,
        }
    }
}

/// What to do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationAction {
    /// Nothing now.
    None,
    /// Tell the customer (their application's fault, or remediation is not allowed).
    NotifyCustomer,
    /// Drain the GPU's pods and reset it.
    ResetGpu,
    /// Drain and reboot (power-cycle) the node.
    RebootNode,
    /// Cordon, replace, keep the old one for RMA evidence.
    ReplaceNode,
    /// Open a Supported incident for humans.
    Escalate,
    /// Would act, but a safety limit says wait; recorded with the reason.
    Hold,
}

impl RemediationAction {
    /// The JSON spelling, e.g. `reboot-node`.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationAction::None => "none",
            RemediationAction::NotifyCustomer => "notify-customer",
            RemediationAction::ResetGpu => "reset-gpu",
            RemediationAction::RebootNode => "reboot-node",
            RemediationAction::ReplaceNode => "replace-node",
            RemediationAction::Escalate => "escalate",
            RemediationAction::Hold => "hold",
        }
    }
}

/// A policy's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationDecision {
    /// Action.
    pub action: RemediationAction,
    /// Who owns the problem.
    pub responsibility: SupportScope,
    /// Why, in words an operator and a customer understand.
    pub reason: String,
}

/// Facts about node health, published by whoever runs the health checks (the telemetry service
/// in the design; any checker that speaks this type). The subject id is the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum HealthEvent {
    /// A health check found a problem on a node.
    FindingRaised {
        /// The finding.
        finding: Finding,
        /// The cluster's project.
        project: crate::ids::ProjectId,
        /// What the check saw (log lines, counters), for whoever investigates.
        #[serde(default)]
        evidence: Vec<String>,
        /// The finding's id (`hf-…`: the same finding always has the same id). Empty in
        /// events published before it was carried.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        finding_id: String,
    },
}

impl crate::events::DomainEvent for HealthEvent {
    fn resource(&self) -> &'static str {
        "health"
    }
    fn event(&self) -> &'static str {
        match self {
            HealthEvent::FindingRaised { .. } => "finding-raised",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            HealthEvent::FindingRaised { finding, .. } => finding.node.clone(),
        }
    }
}

/// Facts about AutoClusters remediation, published by the owner of nodes (the provisioner).
/// The subject id is the node. Fields added after `decided` was first published are optional,
/// so older events still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum RemediationEvent {
    /// The cluster's remediation policy decided what to do about a finding.
    Decided {
        /// The finding.
        finding: Finding,
        /// The decision.
        decision: RemediationDecision,
        /// The cluster's project.
        project: crate::ids::ProjectId,
        /// What the finding's check saw, carried along.
        #[serde(default)]
        evidence: Vec<String>,
        /// The remediation recording it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        remediation: Option<crate::ids::RemediationId>,
        /// The state it starts in (`running`, `held`, `skipped` …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<crate::autoclusters::RemediationState>,
    },
    /// A node action started (also when the ladder climbs to the next rung).
    Started {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// The action.
        action: RemediationAction,
    },
    /// A step of the action happened.
    Step {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// What, as a short tag (`cordoned`, `power-cycle`, `replacement-ready` …).
        step: String,
        /// The sentence.
        detail: String,
    },
    /// The action repaired the node (or replaced it).
    Succeeded {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// The action that worked.
        action: RemediationAction,
        /// The cluster's project.
        project: crate::ids::ProjectId,
        /// The finding.
        finding: Finding,
    },
    /// Every rung failed: humans must look.
    Failed {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// The last action tried.
        action: RemediationAction,
        /// The cluster's project.
        project: crate::ids::ProjectId,
        /// The finding.
        finding: Finding,
        /// The finding's evidence and the steps' outcomes.
        evidence: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A safety limit holds the action.
    Held {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// Which limit.
        reason: String,
    },
    /// The limit cleared; the action goes ahead (or is no longer needed).
    Released {
        /// The remediation.
        remediation: crate::ids::RemediationId,
        /// Cluster.
        cluster: crate::ids::ClusterId,
        /// Node.
        node: crate::ids::NodeId,
        /// What happens now.
        reason: String,
    },
}

impl crate::events::DomainEvent for RemediationEvent {
    fn resource(&self) -> &'static str {
        "remediation"
    }
    fn event(&self) -> &'static str {
        match self {
            RemediationEvent::Decided { .. } => "decided",
            RemediationEvent::Started { .. } => "started",
            RemediationEvent::Step { .. } => "step",
            RemediationEvent::Succeeded { .. } => "succeeded",
            RemediationEvent::Failed { .. } => "failed",
            RemediationEvent::Held { .. } => "held",
            RemediationEvent::Released { .. } => "released",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            RemediationEvent::Decided { finding, .. } => finding.node.clone(),
            RemediationEvent::Started { node, .. }
            | RemediationEvent::Step { node, .. }
            | RemediationEvent::Succeeded { node, .. }
            | RemediationEvent::Failed { node, .. }
            | RemediationEvent::Held { node, .. }
            | RemediationEvent::Released { node, .. } => node.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_spell_as_in_json_and_ports_read_numbers_and_names() {
        for kind in FindingKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        let old: Finding = serde_json::from_str(
            r#"{"kind": "ib-link", "cluster": "c", "node": "n", "port": 2, "state": "down"}"#,
        )
        .unwrap();
        assert_eq!(old.port.as_ref().map(IbPortName::as_str), Some("mlx5_2/1"));
        let new: Finding = serde_json::from_str(
            r#"{"kind": "gpu-ecc", "cluster": "c", "node": "n", "gpu": 1, "port": "mlx5_5/1"}"#,
        )
        .unwrap();
        assert_eq!(new.kind, FindingKind::GpuEcc);
        assert_eq!((new.signal, new.severity), (None, None));
        let remap: Finding = serde_json::from_str(
            r#"{"kind": "gpu-row-remap", "cluster": "c", "node": "n", "gpu": 2,
                "signal": "row_remap_failure", "severity": "critical"}"#,
        )
        .unwrap();
        assert_eq!(remap.signal.as_deref(), Some("row_remap_failure"));
        assert_eq!(remap.severity.as_deref(), Some("critical"));
        let json = serde_json::to_value(&old).unwrap();
        assert!(json.get("signal").is_none() && json.get("severity").is_none());
        assert_eq!(
            serde_json::to_value(&old).unwrap()["port"],
            serde_json::json!("mlx5_2/1")
        );
        assert!(
            serde_json::from_str::<Finding>(
                r#"{"kind": "ib-link", "cluster": "c", "node": "n", "port": "bad port"}"#
            )
            .is_err()
        );
    }
}
