//! Clusters (owned by the provisioner): spec chosen by the customer, control plane run by the
//! provider.
//!
//! Invariants: the region and the network plan never change after creation; the version moves
//! one minor at a time, requested by the customer and executed by the provider.

use serde::{Deserialize, Serialize};

use crate::{
    events::DomainEvent,
    ids::ClusterId,
    infra::ReplicaState,
    meta::{Condition, Conditions, Metadata},
    validation::{KubeVersion, NetworkPlan},
};

/// Condition: all control-plane replicas serve.
pub const COND_CONTROL_PLANE_READY: &str = "ControlPlaneReady";
/// Condition: the cluster is usable (control plane ready and not being deleted).
pub const COND_READY: &str = "Ready";
/// Condition: an upgrade is requested or running.
pub const COND_UPGRADING: &str = "Upgrading";
/// Condition: no customer component degrades the control plane unmitigated.
pub const COND_CONTROL_PLANE_HEALTHY: &str = "ControlPlaneHealthy";
/// Condition: no customer workload degrades the InfiniBand fabric unmitigated.
pub const COND_FABRIC_HEALTHY: &str = "FabricHealthy";

/// A managed Kubernetes cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Metadata.
    pub metadata: Metadata<ClusterId>,
    /// Desired state.
    pub spec: ClusterSpec,
    /// Observed state.
    pub status: ClusterStatus,
}

/// What the customer asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// Kubernetes minor version the control plane should run.
    pub kubernetes_version: KubeVersion,
    /// Region (immutable).
    pub region: String,
    /// Address plan (immutable).
    pub network: NetworkPlan,
    /// OIDC settings the provider applies to the API server.
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
    /// Core add-ons opted into at creation.
    #[serde(default)]
    pub addons: Vec<String>,
    /// AutoClusters remediation settings.
    #[serde(default)]
    pub autoclusters: AutoClustersSettings,
    /// The CNI's datapath (immutable): which node-to-node flows the firewall must allow.
    #[serde(default)]
    pub cni: CniSettings,
}

/// How Cilium carries pod traffic between nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CniTunnel {
    /// VXLAN encapsulation, 8472/udp (Cilium's default).
    #[default]
    Vxlan,
    /// Geneve encapsulation, 6081/udp.
    Geneve,
    /// Native routing: pod addresses travel the VPC unencapsulated.
    Native,
}

impl CniTunnel {
    /// Every mode.
    pub const ALL: [CniTunnel; 3] = [CniTunnel::Vxlan, CniTunnel::Geneve, CniTunnel::Native];

    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CniTunnel::Vxlan => "vxlan",
            CniTunnel::Geneve => "geneve",
            CniTunnel::Native => "native",
        }
    }

    /// The mode named `s` (`""` is the default, VXLAN).
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() {
            return Some(CniTunnel::Vxlan);
        }
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The CNI's datapath settings chosen at creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CniSettings {
    /// Encapsulation mode.
    #[serde(default)]
    pub tunnel: CniTunnel,
    /// Transparent encryption between nodes with WireGuard (51871/udp).
    #[serde(default)]
    pub wireguard: bool,
    /// Hubble flow observability (4244/tcp on every node).
    #[serde(default)]
    pub hubble: bool,
}

/// OIDC identity provider settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcConfig {
    /// Issuer URL (https).
    pub issuer_url: String,
    /// Client id.
    pub client_id: String,
    /// Claim used as the user name.
    pub username_claim: String,
    /// Claim carrying groups.
    pub groups_claim: String,
    /// Claims that must be present with these values.
    #[serde(default)]
    pub required_claims: std::collections::BTreeMap<String, String>,
}

/// Most nodes of one pool AutoClusters may remediate at the same time. A pool has at most
/// 1000 nodes; replacing more than 100 at once is no longer remediation but a re-provisioning,
/// which is what cycling a pool is for.
pub const MAX_IN_FLIGHT_PER_POOL: u32 = 100;

/// The customer's AutoClusters settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoClustersSettings {
    /// Whether automatic remediation is allowed.
    pub remediation_enabled: bool,
    /// Circuit breaker: at most this percent of nodes unhealthy at once (1–100).
    pub max_unhealthy_percent: u32,
    /// Nodes per pool remediated at the same time (1–[`MAX_IN_FLIGHT_PER_POOL`]).
    pub max_in_flight_per_pool: u32,
    /// How allowed remediations are carried out.
    #[serde(default)]
    pub mode: RemediationMode,
    /// When preventive remediations may run (none: no windows, see [`crate::maintenance`]).
    #[serde(default)]
    pub maintenance: crate::maintenance::MaintenanceSchedule,
    /// The remediation policy this cluster uses (a `policy.<name>` the operator pushed to the
    /// plugin bucket); empty: the shipped [`DEFAULT_REMEDIATION_POLICY`].
    #[serde(default)]
    pub policy: String,
}

/// The remediation policy a cluster uses unless it names another.
pub const DEFAULT_REMEDIATION_POLICY: &str = "gpu-remediation";

impl AutoClustersSettings {
    /// The name of the remediation policy this cluster uses.
    pub fn policy_name(&self) -> &str {
        if self.policy.is_empty() {
            DEFAULT_REMEDIATION_POLICY
        } else {
            &self.policy
        }
    }
}

/// How a cluster's allowed remediations are carried out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemediationMode {
    /// Carried out as decided.
    #[default]
    Auto,
    /// Costly actions (reboot, replace) wait for the customer's (or an operator's) approval;
    /// a GPU reset goes ahead.
    Approval,
    /// Recorded with what would happen; nothing touches a node.
    DryRun,
}

impl RemediationMode {
    /// Every mode.
    pub const ALL: [RemediationMode; 3] = [
        RemediationMode::Auto,
        RemediationMode::Approval,
        RemediationMode::DryRun,
    ];

    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationMode::Auto => "auto",
            RemediationMode::Approval => "approval",
            RemediationMode::DryRun => "dry-run",
        }
    }

    /// The mode named `s` (`""` is the default, `auto`).
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() {
            return Some(RemediationMode::Auto);
        }
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl Default for AutoClustersSettings {
    fn default() -> Self {
        Self {
            remediation_enabled: false,
            max_unhealthy_percent: 20,
            max_in_flight_per_pool: 1,
            mode: RemediationMode::Auto,
            maintenance: crate::maintenance::MaintenanceSchedule::default(),
            policy: String::new(),
        }
    }
}

/// Lifecycle phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterPhase {
    /// Control plane coming up.
    Provisioning,
    /// Serving.
    Running,
    /// A version upgrade is rolling.
    Upgrading,
    /// A replica is down.
    Degraded,
    /// Being torn down.
    Deleting,
}

impl ClusterPhase {
    /// kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterPhase::Provisioning => "provisioning",
            ClusterPhase::Running => "running",
            ClusterPhase::Upgrading => "upgrading",
            ClusterPhase::Degraded => "degraded",
            ClusterPhase::Deleting => "deleting",
        }
    }
}

/// One control-plane replica as last observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replica {
    /// Name.
    pub name: String,
    /// Failure domain.
    pub failure_domain: String,
    /// State.
    pub state: ReplicaState,
    /// Version.
    pub version: KubeVersion,
    /// Since when it is down (set when it goes down, cleared when it runs again).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub down_since: Option<time::OffsetDateTime>,
}

/// A customer component degrading what the provider runs, as the provisioner tracks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentImpactStatus {
    /// The customer's component.
    pub component: String,
    /// What it does.
    pub impact: crate::infra::ImpactKind,
    /// Degrading or mitigated (cleared impacts are removed).
    pub state: crate::infra::ImpactState,
    /// The provider's mitigation.
    pub mitigation: crate::infra::Mitigation,
    /// When it was first seen.
    #[serde(with = "time::serde::rfc3339")]
    pub since: time::OffsetDateTime,
    /// When the mitigation took effect.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub mitigated_at: Option<time::OffsetDateTime>,
    /// The infrastructure's last sentence about it.
    pub detail: String,
}

/// What the provisioner observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Phase.
    pub phase: ClusterPhase,
    /// Version every replica runs (None until the first replica is up).
    pub current_version: Option<KubeVersion>,
    /// Version the customer asked to move to.
    pub requested_version: Option<KubeVersion>,
    /// Replicas.
    pub control_plane: Vec<Replica>,
    /// API server URL.
    pub api_endpoint: String,
    /// Generation this status describes.
    pub observed_generation: u64,
    /// Conditions.
    pub conditions: Conditions,
    /// Customer components degrading the control plane or the fabric (mitigated or not).
    #[serde(default)]
    pub impacts: Vec<ComponentImpactStatus>,
}

/// Facts about clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ClusterEvent {
    /// Created (control plane requested).
    Created {
        /// The cluster as created.
        cluster: Box<Cluster>,
    },
    /// Labels, OIDC or AutoClusters settings changed.
    Updated {
        /// The cluster after the change.
        cluster: Box<Cluster>,
    },
    /// The customer requested an upgrade.
    UpgradeRequested {
        /// Cluster.
        cluster: ClusterId,
        /// From.
        from: KubeVersion,
        /// To.
        to: KubeVersion,
        /// Who asked.
        requested_by: String,
    },
    /// The provider started executing the upgrade.
    UpgradeStarted {
        /// Cluster.
        cluster: ClusterId,
        /// Target.
        to: KubeVersion,
        /// Operator.
        executed_by: String,
    },
    /// Every replica runs the new version.
    Upgraded {
        /// Cluster.
        cluster: ClusterId,
        /// New version.
        version: KubeVersion,
    },
    /// A condition changed status (e.g. ControlPlaneReady went False when a replica died).
    ConditionChanged {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: crate::ids::ProjectId,
        /// The condition after the change.
        condition: Condition,
    },
    /// A control-plane replica that was down runs again: replaced by the provider (a new
    /// replica under the same name) or back by itself.
    ReplicaRecovered {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: crate::ids::ProjectId,
        /// Replica name.
        replica: String,
        /// Failure domain it runs in now.
        failure_domain: String,
        /// How long it was down, in milliseconds.
        down_ms: u64,
        /// Whether the provider replaced it.
        replaced: bool,
    },
    /// A customer component degrades the control plane or the fabric, the provider's
    /// mitigation restored baseline health, or the customer's fix cleared it.
    ComponentImpact {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: crate::ids::ProjectId,
        /// The customer's component.
        component: String,
        /// What it does.
        impact: crate::infra::ImpactKind,
        /// Where it stands.
        state: crate::infra::ImpactState,
        /// The provider's mitigation (applied once `mitigated`).
        mitigation: crate::infra::Mitigation,
        /// What happened, in a sentence.
        detail: String,
    },
    /// Deletion started.
    DeletionStarted {
        /// Cluster.
        cluster: ClusterId,
    },
    /// Gone.
    Deleted {
        /// Cluster.
        cluster: ClusterId,
        /// Project.
        project: crate::ids::ProjectId,
        /// Name.
        name: String,
    },
}

impl DomainEvent for ClusterEvent {
    fn resource(&self) -> &'static str {
        "cluster"
    }
    fn event(&self) -> &'static str {
        match self {
            ClusterEvent::Created { .. } => "created",
            ClusterEvent::Updated { .. } => "updated",
            ClusterEvent::UpgradeRequested { .. } => "upgrade-requested",
            ClusterEvent::UpgradeStarted { .. } => "upgrade-started",
            ClusterEvent::Upgraded { .. } => "upgraded",
            ClusterEvent::ConditionChanged { .. } => "condition-changed",
            ClusterEvent::ReplicaRecovered { .. } => "replica-recovered",
            ClusterEvent::ComponentImpact { .. } => "component-impact",
            ClusterEvent::DeletionStarted { .. } => "deletion-started",
            ClusterEvent::Deleted { .. } => "deleted",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster } => {
                cluster.metadata.id.to_string()
            }
            ClusterEvent::UpgradeRequested { cluster, .. }
            | ClusterEvent::UpgradeStarted { cluster, .. }
            | ClusterEvent::Upgraded { cluster, .. }
            | ClusterEvent::ConditionChanged { cluster, .. }
            | ClusterEvent::ReplicaRecovered { cluster, .. }
            | ClusterEvent::ComponentImpact { cluster, .. }
            | ClusterEvent::DeletionStarted { cluster }
            | ClusterEvent::Deleted { cluster, .. } => cluster.to_string(),
        }
    }
}

/// Core add-ons a customer may opt into at cluster creation.
pub const CORE_ADDONS: [&str; 7] = [
    "cilium",
    "nvidia-gpu-operator",
    "nvidia-network-operator",
    "csi-driver",
    "cluster-autoscaler",
    "registry-token-rotator",
    "watch-agent",
];
