//! The infrastructure's state machines as plain functions over [`FleetState`]: what each
//! operation changes now, which events it emits, and what happens when a transition falls due.
//!
//! Nothing here sleeps, locks or does IO; [`crate::fleet`] calls these under its lock and
//! delivers the collected events in order.
//!
//! Worker instance: `Provisioning → Running` (`NodeProvisioned`, then `NodeReadiness{ready}`),
//! or `Provisioning → removed` (`NodeFailed`); `Running → Draining → Running+drained`
//! (`NodeDrained`); any phase `→ Terminating → removed` (`NodeTerminated`). A node that is up
//! may also run one repair at a time ([`crate::repair`]); terminating it stops the repair.
//!
//! Control planes live in [`crate::control_plane`] (creation, upgrades, replica replacement,
//! deletion), customer components' impacts and the provider's mitigations in
//! [`crate::impacts`]; this module completes their transitions as they fall due, with every
//! other one, in due order.
//!
//! Idempotency: every operation is keyed by the id it names. Repeating one that is done or in
//! progress changes nothing; deleting, draining or terminating something absent emits the final
//! event anyway, so a caller waiting for it converges.

use accord_core::{
    ids::{ClusterId, NodeId},
    infra::{Catalog, ImpactKind, InfraError, InfraEvent, InfraSnapshot, NodeRequest},
};
use rand::{Rng, rngs::StdRng};

use crate::{
    catalog::{ib_port_count, is_gpu},
    control_plane, impacts, placement, repair,
    state::{FleetState, GpuState, IbPort, Instance, Phase},
    timing::{Operation, Timing},
};

/// What an operation needs besides the state, and what it produced.
pub(crate) struct Ctx<'a> {
    pub catalog: &'a Catalog,
    pub timing: Timing,
    pub rng: &'a mut StdRng,
    /// Now, Unix milliseconds.
    pub now_ms: i64,
    /// Events to deliver, in order.
    pub events: Vec<InfraEvent>,
    /// The state changed and must be saved.
    pub changed: bool,
}

impl<'a> Ctx<'a> {
    pub fn new(catalog: &'a Catalog, timing: Timing, rng: &'a mut StdRng, now_ms: i64) -> Self {
        Ctx {
            catalog,
            timing,
            rng,
            now_ms,
            events: Vec::new(),
            changed: false,
        }
    }

    /// When `op`, started now, completes.
    pub(crate) fn due(&mut self, op: Operation) -> i64 {
        let ms = self.timing.duration(op, self.rng).as_millis();
        self.now_ms
            .saturating_add(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// Queues an event (delivered in the order emitted).
    pub(crate) fn emit(&mut self, event: InfraEvent) {
        self.events.push(event);
    }
}

/// The catalogue's region names, for messages.
pub(crate) fn region_names(catalog: &Catalog) -> String {
    catalog
        .regions
        .iter()
        .map(|r| r.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts provisioning a node unless one with this id exists.
pub(crate) fn provision_node(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    req: NodeRequest,
) -> Result<(), InfraError> {
    if state.instances.contains_key(&req.node) {
        return Ok(());
    }
    let catalog = ctx.catalog;
    let instance_type = catalog.instance_type(&req.instance_type).ok_or_else(|| {
        let known: Vec<&str> = catalog
            .instance_types
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        InfraError::Invalid(format!(
            "unknown instance type {:?} (instance types: {})",
            req.instance_type,
            known.join(", ")
        ))
    })?;
    let region = catalog.region(&req.region).ok_or_else(|| {
        InfraError::Invalid(format!(
            "unknown region {:?} (regions: {})",
            req.region,
            region_names(catalog)
        ))
    })?;
    // The image is the provisioner's (published by the image-builder, its signature checked
    // before the request): the fleet boots what it is given, but never nothing.
    if req.image_version.is_empty() {
        return Err(InfraError::Invalid("a node needs an image version".into()));
    }
    let failure_domain =
        placement::node_domain(state, &region.failure_domains, req.cluster, req.pool).ok_or_else(
            || InfraError::Invalid(format!("region {} has no failure domains", region.name)),
        )?;
    let internal_ip = placement::allocate_ip(state, req.vpc_subnet).ok_or_else(|| {
        InfraError::NoCapacity(format!("no free address left in subnet {}", req.vpc_subnet))
    })?;

    let will_fail = state.fail_next_provisions > 0;
    let op = if will_fail {
        state.fail_next_provisions -= 1;
        Operation::NodeProvisionFailure
    } else if is_gpu(instance_type) {
        Operation::GpuNodeProvision
    } else {
        Operation::CpuNodeProvision
    };
    state.last_serial += 1;
    let gpus = (0..instance_type.gpu_count)
        .map(|_| GpuState {
            uuid: gpu_uuid(ctx.rng),
            ..GpuState::default()
        })
        .collect();
    let ib_ports = (0..ib_port_count(instance_type))
        .map(|_| IbPort::default())
        .collect();
    let instance = Instance {
        node: req.node,
        name: req.name,
        project: req.project,
        cluster: req.cluster,
        pool: req.pool,
        region: req.region,
        instance_type: req.instance_type,
        image_version: req.image_version,
        kubelet_version: req.kubelet_version,
        vpc_subnet: req.vpc_subnet,
        instance_id: format!("i-{:016x}", state.last_serial),
        failure_domain,
        internal_ip,
        phase: Phase::Provisioning,
        due_ms: Some(ctx.due(op)),
        will_fail,
        drained: false,
        ready: false,
        kubelet_stopped: false,
        gpus,
        ib_ports,
        repair: None,
        finished_repairs: Vec::new(),
        stuck_down: false,
    };
    state.instances.insert(instance.node, instance);
    ctx.changed = true;
    Ok(())
}

/// `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` from the seeded generator.
fn gpu_uuid(rng: &mut StdRng) -> String {
    let a: u32 = rng.random();
    let b: u16 = rng.random();
    let c: u16 = rng.random();
    let d: u16 = rng.random();
    let e: u64 = rng.random::<u64>() & 0xffff_ffff_ffff;
    format!("GPU-{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}")
}

/// Cordons and drains a node; absent or already drained → `NodeDrained` at once.
pub(crate) fn drain_node(state: &mut FleetState, ctx: &mut Ctx<'_>, node: NodeId) {
    let Some(instance) = state.instances.get_mut(&node) else {
        ctx.emit(InfraEvent::NodeDrained { node });
        return;
    };
    match instance.phase {
        Phase::Draining => {}
        Phase::Running if !instance.drained => {
            instance.phase = Phase::Draining;
            instance.due_ms = Some(ctx.due(Operation::NodeDrain));
            ctx.changed = true;
        }
        // Already drained, not up yet (no pods can be on it) or going away: nothing to evict.
        Phase::Running | Phase::Provisioning | Phase::Terminating => {
            if !instance.drained {
                instance.drained = true;
                ctx.changed = true;
            }
            ctx.emit(InfraEvent::NodeDrained { node });
        }
    }
}

/// Terminates a node; absent → `NodeTerminated` at once.
pub(crate) fn terminate_node(state: &mut FleetState, ctx: &mut Ctx<'_>, node: NodeId) {
    let Some(instance) = state.instances.get_mut(&node) else {
        ctx.emit(InfraEvent::NodeTerminated { node });
        return;
    };
    if instance.phase == Phase::Terminating {
        return;
    }
    repair::abort_for_termination(instance, ctx);
    instance.phase = Phase::Terminating;
    instance.due_ms = Some(ctx.due(Operation::NodeTerminate));
    ctx.changed = true;
}

/// Emits `NodeReadiness` when the node's readiness differs from what it last reported.
pub(crate) fn refresh_readiness(instance: &mut Instance, ctx: &mut Ctx<'_>) {
    let ready = instance.should_be_ready();
    if ready != instance.ready && instance.phase.is_up() {
        instance.ready = ready;
        ctx.changed = true;
        ctx.emit(InfraEvent::NodeReadiness {
            node: instance.node,
            ready,
            reason: instance.readiness_reason().to_owned(),
        });
    }
}

/// Something with a due time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    ControlPlaneDeleted(ClusterId),
    Replica(ClusterId, usize),
    Instance(NodeId),
    Repair(NodeId),
    Mitigation(ClusterId, String, ImpactKind),
}

fn due_items(state: &FleetState) -> Vec<(i64, Due)> {
    let mut items = Vec::new();
    for (cluster, cp) in &state.control_planes {
        if let Some(due) = cp.delete_due_ms {
            items.push((due, Due::ControlPlaneDeleted(*cluster)));
            continue;
        }
        for (index, replica) in cp.replicas.iter().enumerate() {
            if let Some(due) = replica.due_ms {
                items.push((due, Due::Replica(*cluster, index)));
            }
        }
    }
    for (node, instance) in &state.instances {
        if let Some(due) = instance.due_ms {
            items.push((due, Due::Instance(*node)));
        }
    }
    items.extend(repair::due(state).map(|(due, node)| (due, Due::Repair(node))));
    items.extend(
        impacts::due(state).map(|(due, cluster, component, kind)| {
            (due, Due::Mitigation(cluster, component, kind))
        }),
    );
    items
}

/// The earliest pending due time.
pub(crate) fn next_due(state: &FleetState) -> Option<i64> {
    due_items(state).into_iter().map(|(due, _)| due).min()
}

/// Completes every transition due at `ctx.now_ms`, in due order (a completion that starts the
/// next step, like an upgrade moving to the next replica, is processed in the same call if that
/// step is already due too).
pub(crate) fn complete_due(state: &mut FleetState, ctx: &mut Ctx<'_>) {
    // Each round completes at least one transition; the bound only guards against a bug.
    for _ in 0..10_000 {
        let mut due: Vec<(i64, Due)> = due_items(state)
            .into_iter()
            .filter(|(at, _)| *at <= ctx.now_ms)
            .collect();
        if due.is_empty() {
            return;
        }
        due.sort();
        for (_, item) in due {
            complete(state, ctx, item);
        }
    }
    tracing::error!("transitions kept falling due; stopping this round");
}

fn complete(state: &mut FleetState, ctx: &mut Ctx<'_>, item: Due) {
    ctx.changed = true;
    match item {
        Due::ControlPlaneDeleted(cluster) => {
            state.control_planes.remove(&cluster);
            impacts::forget_cluster(state, cluster);
            ctx.emit(InfraEvent::ControlPlaneDeleted { cluster });
        }
        Due::Replica(cluster, index) => control_plane::complete_replica(state, ctx, cluster, index),
        Due::Mitigation(cluster, component, kind) => {
            impacts::complete_mitigation(state, ctx, cluster, &component, kind);
        }
        Due::Instance(node) => {
            let Some(instance) = state.instances.get_mut(&node) else {
                return;
            };
            instance.due_ms = None;
            match instance.phase {
                Phase::Provisioning if instance.will_fail => {
                    state.instances.remove(&node);
                    ctx.emit(InfraEvent::NodeFailed {
                        node,
                        reason: "InstanceBootFailed: the instance did not come up \
                                 (simulated provisioning failure)"
                            .to_owned(),
                    });
                }
                Phase::Provisioning => {
                    instance.phase = Phase::Running;
                    ctx.emit(InfraEvent::NodeProvisioned {
                        node,
                        instance_id: instance.instance_id.clone(),
                        failure_domain: instance.failure_domain.clone(),
                        internal_ip: instance.internal_ip.to_string(),
                    });
                    refresh_readiness(instance, ctx);
                }
                Phase::Draining => {
                    instance.phase = Phase::Running;
                    instance.drained = true;
                    ctx.emit(InfraEvent::NodeDrained { node });
                }
                Phase::Terminating => {
                    state.instances.remove(&node);
                    ctx.emit(InfraEvent::NodeTerminated { node });
                }
                Phase::Running => {}
            }
        }
        Due::Repair(node) => repair::complete_step(state, ctx, node),
    }
}

/// What exists, for a reconciling provisioner.
pub(crate) fn snapshot(state: &FleetState) -> InfraSnapshot {
    InfraSnapshot {
        replicas: state
            .control_planes
            .values()
            .flat_map(|cp| {
                cp.replicas.iter().map(|r| {
                    (
                        cp.cluster,
                        r.name.clone(),
                        r.failure_domain.clone(),
                        r.state,
                        r.version,
                    )
                })
            })
            .collect(),
        nodes: state
            .instances
            .values()
            .map(|i| (i.node, i.ready))
            .collect(),
        instances: state
            .instances
            .values()
            .map(|i| accord_core::infra::ObservedInstance {
                node: i.node,
                instance_id: i.instance_id.clone(),
                failure_domain: i.failure_domain.clone(),
                internal_ip: i.internal_ip.to_string(),
                provisioned: i.phase != Phase::Provisioning,
                ready: i.ready,
                drained: i.drained && i.phase == Phase::Running,
                terminating: i.phase == Phase::Terminating,
            })
            .collect(),
        repairs: repair::observed(state),
        impacts: impacts::observed(state),
    }
}

/// Whether `ip` is held by a live instance.
#[cfg(test)]
pub(crate) fn ip_in_use(state: &FleetState, ip: std::net::Ipv4Addr) -> bool {
    state.instances.values().any(|i| i.internal_ip == ip)
}

#[cfg(test)]
mod tests {
    use accord_core::{
        ids::{NodePoolId, ProjectId},
        infra::ControlPlaneRequest,
        validation::KubeVersion,
    };
    use rand::SeedableRng;

    use super::*;
    use crate::{catalog::default_catalog, control_plane::ensure_control_plane};

    fn v(s: &str) -> KubeVersion {
        s.parse().unwrap()
    }

    fn node_req(node: NodeId, cluster: ClusterId, pool: NodePoolId, ty: &str) -> NodeRequest {
        NodeRequest {
            node,
            name: format!("n-{node}"),
            project: ProjectId::generate(),
            cluster,
            pool,
            region: "eu-iceland1".into(),
            vpc_subnet: "10.1.0.0/28".parse().unwrap(),
            instance_type: ty.into(),
            image_version: "2026.11.0".into(),
            kubelet_version: v("1.32"),
        }
    }

    /// Runs `f` with a context at `now`, returns its events.
    fn step(
        state: &mut FleetState,
        rng: &mut StdRng,
        now: i64,
        f: impl FnOnce(&mut FleetState, &mut Ctx<'_>),
    ) -> Vec<InfraEvent> {
        let catalog = default_catalog();
        let mut ctx = Ctx::new(&catalog, Timing::new(1.0), rng, now);
        f(state, &mut ctx);
        ctx.events
    }

    /// Completes every pending transition, each at its due time; returns the events.
    fn run_until_idle(state: &mut FleetState, rng: &mut StdRng) -> Vec<InfraEvent> {
        let mut events = Vec::new();
        while let Some(due) = next_due(state) {
            events.extend(step(state, rng, due, complete_due));
        }
        events
    }

    #[test]
    fn small_subnet_runs_out_and_terminated_addresses_come_back() {
        let mut state = FleetState::default();
        let mut rng = StdRng::seed_from_u64(5);
        let cluster = ClusterId::generate();
        let pool = NodePoolId::generate();
        // 10.1.0.0/28: .4 … .14 → 11 addresses.
        let nodes: Vec<NodeId> = (0..11).map(|_| NodeId::generate()).collect();
        for node in &nodes {
            step(&mut state, &mut rng, 0, |s, c| {
                provision_node(s, c, node_req(*node, cluster, pool, "c1a.16x")).unwrap();
            });
        }
        let extra = NodeId::generate();
        step(&mut state, &mut rng, 0, |s, c| {
            assert!(matches!(
                provision_node(s, c, node_req(extra, cluster, pool, "c1a.16x")),
                Err(InfraError::NoCapacity(_))
            ));
        });
        // Pool spread: 11 nodes over 3 domains → 4/4/3.
        let mut per_domain = std::collections::BTreeMap::<String, usize>::new();
        for i in state.instances.values() {
            *per_domain.entry(i.failure_domain.clone()).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_domain.values().copied().collect();
        counts.sort();
        assert_eq!(counts, [3, 4, 4]);

        let freed = state.instances[&nodes[0]].internal_ip;
        step(&mut state, &mut rng, 0, |s, c| {
            terminate_node(s, c, nodes[0])
        });
        assert!(ip_in_use(&state, freed), "held while terminating");
        run_until_idle(&mut state, &mut rng);
        assert!(!ip_in_use(&state, freed));
        step(&mut state, &mut rng, 0, |s, c| {
            provision_node(s, c, node_req(extra, cluster, pool, "c1a.16x")).unwrap();
        });
        assert_eq!(state.instances[&extra].internal_ip, freed);
    }

    #[test]
    fn unknown_type_region_and_image_are_invalid() {
        let mut state = FleetState::default();
        let mut rng = StdRng::seed_from_u64(5);
        let cluster = ClusterId::generate();
        let pool = NodePoolId::generate();
        step(&mut state, &mut rng, 0, |s, c| {
            let mut req = node_req(NodeId::generate(), cluster, pool, "a100.8x");
            assert!(
                matches!(provision_node(s, c, req.clone()), Err(InfraError::Invalid(m)) if m.contains("a100.8x"))
            );
            req.instance_type = "c1a.16x".into();
            req.region = "mars1".into();
            assert!(
                matches!(provision_node(s, c, req.clone()), Err(InfraError::Invalid(m)) if m.contains("mars1"))
            );
            req.region = "us-east1".into();
            req.image_version = String::new();
            assert!(
                matches!(provision_node(s, c, req), Err(InfraError::Invalid(m)) if m.contains("image"))
            );
            let cp = ControlPlaneRequest {
                cluster,
                region: "mars1".into(),
                version: v("1.32"),
            };
            assert!(matches!(
                ensure_control_plane(s, c, cp),
                Err(InfraError::Invalid(_))
            ));
        });
        assert!(state.instances.is_empty());
    }
}
