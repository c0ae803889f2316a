//! The provider tier: the rules a cluster needs to work, derived from its description, each
//! naming the [`Flow`] it exists for. Customers read them; they never edit them, and they are
//! evaluated before every customer rule, so no customer rule can cut a required flow.
//!
//! What a cluster gets ([`provider_rules`]), all allow rules on every node:
//! - ingress from the control plane to the kubelet, 10250/tcp;
//! - egress from the nodes to the API server on the control plane, 6443/tcp;
//! - node ↔ node (ingress from and egress to `vpc_subnet`): the CNI's encapsulation (VXLAN
//!   8472/udp or Geneve 6081/udp; none with native routing), Cilium health 4240/tcp, ICMP
//!   (echo; types are not told apart), WireGuard 51871/udp when enabled, Hubble 4244/tcp when
//!   enabled (also from the pod range, where Hubble Relay runs);
//! - native routing: any protocol from and to `vpc_subnet` and `pod_cidr` (pods' own
//!   addresses travel the VPC, so the cluster condenses to any-to/from-self);
//! - NodePorts 30000–32767 tcp and udp from the load-balancer hosts (health checks and data
//!   path) and from the other nodes;
//! - the provider's management flows: ingress from the management network to the node agent
//!   ([`NODE_AGENT_PORT`]/tcp) and egress from the nodes to the management network's telemetry
//!   endpoint ([`TELEMETRY_PORT`]/tcp).
//!
//! Node pools do not change the set (every required rule targets every node); a load
//! balancer adds one rule ([`load_balancer_rule`]), which the service keeps with the load
//! balancer. Rule names are `accord-<flow>-<direction>[-<protocol>]`; the `accord-` prefix is
//! reserved, so customer rules can never take them.

use std::fmt;

use accord_core::validation::{dns_label, quote};
use ipnet::Ipv4Net;
use serde::Serialize;

use crate::cluster::{ClusterNetwork, NODE_AGENT_PORT, TELEMETRY_PORT, Tunnel};
use crate::error::FieldError;
use crate::rule::{Direction, PortRange, Protocol, Selector, Target};

/// The flows the provider tier exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Control plane → kubelet.
    Kubelet,
    /// Nodes → API server.
    ApiServer,
    /// CNI VXLAN encapsulation between nodes.
    CniVxlan,
    /// CNI Geneve encapsulation between nodes.
    CniGeneve,
    /// Cilium native routing: pod traffic between nodes.
    CniNativeRouting,
    /// Cilium health checks between nodes.
    CniHealth,
    /// ICMP echo between nodes (Cilium health).
    CniIcmp,
    /// WireGuard transparent encryption between nodes.
    WireGuard,
    /// Hubble's per-node server.
    Hubble,
    /// NodePorts from the load balancers and the other nodes.
    NodePorts,
    /// The provider's management network → the node agent.
    Management,
    /// The node agent → the provider's telemetry endpoint.
    Telemetry,
    /// A load balancer's source ranges → its NodePorts.
    LoadBalancer,
}

impl Flow {
    /// The flow's name, as rules and warnings say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Kubelet => "kubelet",
            Flow::ApiServer => "api-server",
            Flow::CniVxlan => "cni-vxlan",
            Flow::CniGeneve => "cni-geneve",
            Flow::CniNativeRouting => "cni-native-routing",
            Flow::CniHealth => "cni-health",
            Flow::CniIcmp => "cni-icmp",
            Flow::WireGuard => "wireguard",
            Flow::Hubble => "hubble",
            Flow::NodePorts => "nodeports",
            Flow::Management => "management",
            Flow::Telemetry => "telemetry",
            Flow::LoadBalancer => "load-balancer",
        }
    }

    /// What the flow is for, in a sentence's words.
    pub fn description(self) -> &'static str {
        match self {
            Flow::Kubelet => {
                "the control plane reaches each node's kubelet (logs, exec, metrics), 10250/tcp"
            }
            Flow::ApiServer => "nodes reach the API server on the control plane, 6443/tcp",
            Flow::CniVxlan => "Cilium carries pod traffic between nodes in VXLAN, 8472/udp",
            Flow::CniGeneve => "Cilium carries pod traffic between nodes in Geneve, 6081/udp",
            Flow::CniNativeRouting => {
                "Cilium routes pod traffic between nodes natively: any protocol within the cluster"
            }
            Flow::CniHealth => "Cilium checks node-to-node connectivity, 4240/tcp",
            Flow::CniIcmp => "Cilium pings every other node (ICMP echo)",
            Flow::WireGuard => "Cilium encrypts node-to-node traffic with WireGuard, 51871/udp",
            Flow::Hubble => "Hubble Relay reads each node's flows, 4244/tcp",
            Flow::NodePorts => {
                "load-balancer health checks and traffic reach Services' NodePorts, 30000-32767 tcp and udp"
            }
            Flow::Management => "the provider manages the node through its agent",
            Flow::Telemetry => "the node agent sends GPU and node telemetry to the provider",
            Flow::LoadBalancer => "a load balancer's source ranges reach its NodePorts",
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A required rule: always allow, evaluated before every customer rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderRule {
    /// `accord-…`, unique within the cluster.
    pub name: String,
    /// The flow it exists for.
    pub flow: Flow,
    /// Which packets it lets through.
    pub selector: Selector,
}

/// How a required rule is shown (`accord get firewall-rules`): the customer rule's fields, plus
/// the flow and what it is for.
#[derive(Serialize)]
struct ProviderRuleView<'a> {
    name: &'a str,
    flow: Flow,
    description: &'static str,
    direction: Direction,
    action: &'static str,
    protocol: Protocol,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    ports: &'a [PortRange],
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destinations: Option<Vec<String>>,
    targets: &'a Target,
}

impl Serialize for ProviderRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let peers: Vec<String> = self.selector.peers.iter().map(|p| p.to_string()).collect();
        let (sources, destinations) = match self.selector.direction {
            Direction::Ingress => (Some(peers), None),
            Direction::Egress => (None, Some(peers)),
        };
        ProviderRuleView {
            name: &self.name,
            flow: self.flow,
            description: self.flow.description(),
            direction: self.selector.direction,
            action: "allow",
            protocol: self.selector.protocol,
            ports: &self.selector.ports,
            sources,
            destinations,
            targets: &self.selector.target,
        }
        .serialize(s)
    }
}

impl ProviderRule {
    /// `allow 10250/tcp from 198.18.0.0/24`.
    pub fn describe(&self) -> String {
        format!("allow {}", self.selector.describe())
    }
}

fn rule(
    flow: Flow,
    direction: Direction,
    protocol: Protocol,
    ports: &[PortRange],
    peers: &[Ipv4Net],
) -> ProviderRule {
    let mut name = format!("accord-{}-{}", flow.as_str(), direction.as_str());
    if ports.first() == Some(&PortRange::NODE_PORTS) {
        name.push('-');
        name.push_str(protocol.as_str());
    }
    ProviderRule {
        name,
        flow,
        selector: Selector {
            direction,
            protocol,
            ports: ports.to_vec(),
            peers: peers.to_vec(),
            target: Target::AllNodes,
        },
    }
}

/// The provider tier of a cluster (see the module docs for what it holds).
pub fn provider_rules(cluster: &ClusterNetwork) -> Vec<ProviderRule> {
    use Direction::{Egress, Ingress};
    let nodes = [cluster.vpc_subnet];
    let one = |port: u16| [PortRange::single(port)];
    let mut rules = vec![
        rule(
            Flow::Kubelet,
            Ingress,
            Protocol::Tcp,
            &one(10_250),
            &[cluster.provider.control_plane],
        ),
        rule(
            Flow::ApiServer,
            Egress,
            Protocol::Tcp,
            &one(6_443),
            &[cluster.provider.control_plane],
        ),
    ];
    let mut both_ways = |flow: Flow, protocol: Protocol, ports: &[PortRange], peers: &[Ipv4Net]| {
        rules.push(rule(flow, Ingress, protocol, ports, peers));
        rules.push(rule(flow, Egress, protocol, ports, peers));
    };
    match cluster.cni.tunnel {
        Tunnel::Vxlan => both_ways(Flow::CniVxlan, Protocol::Udp, &one(8_472), &nodes),
        Tunnel::Geneve => both_ways(Flow::CniGeneve, Protocol::Udp, &one(6_081), &nodes),
        Tunnel::Native => {}
    }
    both_ways(Flow::CniHealth, Protocol::Tcp, &one(4_240), &nodes);
    both_ways(Flow::CniIcmp, Protocol::Icmp, &[], &nodes);
    if cluster.cni.wireguard {
        both_ways(Flow::WireGuard, Protocol::Udp, &one(51_871), &nodes);
    }
    if cluster.cni.hubble {
        both_ways(
            Flow::Hubble,
            Protocol::Tcp,
            &one(4_244),
            &[cluster.vpc_subnet, cluster.pod_cidr],
        );
    }
    if cluster.cni.tunnel == Tunnel::Native {
        both_ways(
            Flow::CniNativeRouting,
            Protocol::Any,
            &[],
            &[cluster.vpc_subnet, cluster.pod_cidr],
        );
    }
    let lb_and_nodes = [cluster.provider.load_balancers, cluster.vpc_subnet];
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        rules.push(rule(
            Flow::NodePorts,
            Ingress,
            protocol,
            &[PortRange::NODE_PORTS],
            &lb_and_nodes,
        ));
    }
    rules.push(rule(
        Flow::Management,
        Ingress,
        Protocol::Tcp,
        &one(NODE_AGENT_PORT),
        &[cluster.provider.management],
    ));
    rules.push(rule(
        Flow::Telemetry,
        Egress,
        Protocol::Tcp,
        &one(TELEMETRY_PORT),
        &[cluster.provider.management],
    ));
    rules
}

/// The rule a load balancer needs: its source ranges (every address when empty, as Kubernetes
/// reads an empty `loadBalancerSourceRanges`) reach its NodePorts over TCP on every node. Named
/// `accord-lb-<name>`; the name must be a DNS-1123 label and the ports NodePorts.
pub fn load_balancer_rule(
    name: &str,
    source_ranges: &[Ipv4Net],
    node_ports: &[u16],
) -> Result<ProviderRule, FieldError> {
    dns_label(name).map_err(|e| FieldError::new("name", e))?;
    if node_ports.is_empty() {
        return Err(FieldError::new(
            "ports",
            "a load balancer needs at least one port",
        ));
    }
    let mut ports = Vec::with_capacity(node_ports.len());
    for (i, &port) in node_ports.iter().enumerate() {
        if !PortRange::NODE_PORTS.contains(port) {
            return Err(FieldError::new(
                format!("ports[{i}].node_port"),
                format!("{port} is not a NodePort (30000-32767)"),
            ));
        }
        ports.push(PortRange::single(port));
    }
    ports.sort_unstable();
    ports.dedup();
    let peers = if source_ranges.is_empty() {
        vec![Ipv4Net::default()]
    } else {
        source_ranges.iter().map(Ipv4Net::trunc).collect()
    };
    if name.len() > 63 - "accord-lb-".len() {
        return Err(FieldError::new(
            "name",
            format!(
                "{} is too long for a rule name (at most 53 characters)",
                quote(name)
            ),
        ));
    }
    Ok(ProviderRule {
        name: format!("accord-lb-{name}"),
        flow: Flow::LoadBalancer,
        selector: Selector {
            direction: Direction::Ingress,
            protocol: Protocol::Tcp,
            ports,
            peers,
            target: Target::AllNodes,
        },
    })
}
