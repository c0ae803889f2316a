//! What the firewall needs to know about a cluster: its address plan, its CNI's mode, its node
//! pools' addresses, and the provider's own ranges; and the names packets may use instead of
//! addresses.
//!
//! The provider's ranges sit in 198.18.0.0/15 (RFC 2544, benchmarking): never routed on the
//! internet and outside every private range a cluster's address plan may use
//! (`accord_core::validation::private_ranges`), so they can never collide with a customer's
//! VPC, pod or service range.
//!
//! Names a packet may use for `from` / `to` ([`Endpoint`]):
//! - `node`: the cluster's first node address, the first host of `vpc_subnet` (network + 1);
//! - `control-plane`: the first host of [`CONTROL_PLANE_RANGE`] (198.18.0.1), where the
//!   provider runs every cluster's API servers;
//! - `internet`: [`INTERNET_ADDRESS`] (203.0.113.10, RFC 5737 documentation space), an address
//!   outside the cluster's and the provider's ranges — so a customer rule about 0.0.0.0/0 (or
//!   203.0.113.0/24) matches it.

use std::net::Ipv4Addr;

use accord_core::validation::{NetworkPlan, dns_label, private_cidr, quote};
use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::addr::{bounds, overlaps, parse_addr, parse_cidr};
use crate::error::FieldErrors;
use crate::limits::{MAX_NODES_PER_POOL, MAX_POOLS};

/// Where the provider runs the clusters' control planes (API servers, etcd, scheduler,
/// controller-manager). `control-plane` in a packet is its first host.
pub const CONTROL_PLANE_RANGE: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 24);

/// The provider's management network: node-agent control, telemetry collection, repairs.
pub const MANAGEMENT_RANGE: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 1, 0), 24);

/// The provider's load-balancer hosts: their health checkers and data path.
pub const LOAD_BALANCER_RANGE: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 2, 0), 24);

/// What `internet` resolves to in a packet.
pub const INTERNET_ADDRESS: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// The port the provider's node agent serves management requests on.
pub const NODE_AGENT_PORT: u16 = 10_443;

/// The port node agents publish telemetry to (NATS on the management network).
pub const TELEMETRY_PORT: u16 = 4_222;

/// How the CNI (Cilium) carries pod traffic between nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tunnel {
    /// VXLAN encapsulation, 8472/udp between nodes (Cilium's default).
    #[default]
    Vxlan,
    /// Geneve encapsulation, 6081/udp between nodes.
    Geneve,
    /// Native routing: pod addresses travel the VPC unencapsulated.
    Native,
}

impl Tunnel {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Tunnel::Vxlan => "vxlan",
            Tunnel::Geneve => "geneve",
            Tunnel::Native => "native",
        }
    }
}

/// The CNI's settings that change which flows the nodes need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cni {
    /// Encapsulation mode.
    pub tunnel: Tunnel,
    /// Transparent encryption with WireGuard (51871/udp between nodes).
    pub wireguard: bool,
    /// Hubble observability (4244/tcp on every node).
    pub hubble: bool,
}

/// A node pool and the addresses of its nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodePool {
    /// The pool's name (what `pool:<name>` targets).
    pub name: String,
    /// Its nodes' addresses (a single address is a /32).
    pub nodes: Vec<Ipv4Net>,
}

/// The provider's ranges a cluster's rules refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderRanges {
    /// Control planes (see [`CONTROL_PLANE_RANGE`]).
    pub control_plane: Ipv4Net,
    /// Management network (see [`MANAGEMENT_RANGE`]).
    pub management: Ipv4Net,
    /// Load-balancer hosts (see [`LOAD_BALANCER_RANGE`]).
    pub load_balancers: Ipv4Net,
}

impl Default for ProviderRanges {
    fn default() -> Self {
        ProviderRanges {
            control_plane: CONTROL_PLANE_RANGE,
            management: MANAGEMENT_RANGE,
            load_balancers: LOAD_BALANCER_RANGE,
        }
    }
}

/// A cluster as the firewall sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterNetwork {
    /// The nodes' subnet.
    pub vpc_subnet: Ipv4Net,
    /// The pods' range.
    pub pod_cidr: Ipv4Net,
    /// The Services' cluster IPs (translated on the node; never seen by the VPC firewall).
    pub service_cidr: Ipv4Net,
    /// The CNI's mode.
    pub cni: Cni,
    /// Node pools with their nodes' addresses (for `pool:<name>` targets).
    pub pools: Vec<NodePool>,
    /// The provider's ranges.
    pub provider: ProviderRanges,
}

impl ClusterNetwork {
    /// A cluster from its validated address plan, with no pools listed yet.
    pub fn from_plan(plan: &NetworkPlan, cni: Cni) -> Self {
        ClusterNetwork {
            vpc_subnet: plan.vpc_subnet,
            pod_cidr: plan.pod_cidr,
            service_cidr: plan.service_cidr,
            cni,
            pools: Vec::new(),
            provider: ProviderRanges::default(),
        }
    }

    /// The same cluster with these pools.
    pub fn with_pools(mut self, pools: Vec<NodePool>) -> Self {
        self.pools = pools;
        self
    }

    /// The address a name stands for (see the module docs).
    pub fn resolve(&self, endpoint: Endpoint) -> Ipv4Addr {
        match endpoint {
            Endpoint::Address(addr) => addr,
            Endpoint::Node => first_host(&self.vpc_subnet),
            Endpoint::ControlPlane => first_host(&self.provider.control_plane),
            Endpoint::Internet => INTERNET_ADDRESS,
        }
    }

    /// Whether `addr` can be a node's side of a packet: in the VPC subnet, or a pod's address.
    pub fn is_node_side(&self, addr: Ipv4Addr) -> bool {
        self.vpc_subnet.contains(&addr) || self.pod_cidr.contains(&addr)
    }

    /// Whether the node at `addr` belongs to the pool named `pool`.
    pub fn in_pool(&self, addr: Ipv4Addr, pool: &str) -> bool {
        self.pools
            .iter()
            .any(|p| p.name == pool && p.nodes.iter().any(|n| n.contains(&addr)))
    }
}

fn first_host(net: &Ipv4Net) -> Ipv4Addr {
    let (lo, hi) = bounds(net);
    Ipv4Addr::from(if hi > lo { lo + 1 } else { lo })
}

/// A packet's `from` or `to`: an address or a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// An IPv4 address.
    Address(Ipv4Addr),
    /// `node`.
    Node,
    /// `control-plane`.
    ControlPlane,
    /// `internet`.
    Internet,
}

impl Endpoint {
    /// Parses `node`, `control-plane`, `internet` or an IPv4 address.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        match s {
            "node" => Ok(Endpoint::Node),
            "control-plane" => Ok(Endpoint::ControlPlane),
            "internet" => Ok(Endpoint::Internet),
            _ => parse_addr(s)
                .map(Endpoint::Address)
                .map_err(|e| format!("{e}, or one of \"node\", \"control-plane\", \"internet\"")),
        }
    }
}

/// A cluster as written in an offline evaluation line, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// The nodes' subnet (a private IPv4 CIDR).
    pub vpc_subnet: String,
    /// The pods' range.
    pub pod_cidr: String,
    /// The Services' range.
    pub service_cidr: String,
    /// The CNI's settings (default: VXLAN, no WireGuard, no Hubble).
    pub cni: Cni,
    /// Pools: name and node addresses or CIDRs.
    pub pools: Vec<PoolSpec>,
}

/// A pool as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolSpec {
    /// The pool's name.
    pub name: String,
    /// Node addresses (`10.0.1.5`) or CIDRs (`10.0.2.0/24`).
    pub nodes: Vec<String>,
}

/// Validates a cluster description; fields are named under `prefix` (`cluster`).
pub fn validate_cluster(spec: &ClusterSpec, prefix: &str) -> Result<ClusterNetwork, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut range = |name: &str, value: &str| match private_cidr(value) {
        Ok(net) => Some(net),
        Err(e) => {
            errors.push(format!("{prefix}.{name}"), e);
            None
        }
    };
    let vpc = range("vpc_subnet", &spec.vpc_subnet);
    let pod = range("pod_cidr", &spec.pod_cidr);
    let svc = range("service_cidr", &spec.service_cidr);
    let named = [
        ("vpc_subnet", vpc),
        ("pod_cidr", pod),
        ("service_cidr", svc),
    ];
    for (i, (fa, a)) in named.iter().enumerate() {
        for (fb, b) in &named[i + 1..] {
            if let (Some(a), Some(b)) = (a, b)
                && overlaps(a, b)
            {
                errors.push(format!("{prefix}.{fb}"), format!("{b} overlaps {fa} {a}"));
            }
        }
    }
    let pools = validate_pools(&spec.pools, prefix, &mut errors);
    match (vpc, pod, svc) {
        (Some(vpc_subnet), Some(pod_cidr), Some(service_cidr)) if errors.is_empty() => {
            Ok(ClusterNetwork {
                vpc_subnet,
                pod_cidr,
                service_cidr,
                cni: spec.cni,
                pools,
                provider: ProviderRanges::default(),
            })
        }
        _ => Err(errors),
    }
}

fn validate_pools(specs: &[PoolSpec], prefix: &str, errors: &mut FieldErrors) -> Vec<NodePool> {
    if specs.len() > MAX_POOLS {
        errors.push(
            format!("{prefix}.pools"),
            format!("at most {MAX_POOLS} pools (has {})", specs.len()),
        );
        return Vec::new();
    }
    let mut pools = Vec::with_capacity(specs.len());
    // (first, last, pool index, entry index) of every node entry, to find overlaps.
    let mut spans: Vec<(u32, u32, usize, usize)> = Vec::new();
    for (p, spec) in specs.iter().enumerate() {
        let field = format!("{prefix}.pools[{p}]");
        if let Err(e) = dns_label(&spec.name) {
            errors.push(format!("{field}.name"), e);
        } else if let Some(first) = specs[..p].iter().position(|o| o.name == spec.name) {
            errors.push(
                format!("{field}.name"),
                format!(
                    "{} is already the name of pools[{first}]",
                    quote(&spec.name)
                ),
            );
        }
        if spec.nodes.len() > MAX_NODES_PER_POOL {
            errors.push(
                format!("{field}.nodes"),
                format!(
                    "at most {MAX_NODES_PER_POOL} entries (has {})",
                    spec.nodes.len()
                ),
            );
            continue;
        }
        let mut nodes = Vec::with_capacity(spec.nodes.len());
        for (n, entry) in spec.nodes.iter().enumerate() {
            let parsed = if entry.contains('/') {
                parse_cidr(entry)
            } else {
                parse_addr(entry).map(Ipv4Net::from)
            };
            match parsed {
                Ok(net) => {
                    let (lo, hi) = bounds(&net);
                    spans.push((lo, hi, p, n));
                    nodes.push(net);
                }
                Err(e) => errors.push(format!("{field}.nodes[{n}]"), e),
            }
        }
        pools.push(NodePool {
            name: spec.name.clone(),
            nodes,
        });
    }
    spans.sort_unstable();
    let mut furthest: Option<(u32, usize, usize)> = None;
    for (lo, hi, p, n) in spans {
        if let Some((end, fp, fn_)) = furthest
            && lo <= end
        {
            errors.push(
                format!("{prefix}.pools[{p}].nodes[{n}]"),
                format!("overlaps pools[{fp}].nodes[{fn_}]: a node belongs to one pool"),
            );
            continue;
        }
        furthest = Some((hi, p, n));
    }
    pools
}
