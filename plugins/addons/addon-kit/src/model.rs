//! Plain-Rust mirrors of the `accord:plugin@0.1.0` records an add-on consumes and produces.
//!
//! The add-ons' logic works on these types so it can be tested natively; [`crate::glue`]
//! converts them to and from the bindgen types inside the component. Field meanings follow the
//! WIT file (`plugins/wit/plugin.wit`).

/// A node pool as an add-on sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pool {
    /// Pool name; nodes carry it in the [`crate::k8s::POOL_LABEL`] label.
    pub name: String,
    /// Instance type, e.g. `h100-80gb-sxm-ib.8x`.
    pub instance_type: String,
    /// GPUs per node (0 for CPU-only pools).
    pub gpu_count: u32,
    /// GPU model, e.g. `H100` (empty for CPU-only pools).
    pub gpu_model: String,
    /// Whether the instance type is on the InfiniBand fabric.
    pub infiniband: bool,
    /// Current node count.
    pub count: u32,
    /// Autoscaler lower bound when autoscaling is on.
    pub min_count: Option<u32>,
    /// Autoscaler upper bound when autoscaling is on.
    pub max_count: Option<u32>,
}

impl Pool {
    /// Whether the pool's nodes have GPUs.
    pub fn has_gpus(&self) -> bool {
        self.gpu_count > 0
    }

    /// Autoscaler bounds `(min, max)` when both are set.
    pub fn autoscaling(&self) -> Option<(u32, u32)> {
        match (self.min_count, self.max_count) {
            (Some(min), Some(max)) => Some((min, max)),
            _ => None,
        }
    }
}

/// A cluster as an add-on sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cluster {
    /// Cluster id.
    pub id: String,
    /// Cluster name.
    pub name: String,
    /// Owning project.
    pub project: String,
    /// Kubernetes minor version, e.g. `1.32`.
    pub kubernetes_version: String,
    /// Region, e.g. `us-east1`.
    pub region: String,
    /// Pod CIDR chosen at cluster creation.
    pub pod_cidr: String,
    /// Service CIDR chosen at cluster creation.
    pub service_cidr: String,
    /// API server URL, e.g. `https://name-abc123.us-east1.k8s.accord.internal:6443`.
    pub api_endpoint: String,
    /// Node pools.
    pub pools: Vec<Pool>,
}

impl Cluster {
    /// Pools whose nodes have GPUs.
    pub fn gpu_pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(|p| p.has_gpus())
    }

    /// Pools on the InfiniBand fabric.
    pub fn infiniband_pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(|p| p.infiniband)
    }

    /// Pools without GPUs (where controllers preferably run).
    pub fn cpu_pools(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(|p| !p.has_gpus())
    }

    /// Kubernetes `(major, minor)`, e.g. `(1, 32)` for `1.32` (a patch part is ignored).
    pub fn kube_minor(&self) -> Result<(u64, u64), String> {
        let mut parts = self.kubernetes_version.trim_start_matches('v').split('.');
        let major = parts.next().and_then(|p| p.parse().ok());
        let minor = parts.next().and_then(|p| p.parse().ok());
        match (major, minor) {
            (Some(major), Some(minor)) => Ok((major, minor)),
            _ => Err(format!(
                "cluster {} has an unreadable Kubernetes version {:?}",
                self.id, self.kubernetes_version
            )),
        }
    }

    /// Host and port of the API endpoint (`https://host:port`; port 443 when absent).
    pub fn api_host_port(&self) -> Result<(String, u16), String> {
        let rest = self
            .api_endpoint
            .strip_prefix("https://")
            .ok_or_else(|| format!("API endpoint {:?} is not https://", self.api_endpoint))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("API endpoint {:?} has a bad port", self.api_endpoint))?;
                (host, port)
            }
            None => (authority, 443),
        };
        if host.is_empty() {
            return Err(format!("API endpoint {:?} has no host", self.api_endpoint));
        }
        Ok((host.to_owned(), port))
    }
}

/// Who performs the installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installer {
    /// The provider installs and manages it.
    Provider,
    /// The provider ships it; the customer installs and configures it.
    Customer,
}

/// Ownership of an installed add-on after a configuration change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Exactly the provider's reference configuration.
    ProviderManaged,
    /// Only customer knobs differ from the reference.
    Shared,
    /// Significantly modified (or replaced): the customer's.
    CustomerOwned,
}

impl Ownership {
    /// kebab-case name, as in the WIT enum.
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::ProviderManaged => "provider-managed",
            Ownership::Shared => "shared",
            Ownership::CustomerOwned => "customer-owned",
        }
    }
}

/// What `describe` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddonInfo {
    /// Stable name, e.g. `nvidia-gpu-operator`.
    pub name: String,
    /// One-paragraph description.
    pub description: String,
    /// Version of the plugin itself.
    pub plugin_version: String,
    /// Renderable versions, oldest first.
    pub versions: Vec<String>,
    /// Version installed when none is asked for.
    pub default_version: String,
    /// The provider's reference configuration (JSON object).
    pub default_config: String,
    /// Required on clusters with InfiniBand pools.
    pub required_with_infiniband: bool,
    /// Who installs it.
    pub installer: Installer,
    /// Configuration paths the customer may change while the add-on stays shared.
    pub customer_knobs: Vec<String>,
}

/// One invalid field of a configuration, by dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Dotted path, e.g. `driver.upgradePolicy.maxParallelUpgrades` or `tolerations[1].effect`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Kind of a rendered file: the WIT `manifest.format` string.
///
/// Every add-on renders Kubernetes documents only: a Helm chart is a Flux `HelmRepository` and
/// `HelmRelease` ([`crate::flux`]), so the former `helm-values` kind (values with the chart
/// named in a YAML comment, which no GitOps tool could apply) is gone. The WIT field stays a
/// string so the ABI is unchanged; a host may still meet `helm-values` from an older pushed
/// plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One or more Kubernetes YAML documents.
    Kubernetes,
}

impl Format {
    /// The WIT string: `kubernetes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Kubernetes => "kubernetes",
        }
    }
}

/// One rendered file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// File-like name, e.g. `10-namespace.yaml`.
    pub name: String,
    /// YAML text.
    pub content: String,
    /// What the text is.
    pub format: Format,
}

/// The result of rendering: the files, plus notes worth logging (not errors).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// Files in apply order.
    pub manifests: Vec<Manifest>,
    /// Remarks for the host's log (e.g. "no InfiniBand pools: NicClusterPolicy not rendered").
    pub notes: Vec<String>,
}

/// Judgement of a configuration change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Resulting ownership.
    pub ownership: Ownership,
    /// Why, naming the fields and the rule.
    pub reason: String,
}

/// Ordered upgrade steps.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpgradePlan {
    /// Steps in execution order.
    pub steps: Vec<String>,
    /// Whether workloads are disrupted (e.g. a driver reload drains nodes).
    pub disruptive: bool,
}
