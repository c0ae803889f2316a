//! The shared-responsibility model as data, and the check every RPC runs against it.
//!
//! The matrix lists every layer of a managed Kubernetes service and every component inside it
//! with its owner (provider, shared or customer), what each side does and its support scope.
//! Components marked "Accord" in their notes are the platform's own refinements of the model
//! (e.g. project quota); everything else follows the source model of the service.
//!
//! Invariant: every RPC declares an [`RpcRule`] naming the component it touches and the party
//! whose part of that component it performs; [`RpcRule::authorize`] refuses a principal of the
//! other party with a message that names the layer and its owner.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    error::DomainError,
    iam::{Party, Principal, Role},
};

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

    /// Who owns the layer as a whole (components inside may differ, see [`COMPONENTS`]).
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

const fn c(
    id: &'static str,
    layer: Layer,
    name: &'static str,
    owner: Owner,
    provider_part: &'static str,
    customer_part: &'static str,
    support: SupportScope,
) -> Component {
    Component {
        id,
        layer,
        name,
        owner,
        provider_part,
        customer_part,
        support,
    }
}

use Layer as L;
use Owner::{Customer as C, Provider as P, Shared as S};
use SupportScope::{CustomerOwned as CO, Supported as SUP};

/// Every component of the model.
pub static COMPONENTS: &[Component] = &[
    // Infrastructure: entirely the provider's; customers never handle hardware.
    c(
        "gpu-cpu-hardware",
        L::Infrastructure,
        "GPU and CPU hardware",
        P,
        "operates, repairs and replaces physical GPUs and CPUs",
        "",
        SUP,
    ),
    c(
        "datacenter-facilities",
        L::Infrastructure,
        "Data centres, power and cooling",
        P,
        "runs the facilities",
        "",
        SUP,
    ),
    c(
        "host-provisioning",
        L::Infrastructure,
        "Hypervisor and bare-metal provisioning",
        P,
        "provisions virtual and bare-metal hosts",
        "",
        SUP,
    ),
    c(
        "infiniband-fabric",
        L::Infrastructure,
        "InfiniBand / RDMA fabric",
        P,
        "operates the InfiniBand RDMA network",
        "",
        SUP,
    ),
    c(
        "project-quota",
        L::Infrastructure,
        "Project capacity quota (Accord)",
        P,
        "sets how many GPUs a project may hold",
        "requests more capacity",
        SUP,
    ),
    // Control plane: run and upgraded by the provider; the customer picks and requests versions.
    c(
        "kube-apiserver",
        L::ControlPlane,
        "kube-apiserver",
        P,
        "runs, scales and patches it",
        "",
        SUP,
    ),
    c(
        "etcd",
        L::ControlPlane,
        "etcd",
        P,
        "runs, backs up and patches it",
        "",
        SUP,
    ),
    c(
        "kube-scheduler",
        L::ControlPlane,
        "kube-scheduler",
        P,
        "runs and patches it",
        "",
        SUP,
    ),
    c(
        "kube-controller-manager",
        L::ControlPlane,
        "kube-controller-manager",
        P,
        "runs and patches it",
        "",
        SUP,
    ),
    c(
        "control-plane-ha",
        L::ControlPlane,
        "Control plane provisioning and availability",
        P,
        "provisions at least three replicas spread over failure domains and keeps them available",
        "",
        SUP,
    ),
    c(
        "cluster-lifecycle",
        L::ControlPlane,
        "Cluster creation and deletion",
        S,
        "brings up and tears down the control plane",
        "decides when a cluster is created and deleted (after deleting its node pools)",
        SUP,
    ),
    c(
        "kubernetes-version",
        L::ControlPlane,
        "Kubernetes version selection",
        S,
        "offers the supported versions and executes upgrades",
        "picks the version at creation and requests upgrades when ready",
        SUP,
    ),
    // Worker nodes.
    c(
        "node-base-image",
        L::WorkerNodes,
        "Worker node base OS image and configuration",
        P,
        "builds, configures and publishes base images",
        "",
        SUP,
    ),
    c(
        "node-os-updates",
        L::WorkerNodes,
        "OS updates and patching",
        S,
        "publishes updated images",
        "applies them by cycling node pools",
        SUP,
    ),
    c(
        "cluster-autoscaler",
        L::WorkerNodes,
        "Cluster Autoscaler",
        S,
        "ships a compatible build",
        "sets min/max and deploys it",
        SUP,
    ),
    c(
        "autoclusters",
        L::WorkerNodes,
        "AutoClusters hardware remediation",
        S,
        "detects hardware failures and remediates when allowed",
        "configures the remediation settings",
        SUP,
    ),
    c(
        "node-pools",
        L::WorkerNodes,
        "Node pools",
        C,
        "",
        "creates, configures, sizes, scales and deletes pools (before deleting the cluster)",
        CO,
    ),
    // Networking.
    c(
        "cni-cilium",
        L::Networking,
        "CNI (Cilium)",
        P,
        "installs it with the default configuration",
        "",
        SUP,
    ),
    c(
        "load-balancers",
        L::Networking,
        "Load balancers (L4 passthrough)",
        P,
        "provides and runs them",
        "",
        SUP,
    ),
    c(
        "required-firewall-rules",
        L::Networking,
        "Firewall rules required by the cluster",
        P,
        "creates them with the cluster, keeps them current, removes them with it",
        "",
        SUP,
    ),
    c(
        "firewall-configuration",
        L::Networking,
        "Firewall configuration",
        S,
        "manages the rules the cluster needs",
        "manages the rules that expose workloads",
        SUP,
    ),
    c(
        "cluster-network-ranges",
        L::Networking,
        "VPC subnet, pod CIDR, node mask and service CIDR",
        C,
        "",
        "chooses them at cluster creation (immutable afterwards)",
        CO,
    ),
    c(
        "k8s-services-ingress",
        L::Networking,
        "Kubernetes Services and Ingress objects",
        C,
        "",
        "defines them",
        CO,
    ),
    c(
        "network-policies",
        L::Networking,
        "Network policies",
        C,
        "",
        "defines them",
        CO,
    ),
    c(
        "application-firewall-rules",
        L::Networking,
        "Application firewall rules",
        C,
        "",
        "creates and manages them",
        CO,
    ),
    // Storage.
    c(
        "persistent-disk",
        L::Storage,
        "Persistent Disk block storage",
        P,
        "runs the block storage infrastructure",
        "",
        SUP,
    ),
    c(
        "shared-disk-nfs",
        L::Storage,
        "Shared Disk / NFS backend",
        P,
        "runs the NFS backend and enables it per project on request",
        "asks support to enable it",
        SUP,
    ),
    c(
        "csi-driver",
        L::Storage,
        "CSI driver",
        S,
        "ships the Helm chart",
        "installs and configures it",
        SUP,
    ),
    c(
        "storage-classes",
        L::Storage,
        "StorageClass definitions",
        C,
        "",
        "defines them",
        CO,
    ),
    c(
        "persistent-volume-claims",
        L::Storage,
        "PersistentVolumeClaims",
        C,
        "",
        "defines them",
        CO,
    ),
    c(
        "storage-migration",
        L::Storage,
        "Storage migration (e.g. VirtioFS to NFS)",
        C,
        "",
        "plans and performs migrations",
        CO,
    ),
    // Add-ons.
    c(
        "core-addons",
        L::AddOns,
        "Core add-on installation and critical upgrades",
        P,
        "installs Cilium, the GPU Operator and the Network Operator (required with InfiniBand) and ships critical upgrades",
        "opts in at creation or installs later via Helm",
        SUP,
    ),
    c(
        "addon-configuration",
        L::AddOns,
        "Core add-on configuration",
        S,
        "provides reference configurations",
        "may tune allowed settings such as driver versions",
        SUP,
    ),
    c(
        "third-party-addons",
        L::AddOns,
        "Other Helm charts and operators",
        C,
        "",
        "installs and runs them; a self-installed or significantly modified core add-on becomes theirs",
        CO,
    ),
    // Identity and access.
    c(
        "project-iam",
        L::Identity,
        "Project IAM framework (Admin / Editor / Reader)",
        P,
        "provides the IAM framework",
        "",
        SUP,
    ),
    c(
        "container-registry",
        L::Identity,
        "Container registry infrastructure",
        P,
        "runs the registry",
        "",
        SUP,
    ),
    c(
        "kubeconfig",
        L::Identity,
        "kubeconfig generation",
        S,
        "generates kubeconfigs",
        "downloads and keeps them",
        SUP,
    ),
    c(
        "registry-token-rotation",
        L::Identity,
        "Registry token rotation",
        S,
        "ships the CronJob chart",
        "installs and configures it",
        SUP,
    ),
    c(
        "oidc-configuration",
        L::Identity,
        "OIDC configuration",
        S,
        "applies it to cluster components",
        "provides the identity provider settings",
        SUP,
    ),
    c(
        "project-members",
        L::Identity,
        "Project members and their roles",
        C,
        "",
        "decides who is a member and with which role",
        CO,
    ),
    c(
        "api-keys",
        L::Identity,
        "API keys",
        C,
        "",
        "creates, keeps and revokes them",
        CO,
    ),
    c(
        "kubernetes-rbac",
        L::Identity,
        "Kubernetes RBAC",
        C,
        "",
        "defines in-cluster roles and bindings, also with OIDC",
        CO,
    ),
    c(
        "application-secrets",
        L::Identity,
        "Application secrets",
        C,
        "",
        "manages them",
        CO,
    ),
    c(
        "registry-repositories",
        L::Identity,
        "Registry repositories and image push/pull",
        C,
        "",
        "creates repositories and pushes and pulls images",
        CO,
    ),
    // Observability.
    c(
        "cluster-metrics",
        L::Observability,
        "Cluster metrics endpoint",
        P,
        "serves Prometheus-compatible cluster metrics",
        "",
        SUP,
    ),
    c(
        "hardware-telemetry",
        L::Observability,
        "GPU, interconnect and host telemetry",
        P,
        "collects and surfaces it",
        "",
        SUP,
    ),
    c(
        "hardware-health-checks",
        L::Observability,
        "Active hardware health checks",
        P,
        "runs them (AutoClusters)",
        "",
        SUP,
    ),
    c(
        "support-tickets",
        L::Observability,
        "Support tickets and platform incidents",
        S,
        "classifies every ticket by this matrix, owns Supported ones under the SLA, advises on Best-Effort ones and restores cluster health when a customer component breaks it",
        "files tickets and resolves Customer-Owned ones",
        SUP,
    ),
    c(
        "node-log-collection",
        L::Observability,
        "Node-level log collection",
        P,
        "collects a subset of node logs when the watch agent is installed",
        "installs the watch agent",
        SUP,
    ),
    c(
        "application-monitoring",
        L::Observability,
        "Application monitoring",
        C,
        "",
        "runs dashboards and alerting (Grafana …)",
        CO,
    ),
    c(
        "log-aggregation",
        L::Observability,
        "Log aggregation",
        C,
        "",
        "runs log pipelines (Loki, Fluentd …)",
        CO,
    ),
    // Application config and workloads.
    c(
        "config-maps",
        L::ApplicationConfig,
        "ConfigMaps and application configuration",
        C,
        "",
        "manages them",
        CO,
    ),
    c(
        "workloads",
        L::Workloads,
        "Deployments, StatefulSets, DaemonSets, Jobs",
        C,
        "",
        "deploys and runs them",
        CO,
    ),
    c(
        "namespaces-quotas",
        L::Workloads,
        "Namespaces and resource quotas",
        C,
        "",
        "defines them",
        CO,
    ),
    c(
        "pod-scheduling",
        L::Workloads,
        "Pod scheduling, affinity and custom schedulers",
        C,
        "",
        "configures them",
        CO,
    ),
    c(
        "ml-orchestration",
        L::Workloads,
        "Training job orchestration (Kubeflow, PyTorchJob …)",
        C,
        "",
        "runs it",
        CO,
    ),
];

/// Topics the provider looks into without owning the outcome.
pub static BEST_EFFORT_TOPICS: &[(&str, &str)] = &[
    (
        "gpu-driver-workload-issues",
        "GPU driver problems that appear only under particular workload patterns",
    ),
    ("nccl-tuning", "NCCL tuning"),
    ("performance-optimization", "Performance optimisation"),
    (
        "custom-scheduling-conflicts",
        "Conflicts caused by custom scheduling",
    ),
];

/// Kinds of components customers install that are theirs to operate.
pub static CUSTOMER_OWNED_KINDS: &[(&str, &str)] = &[
    ("service-mesh", "Service meshes (Istio, Linkerd …)"),
    ("custom-ingress-controller", "Custom ingress controllers"),
    ("custom-scheduler", "Custom schedulers"),
    ("third-party-operator", "Third-party operators"),
    ("application-monitoring", "Application monitoring"),
    ("ci-cd", "CI/CD tooling"),
    ("custom-admission-webhook", "Custom admission webhooks"),
];

/// Looks up a component by id.
pub fn component(id: &str) -> Option<&'static Component> {
    COMPONENTS.iter().find(|c| c.id == id)
}

/// What an RPC does, which decides the minimum project role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read state.
    Read,
    /// Create, change or delete resources.
    Mutate,
    /// Manage members and API keys.
    ManageAccess,
}

impl Action {
    /// The minimum project role a customer needs.
    pub fn min_role(self) -> Role {
        match self {
            Action::Read => Role::Reader,
            Action::Mutate => Role::Editor,
            Action::ManageAccess => Role::Admin,
        }
    }
}

/// Who may perform an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// Only the given party.
    Only(Party),
    /// Either party (reads: the provider's operators read customer state to support it).
    Either,
}

/// The declaration every RPC makes: its action, the component it touches and whose part it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcRule {
    /// Full gRPC method path, e.g. `/accord.provisioner.v1.Clusters/CreateCluster`.
    pub method: &'static str,
    /// What it does.
    pub action: Action,
    /// Component id in [`COMPONENTS`].
    pub component: &'static str,
    /// Whose part of the component it performs.
    pub actor: Actor,
    /// Whether the call is tied to one project (a customer key then must be scoped to it).
    pub project_scoped: bool,
}

impl RpcRule {
    /// The component this rule names.
    pub fn component(&self) -> Result<&'static Component, DomainError> {
        component(self.component).ok_or_else(|| {
            DomainError::internal(format!(
                "RPC {} names unknown component {}",
                self.method, self.component
            ))
        })
    }

    /// Checks the responsibility matrix (party) for `principal`. Project role checks happen
    /// once the target project is known, with [`RpcRule::authorize_in_project`].
    pub fn authorize(&self, principal: &Principal) -> Result<(), DomainError> {
        let comp = self.component()?;
        let party = principal.party();
        match self.actor {
            Actor::Either => Ok(()),
            Actor::Only(required) if required == party => Ok(()),
            Actor::Only(required) => Err(DomainError::PermissionDenied(format!(
                "{} is the {required}'s part of {:?} in the {} layer (owned by {}); a {party} cannot do it{}",
                describe_method(self.method),
                comp.name,
                comp.layer,
                comp.owner.as_str(),
                hint(comp, required),
            ))),
        }
    }

    /// Checks that a customer principal acts in `project` with at least the rule's role.
    /// Provider operators pass when the rule allows the provider at all.
    pub fn authorize_in_project(
        &self,
        principal: &Principal,
        project: crate::ids::ProjectId,
    ) -> Result<(), DomainError> {
        self.authorize(principal)?;
        match principal {
            Principal::ProviderOperator { .. } => Ok(()),
            Principal::Customer {
                project: scoped,
                role,
                ..
            } => {
                if *scoped != project {
                    // Do not reveal whether the other project exists.
                    return Err(DomainError::PermissionDenied(format!(
                        "this API key is scoped to project {scoped}, not {project}"
                    )));
                }
                let needed = self.action.min_role();
                if *role < needed {
                    return Err(DomainError::PermissionDenied(format!(
                        "{} needs the {needed} role in project {project}; you are {role}",
                        describe_method(self.method)
                    )));
                }
                Ok(())
            }
        }
    }
}

fn describe_method(method: &str) -> String {
    let name = method.rsplit('/').next().unwrap_or(method);
    format!("`{name}`")
}

fn hint(comp: &Component, required: Party) -> String {
    match required {
        Party::Provider if !comp.customer_part.is_empty() => {
            format!(" (the customer's part is: {})", comp.customer_part)
        }
        Party::Customer if !comp.provider_part.is_empty() => {
            format!(" (the provider's part is: {})", comp.provider_part)
        }
        _ => String::new(),
    }
}

/// Checks a whole RPC table: every rule names a known component and assigns its action to a
/// party that has a part in that component. Run by each service's tests.
pub fn check_rules(rules: &[RpcRule]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for r in rules {
        if !seen.insert(r.method) {
            return Err(format!("{} declared twice", r.method));
        }
        let comp = component(r.component)
            .ok_or_else(|| format!("{}: unknown component {}", r.method, r.component))?;
        if r.action == Action::Read {
            continue;
        }
        let ok = match (r.actor, comp.owner) {
            (Actor::Either, _) => false,
            (Actor::Only(_), Owner::Shared) => true,
            (Actor::Only(Party::Provider), Owner::Provider) => true,
            (Actor::Only(Party::Customer), Owner::Customer) => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "{}: a mutation by {:?} on {} (owned by {}) contradicts the matrix",
                r.method, r.actor, comp.id, comp.owner
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ApiKeyId, ProjectId, UserId};

    fn customer(role: Role, project: ProjectId) -> Principal {
        Principal::Customer {
            user: UserId::generate(),
            user_name: "ada@example.com".into(),
            project,
            role,
            key: ApiKeyId::generate(),
        }
    }

    fn operator() -> Principal {
        Principal::ProviderOperator {
            name: "ops".into(),
            key: ApiKeyId::generate(),
        }
    }

    const EXECUTE: RpcRule = RpcRule {
        method: "/accord.provisioner.v1.Clusters/ExecuteClusterUpgrade",
        action: Action::Mutate,
        component: "kubernetes-version",
        actor: Actor::Only(Party::Provider),
        project_scoped: true,
    };

    #[test]
    fn component_ids_are_unique_and_every_layer_has_components() {
        let mut ids = std::collections::HashSet::new();
        for comp in COMPONENTS {
            assert!(ids.insert(comp.id), "duplicate {}", comp.id);
            match comp.owner {
                Owner::Provider => assert!(!comp.provider_part.is_empty(), "{}", comp.id),
                Owner::Customer => assert!(!comp.customer_part.is_empty(), "{}", comp.id),
                Owner::Shared => assert!(
                    !comp.provider_part.is_empty() && !comp.customer_part.is_empty(),
                    "{}",
                    comp.id
                ),
            }
        }
        for layer in Layer::ALL {
            assert!(
                COMPONENTS.iter().any(|c| c.layer == layer),
                "{layer} has no component"
            );
        }
    }

    #[test]
    fn source_model_facts_hold() {
        // The provider runs the control plane and the infrastructure.
        for id in [
            "kube-apiserver",
            "etcd",
            "kube-scheduler",
            "kube-controller-manager",
            "infiniband-fabric",
        ] {
            assert_eq!(component(id).unwrap().owner, Owner::Provider, "{id}");
        }
        // Shared components.
        for id in [
            "node-os-updates",
            "cluster-autoscaler",
            "autoclusters",
            "firewall-configuration",
            "csi-driver",
            "addon-configuration",
            "kubeconfig",
            "registry-token-rotation",
            "oidc-configuration",
        ] {
            assert_eq!(component(id).unwrap().owner, Owner::Shared, "{id}");
        }
        // Customer components.
        for id in [
            "node-pools",
            "cluster-network-ranges",
            "storage-classes",
            "kubernetes-rbac",
            "api-keys",
            "workloads",
            "third-party-addons",
        ] {
            assert_eq!(component(id).unwrap().owner, Owner::Customer, "{id}");
        }
        assert_eq!(Layer::Infrastructure.owner(), Owner::Provider);
        assert_eq!(Layer::Workloads.owner(), Owner::Customer);
        assert_eq!(BEST_EFFORT_TOPICS.len(), 4);
        for l in Layer::ALL {
            assert_eq!(
                serde_json::to_value(l).unwrap(),
                serde_json::json!(l.as_str())
            );
        }
    }

    #[test]
    fn customer_cannot_execute_upgrade_and_message_names_layer_and_owner() {
        let p = ProjectId::generate();
        let err = EXECUTE
            .authorize_in_project(&customer(Role::Admin, p), p)
            .unwrap_err();
        let DomainError::PermissionDenied(msg) = err else {
            panic!("{err:?}")
        };
        assert!(msg.contains("Control Plane"), "{msg}");
        assert!(msg.contains("provider"), "{msg}");
        assert!(msg.contains("ExecuteClusterUpgrade"), "{msg}");
        EXECUTE.authorize_in_project(&operator(), p).unwrap();
    }

    #[test]
    fn roles_gate_actions_and_keys_are_project_scoped() {
        let p = ProjectId::generate();
        let rule = RpcRule {
            method: "/x.Y/CreateNodePool",
            action: Action::Mutate,
            component: "node-pools",
            actor: Actor::Only(Party::Customer),
            project_scoped: true,
        };
        assert!(
            rule.authorize_in_project(&customer(Role::Reader, p), p)
                .is_err()
        );
        rule.authorize_in_project(&customer(Role::Editor, p), p)
            .unwrap();
        let other = ProjectId::generate();
        assert!(
            rule.authorize_in_project(&customer(Role::Admin, other), p)
                .is_err()
        );
        assert!(
            rule.authorize(&operator()).is_err(),
            "the provider does not size customer pools"
        );
    }

    #[test]
    fn rule_tables_are_checked_against_the_matrix() {
        assert!(check_rules(&[EXECUTE]).is_ok());
        let wrong = RpcRule {
            actor: Actor::Only(Party::Customer),
            component: "etcd",
            ..EXECUTE
        };
        assert!(check_rules(&[wrong]).is_err());
        assert!(check_rules(&[EXECUTE, EXECUTE]).is_err());
    }
}
