//! Control planes as plain functions over [`FleetState`], like [`crate::lifecycle`]: creation,
//! rolling upgrades, replacing a replica that is down, deletion, and what happens when a
//! replica's transition falls due.
//!
//! Three replicas `Provisioning → Running` in parallel; an upgrade moves one replica at a time
//! `Running → Upgrading → Running@new`, and starts the next only when every replica is Running
//! again (a replica that is Down pauses it). Deletion ends with `ControlPlaneDeleted`.
//!
//! Self-healing: [`replace_replica`] rebuilds a `Down` replica under the same name
//! (`Down → Provisioning → Running`, [`Operation::ReplicaProvision`]) in a failure domain no
//! other replica of the cluster uses: a free domain of the region other than the one it failed
//! in when the region has one (the least used by control planes, then catalogue order), else its
//! own. A replica that was down during an upgrade is rebuilt at the version the upgrade targets;
//! the paused upgrade resumes once every replica runs.
//!
//! Invariants:
//! - A control plane's replicas sit in pairwise distinct failure domains.
//! - An upgrade never takes a replica out of service while another is out (it starts the next
//!   one only when every replica is Running).
//! - A replacement never touches a replica that is not `Down`: it never takes a running replica
//!   away.
//! - Messages quote at most [`crate::impacts::MAX_NAME_IN_MESSAGE`] characters of a name the
//!   caller gave.

use accord_core::{
    ids::ClusterId,
    infra::{
        CONTROL_PLANE_REPLICAS, Catalog, ControlPlaneRequest, InfraError, InfraEvent, ReplicaState,
    },
    validation::KubeVersion,
};

use crate::{
    impacts::quoted,
    lifecycle::{Ctx, region_names},
    placement,
    state::{ControlPlane, FleetState, Replica},
    timing::Operation,
};

fn replica_event(cp: &ControlPlane, replica: &Replica) -> InfraEvent {
    InfraEvent::ReplicaChanged {
        cluster: cp.cluster,
        replica: replica.name.clone(),
        failure_domain: replica.failure_domain.clone(),
        state: replica.state,
        version: replica.version,
    }
}

/// Creates the control plane if absent. An existing one is left as it is (a different version
/// in the request does not upgrade it: that is [`upgrade_control_plane`]).
pub(crate) fn ensure_control_plane(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    req: ControlPlaneRequest,
) -> Result<(), InfraError> {
    let region = ctx.catalog.region(&req.region).ok_or_else(|| {
        InfraError::Invalid(format!(
            "unknown region {:?} (regions: {})",
            req.region,
            region_names(ctx.catalog)
        ))
    })?;
    if let Some(cp) = state.control_planes.get(&req.cluster) {
        if cp.delete_due_ms.is_some() {
            return Err(InfraError::Unavailable(format!(
                "the control plane of cluster {} is being deleted",
                req.cluster
            )));
        }
        return Ok(());
    }
    let domains = placement::replica_domains(
        state,
        &region.failure_domains,
        CONTROL_PLANE_REPLICAS,
    )
    .ok_or_else(|| {
        InfraError::Invalid(format!(
            "region {} has {} failure domains; a control plane needs {CONTROL_PLANE_REPLICAS}",
            region.name,
            region.failure_domains.len()
        ))
    })?;
    let mut replicas = Vec::with_capacity(domains.len());
    for (index, failure_domain) in domains.into_iter().enumerate() {
        replicas.push(Replica {
            name: format!("cp-{index}"),
            failure_domain,
            state: ReplicaState::Provisioning,
            version: req.version,
            due_ms: Some(ctx.due(Operation::ReplicaProvision)),
        });
    }
    let cp = ControlPlane {
        cluster: req.cluster,
        region: req.region,
        version: req.version,
        target: None,
        replicas,
        delete_due_ms: None,
    };
    for replica in &cp.replicas {
        ctx.emit(replica_event(&cp, replica));
    }
    state.control_planes.insert(cp.cluster, cp);
    ctx.changed = true;
    Ok(())
}

/// Starts (or confirms) a rolling upgrade to `version`.
pub(crate) fn upgrade_control_plane(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    version: KubeVersion,
) -> Result<(), InfraError> {
    let cp = state.control_planes.get_mut(&cluster).ok_or_else(|| {
        InfraError::Invalid(format!("cluster {cluster} has no control plane to upgrade"))
    })?;
    if cp.delete_due_ms.is_some() {
        return Err(InfraError::Invalid(format!(
            "the control plane of cluster {cluster} is being deleted"
        )));
    }
    match cp.target {
        Some(target) if target == version => return Ok(()),
        Some(target) => {
            return Err(InfraError::Invalid(format!(
                "cluster {cluster} is already upgrading to {target}"
            )));
        }
        None if cp.version == version => return Ok(()),
        None if version < cp.version => {
            return Err(InfraError::Invalid(format!(
                "cluster {cluster} runs {}; downgrading to {version} is not possible",
                cp.version
            )));
        }
        None => {}
    }
    cp.target = Some(version);
    ctx.changed = true;
    advance_upgrade(cp, ctx);
    Ok(())
}

/// Moves an upgrade on: when every replica is Running, the next one still on the old version
/// starts upgrading; when none is left, the upgrade is complete.
pub(crate) fn advance_upgrade(cp: &mut ControlPlane, ctx: &mut Ctx<'_>) {
    let Some(target) = cp.target else { return };
    if cp.delete_due_ms.is_some() || cp.replicas.iter().any(|r| r.state != ReplicaState::Running) {
        return;
    }
    let Some(index) = cp.replicas.iter().position(|r| r.version != target) else {
        cp.version = target;
        cp.target = None;
        ctx.changed = true;
        return;
    };
    let replica = &mut cp.replicas[index];
    replica.state = ReplicaState::Upgrading;
    replica.due_ms = Some(ctx.due(Operation::ReplicaUpgrade));
    let event = replica_event(cp, &cp.replicas[index]);
    ctx.emit(event);
    ctx.changed = true;
}

/// Starts deleting a control plane; absent → `ControlPlaneDeleted` at once.
pub(crate) fn delete_control_plane(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
) -> Result<(), InfraError> {
    let Some(cp) = state.control_planes.get_mut(&cluster) else {
        ctx.emit(InfraEvent::ControlPlaneDeleted { cluster });
        return Ok(());
    };
    if cp.delete_due_ms.is_some() {
        return Ok(());
    }
    cp.delete_due_ms = Some(ctx.due(Operation::ControlPlaneDelete));
    cp.target = None;
    for replica in &mut cp.replicas {
        replica.due_ms = None;
    }
    ctx.changed = true;
    Ok(())
}

/// Rebuilds a `Down` replica under the same name in a failure domain no other replica of the
/// cluster uses (see the module docs). A replica that is not down is left alone; an unknown
/// cluster or replica, or a control plane being deleted, is invalid.
pub(crate) fn replace_replica(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    replica: &str,
) -> Result<(), InfraError> {
    let cp = state.control_planes.get(&cluster).ok_or_else(|| {
        InfraError::Invalid(format!(
            "cluster {cluster} has no control plane; there is no replica {} to replace",
            quoted(replica)
        ))
    })?;
    if cp.delete_due_ms.is_some() {
        return Err(InfraError::Invalid(format!(
            "the control plane of cluster {cluster} is being deleted; replica {} is not replaced",
            quoted(replica)
        )));
    }
    let index = cp
        .replicas
        .iter()
        .position(|r| r.name == replica)
        .ok_or_else(|| {
            let known: Vec<&str> = cp.replicas.iter().map(|r| r.name.as_str()).collect();
            InfraError::Invalid(format!(
                "cluster {cluster} has no control-plane replica {} (replicas: {})",
                quoted(replica),
                known.join(", ")
            ))
        })?;
    if cp.replicas[index].state != ReplicaState::Down {
        return Ok(());
    }
    let failure_domain = replacement_domain(state, ctx.catalog, cp, index);
    let due = ctx.due(Operation::ReplicaProvision);
    let Some(cp) = state.control_planes.get_mut(&cluster) else {
        return Ok(());
    };
    // Mid-upgrade, the new replica starts at the target version, so the upgrade does not roll it
    // again once it resumes.
    let version = cp.target.unwrap_or(cp.version);
    let r = &mut cp.replicas[index];
    r.failure_domain = failure_domain;
    r.version = version;
    r.state = ReplicaState::Provisioning;
    r.due_ms = Some(due);
    let event = replica_event(cp, &cp.replicas[index]);
    ctx.emit(event);
    ctx.changed = true;
    Ok(())
}

/// Where the replacement of replica `index` goes: a domain of the region that no other replica
/// of this control plane uses and that is not the one it failed in (the least used by control
/// planes fleet-wide, then catalogue order); its own domain when there is none.
fn replacement_domain(
    state: &FleetState,
    catalog: &Catalog,
    cp: &ControlPlane,
    index: usize,
) -> String {
    let own = &cp.replicas[index].failure_domain;
    let Some(region) = catalog.region(&cp.region) else {
        return own.clone();
    };
    let taken = |domain: &String| {
        cp.replicas
            .iter()
            .enumerate()
            .any(|(i, r)| i != index && &r.failure_domain == domain)
    };
    let used = |domain: &String| {
        state
            .control_planes
            .values()
            .flat_map(|cp| &cp.replicas)
            .filter(|r| &r.failure_domain == domain)
            .count()
    };
    region
        .failure_domains
        .iter()
        .enumerate()
        .filter(|(_, domain)| *domain != own && !taken(domain))
        .min_by_key(|(order, domain)| (used(domain), *order))
        .map_or_else(|| own.clone(), |(_, domain)| domain.clone())
}

/// Replica `index`'s transition (provisioning, upgrade) fell due.
pub(crate) fn complete_replica(
    state: &mut FleetState,
    ctx: &mut Ctx<'_>,
    cluster: ClusterId,
    index: usize,
) {
    let Some(cp) = state.control_planes.get_mut(&cluster) else {
        return;
    };
    let target = cp.target;
    let Some(replica) = cp.replicas.get_mut(index) else {
        return;
    };
    replica.due_ms = None;
    ctx.changed = true;
    match replica.state {
        ReplicaState::Provisioning => replica.state = ReplicaState::Running,
        ReplicaState::Upgrading => {
            replica.state = ReplicaState::Running;
            if let Some(target) = target {
                replica.version = target;
            }
        }
        ReplicaState::Running | ReplicaState::Down => return,
    }
    let event = replica_event(cp, &cp.replicas[index]);
    ctx.emit(event);
    advance_upgrade(cp, ctx);
}

#[cfg(test)]
mod tests;
