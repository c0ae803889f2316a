//! The read model of clusters (address plan, pools, Ready nodes' addresses) and each
//! cluster's rule-set revision, from the provisioner's `cluster.*`, `nodepool.*` and `node.*`
//! events.
//!
//! - a cluster created: its view and a rule set at revision 1 (`firewall.created` naming the
//!   required rules); the reconciler applies it;
//! - a pool created or deleted: the view follows, the revision moves on
//!   (`firewall.required-rules-updated`);
//! - a node Ready (with its address) or terminated: pool membership follows (pool-targeted
//!   rules), the revision moves on;
//! - a cluster deleted: the view is marked `deleting`; the reconciler removes the rule set
//!   from the VPC firewall and then everything of the cluster ([`super::apply::removed`]).
//!
//! Invariant: applying the same event twice leaves the same state (no second revision).

use std::collections::BTreeMap;

use accord_core::{
    DomainError, cluster::ClusterEvent, firewall::FirewallEvent, node::NodeEvent,
    nodepool::NodePoolEvent,
};
use accord_firewall::{Cni, Tunnel};
use accord_store::{Expect, Versioned};

use super::{Change, desired::required_names};
use crate::{
    trees::{CLUSTERS, FIREWALLS, FirewallState},
    view::{ClusterView, PoolView},
};

/// The firewall engine's view of a cluster's CNI settings.
pub fn cni_of(c: accord_core::cluster::CniSettings) -> Cni {
    use accord_core::cluster::CniTunnel;
    Cni {
        tunnel: match c.tunnel {
            CniTunnel::Vxlan => Tunnel::Vxlan,
            CniTunnel::Geneve => Tunnel::Geneve,
            CniTunnel::Native => Tunnel::Native,
        },
        wireguard: c.wireguard,
        hubble: c.hubble,
    }
}

/// What is stored about the event's cluster.
pub struct Stored<'a> {
    pub view: Option<&'a Versioned<ClusterView>>,
    pub state: Option<&'a Versioned<FirewallState>>,
}

fn put_both(
    ch: &mut Change,
    stored: &Stored<'_>,
    view: &ClusterView,
    state: &FirewallState,
) -> Result<(), DomainError> {
    let key = view.id.to_string();
    ch.put(
        CLUSTERS,
        &key,
        view,
        stored
            .view
            .map_or(Expect::Absent, |v| Expect::Version(v.version)),
    )?;
    ch.put(
        FIREWALLS,
        &key,
        state,
        stored
            .state
            .map_or(Expect::Absent, |v| Expect::Version(v.version)),
    )?;
    Ok(())
}

/// The change a cluster event makes.
pub fn on_cluster(stored: &Stored<'_>, ev: &ClusterEvent) -> Result<Option<Change>, DomainError> {
    let ch = match ev {
        ClusterEvent::Created { cluster } => {
            if stored.view.is_some() {
                return Ok(None);
            }
            let plan = &cluster.spec.network;
            let view = ClusterView {
                id: cluster.metadata.id,
                name: cluster.metadata.name.clone(),
                project: cluster.metadata.project,
                vpc_subnet: plan.vpc_subnet.to_string(),
                pod_cidr: plan.pod_cidr.to_string(),
                service_cidr: plan.service_cidr.to_string(),
                cni: cni_of(cluster.spec.cni),
                pools: BTreeMap::new(),
                deleting: false,
            };
            let state = stored
                .state
                .map_or_else(|| FirewallState::new(view.id), |s| s.value.bumped());
            let mut ch = Change::in_project(view.project);
            put_both(&mut ch, stored, &view, &state)?;
            ch.event(FirewallEvent::Created {
                cluster: view.id,
                project: view.project,
                required: required_names(&view)?,
            });
            ch
        }
        ClusterEvent::Deleted { .. } => {
            let (Some(view), Some(state)) = (stored.view, stored.state) else {
                return Ok(None);
            };
            if view.value.deleting {
                return Ok(None);
            }
            let mut next = view.value.clone();
            next.deleting = true;
            let mut ch = Change::in_project(next.project);
            put_both(&mut ch, stored, &next, &state.value.bumped())?;
            ch
        }
        _ => return Ok(None),
    };
    Ok(Some(ch))
}

/// The change a node-pool event makes.
pub fn on_pool(stored: &Stored<'_>, ev: &NodePoolEvent) -> Result<Option<Change>, DomainError> {
    let (Some(view), Some(state)) = (stored.view, stored.state) else {
        return Ok(None);
    };
    if view.value.deleting {
        return Ok(None);
    }
    let mut next = view.value.clone();
    let reason = match ev {
        NodePoolEvent::Created { pool, .. } => {
            if next.pools.contains_key(&pool.metadata.id) {
                return Ok(None);
            }
            next.pools.insert(
                pool.metadata.id,
                PoolView {
                    name: pool.metadata.name.clone(),
                    nodes: BTreeMap::new(),
                },
            );
            format!("node pool {} created", pool.metadata.name)
        }
        NodePoolEvent::Deleted { pool, name, .. } => {
            if next.pools.remove(pool).is_none() {
                return Ok(None);
            }
            format!("node pool {name} deleted")
        }
        _ => return Ok(None),
    };
    let mut ch = Change::in_project(next.project);
    put_both(&mut ch, stored, &next, &state.value.bumped())?;
    ch.event(FirewallEvent::RequiredRulesUpdated {
        cluster: next.id,
        project: next.project,
        required: required_names(&next)?,
        reason,
    });
    Ok(Some(ch))
}

/// The change a node event makes: pool membership of Ready nodes with their addresses.
pub fn on_node(stored: &Stored<'_>, ev: &NodeEvent) -> Result<Option<Change>, DomainError> {
    let (Some(view), Some(state)) = (stored.view, stored.state) else {
        return Ok(None);
    };
    if view.value.deleting {
        return Ok(None);
    }
    let mut next = view.value.clone();
    match ev {
        NodeEvent::Ready {
            node,
            pool,
            internal_ip,
            ..
        } => {
            let Some(p) = next.pools.get_mut(pool) else {
                return Ok(None);
            };
            if internal_ip.is_empty()
                || p.nodes.get(&node.to_string()) == Some(internal_ip)
                || internal_ip.parse::<std::net::Ipv4Addr>().is_err()
            {
                return Ok(None);
            }
            p.nodes.insert(node.to_string(), internal_ip.clone());
        }
        NodeEvent::Terminated { node, pool, .. } => {
            let Some(p) = next.pools.get_mut(pool) else {
                return Ok(None);
            };
            if p.nodes.remove(&node.to_string()).is_none() {
                return Ok(None);
            }
        }
        _ => return Ok(None),
    }
    let mut ch = Change::in_project(next.project);
    put_both(&mut ch, stored, &next, &state.value.bumped())?;
    Ok(Some(ch))
}
