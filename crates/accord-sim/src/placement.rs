//! Where things go: failure domains for replicas and nodes, and internal IPs for nodes.
//!
//! Invariants:
//! - Control-plane replicas get pairwise distinct failure domains, the least used ones first.
//! - A node goes to the failure domain with the fewest nodes of its pool (ties: catalogue order),
//!   so a pool spreads evenly.
//! - A node's IP comes from its VPC subnet, skipping the network address, the next three
//!   (gateway, DNS, reserved) and the broadcast address; an address held by a live instance is
//!   never handed out again.

use std::{collections::HashSet, net::Ipv4Addr};

use accord_core::ids::{ClusterId, NodePoolId};
use ipnet::Ipv4Net;

use crate::state::FleetState;

/// Addresses at the start of a subnet the provider keeps (network, gateway, DNS, reserved).
pub const RESERVED_LOW: u32 = 4;

/// `count` distinct failure domains of `domains`, the least used by control-plane replicas
/// first; `None` when there are fewer than `count`.
pub(crate) fn replica_domains(
    state: &FleetState,
    domains: &[String],
    count: usize,
) -> Option<Vec<String>> {
    if domains.len() < count {
        return None;
    }
    let used = |domain: &String| {
        state
            .control_planes
            .values()
            .flat_map(|cp| &cp.replicas)
            .filter(|r| &r.failure_domain == domain)
            .count()
    };
    let mut ranked: Vec<(usize, usize, &String)> = domains
        .iter()
        .enumerate()
        .map(|(order, domain)| (used(domain), order, domain))
        .collect();
    ranked.sort();
    let mut chosen: Vec<(usize, String)> = ranked
        .into_iter()
        .take(count)
        .map(|(_, order, domain)| (order, domain.clone()))
        .collect();
    // Replica n goes to the n-th chosen domain in catalogue order: stable, readable names.
    chosen.sort();
    Some(chosen.into_iter().map(|(_, d)| d).collect())
}

/// The failure domain with the fewest instances of `(cluster, pool)`.
pub(crate) fn node_domain(
    state: &FleetState,
    domains: &[String],
    cluster: ClusterId,
    pool: NodePoolId,
) -> Option<String> {
    domains
        .iter()
        .enumerate()
        .min_by_key(|(order, domain)| {
            let load = state
                .instances
                .values()
                .filter(|i| i.cluster == cluster && i.pool == pool && &i.failure_domain == *domain)
                .count();
            (load, *order)
        })
        .map(|(_, domain)| domain.clone())
}

/// The lowest free host address of `subnet`, or `None` when the subnet is full.
pub(crate) fn allocate_ip(state: &FleetState, subnet: Ipv4Net) -> Option<Ipv4Addr> {
    let taken: HashSet<Ipv4Addr> = state.instances.values().map(|i| i.internal_ip).collect();
    let first = u32::from(subnet.network()).checked_add(RESERVED_LOW)?;
    let broadcast = u32::from(subnet.broadcast());
    (first..broadcast)
        .map(Ipv4Addr::from)
        .find(|ip| !taken.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_skip_reserved_and_broadcast() {
        let state = FleetState::default();
        let net: Ipv4Net = "10.0.0.0/24".parse().unwrap();
        assert_eq!(allocate_ip(&state, net), Some(Ipv4Addr::new(10, 0, 0, 4)));
        // A /29 has 8 addresses: .0–.3 reserved, .7 broadcast → .4, .5, .6.
        let tiny: Ipv4Net = "10.0.0.8/29".parse().unwrap();
        assert_eq!(allocate_ip(&state, tiny), Some(Ipv4Addr::new(10, 0, 0, 12)));
        let none: Ipv4Net = "10.0.0.0/30".parse().unwrap();
        assert_eq!(allocate_ip(&state, none), None);
    }

    #[test]
    fn replica_domains_need_enough_domains() {
        let state = FleetState::default();
        let two = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(replica_domains(&state, &two, 3), None);
        let three = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(replica_domains(&state, &three, 3).unwrap(), three);
    }
}
