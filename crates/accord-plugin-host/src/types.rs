//! Plain Rust types for what plugins exchange with the host, mirroring the WIT of
//! `accord:plugin@0.1.0` (add-ons) and `@0.2.0` (remediation policies; [`PolicyInterface`]
//! says which version a policy speaks). Remediation policies use `accord_core::remediation` directly
//! (`Finding`, `RemediationContext`, `RemediationDecision`); the add-on vocabulary and the
//! plugin metadata live here.
//!
//! Invariant: callers never see a generated binding type; `convert` is the only place that
//! maps between these and the bindings.

use serde::{Deserialize, Serialize};

/// Which world a component implements, judged by its exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginKind {
    /// Exports `accord:plugin/addon-api`.
    Addon,
    /// Exports `accord:plugin/policy-api`.
    RemediationPolicy,
}

/// Which version of the remediation-policy world a policy was built against.
///
/// `accord:plugin@0.2.0` knows every finding kind and names InfiniBand ports as agents do
/// (`mlx5_0/1`); `accord:plugin@0.1.0` knows `gpu-xid`, `ib-link`, `node-not-ready` and
/// `gpu-thermal` only and numbers ports by HCA. The host loads both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PolicyInterface {
    /// `accord:plugin@0.1.0`.
    #[serde(rename = "accord:plugin@0.1.0")]
    V0_1,
    /// `accord:plugin@0.2.0`.
    #[serde(rename = "accord:plugin@0.2.0")]
    V0_2,
}

impl PolicyInterface {
    /// Every supported version, oldest first.
    pub const ALL: [PolicyInterface; 2] = [PolicyInterface::V0_1, PolicyInterface::V0_2];

    /// The WIT package, e.g. `accord:plugin@0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyInterface::V0_1 => "accord:plugin@0.1.0",
            PolicyInterface::V0_2 => "accord:plugin@0.2.0",
        }
    }

    /// The name of the interface a policy of this version exports.
    pub fn export_name(self) -> &'static str {
        match self {
            PolicyInterface::V0_1 => "accord:plugin/policy-api@0.1.0",
            PolicyInterface::V0_2 => "accord:plugin/policy-api@0.2.0",
        }
    }
}

impl std::fmt::Display for PolicyInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a loaded plugin still takes calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum PluginState {
    /// Calls run.
    Active,
    /// Failed too often in a row; calls fail fast with `PluginError::Quarantined`.
    Quarantined { reason: String },
}

/// A remediation policy's `describe()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// Stable name, e.g. `gpu-remediation`.
    pub name: String,
    /// Version of the policy.
    pub version: String,
}

/// Who performs an add-on's installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Installer {
    Provider,
    Customer,
}

/// Ownership of an installed add-on after a configuration change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ownership {
    ProviderManaged,
    Shared,
    CustomerOwned,
}

/// An add-on's `describe()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddonInfo {
    /// Stable name, e.g. `nvidia-gpu-operator`.
    pub name: String,
    pub description: String,
    /// Version of the plugin itself.
    pub plugin_version: String,
    /// Add-on (chart/app) versions the plugin can render, oldest first.
    pub versions: Vec<String>,
    pub default_version: String,
    /// The provider's reference configuration (a JSON object).
    pub default_config: String,
    /// Required on clusters with InfiniBand node pools.
    pub required_with_infiniband: bool,
    pub installer: Installer,
    /// Configuration paths the customer may change while the add-on stays shared.
    pub customer_knobs: Vec<String>,
}

/// One invalid field of a configuration, by dotted path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

/// A node pool as an add-on sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolInfo {
    pub name: String,
    pub instance_type: String,
    pub gpu_count: u32,
    pub gpu_model: String,
    pub infiniband: bool,
    pub count: u32,
    /// Autoscaler bounds when autoscaling is on.
    pub min_count: Option<u32>,
    pub max_count: Option<u32>,
}

/// A cluster as an add-on sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub id: String,
    pub name: String,
    pub project: String,
    /// Kubernetes minor version, e.g. `1.32`.
    pub kubernetes_version: String,
    pub region: String,
    pub pod_cidr: String,
    pub service_cidr: String,
    pub api_endpoint: String,
    pub pools: Vec<PoolInfo>,
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// File-like name, e.g. `10-namespace.yaml`.
    pub name: String,
    /// One or more Kubernetes YAML documents (charts as Flux `HelmRepository` + `HelmRelease`).
    pub content: String,
    /// `kubernetes` (the shipped add-ons); plugins built before Flux rendering may say
    /// `helm-values`. Passed through as the plugin wrote it.
    pub format: String,
}

/// An add-on's judgement of a configuration change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub ownership: Ownership,
    pub reason: String,
}

/// How to upgrade an add-on between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePlan {
    pub steps: Vec<String>,
    /// Whether workloads are disrupted (e.g. a driver reload drains GPU nodes).
    pub disruptive: bool,
}
