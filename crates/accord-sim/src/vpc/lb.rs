//! Load balancers: the public address pool, request validation, and backend health.
//!
//! Addresses come from [`ADDRESS_POOL`] (198.51.100.0/24, RFC 5737 documentation space): the
//! lowest host address no load balancer holds. A backend is healthy when the load balancer
//! runs (not being created or deleted), the backend's address is a Ready node of the cluster
//! in the linked fleet (without a fleet: any address), and the cluster's VPC firewall lets the
//! load-balancer hosts (the first host of `LOAD_BALANCER_RANGE`) reach the first port's NodePort
//! on it over TCP (no rule set: nothing blocks it). Health is evaluated when asked; the health
//! check's thresholds are not modelled.

use std::{collections::BTreeSet, net::Ipv4Addr};

use accord_core::validation::dns_label;
use accord_firewall::{
    Direction, Firewall, LOAD_BALANCER_RANGE, Packet, PacketProtocol, PortRange, Verdict,
    driver::{BackendHealth, LoadBalancerState, VpcLoadBalancer},
    limits::MAX_PORTS_PER_RULE,
};
use ipnet::Ipv4Net;

use super::state::{LbPhase, LoadBalancerRecord, VpcState};

/// Where load balancers' public addresses come from.
pub const ADDRESS_POOL: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24);

/// Backends one load balancer may have.
pub const MAX_BACKENDS: usize = 4_096;

/// Longest load-balancer name (its firewall rule is `accord-lb-<name>`, a 63-character label).
pub const MAX_NAME_CHARS: usize = 53;

/// Checks a load-balancer request; the error names the field.
pub(crate) fn validate(lb: &VpcLoadBalancer) -> Result<(), String> {
    dns_label(&lb.name).map_err(|e| format!("name: {e}"))?;
    if lb.name.len() > MAX_NAME_CHARS {
        return Err(format!("name: at most {MAX_NAME_CHARS} characters"));
    }
    if lb.ports.is_empty() {
        return Err("ports: a load balancer needs at least one port".to_owned());
    }
    if lb.ports.len() > MAX_PORTS_PER_RULE {
        return Err(format!(
            "ports: at most {MAX_PORTS_PER_RULE} (has {})",
            lb.ports.len()
        ));
    }
    for (i, port) in lb.ports.iter().enumerate() {
        if port.port == 0 {
            return Err(format!("ports[{i}].port: 0 is not a port (1-65535)"));
        }
        if !PortRange::NODE_PORTS.contains(port.node_port) {
            return Err(format!(
                "ports[{i}].node_port: {} is not a NodePort (30000-32767)",
                port.node_port
            ));
        }
        if lb.ports[..i]
            .iter()
            .any(|p| p.port == port.port && p.protocol == port.protocol)
        {
            return Err(format!("ports[{i}].port: {} is listed twice", port.port));
        }
    }
    if lb.backends.len() > MAX_BACKENDS {
        return Err(format!(
            "backends: at most {MAX_BACKENDS} (has {})",
            lb.backends.len()
        ));
    }
    if lb.health.interval_s == 0 || lb.health.timeout_s == 0 || lb.health.healthy_threshold == 0 {
        return Err("health: interval, timeout and threshold must be at least 1".to_owned());
    }
    Ok(())
}

/// The lowest pool address no load balancer holds.
pub(crate) fn allocate(state: &VpcState) -> Option<Ipv4Addr> {
    let taken: BTreeSet<Ipv4Addr> = state
        .load_balancers
        .values()
        .flat_map(|lbs| lbs.values().map(|lb| lb.address))
        .collect();
    ADDRESS_POOL.hosts().find(|a| !taken.contains(a))
}

/// Whether the load-balancer hosts reach `node_port` on `backend` through `firewall`.
fn reachable(firewall: Option<&Firewall>, backend: Ipv4Addr, node_port: u16) -> bool {
    let Some(firewall) = firewall else {
        return true;
    };
    let from = health_checker();
    let packet = Packet {
        direction: Direction::Ingress,
        protocol: PacketProtocol::Tcp,
        port: Some(node_port),
        from,
        to: backend,
    };
    firewall.evaluate(&packet).verdict == Verdict::Allow
}

/// The load-balancer hosts' health checker: the first host of `LOAD_BALANCER_RANGE`.
fn health_checker() -> Ipv4Addr {
    LOAD_BALANCER_RANGE
        .hosts()
        .next()
        .unwrap_or_else(|| LOAD_BALANCER_RANGE.network())
}

/// The load balancer as the cloud runs it. `ready_node` answers whether an address is a Ready
/// node of the cluster (`None`: no fleet linked, every address counts).
pub(crate) fn observed(
    record: &LoadBalancerRecord,
    firewall: Option<&Firewall>,
    ready_node: Option<&BTreeSet<Ipv4Addr>>,
) -> LoadBalancerState {
    let running = matches!(record.phase, LbPhase::Active | LbPhase::Updating);
    let node_port = record.spec.ports.first().map(|p| p.node_port);
    let backends = record
        .spec
        .backends
        .iter()
        .map(|&address| BackendHealth {
            address,
            healthy: running
                && ready_node.is_none_or(|ready| ready.contains(&address))
                && node_port.is_some_and(|port| reachable(firewall, address, port)),
        })
        .collect();
    LoadBalancerState {
        cluster: record.spec.cluster,
        name: record.spec.name.clone(),
        address: record.address,
        ports: record.spec.ports.clone(),
        backends,
    }
}
