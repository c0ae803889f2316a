//! The vocabulary of the responsibility model: the [`Layer`]s of the service, who owns a
//! component ([`Owner`]), how support treats it ([`SupportScope`]), and one [`Component`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// A layer of the service, from the hardware up to the customer's workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// Hardware, data centres, provisioning, the InfiniBand fabric.
    Infrastructure,
    /// apiserver, etcd, scheduler, controller-manager and their lifecycle.
    ControlPlane,
    /// Base images, node pools, OS updates, autoscaling and auto-remediation.
    WorkerNodes,
    /// CNI, load balancers, firewall rules, address ranges, Services and policies.
    Networking,
    /// Block and shared-disk backends, the CSI driver, StorageClasses and claims.
    Storage,
    /// Core add-ons (Cilium, GPU and Network Operators …) and anything else installed in clusters.
    AddOns,
    /// IAM, API keys, kubeconfig, OIDC, RBAC, the container registry.
    Identity,
    /// Cluster metrics, hardware telemetry and health checks, application monitoring.
    Observability,
    /// ConfigMaps, secrets and other application configuration.
    ApplicationConfig,
    /// Everything the customer deploys.
    Workloads,
}

impl Layer {
    /// kebab-case id, as in JSON (`control-plane`, `add-ons`).
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Infrastructure => "infrastructure",
            Layer::ControlPlane => "control-plane",
            Layer::WorkerNodes => "worker-nodes",
            Layer::Networking => "networking",
            Layer::Storage => "storage",
            Layer::AddOns => "add-ons",
            Layer::Identity => "identity",
            Layer::Observability => "observability",
            Layer::ApplicationConfig => "application-config",
            Layer::Workloads => "workloads",
        }
    }

    /// All layers, bottom to top.
    pub const ALL: [Layer; 10] = [
        Layer::Infrastructure,
        Layer::ControlPlane,
        Layer::WorkerNodes,
        Layer::Networking,
        Layer::Storage,
        Layer::AddOns,
        Layer::Identity,
        Layer::Observability,
        Layer::ApplicationConfig,
        Layer::Workloads,
    ];

    /// Human name.
    pub fn title(self) -> &'static str {
        match self {
            Layer::Infrastructure => "Infrastructure",
            Layer::ControlPlane => "Control Plane",
            Layer::WorkerNodes => "Worker Nodes",
            Layer::Networking => "Networking",
            Layer::Storage => "Storage",
            Layer::AddOns => "Add-Ons",
            Layer::Identity => "Identity & Access",
            Layer::Observability => "Observability",
            Layer::ApplicationConfig => "Application Config",
            Layer::Workloads => "Workloads",
        }
    }

    /// Who owns the layer as a whole (components inside may differ, see [`super::COMPONENTS`]).
    pub fn owner(self) -> Owner {
        match self {
            Layer::Infrastructure | Layer::ControlPlane => Owner::Provider,
            Layer::WorkerNodes
            | Layer::Networking
            | Layer::Storage
            | Layer::AddOns
            | Layer::Identity
            | Layer::Observability => Owner::Shared,
            Layer::ApplicationConfig | Layer::Workloads => Owner::Customer,
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// Who owns a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Owner {
    /// The provider runs it; the customer never changes it.
    Provider,
    /// Both sides have a part; each RPC says whose part it performs.
    Shared,
    /// The customer runs it; the provider does not touch it.
    Customer,
}

impl Owner {
    /// Lowercase name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Provider => "the provider",
            Owner::Shared => "the provider and the customer (shared)",
            Owner::Customer => "the customer",
        }
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner::Provider => "provider",
            Owner::Shared => "shared",
            Owner::Customer => "customer",
        })
    }
}

/// How the provider's support desk treats problems with a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupportScope {
    /// The provider owns resolution under its service-level commitments.
    Supported,
    /// The provider investigates and advises without owning the outcome or an SLA.
    BestEffort,
    /// The customer installs and operates it; the provider only restores cluster health.
    CustomerOwned,
}

impl fmt::Display for SupportScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SupportScope::Supported => "supported",
            SupportScope::BestEffort => "best-effort",
            SupportScope::CustomerOwned => "customer-owned",
        })
    }
}

/// One component of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Component {
    /// Stable id, kebab-case (used in RPC rules, events and triage rules).
    pub id: &'static str,
    /// Layer the component belongs to.
    pub layer: Layer,
    /// Human name.
    pub name: &'static str,
    /// Who owns it.
    pub owner: Owner,
    /// What the provider does for it (empty when nothing).
    pub provider_part: &'static str,
    /// What the customer does for it (empty when nothing).
    pub customer_part: &'static str,
    /// Support scope when it breaks.
    pub support: SupportScope,
}
