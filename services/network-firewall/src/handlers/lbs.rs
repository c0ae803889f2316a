//! L4 passthrough load balancers: asked for by the customer (what a cloud controller calls for
//! a Service of type LoadBalancer), run by the provider. Creating one validates it field by
//! field and moves the cluster's rule set one revision on (its firewall rule — the source
//! ranges to its NodePorts — is part of the provider tier); deleting one marks it `deleting`
//! (the reconciler removes it from the cloud, then here). What the cloud reports — the address,
//! the backends and their health — is recorded by [`observed`].

use std::collections::BTreeSet;

use accord_core::{DomainError, error::Violations, firewall::FirewallEvent};
use accord_firewall::driver::{HealthCheck, LbProtocol, LoadBalancerPort, LoadBalancerState};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, bump};
use crate::{
    trees::{FirewallState, LOAD_BALANCERS, LbState, StoredLoadBalancer},
    view::ClusterView,
};

/// Most load balancers per cluster.
pub const MAX_LOAD_BALANCERS_PER_CLUSTER: usize = 64;
/// Most ports per load balancer.
pub const MAX_PORTS: usize = 16;
/// Most source ranges per load balancer.
pub const MAX_SOURCE_RANGES: usize = 64;

/// A load balancer as asked for.
#[derive(Debug, Clone, Default)]
pub struct LbRequest {
    pub name: String,
    /// (port, protocol as written, node port).
    pub ports: Vec<(u32, String, u32)>,
    pub source_ranges: Vec<String>,
    /// (interval s, timeout s, healthy threshold); 0: the default.
    pub health: (u32, u32, u32),
}

/// The key of a load balancer.
pub fn lb_key(view: &ClusterView, name: &str) -> String {
    format!("{}/{name}", view.id)
}

/// `443→30443/tcp`.
pub fn port_text(p: &LoadBalancerPort) -> String {
    let proto = match p.protocol {
        LbProtocol::Tcp => "tcp",
        LbProtocol::Udp => "udp",
    };
    format!("{}→{}/{proto}", p.port, p.node_port)
}

fn validate(req: &LbRequest) -> Result<(Vec<LoadBalancerPort>, HealthCheck), DomainError> {
    let mut v = Violations::new();
    v.check("name", accord_core::validation::dns_label(&req.name));
    if req.ports.is_empty() {
        v.add("ports", "a load balancer needs at least one port");
    }
    if req.ports.len() > MAX_PORTS {
        v.add("ports", format!("at most {MAX_PORTS} ports"));
    }
    let mut ports = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, (port, protocol, node_port)) in req.ports.iter().take(MAX_PORTS).enumerate() {
        let protocol = match protocol.as_str() {
            "" | "tcp" => Some(LbProtocol::Tcp),
            "udp" => Some(LbProtocol::Udp),
            other => {
                v.add(
                    format!("ports[{i}].protocol"),
                    format!(
                        "{} must be \"tcp\" or \"udp\"",
                        accord_core::error::echo(other)
                    ),
                );
                None
            }
        };
        let p = u16::try_from(*port).ok().filter(|p| *p > 0);
        if p.is_none() {
            v.add(format!("ports[{i}].port"), "must be 1–65535");
        }
        let np = u16::try_from(*node_port)
            .ok()
            .filter(|p| (30000..=32767).contains(p));
        if np.is_none() {
            v.add(
                format!("ports[{i}].node_port"),
                "must be a NodePort, 30000–32767",
            );
        }
        if let (Some(port), Some(protocol), Some(node_port)) = (p, protocol, np) {
            if !seen.insert((port, protocol == LbProtocol::Tcp)) {
                v.add(format!("ports[{i}]"), "the same port and protocol twice");
            }
            ports.push(LoadBalancerPort {
                port,
                protocol,
                node_port,
            });
        }
    }
    if req.source_ranges.len() > MAX_SOURCE_RANGES {
        v.add(
            "source_ranges",
            format!("at most {MAX_SOURCE_RANGES} ranges"),
        );
    }
    for (i, r) in req.source_ranges.iter().take(MAX_SOURCE_RANGES).enumerate() {
        if let Err(e) = accord_firewall::addr::parse_cidr(r) {
            v.add(format!("source_ranges[{i}]"), e);
        }
    }
    let (interval, timeout, threshold) = req.health;
    let d = HealthCheck::default();
    let pick = |value: u32, default: u32| if value == 0 { default } else { value };
    let health = HealthCheck {
        interval_s: pick(interval, d.interval_s),
        timeout_s: pick(timeout, d.timeout_s),
        healthy_threshold: pick(threshold, d.healthy_threshold),
    };
    if !(1..=300).contains(&health.interval_s) {
        v.add("health_check.interval_seconds", "must be 1–300");
    }
    if !(1..=60).contains(&health.timeout_s) {
        v.add("health_check.timeout_seconds", "must be 1–60");
    }
    if !(1..=10).contains(&health.healthy_threshold) {
        v.add("health_check.healthy_threshold", "must be 1–10");
    }
    v.into_result().map(|()| (ports, health))
}

/// Asks for a load balancer on `view`, whose load balancers are `existing`.
pub fn create(
    ctx: &Ctx,
    view: &ClusterView,
    state: &Versioned<FirewallState>,
    existing: &[(String, Versioned<StoredLoadBalancer>)],
    req: LbRequest,
) -> Result<(Change, StoredLoadBalancer), DomainError> {
    if view.deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted",
            view.name
        )));
    }
    let (ports, health) = validate(&req)?;
    if existing.iter().any(|(_, lb)| lb.value.name == req.name) {
        return Err(DomainError::AlreadyExists {
            kind: "load balancer",
            name: req.name,
        });
    }
    if existing.len() >= MAX_LOAD_BALANCERS_PER_CLUSTER {
        return Err(DomainError::ResourceExhausted(format!(
            "cluster {} already has {MAX_LOAD_BALANCERS_PER_CLUSTER} load balancers, the most \
             it may have",
            view.name
        )));
    }
    let lb = StoredLoadBalancer {
        cluster: view.id,
        name: req.name,
        ports,
        source_ranges: req.source_ranges,
        health,
        state: LbState::Provisioning,
        address: None,
        backends: Vec::new(),
        message: String::new(),
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
    };
    let mut ch = Change::in_project(view.project);
    ch.put(LOAD_BALANCERS, &lb_key(view, &lb.name), &lb, Expect::Absent)?;
    bump(&mut ch, view, state)?;
    ch.event(FirewallEvent::LoadBalancerCreated {
        cluster: view.id,
        project: view.project,
        name: lb.name.clone(),
        ports: lb.ports.iter().map(port_text).collect(),
    });
    Ok((ch, lb))
}

/// Marks a load balancer for deletion (its rule leaves the rule set at once).
pub fn delete(
    view: &ClusterView,
    state: &Versioned<FirewallState>,
    stored: Option<&Versioned<StoredLoadBalancer>>,
    name: &str,
) -> Result<Change, DomainError> {
    let Some(stored) = stored else {
        return Err(DomainError::not_found(
            "load balancer",
            accord_core::error::echo(name),
        ));
    };
    if stored.value.state == LbState::Deleting {
        return Ok(Change::none());
    }
    let mut ch = Change::in_project(view.project);
    let mut next = stored.value.clone();
    next.state = LbState::Deleting;
    ch.put(
        LOAD_BALANCERS,
        &lb_key(view, name),
        &next,
        Expect::Version(stored.version),
    )?;
    bump(&mut ch, view, state)?;
    Ok(ch)
}

/// What the cloud reports about a load balancer, recorded (`None`: nothing changed).
pub fn observed(
    view: &ClusterView,
    stored: &Versioned<StoredLoadBalancer>,
    cloud: &LoadBalancerState,
) -> Result<Option<Change>, DomainError> {
    let mut next = stored.value.clone();
    next.address = Some(cloud.address);
    next.backends = cloud.backends.clone();
    next.message.clear();
    if next.state == LbState::Provisioning {
        next.state = LbState::Active;
    }
    if next == stored.value {
        return Ok(None);
    }
    let mut ch = Change::in_project(view.project);
    ch.put(
        LOAD_BALANCERS,
        &lb_key(view, &next.name),
        &next,
        Expect::Version(stored.version),
    )?;
    if stored.value.address != next.address {
        ch.event(FirewallEvent::LoadBalancerAddressAssigned {
            cluster: view.id,
            project: view.project,
            name: next.name.clone(),
            address: cloud.address.to_string(),
        });
    }
    let addresses = |b: &[accord_firewall::driver::BackendHealth]| -> BTreeSet<String> {
        b.iter().map(|b| b.address.to_string()).collect()
    };
    let now = addresses(&next.backends);
    if addresses(&stored.value.backends) != now {
        ch.event(FirewallEvent::LoadBalancerBackendsChanged {
            cluster: view.id,
            project: view.project,
            name: next.name.clone(),
            backends: now.into_iter().collect(),
        });
    }
    Ok(Some(ch))
}

/// Converging a load balancer failed: recorded on it (`None`: already said).
pub fn failed(
    view: &ClusterView,
    stored: &Versioned<StoredLoadBalancer>,
    error: &str,
) -> Result<Option<Change>, DomainError> {
    let message = accord_core::error::echo(error);
    if stored.value.message == message {
        return Ok(None);
    }
    let mut next = stored.value.clone();
    next.message = message;
    let mut ch = Change::in_project(view.project);
    ch.put(
        LOAD_BALANCERS,
        &lb_key(view, &next.name),
        &next,
        Expect::Version(stored.version),
    )?;
    Ok(Some(ch))
}

/// A load balancer removed from the cloud: removed here.
pub fn removed(view: &ClusterView, stored: &Versioned<StoredLoadBalancer>) -> Change {
    let mut ch = Change::in_project(view.project);
    ch.delete(
        LOAD_BALANCERS,
        &lb_key(view, &stored.value.name),
        Expect::Version(stored.version),
    );
    ch.event(FirewallEvent::LoadBalancerDeleted {
        cluster: view.id,
        project: view.project,
        name: stored.value.name.clone(),
    });
    ch
}
