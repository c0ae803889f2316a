//! Commands that read: `accord get`, `accord describe`, `accord kubeconfig`, `accord catalog`,
//! and the name / query arguments they share with the other commands.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `accord get <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum GetKind {
    /// Clusters of the project
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(ClusterQuery),
    /// Node pools (of one cluster, or of every cluster)
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(PoolQuery),
    /// Nodes (of one cluster or pool, or of every cluster)
    #[command(visible_aliases = ["nodes", "no"])]
    Node(NodeQuery),
    /// Projects you can see
    #[command(visible_aliases = ["projects"])]
    Project(OptionalName),
    /// Members of the project
    #[command(visible_aliases = ["members"])]
    Member(OptionalName),
    /// API keys of the project
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(OptionalName),
    /// AutoClusters remediations of a cluster, newest first: the finding, what the policy
    /// decided, who owns it, where it stands
    ///
    /// `-o json` prints {"kind": "List", "items": [...]}; each item has id, node (the node's
    /// name), node_id, cluster, pool, finding {kind, xid, gpu, port, state, minutes, temp_c,
    /// signal, severity, finding_id}, evidence, decision {action, responsibility, reason},
    /// policy, context, state, action (the rung being carried out), reason, step, replacement,
    /// cordoned_by_us, attempts, timeline [{at, what, detail}], created_at and updated_at.
    #[command(
        visible_aliases = ["remediations", "rem"],
        after_help = "Examples:\n  accord get remediations --cluster demo\n  accord get remediations --cluster demo --state held\n  accord get remediations --cluster demo --limit 20 -o json"
    )]
    Remediation(RemediationQuery),
    /// A cluster's firewall: the provider's required rules first (with the flow each one
    /// serves), then the customer's rules by priority, and the rule set's state in the VPC
    /// firewall
    ///
    /// `-o json` prints {"items": [...], "status": {...}}; each item has name, tier
    /// (provider|customer), priority, direction, action, protocol, ports, sources,
    /// destinations, targets, flow, flow_description, created_at and created_by; status has
    /// revision, applied_revision, state (applied|applying|apply-failed), message, attempts,
    /// last_applied_at and drift_repairs.
    #[command(
        visible_aliases = ["firewall-rules", "firewallrules", "fw"],
        after_help = "Examples:\n  accord get firewall-rules --cluster demo\n  accord get fw -c demo -o json"
    )]
    FirewallRule(FirewallRuleQuery),
    /// A cluster's L4 passthrough load balancers: state, public address, ports with their
    /// NodePorts, who may connect and how many backends pass the health check
    ///
    /// `-o json` prints {"items": [...]}; each item has name, cluster, state
    /// (provisioning|active|deleting), address, ports [{port, protocol, node_port}],
    /// source_ranges, health_check {interval_seconds, timeout_seconds, healthy_threshold},
    /// backends [{address, node, healthy}], firewall_rule, created_at and message.
    #[command(
        visible_aliases = ["loadbalancers", "load-balancer", "load-balancers", "lb", "lbs"],
        after_help = "Examples:\n  accord get loadbalancers --cluster demo\n  accord get lb -c demo -o json"
    )]
    Loadbalancer(LoadBalancerQuery),
    /// A cluster's volumes (one, or all with the project's storage quota and usage)
    ///
    /// `-o json` of the list prints {"items": [...], "usage": {volumes, total_gib,
    /// max_volumes, max_total_gib}}; each item (and `get volume NAME -o json`) has id, name,
    /// project, cluster, region, type (disk|shared), size_bytes, size, mount, source_snapshot,
    /// state, attachments, conditions [{type, status, reason, message}], last_failure,
    /// resource_version, created_at and created_by.
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Examples:\n  accord get volumes --cluster demo\n  accord get volume data --cluster demo -o yaml"
    )]
    Volume(crate::cli::VolumeQuery),
    /// A cluster's volume snapshots (as `accord snapshot list`)
    #[command(
        visible_aliases = ["snapshots", "snap"],
        after_help = "Example:\n  accord get snapshots --cluster demo"
    )]
    Snapshot(crate::cli::ClusterScope),
    /// A cluster's StorageClasses, and whether the CSI driver serving them is installed
    ///
    /// `-o json` prints {"items": [...], "driver_installed": bool}; each item has name,
    /// cluster, type, filesystem, mount, reclaim_policy, volume_binding_mode,
    /// allow_volume_expansion, default_class, provisioner, driver_installed, manifest and
    /// created_at. `-o yaml` prints the rendered storage.k8s.io/v1 objects as one
    /// multi-document stream, ready for `kubectl apply -f -`.
    #[command(
        visible_aliases = ["storageclasses", "sc"],
        after_help = "Examples:\n  accord get storageclasses --cluster demo\n  accord get sc -c demo -o yaml | kubectl apply -f -"
    )]
    Storageclass(crate::cli::ClusterScope),
    /// The project's VirtioFS → NFS migrations (one by id or name, or all)
    #[command(
        visible_aliases = ["migrations"],
        after_help = "Examples:\n  accord get migrations\n  accord get migration to-nfs -o json"
    )]
    Migration(OptionalName),
    /// Worker images published by the image-builder, newest first
    ///
    /// `-o json` prints {"kind": "List", "items": [...]}; each item has id, version, channel,
    /// driver_branch, driver_version, kernel, os, kubelet, instance_types, status,
    /// status_reason, published_at, key_id, history, build, ofed and containerd.
    #[command(
        visible_aliases = ["images", "img"],
        after_help = "Examples:\n  accord get images\n  accord get images --channel stable --driver-branch lts\n  accord get images --all -o json"
    )]
    Image(crate::cli::ImageQuery),
    /// Image builds, newest first (one by id, or all)
    #[command(visible_aliases = ["builds"])]
    Build(OptionalName),
}

/// `accord describe <kind> NAME`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum DescribeKind {
    /// A cluster: spec, control-plane replicas, conditions, node pools
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(Name),
    /// A node pool: spec, nodes, image and whether an update is available
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(PoolRef),
    /// A node
    #[command(visible_aliases = ["nodes", "no"])]
    Node(NodeRef),
    /// A project: quota and usage
    #[command(visible_aliases = ["projects"])]
    Project(Name),
    /// A member of the project
    #[command(visible_aliases = ["members"])]
    Member(Name),
    /// An API key
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(Name),
    /// An AutoClusters remediation: the node, the finding and its evidence, the policy's
    /// decision and what it saw, where it stands, the timeline, and why
    #[command(
        visible_aliases = ["remediations", "rem"],
        after_help = "Examples:\n  accord describe remediation rem-01jd6v3xq5n8c7m2k4p9r0s1t2\n  accord describe remediation rem-01jd6v3xq5n8c7m2k4p9r0s1t2 -o json"
    )]
    Remediation(RemediationRef),
    /// A volume: size, state, attachments, conditions and the last failure
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Example:\n  accord describe volume data --cluster demo"
    )]
    Volume(crate::cli::ClusterResourceRef),
    /// A migration (as `accord migration describe`)
    #[command(
        visible_aliases = ["migrations"],
        after_help = "Example:\n  accord describe migration to-nfs --wait"
    )]
    Migration(crate::cli::MigrationRef),
    /// A worker image: manifest summary, SBOM summary, signature status, lifecycle history
    #[command(
        visible_aliases = ["images", "img"],
        after_help = "Examples:\n  accord describe image 2026.12.0\n  accord describe image 2026.12.0/lts\n  accord describe image 3f2a9c1b"
    )]
    Image(crate::cli::ImageRef),
    /// An image build: its stages with state, duration and last log line
    #[command(visible_aliases = ["builds"])]
    Build(Name),
}

impl GetKind {
    /// The listing options (`--watch`, `-l`, `--no-headers`, `-o wide`) of the kinds that
    /// take them: clusters, node pools and nodes.
    pub fn list_options_mut(&mut self) -> Option<&mut crate::cli::ListOptions> {
        match self {
            GetKind::Cluster(query) => Some(&mut query.list),
            GetKind::Nodepool(query) => Some(&mut query.list),
            GetKind::Node(query) => Some(&mut query.list),
            _ => None,
        }
    }
}

/// Clusters to list or show.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ClusterQuery {
    /// Cluster name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub list: crate::cli::ListOptions,
}

/// An optional name or id: without it, list.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct OptionalName {
    /// Name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

/// A required name or id.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct Name {
    /// Name or id
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Node pools to list or show.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct PoolQuery {
    /// Node pool name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Cluster the node pool belongs to (default: every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
    #[command(flatten)]
    pub list: crate::cli::ListOptions,
}

/// One node pool, found in `--cluster` or (if unique) in any cluster.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct PoolRef {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to (default: search every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

/// Nodes to list or show.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeQuery {
    /// Node name or id; omit to list all
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Cluster the nodes belong to (default: every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Only nodes of this node pool
    #[arg(short = 'p', long, value_name = "POOL")]
    pub pool: Option<String>,
    #[command(flatten)]
    pub list: crate::cli::ListOptions,
}

/// One node, found in `--cluster` or (if unique) in any cluster.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeRef {
    /// Node name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node belongs to (default: search every cluster)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: Option<String>,
}

/// Remediations to list.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct RemediationQuery {
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Only remediations in this state: pending-approval, waiting-window, held, dry-run,
    /// running, succeeded, failed, skipped
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// At most this many, newest first (the provisioner caps it at 1000)
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
}

/// The firewall rules of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct FirewallRuleQuery {
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// The load balancers of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LoadBalancerQuery {
    /// Cluster (name or id)
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// One remediation, by id.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct RemediationRef {
    /// Remediation id (`rem-…`, from `accord get remediations`)
    #[arg(value_name = "ID")]
    pub id: String,
}

/// `accord kubeconfig`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct KubeconfigArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// Merge into this kubeconfig file [default: the file kubectl writes to: $KUBECONFIG's
    /// first existing file (else its last), or ~/.kube/config]
    #[arg(long, short = 'f', value_name = "PATH", conflicts_with = "print")]
    pub file: Option<PathBuf>,
    /// Print the cluster's kubeconfig on standard output instead of merging it into a file
    #[arg(long)]
    pub print: bool,
    /// Embed a client certificate valid for 24 hours instead of the `accord credentials
    /// kubeconfig` exec plugin (which mints a fresh one-hour certificate whenever kubectl needs
    /// one)
    #[arg(long = "static")]
    pub static_cert: bool,
}

/// `accord credentials …`: credentials for other tools, printed in the form they read.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum CredentialsCommand {
    /// A cluster's client certificate as a `client.authentication.k8s.io/v1` ExecCredential:
    /// the exec credential plugin `accord kubeconfig` writes into kubeconfigs
    Kubeconfig(CredentialsKubeconfigArgs),
}

/// `accord credentials kubeconfig`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CredentialsKubeconfigArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord catalog <what>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum CatalogKind {
    /// Supported Kubernetes versions
    #[command(visible_aliases = ["version", "kubernetes-versions"])]
    Versions,
    /// Regions and their failure domains
    #[command(visible_aliases = ["region"])]
    Regions,
    /// Machine types for node pools
    #[command(visible_aliases = ["instance-type", "instancetypes", "types"])]
    InstanceTypes,
    /// Published worker-node images (as `accord get images`)
    #[command(visible_aliases = ["image"])]
    Images,
}
