//! Packets as written for offline evaluation ([`PacketSpec`]) and their validation into a
//! [`Packet`] with resolved addresses.
//!
//! Direction: an ingress packet goes **to** a node (`to` must be a node's address: in
//! `vpc_subnet`, or a pod's in `pod_cidr`); an egress packet comes **from** one (`from` must
//! be). `from` / `to` may be `node`, `control-plane` or `internet` (see [`crate::cluster`] for
//! the addresses they stand for). tcp and udp packets need a `port` (1–65535); icmp packets
//! have none.

use accord_core::validation::quote;
use serde::{Deserialize, Serialize};

use crate::cluster::{ClusterNetwork, Endpoint};
use crate::error::FieldErrors;
use crate::rule::{Direction, Packet, PacketProtocol};

/// A packet as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketSpec {
    /// `ingress` or `egress`.
    pub direction: String,
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// Destination port (tcp and udp).
    pub port: Option<i64>,
    /// Source: an IPv4 address, `node`, `control-plane` or `internet`.
    pub from: String,
    /// Destination: the same choices.
    pub to: String,
}

/// Validates a packet for `cluster`; fields are named under `prefix` (`packet`).
pub fn validate_packet(
    spec: &PacketSpec,
    cluster: &ClusterNetwork,
    prefix: &str,
) -> Result<Packet, FieldErrors> {
    let mut errors = FieldErrors::new();
    let field = |name: &str| format!("{prefix}.{name}");
    let direction = match spec.direction.as_str() {
        "ingress" => Some(Direction::Ingress),
        "egress" => Some(Direction::Egress),
        other => {
            errors.push(
                field("direction"),
                format!("{} must be \"ingress\" or \"egress\"", quote(other)),
            );
            None
        }
    };
    let protocol = match spec.protocol.as_str() {
        "tcp" => Some(PacketProtocol::Tcp),
        "udp" => Some(PacketProtocol::Udp),
        "icmp" => Some(PacketProtocol::Icmp),
        other => {
            errors.push(
                field("protocol"),
                format!("{} must be one of tcp, udp, icmp", quote(other)),
            );
            None
        }
    };
    let port = match (protocol, spec.port) {
        (Some(PacketProtocol::Icmp), Some(_)) => {
            errors.push(field("port"), "icmp packets have no port; remove it");
            None
        }
        (Some(PacketProtocol::Tcp | PacketProtocol::Udp), None) => {
            errors.push(field("port"), "tcp and udp packets need a port (1-65535)");
            None
        }
        (_, Some(port)) => match u16::try_from(port) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                errors.push(field("port"), format!("{port} is out of range 1-65535"));
                None
            }
        },
        (_, None) => None,
    };
    let mut endpoint = |name: &str, value: &str| match Endpoint::parse(value) {
        Ok(e) => Some(cluster.resolve(e)),
        Err(e) => {
            errors.push(field(name), e);
            None
        }
    };
    let from = endpoint("from", &spec.from);
    let to = endpoint("to", &spec.to);
    let node_side = match direction {
        Some(Direction::Ingress) => to.map(|a| ("to", a)),
        Some(Direction::Egress) => from.map(|a| ("from", a)),
        None => None,
    };
    if let (Some((name, addr)), Some(direction)) = (node_side, direction)
        && !cluster.is_node_side(addr)
    {
        let (verb, preposition) = match direction {
            Direction::Ingress => ("ingress", "to"),
            Direction::Egress => ("egress", "from"),
        };
        errors.push(
            field(name),
            format!(
                "an {verb} packet goes {preposition} a node, and {addr} is outside the vpc_subnet {} and the pod_cidr {} (write \"node\" for a node)",
                cluster.vpc_subnet, cluster.pod_cidr
            ),
        );
    }
    match (direction, protocol, from, to) {
        (Some(direction), Some(protocol), Some(from), Some(to)) if errors.is_empty() => {
            Ok(Packet {
                direction,
                protocol,
                port,
                from,
                to,
            })
        }
        _ => Err(errors),
    }
}
