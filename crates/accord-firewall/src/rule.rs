//! The rule model shared by both tiers: directions, actions, protocols, port ranges, targets,
//! and the [`Selector`] that says which packets a rule is about; and the customer's rule,
//! [`CustomerRule`], with its priority and action.
//!
//! Semantics (both tiers): rules are about **nodes**. An ingress rule matches packets *to* a
//! node whose source is in its `sources`; an egress rule matches packets *from* a node whose
//! destination is in its `destinations`. The node side must be one of the rule's targets (every
//! node, or the nodes of one pool). The firewall is stateful, as VPC firewalls are: only the
//! packet that opens a connection is evaluated; replies follow it.
//!
//! Validation (text → [`CustomerRule`]) lives in [`crate::validate`].

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// Which way a packet crosses the node's firewall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// To a node.
    Ingress,
    /// From a node.
    Egress,
}

impl Direction {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        }
    }
}

/// What a matching customer rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Let the packet through.
    Allow,
    /// Drop the packet.
    Deny,
}

impl Action {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
        }
    }
}

/// The protocol a rule is about (`any` matches every packet's protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (types are not told apart).
    Icmp,
    /// Every protocol.
    Any,
}

impl Protocol {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Any => "any",
        }
    }

    /// Whether rules of this protocol may list ports.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }

    /// Whether a rule of this protocol matches a packet of `packet`'s protocol.
    pub fn covers(self, packet: PacketProtocol) -> bool {
        match self {
            Protocol::Any => true,
            Protocol::Tcp => packet == PacketProtocol::Tcp,
            Protocol::Udp => packet == PacketProtocol::Udp,
            Protocol::Icmp => packet == PacketProtocol::Icmp,
        }
    }
}

/// A packet's protocol (a packet has exactly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PacketProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
}

impl PacketProtocol {
    /// Every packet protocol, in index order.
    pub const ALL: [PacketProtocol; 3] = [
        PacketProtocol::Tcp,
        PacketProtocol::Udp,
        PacketProtocol::Icmp,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            PacketProtocol::Tcp => "tcp",
            PacketProtocol::Udp => "udp",
            PacketProtocol::Icmp => "icmp",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            PacketProtocol::Tcp => 0,
            PacketProtocol::Udp => 1,
            PacketProtocol::Icmp => 2,
        }
    }
}

/// An inclusive range of ports, `lo ≤ hi` (validated ranges are within 1–65535).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port (equal to `lo` for a single port).
    pub hi: u16,
}

impl PortRange {
    /// Every port (0 included, so a rule listing no ports matches a packet without one).
    pub const ALL: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };
    /// The Kubernetes NodePort range, 30000–32767.
    pub const NODE_PORTS: PortRange = PortRange {
        lo: 30_000,
        hi: 32_767,
    };

    /// One port.
    pub const fn single(port: u16) -> Self {
        PortRange { lo: port, hi: port }
    }

    /// Whether `port` is in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    /// Whether the ranges share a port.
    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.lo <= other.hi && other.lo <= self.hi
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which nodes a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Every node of the cluster (`all-nodes`).
    AllNodes,
    /// The nodes of one pool (`pool:<name>`).
    Pool(String),
}

impl Target {
    /// Whether this target includes every node `other` does.
    pub fn covers(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::AllNodes, _) => true,
            (Target::Pool(a), Target::Pool(b)) => a == b,
            (Target::Pool(_), Target::AllNodes) => false,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::AllNodes => f.write_str("all-nodes"),
            Target::Pool(pool) => write!(f, "pool:{pool}"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which packets a rule is about: direction, protocol, ports, the peer's addresses and the
/// nodes on the other side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Ingress (`peers` are sources) or egress (`peers` are destinations).
    pub direction: Direction,
    /// The protocol; `any` matches all.
    pub protocol: Protocol,
    /// Ports (tcp and udp only); empty means every port.
    pub ports: Vec<PortRange>,
    /// The addresses on the far side of the node: sources (ingress) or destinations (egress).
    pub peers: Vec<Ipv4Net>,
    /// The nodes the rule applies to.
    pub target: Target,
}

impl Selector {
    /// Whether the rule matches a packet. `in_pool` answers whether the packet's node belongs
    /// to a pool of that name.
    pub fn matches(&self, packet: &Packet, in_pool: impl Fn(&str) -> bool) -> bool {
        self.direction == packet.direction
            && self.protocol.covers(packet.protocol)
            && self.matches_port(packet)
            && self.peers.iter().any(|net| net.contains(&packet.peer()))
            && match &self.target {
                Target::AllNodes => true,
                Target::Pool(pool) => in_pool(pool),
            }
    }

    fn matches_port(&self, packet: &Packet) -> bool {
        if self.ports.is_empty() || packet.protocol == PacketProtocol::Icmp {
            return true;
        }
        match packet.port {
            Some(port) => self.ports.iter().any(|r| r.contains(port)),
            None => false,
        }
    }

    /// The ports the rule covers, as ranges (every port when it lists none).
    pub fn effective_ports(&self) -> &[PortRange] {
        if self.ports.is_empty() {
            std::slice::from_ref(&PortRange::ALL)
        } else {
            &self.ports
        }
    }

    /// A short description: `deny 10250/tcp from 10.0.0.0/16` without the action, e.g.
    /// `10250/tcp from 10.0.0.0/16`, `any to 0.0.0.0/0 on pool:gpu`.
    pub fn describe(&self) -> String {
        let what = match self.protocol {
            Protocol::Tcp | Protocol::Udp if !self.ports.is_empty() => {
                let ports: Vec<String> = self.ports.iter().take(4).map(|p| p.to_string()).collect();
                let more = if self.ports.len() > 4 { ",…" } else { "" };
                format!("{}{more}/{}", ports.join(","), self.protocol.as_str())
            }
            protocol => protocol.as_str().to_owned(),
        };
        let way = match self.direction {
            Direction::Ingress => "from",
            Direction::Egress => "to",
        };
        let peers: Vec<String> = self.peers.iter().take(3).map(|p| p.to_string()).collect();
        let more = match self.peers.len() {
            n if n > 3 => format!(" (+{} more)", n - 3),
            _ => String::new(),
        };
        let on = match &self.target {
            Target::AllNodes => String::new(),
            pool => format!(" on {pool}"),
        };
        format!("{what} {way} {}{more}{on}", peers.join(","))
    }
}

/// A packet to evaluate, addresses resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Packet {
    /// Ingress: `to` is a node; egress: `from` is a node.
    pub direction: Direction,
    /// The packet's protocol.
    pub protocol: PacketProtocol,
    /// The destination port (tcp and udp; `None` for icmp).
    pub port: Option<u16>,
    /// Source address.
    pub from: Ipv4Addr,
    /// Destination address.
    pub to: Ipv4Addr,
}

impl Packet {
    /// The address on the far side of the node: the source of an ingress packet, the
    /// destination of an egress one.
    pub fn peer(&self) -> Ipv4Addr {
        match self.direction {
            Direction::Ingress => self.from,
            Direction::Egress => self.to,
        }
    }

    /// The node's address: the destination of an ingress packet, the source of an egress one.
    pub fn node(&self) -> Ipv4Addr {
        match self.direction {
            Direction::Ingress => self.to,
            Direction::Egress => self.from,
        }
    }
}

/// A validated customer rule (build one with [`crate::validate::validate_rule`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerRule {
    /// Unique within the cluster; a DNS-1123 label not starting with `accord-`.
    pub name: String,
    /// 0–65535; lower is evaluated first.
    pub priority: u16,
    /// Allow or deny.
    pub action: Action,
    /// Which packets it is about.
    pub selector: Selector,
}

impl CustomerRule {
    /// The order of customer rules: lower priority first, then deny before allow, then the
    /// earlier rule (`position` in the rule list). Smaller keys win.
    pub fn key(&self, position: usize) -> u64 {
        let allow = u64::from(self.action == Action::Allow);
        (u64::from(self.priority) << 33) | (allow << 32) | (position as u64 & 0xFFFF_FFFF)
    }

    /// `deny 10250/tcp from 10.0.0.0/16`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.action.as_str(), self.selector.describe())
    }
}
