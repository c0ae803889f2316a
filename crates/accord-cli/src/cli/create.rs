//! `accord create …`: projects, clusters, node pools, members, API keys, firewall rules and load
//! balancers.

use accord_core::maintenance::{MaintenanceExclusion, MaintenanceWindow};
use clap::{Args, Subcommand, ValueEnum};

use super::WaitArgs;
use crate::parse::{parse_duration, parse_label, parse_taint};

/// `accord create <kind>`.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum CreateKind {
    /// Create a project; prints an admin API key for it, once
    #[command(visible_aliases = ["projects"])]
    Project(CreateProjectArgs),
    /// Create a Kubernetes cluster with a highly available control plane
    #[command(
        visible_aliases = ["clusters", "cl"],
        after_help = "Every option has a default, so `accord create cluster demo` works: the default \
                      Kubernetes version, the first region, 10.0.0.0/16 for the VPC, 10.244.0.0/16 \
                      for pods and 10.96.0.0/12 for services."
    )]
    Cluster(Box<CreateClusterArgs>),
    /// Create a node pool of identical machines in a cluster
    #[command(
        visible_aliases = ["nodepools", "np"],
        after_help = "Instance types: `accord catalog instance-types`; node images: `accord catalog images`."
    )]
    Nodepool(Box<CreateNodePoolArgs>),
    /// Add a user to the project (the user is created when new)
    #[command(visible_aliases = ["members"])]
    Member(CreateMemberArgs),
    /// Create an API key; prints its token, once
    #[command(visible_aliases = ["apikeys", "key", "keys"])]
    Apikey(CreateApiKeyArgs),
    /// Create a customer firewall rule in a cluster; prints the rule and the server's warnings
    /// (required flows it cannot affect, rules it shadows or that shadow it)
    ///
    /// Rules are evaluated after the provider's required rules, by priority (lower first; at
    /// equal priority deny wins), then the defaults (ingress deny, egress allow). The server
    /// validates every value and names the field it refuses. `-o json` prints {"rule": {...},
    /// "warnings": [{"kind", "message"}]}.
    #[command(
        visible_aliases = ["firewall-rules", "firewallrules", "fw"],
        after_help = "Examples:\n  accord create firewall-rule allow-https --cluster demo --priority 100 --direction ingress --action allow --protocol tcp --port 443 --source 0.0.0.0/0\n  accord create firewall-rule block-smtp -c demo --priority 10 --direction egress --action deny --protocol tcp --port 25 --destination 0.0.0.0/0 --target pool:gpu"
    )]
    FirewallRule(Box<CreateFirewallRuleArgs>),
    /// Create an L4 passthrough load balancer for a cluster (what a cloud controller asks for a
    /// Service of type LoadBalancer); prints it as created, or with --wait once it is active
    /// with a public address
    ///
    /// The provider allocates the address, keeps the backends at the Ready nodes'
    /// address:NodePort, health-checks them over TCP (every 5s, timeout 5s, 3 successes unless
    /// told otherwise) and manages the firewall rule that lets the source ranges reach those
    /// NodePorts. `--port` is checked here (its shape); the server checks the ranges (port
    /// 1–65535, NodePort 30000–32767, CIDRs) and names the field it refuses. `-o json` prints
    /// the load balancer as `accord get loadbalancers -o json` prints each item.
    #[command(
        visible_aliases = ["loadbalancers", "load-balancer", "load-balancers", "lb", "lbs"],
        after_help = "Examples:\n  accord create loadbalancer web --cluster demo --port 443:30443 --port 80:30080 --wait\n  accord create lb dns -c demo --port 53:30053/udp --source-range 10.0.0.0/8 --health-interval 10s --healthy-threshold 2"
    )]
    Loadbalancer(Box<CreateLoadBalancerArgs>),
    /// Create a volume in the cluster's region: a block disk or a shared filesystem,
    /// optionally restored from a snapshot; with --wait, until it is available
    ///
    /// `-o json` prints the volume as `accord get volume NAME -o json` does.
    #[command(
        visible_aliases = ["volumes", "vol"],
        after_help = "Examples:\n  accord create volume data --cluster demo --type disk --size 100Gi --wait\n  accord create volume datasets -c demo --type shared --size 10Ti --mount nfs\n  accord create volume data-restored -c demo --type disk --size 100Gi --from-snapshot data-0412"
    )]
    Volume(Box<crate::cli::CreateVolumeArgs>),
    /// Create a StorageClass for a cluster; prints it (`-o yaml`: its storage.k8s.io/v1
    /// manifest)
    #[command(
        visible_aliases = ["storageclasses", "sc"],
        after_help = "Examples:\n  accord create storageclass fast --cluster demo --type disk --filesystem xfs --default\n  accord create sc shared-nfs -c demo --type shared --mount nfs --reclaim-policy Retain --binding-mode Immediate"
    )]
    Storageclass(Box<crate::cli::CreateStorageClassArgs>),
}

/// `accord create project`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateProjectArgs {
    /// Project name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Label KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

/// `accord create cluster`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateClusterArgs {
    /// Cluster name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Kubernetes minor version, e.g. 1.32 [default: the cloud's default version]
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
    /// Region [default: the first region the cloud offers]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Private address range of the cluster's VPC
    #[arg(long, value_name = "CIDR", default_value = "10.0.0.0/16")]
    pub vpc_subnet: String,
    /// Address range pods get their IPs from
    #[arg(long, value_name = "CIDR", default_value = "10.244.0.0/16")]
    pub pod_cidr: String,
    /// Address range of Kubernetes services
    #[arg(long, value_name = "CIDR", default_value = "10.96.0.0/12")]
    pub service_cidr: String,
    /// Prefix length of each node's slice of the pod range
    #[arg(long, value_name = "BITS", default_value_t = 24)]
    pub node_cidr_mask_size: u32,
    /// Core add-on to install (repeatable)
    #[arg(
        long = "addon",
        value_name = "NAME",
        value_parser = clap::builder::PossibleValuesParser::new(accord_core::cluster::CORE_ADDONS)
    )]
    pub addons: Vec<String>,
    /// Label KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// OIDC issuer URL for kubectl logins (needs --oidc-client-id)
    #[arg(
        long,
        value_name = "URL",
        requires = "oidc_client_id",
        help_heading = "OIDC"
    )]
    pub oidc_issuer_url: Option<String>,
    /// OIDC client id (needs --oidc-issuer-url)
    #[arg(
        long,
        value_name = "ID",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_client_id: Option<String>,
    /// JWT claim to use as the user name
    #[arg(
        long,
        value_name = "CLAIM",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_username_claim: Option<String>,
    /// JWT claim to use as the user's groups
    #[arg(
        long,
        value_name = "CLAIM",
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_groups_claim: Option<String>,
    /// Claim KEY=VALUE every token must carry (repeatable)
    #[arg(
        long = "oidc-required-claim",
        value_name = "KEY=VALUE",
        value_parser = parse_key_value,
        requires = "oidc_issuer_url",
        help_heading = "OIDC"
    )]
    pub oidc_required_claims: Vec<(String, String)>,
    /// Allow the provider to remediate faulty hardware automatically (AutoClusters)
    #[arg(long, help_heading = "AutoClusters")]
    pub remediation: bool,
    /// Circuit breaker: most nodes unhealthy at once, in percent [server default: 20]
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "AutoClusters")]
    pub max_unhealthy_percent: Option<u32>,
    /// Nodes of one pool remediated at the same time [server default: 1]
    #[arg(long, value_name = "N", help_heading = "AutoClusters")]
    pub max_in_flight_per_pool: Option<u32>,
    /// How allowed remediations run: auto, approval (reboot and replace wait for `accord
    /// remediation approve`), dry-run (recorded, nothing touches a node) [server default: auto]
    #[arg(long, value_name = "MODE", value_parser = ["auto", "approval", "dry-run"], help_heading = "AutoClusters")]
    pub remediation_mode: Option<String>,
    /// A recurring maintenance window (UTC) in which preventive remediations run, as `DAYS
    /// HH:MM+DURATION`: `sat,sun 02:00+4h`, `mon-fri 22:00+90m`, `daily 03:00+1h`
    /// (repeatable). Without one, preventive actions are answered with what to do meanwhile;
    /// faults that took a GPU or the node out of service never wait
    #[arg(long = "maintenance-window", value_name = "WINDOW", value_parser = MaintenanceWindow::parse, help_heading = "AutoClusters")]
    pub maintenance_windows: Vec<MaintenanceWindow>,
    /// A period in which no maintenance window opens, `START/END` in RFC 3339, e.g.
    /// `2026-12-20T00:00:00Z/2027-01-04T00:00:00Z` (repeatable)
    #[arg(long = "maintenance-exclusion", value_name = "START/END", value_parser = MaintenanceExclusion::parse, help_heading = "AutoClusters")]
    pub maintenance_exclusions: Vec<MaintenanceExclusion>,
    /// The remediation policy the cluster uses: a policy the operator pushed (`accord plugin
    /// list`) [server default: gpu-remediation]
    #[arg(long, value_name = "NAME", help_heading = "AutoClusters")]
    pub remediation_policy: Option<String>,
    /// How Cilium carries pod traffic between nodes; the required firewall rules follow it
    /// (immutable) [server default: vxlan]
    #[arg(long, value_name = "MODE", value_parser = ["vxlan", "geneve", "native"], help_heading = "Network")]
    pub cni_tunnel: Option<String>,
    /// Encrypt node-to-node traffic with WireGuard (51871/udp between nodes)
    #[arg(long, help_heading = "Network")]
    pub wireguard: bool,
    /// Enable Hubble flow observability (4244/tcp on every node)
    #[arg(long, help_heading = "Network")]
    pub hubble: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `accord create nodepool`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateNodePoolArgs {
    /// Node pool name (lowercase letters, digits and '-')
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster to add the pool to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// Machine type of every node, e.g. h100-80gb-sxm-ib.8x (see `accord catalog instance-types`)
    #[arg(long, value_name = "TYPE")]
    pub instance_type: String,
    /// Number of nodes
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// Enable the cluster autoscaler with this lower bound (needs --max)
    #[arg(long, value_name = "N", requires = "max", help_heading = "Autoscaling")]
    pub min: Option<u32>,
    /// Enable the cluster autoscaler with this upper bound (needs --min)
    #[arg(long, value_name = "N", requires = "min", help_heading = "Autoscaling")]
    pub max: Option<u32>,
    /// Kubernetes label on every node, KEY=VALUE (repeatable)
    #[arg(long = "node-label", value_name = "KEY=VALUE", value_parser = parse_label)]
    pub node_labels: Vec<(String, String)>,
    /// Taint on every node, KEY[=VALUE]:EFFECT with EFFECT NoSchedule, PreferNoSchedule or
    /// NoExecute (repeatable)
    #[arg(long = "taint", value_name = "KEY=VALUE:EFFECT", value_parser = parse_taint)]
    pub taints: Vec<accord_proto::provisioner::v1::Taint>,
    /// Label of the pool resource, KEY=VALUE (repeatable)
    #[arg(long = "label", short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Extra nodes a rolling update may add above the count
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        help_heading = "Rolling updates"
    )]
    pub max_surge: u32,
    /// Nodes a rolling update may take away below the count
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        help_heading = "Rolling updates"
    )]
    pub max_unavailable: u32,
    /// This pool's AutoClusters opt-in, overriding the cluster's [default: the cluster's]
    #[arg(long, value_name = "true|false", help_heading = "AutoClusters")]
    pub remediation: Option<bool>,
    /// Node image version [default: the latest]
    #[arg(long, value_name = "VERSION")]
    pub image_version: Option<String>,
    /// Driver branch, image channel and rollout policy
    #[command(flatten)]
    pub image: crate::cli::PoolImageArgs,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// A project role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Members, API keys, and everything an editor may do
    Admin,
    /// Create, change and delete clusters, node pools and nodes
    Editor,
    /// Read everything
    Reader,
}

/// `accord create member`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateMemberArgs {
    /// User name, e.g. an e-mail address
    #[arg(value_name = "USER")]
    pub user: String,
    /// Role in the project
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// `accord create apikey`.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CreateApiKeyArgs {
    /// Key name, e.g. ci
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Member the key authenticates as [default: you]
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

/// A firewall rule's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FirewallDirectionArg {
    /// Traffic to the nodes (peers are sources)
    Ingress,
    /// Traffic from the nodes (peers are destinations)
    Egress,
}

/// A firewall rule's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FirewallActionArg {
    /// Let the traffic through
    Allow,
    /// Drop the traffic
    Deny,
}

/// A firewall rule's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FirewallProtocolArg {
    /// TCP (ports apply)
    Tcp,
    /// UDP (ports apply)
    Udp,
    /// ICMP (no ports)
    Icmp,
    /// Every protocol (no ports)
    Any,
}

impl FirewallDirectionArg {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallDirectionArg::Ingress => "ingress",
            FirewallDirectionArg::Egress => "egress",
        }
    }
}

impl FirewallActionArg {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallActionArg::Allow => "allow",
            FirewallActionArg::Deny => "deny",
        }
    }
}

impl FirewallProtocolArg {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FirewallProtocolArg::Tcp => "tcp",
            FirewallProtocolArg::Udp => "udp",
            FirewallProtocolArg::Icmp => "icmp",
            FirewallProtocolArg::Any => "any",
        }
    }
}

/// `accord create firewall-rule`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateFirewallRuleArgs {
    /// Rule name: a DNS label, unique in the cluster, not starting with `accord-`
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster to add the rule to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// 0–65535; lower is evaluated first, and at equal priority deny wins
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: i64,
    /// ingress (to the nodes) or egress (from the nodes)
    #[arg(long, value_enum)]
    pub direction: FirewallDirectionArg,
    /// allow or deny
    #[arg(long, value_enum)]
    pub action: FirewallActionArg,
    /// tcp, udp, icmp or any
    #[arg(long, value_enum)]
    pub protocol: FirewallProtocolArg,
    /// A port (`443`) or range (`8000-8100`), tcp and udp only; repeatable or comma-separated
    /// [default: every port]
    #[arg(long = "port", value_name = "PORT", value_delimiter = ',')]
    pub ports: Vec<String>,
    /// Ingress: an IPv4 CIDR that may connect (repeatable or comma-separated)
    #[arg(long = "source", value_name = "CIDR", value_delimiter = ',')]
    pub sources: Vec<String>,
    /// Egress: an IPv4 CIDR the nodes may reach (repeatable or comma-separated)
    #[arg(long = "destination", value_name = "CIDR", value_delimiter = ',')]
    pub destinations: Vec<String>,
    /// Which nodes: `all-nodes` or `pool:<name>` [server default: all-nodes]
    #[arg(long, value_name = "all-nodes|pool:NAME")]
    pub target: Option<String>,
}

/// `accord create loadbalancer`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateLoadBalancerArgs {
    /// Load balancer name: a DNS label, unique in the cluster
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Cluster to add the load balancer to
    #[arg(short = 'c', long, env = "ACCORD_CLUSTER", value_name = "CLUSTER")]
    pub cluster: String,
    /// A port clients connect to and the Service's NodePort the backends serve it on, with
    /// the protocol (tcp, the default, or udp): `443:30443`, `53:30053/udp` (at least one;
    /// repeatable or comma-separated)
    #[arg(
        long = "port",
        value_name = "PORT:NODE_PORT[/tcp|udp]",
        value_parser = parse_lb_port,
        value_delimiter = ',',
        required = true
    )]
    pub ports: Vec<accord_proto::firewall::v1::LoadBalancerPort>,
    /// An IPv4 CIDR that may connect (repeatable or comma-separated) [default: anyone]
    #[arg(long = "source-range", value_name = "CIDR", value_delimiter = ',')]
    pub source_ranges: Vec<String>,
    /// Time between health checks, e.g. 10s [server default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_whole_seconds, help_heading = "Health check")]
    pub health_interval: Option<u32>,
    /// Time before a health check fails, e.g. 3s [server default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_whole_seconds, help_heading = "Health check")]
    pub health_timeout: Option<u32>,
    /// Consecutive successful checks before a backend receives traffic [server default: 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Health check")]
    pub healthy_threshold: Option<u32>,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// What `--port` expects.
const LB_PORT_EXPECTED: &str = "expected PORT:NODE_PORT[/tcp|udp], e.g. 443:30443 or 53:30053/udp";

/// `PORT:NODE_PORT[/PROTOCOL]` (`443:30443`, `443:30443/tcp`, `53:30053/udp`) → a load
/// balancer port; the protocol defaults to `tcp`. Only the shape is checked: two decimal
/// numbers and `tcp` or `udp`, spelled exactly so. Whether the numbers are in range (port
/// 1–65535, NodePort 30000–32767) is the server's to say, naming the field.
pub fn parse_lb_port(s: &str) -> Result<accord_proto::firewall::v1::LoadBalancerPort, String> {
    let (ports, protocol) = s.split_once('/').unwrap_or((s, "tcp"));
    if protocol != "tcp" && protocol != "udp" {
        return Err(format!(
            "{LB_PORT_EXPECTED} (got {s:?}, whose protocol {protocol:?} is neither tcp nor udp)"
        ));
    }
    let Some((port, node_port)) = ports.split_once(':') else {
        return Err(format!(
            "{LB_PORT_EXPECTED} (got {s:?}, which has no ':NODE_PORT')"
        ));
    };
    Ok(accord_proto::firewall::v1::LoadBalancerPort {
        port: lb_port_number(s, port, "port")?,
        protocol: protocol.to_owned(),
        node_port: lb_port_number(s, node_port, "NodePort")?,
    })
}

/// One number of a `--port` value: decimal digits only.
fn lb_port_number(s: &str, text: &str, what: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err(format!(
            "{LB_PORT_EXPECTED} (got {s:?}, whose {what} is missing)"
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{LB_PORT_EXPECTED} (got {s:?}, whose {what} {text:?} is not a number)"
        ));
    }
    text.parse().map_err(|_| {
        format!("{LB_PORT_EXPECTED} (got {s:?}, whose {what} {text} is far too large)")
    })
}

/// A duration of whole seconds, at least one (`5s`, `1m`, or a bare `5`), as the health-check
/// fields carry it. Zero is refused rather than sent: on the wire it means "the default".
pub fn parse_whole_seconds(s: &str) -> Result<u32, String> {
    let duration = parse_duration(s)?;
    if duration.subsec_nanos() != 0 {
        return Err(format!("expected whole seconds, e.g. 5s (got {s:?})"));
    }
    if duration.is_zero() {
        return Err(format!(
            "expected at least 1s (got {s:?}; leave the flag out for the server's default)"
        ));
    }
    u32::try_from(duration.as_secs()).map_err(|_| format!("{s:?} is far too long"))
}

/// `KEY=VALUE` without label validation (OIDC claims are not Kubernetes labels).
fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}
