//! Commands that change existing resources: `accord delete` (including firewall rules, load
//! balancers, volumes and StorageClasses), `scale`, `cycle`, `upgrade`, `cordon` / `uncordon`
//! and `quota set`, and the `--wait` / `--timeout` pair they share.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::Name;
use crate::parse::parse_duration;

/// `accord delete <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum DeleteKind {
    /// Delete a cluster (its node pools must be deleted first)
    #[command(visible_aliases = ["clusters", "cl"])]
    Cluster(DeleteClusterArgs),
    /// Delete a node pool and its nodes
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(DeletePoolArgs),
    /// Remove a member from the project (revokes their API keys)
    #[command(visible_aliases = ["members"])]
    Member(Name),
    /// Revoke an API key
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(Name),
    /// Delete a customer firewall rule of a cluster (the provider's required `accord-…` rules
    /// cannot be deleted)
    #[command(
        visible_aliases = ["firewall-rules", "firewallrules", "fw"],
        after_help = "Example:\n  accord delete firewall-rule allow-https --cluster demo"
    )]
    FirewallRule(DeleteFirewallRuleArgs),
    /// Delete a load balancer of a cluster, with its public address and the firewall rule it
    /// manages
    #[command(
        visible_aliases = ["loadbalancers", "load-balancer", "load-balancers", "lb", "lbs"],
        after_help = "Example:\n  accord delete loadbalancer web --cluster demo"
    )]
    Loadbalancer(DeleteLoadBalancerArgs),
    /// Delete a volume (its snapshots stay); refused while it is attached
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Example:\n  accord delete volume data --cluster demo --wait"
    )]
    Volume(crate::cli::DeleteVolumeArgs),
    /// Delete a StorageClass of a cluster
    #[command(
        visible_aliases = ["storageclasses", "sc"],
        after_help = "Example:\n  accord delete storageclass fast --cluster demo"
    )]
    Storageclass(crate::cli::ClusterResourceRef),
}

/// `accord delete loadbalancer`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteLoadBalancerArgs {
    /// Load balancer name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the load balancer belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord delete firewall-rule`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteFirewallRuleArgs {
    /// Rule name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the rule belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord delete cluster`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DeleteClusterArgs {
    /// Cluster name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord delete nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct DeletePoolArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord scale <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum ScaleKind {
    /// Set the number of nodes of a node pool
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(ScaleArgs),
}

/// `accord scale nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct ScaleArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// New number of nodes
    #[arg(long, value_name = "N")]
    pub count: u32,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord cycle <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum CycleKind {
    /// Replace every node of a node pool, honouring max-surge and max-unavailable
    #[command(visible_aliases = ["nodepools", "np"])]
    Nodepool(CycleArgs),
}

/// `accord cycle nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CycleArgs {
    /// Node pool name or id
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster the node pool belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Image version to move to [default: the latest]
    #[arg(long, value_name = "VERSION")]
    pub image_version: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord upgrade`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum UpgradeCommand {
    /// Ask the provider to upgrade a cluster to the next Kubernetes minor version
    Request(UpgradeRequestArgs),
    /// Carry out a requested upgrade (provider operator)
    Execute(UpgradeExecuteArgs),
}

/// `accord upgrade request`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpgradeRequestArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    /// Target minor version [default: the next minor after the current one]
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
}

/// `accord upgrade execute`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpgradeExecuteArgs {
    /// Cluster name or id
    #[arg(value_name = "CLUSTER")]
    pub cluster: String,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord cordon` / `accord uncordon`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct NodeTarget {
    /// Node name or id
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Cluster the node belongs to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
}

/// `accord quota`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum QuotaCommand {
    /// Set a project's GPU quota (provider operator)
    Set(QuotaSetArgs),
}

/// `accord quota set`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct QuotaSetArgs {
    /// Project name or id
    #[arg(value_name = "PROJECT")]
    pub name: String,
    /// Most GPUs all node pools of the project may hold
    #[arg(long, value_name = "N")]
    pub gpus: u32,
}

/// `--wait` and `--timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct WaitArgs {
    /// Wait until the change is complete, showing progress
    // No `-w`: kubectl users read it as `--watch` (which `get` takes).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits before giving up (e.g. 90s, 10m, 1h)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub timeout: Duration,
}
