//! The matrix itself, as data: every [`Component`] of the model with its layer, owner, each
//! side's part and support scope ([`COMPONENTS`]), the topics the provider treats as
//! Best-Effort, and the kinds of components customers install and own.
//!
//! Invariant: component ids are unique, and each component describes the part of every party
//! that owns it (a test checks both).

use super::model::{Component, Layer, Owner, SupportScope};

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
        "notifications",
        L::Observability,
        "Customer notifications (webhooks)",
        S,
        "delivers remediation and incident notifications, signed, with retries",
        "configures the project's webhook endpoints and receives and verifies the notifications",
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
