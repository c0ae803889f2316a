//! Commands that talk to NATS directly: `accord events watch` and `accord sim` (fault injection
//! and the simulated fleet).

use accord_sim::storage::OPERATION_NAMES;
use clap::{Args, Subcommand, builder::PossibleValuesParser};
use serde::Serialize;

/// `accord events`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum EventsCommand {
    /// Print events as they happen (Ctrl-C to stop)
    Watch(EventsWatchArgs),
}

/// `accord events watch`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct EventsWatchArgs {
    /// Only events about this kind of resource: cluster, nodepool, node, project, …
    #[arg(long, short = 'r', value_name = "KIND")]
    pub resource: Option<String>,
    /// Only events about this resource id (needs --resource)
    #[arg(long, value_name = "ID", requires = "resource")]
    pub id: Option<String>,
    /// Only the events of this project (its id, `prj-…`; `platform` for image releases)
    #[arg(long = "project-id", value_name = "PROJECT_ID")]
    pub project_id: Option<String>,
    /// Start with every stored event instead of only new ones
    #[arg(long, short = 'a')]
    pub all: bool,
}

/// `accord sim`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum SimCommand {
    /// Inject a hardware fault (or a customer component's impact) into the simulator
    #[command(
        subcommand,
        after_help = "Examples:\n  accord sim inject gpu-xid gpu-a-x1 --gpu 3 --xid 79\n  accord sim inject replica-down demo --replica cp-1\n  accord sim inject webhook-fail-closed --cluster demo --component policy-webhook\n  accord sim inject api-flood --cluster demo --component noisy-operator\n  accord sim inject fabric-saturation --cluster demo --component allreduce-bench\n  accord sim inject component-fixed --cluster demo --component policy-webhook\n  accord sim inject firewall-drift demo\n  accord sim inject fail-next-firewall-applies --count 3\n  accord sim inject storage-fail-next --operation copy --count 2\n  accord sim inject storage-hang-next --operation attach-volume --count 1\n  accord sim inject storage-corrupt-copy --count 1"
    )]
    Inject(Fault),
    /// List the simulated fleet
    List,
}

/// A fault the simulator can inject. Serialises to the simulator's request body
/// (`{"kind":"gpu-xid","node":"…","gpu":3,"xid":79}`).
#[derive(Debug, Clone, PartialEq, Subcommand, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fault {
    /// The node's kubelet stops reporting Ready
    NodeNotReady {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// A NotReady node recovers
    NodeRecover {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
    },
    /// A control-plane replica goes down
    ReplicaDown {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(value_name = "CLUSTER")]
        cluster: String,
        /// Replica name, e.g. cp-0 [default: the first running one]
        #[arg(long, value_name = "NAME")]
        #[serde(skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// A control-plane replica comes back
    ReplicaUp {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(value_name = "CLUSTER")]
        cluster: String,
        /// Replica name, e.g. cp-0 [default: every replica that is down]
        #[arg(long, value_name = "NAME")]
        #[serde(skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    /// A GPU reports an XID error (e.g. 79: fallen off the bus, 48: double-bit ECC)
    GpuXid {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// GPU index on the node
        #[arg(long, value_name = "INDEX")]
        gpu: u32,
        /// XID code
        #[arg(long, value_name = "CODE")]
        xid: u32,
    },
    /// An InfiniBand port goes down
    IbLinkDown {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// Port index
        #[arg(long, value_name = "PORT")]
        port: u32,
    },
    /// An InfiniBand port comes back up
    IbLinkUp {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// Port index
        #[arg(long, value_name = "PORT")]
        port: u32,
    },
    /// A GPU runs hot
    GpuThermal {
        /// Node name or id
        #[arg(value_name = "NODE")]
        node: String,
        /// GPU index on the node
        #[arg(long, value_name = "INDEX")]
        gpu: u32,
        /// Temperature in °C
        #[arg(long, value_name = "CELSIUS")]
        temp_c: u32,
    },
    /// The next provisioning operations fail
    FailNextProvisions {
        /// How many
        #[arg(value_name = "COUNT")]
        count: u32,
    },
    /// The next node repairs (GPU reset, reboot) fail at their last step; a failed reboot leaves
    /// the node NotReady until node-recover
    FailNextRepairs {
        /// How many
        #[arg(value_name = "COUNT")]
        count: u32,
    },
    /// The next node repairs report their first step and then hang (never finish)
    HangNextRepairs {
        /// How many
        #[arg(value_name = "COUNT")]
        count: u32,
    },
    /// A customer admission webhook fails closed: the API server rejects writes it does not
    /// answer
    #[command(
        after_help = "Examples:\n  accord sim inject webhook-fail-closed --cluster demo --component policy-webhook"
    )]
    WebhookFailClosed {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(long, value_name = "CLUSTER")]
        cluster: String,
        /// The customer's webhook, e.g. policy-webhook
        #[arg(long, value_name = "NAME")]
        component: String,
    },
    /// A customer client (an operator, a controller) floods the API server
    #[command(
        after_help = "Examples:\n  accord sim inject api-flood --cluster demo --component noisy-operator"
    )]
    ApiFlood {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(long, value_name = "CLUSTER")]
        cluster: String,
        /// The customer's client, e.g. noisy-operator
        #[arg(long, value_name = "NAME")]
        component: String,
    },
    /// A customer workload saturates the cluster's InfiniBand fabric
    #[command(
        after_help = "Examples:\n  accord sim inject fabric-saturation --cluster demo --component allreduce-bench"
    )]
    FabricSaturation {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(long, value_name = "CLUSTER")]
        cluster: String,
        /// The customer's workload, e.g. allreduce-bench
        #[arg(long, value_name = "NAME")]
        component: String,
    },
    /// The customer fixed the component: every impact it has on the cluster ends and the
    /// provider's mitigation is lifted
    #[command(
        after_help = "Examples:\n  accord sim inject component-fixed --cluster demo --component policy-webhook"
    )]
    ComponentFixed {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(long, value_name = "CLUSTER")]
        cluster: String,
        /// The customer's component
        #[arg(long, value_name = "NAME")]
        component: String,
    },
    /// A required rule disappears from the cluster's VPC firewall behind the network-firewall
    /// service's back (the kubelet rule if present): nodes whose required flows it blocks go
    /// NotReady until the service repairs the drift
    #[command(after_help = "Examples:\n  accord sim inject firewall-drift demo")]
    FirewallDrift {
        /// Cluster id, or a name (looked up through the API, which needs a token)
        #[arg(value_name = "CLUSTER")]
        cluster: String,
    },
    /// The next VPC firewall applies fail (infrastructure unavailable)
    #[command(after_help = "Examples:\n  accord sim inject fail-next-firewall-applies --count 3")]
    FailNextFirewallApplies {
        /// How many
        #[arg(long, value_name = "COUNT")]
        count: u32,
    },
    /// The next storage operations (of one kind when --operation is given) fail at their due
    /// time, having done nothing (--count 0 disarms)
    #[command(
        after_help = "Examples:\n  accord sim inject storage-fail-next --operation copy --count 2"
    )]
    StorageFailNext {
        /// Only operations of this kind [default: any]
        #[arg(long, value_name = "OP", value_parser = PossibleValuesParser::new(OPERATION_NAMES))]
        #[serde(skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
        /// How many (at most 1000)
        #[arg(long, value_name = "COUNT")]
        count: u32,
    },
    /// The next storage operations (of one kind when --operation is given) never finish: the
    /// service fails them after 5 minutes of the back end's clock (--count 0 disarms)
    #[command(
        after_help = "Examples:\n  accord sim inject storage-hang-next --operation attach-volume --count 1"
    )]
    StorageHangNext {
        /// Only operations of this kind [default: any]
        #[arg(long, value_name = "OP", value_parser = PossibleValuesParser::new(OPERATION_NAMES))]
        #[serde(skip_serializing_if = "Option::is_none")]
        operation: Option<String>,
        /// How many (at most 1000)
        #[arg(long, value_name = "COUNT")]
        count: u32,
    },
    /// The next migration copies leave the target's data different from the source's, so their
    /// verification fails (--count 0 disarms)
    #[command(after_help = "Examples:\n  accord sim inject storage-corrupt-copy --count 1")]
    StorageCorruptCopy {
        /// How many (at most 1000)
        #[arg(long, value_name = "COUNT")]
        count: u32,
    },
}
