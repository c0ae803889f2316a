//! The customer's volumes: created (validated against the kind's limits, the NFS gate, a
//! snapshot to restore and the project's quota), attached, detached, expanded and deleted. Each
//! accepted request moves the volume into its transitional state with an operation in flight
//! under a fresh back-end key; the reconciler carries it out ([`super::backend`]).
//!
//! Invariants: a volume of a deleted cluster is never created; a volume being migrated is
//! neither expanded nor deleted (the copy reads it); every operation started has its own key
//! (`op_seq` grows), so a repeated request that changes nothing starts nothing.

use accord_core::{
    DomainError,
    error::echo,
    ids::{NodeId, VolumeId},
    storage::StorageEvent,
};
use accord_storage::{
    NfsGate, NodeInfo, Quota, Usage, Volume, VolumeKind, VolumeSpec, begin_attach, begin_create,
    begin_delete, begin_detach, begin_expand, check_create_quota, check_restore, require_nfs,
    shared_mount, validate_volume,
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx, check_version};
use crate::{
    trees::{StoredSnapshot, StoredVolume},
    view::ClusterView,
};

/// What the customer asked for.
#[derive(Debug, Clone, Default)]
pub struct VolumeRequest {
    pub name: String,
    pub kind: String,
    pub size: String,
    pub mount: String,
    pub source_snapshot: String,
}

/// What creating a volume looks at.
pub struct CreateInput<'a> {
    pub view: &'a ClusterView,
    pub gate: &'a NfsGate,
    /// The project's volumes (quota).
    pub project_volumes: &'a [StoredVolume],
    /// A volume of that name in the cluster, if any.
    pub existing: bool,
    /// The snapshot `source_snapshot` names, if it exists in the cluster.
    pub snapshot: Option<&'a StoredSnapshot>,
    pub quota: Quota,
    /// The back end's clock.
    pub now_ms: u64,
}

/// The project's usage.
pub fn usage(volumes: &[StoredVolume]) -> Usage {
    Usage::of(volumes.iter().map(|v| &v.volume))
}

/// Creates a volume.
pub fn create(
    ctx: &Ctx,
    input: &CreateInput<'_>,
    req: &VolumeRequest,
) -> Result<(Change, StoredVolume), DomainError> {
    let view = input.view;
    let new = validate_volume(&VolumeSpec {
        name: req.name.clone(),
        project: view.project.to_string(),
        region: view.region.clone(),
        kind: req.kind.clone(),
        size: req.size.clone(),
        mount: req.mount.clone(),
        source_snapshot: req.source_snapshot.clone(),
    })?;
    if view.deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted: no new volumes",
            view.name
        )));
    }
    if input.existing {
        return Err(DomainError::AlreadyExists {
            kind: "volume",
            name: new.name.clone(),
        });
    }
    let mut new = new;
    if new.kind == VolumeKind::Shared {
        require_nfs(input.gate)?;
        let asked = (!req.mount.trim().is_empty())
            .then_some(new.mount)
            .flatten();
        new.mount = Some(shared_mount(input.gate, asked)?);
    }
    let mut from_snapshot = None;
    if let Some(name) = &new.source_snapshot {
        let snapshot = input
            .snapshot
            .filter(|s| !s.deleting)
            .ok_or_else(|| DomainError::not_found("snapshot", echo(name)))?;
        check_restore(&new, &snapshot.snapshot)?;
        from_snapshot = Some(snapshot.id);
    }
    check_create_quota(&new, input.quota, usage(input.project_volumes))?;
    let id = VolumeId::generate();
    let volume = begin_create(new, input.now_ms);
    let stored = StoredVolume {
        id,
        cluster: view.id,
        project: view.project,
        backend: id.to_string(),
        op_seq: 1,
        source_snapshot_id: from_snapshot,
        migration: None,
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
        volume,
    };
    let mut ch = Change::in_project(view.project);
    super::put_volume(&mut ch, &stored, Expect::Absent)?;
    ch.event(StorageEvent::VolumeCreated {
        volume: id,
        cluster: view.id,
        project: view.project,
        name: stored.volume.name.clone(),
        kind: stored.volume.kind.as_str().to_owned(),
        size_bytes: stored.volume.size_bytes,
        mount: stored.volume.mount.map(|m| m.as_str().to_owned()),
        from_snapshot,
    });
    Ok((ch, stored))
}

/// Stores `next` (the engine's answer to a request on `stored`); a new operation in flight
/// gets a new key. Returns `None` when nothing changed (a repeat, as CSI requires).
fn moved(
    stored: &Versioned<StoredVolume>,
    next: Volume,
) -> Result<(Option<Change>, StoredVolume), DomainError> {
    let s = &stored.value;
    if next == s.volume {
        return Ok((None, s.clone()));
    }
    let started = next.in_flight.is_some() && next.in_flight != s.volume.in_flight;
    let updated = StoredVolume {
        op_seq: s.op_seq + u64::from(started),
        volume: next,
        ..s.clone()
    };
    let mut ch = Change::in_project(s.project);
    super::put_volume(&mut ch, &updated, Expect::Version(stored.version))?;
    Ok((Some(ch), updated))
}

fn not_while_migrating(stored: &StoredVolume, what: &str) -> Result<(), DomainError> {
    match stored.migration {
        Some(m) => Err(DomainError::precondition(format!(
            "volume {} is being migrated to NFS by migration {m}: it cannot {what} until the migration finishes or is rolled back",
            stored.volume.name
        ))),
        None => Ok(()),
    }
}

/// What attaching looks at: the node (already resolved in the project) and its cluster.
pub struct AttachTarget<'a> {
    pub node: NodeId,
    pub node_name: &'a str,
    pub ready: bool,
    /// The node's cluster.
    pub cluster: &'a ClusterView,
    /// The project's volumes (to count what the node already holds, whichever cluster of
    /// the project they belong to).
    pub cluster_volumes: &'a [StoredVolume],
}

/// How many disks and shared volumes `node` holds or is getting.
pub fn node_load(node: &str, volumes: &[StoredVolume]) -> (usize, usize) {
    let mut disks = 0;
    let mut shared = 0;
    for v in volumes {
        let attaching_here = matches!(
            &v.volume.in_flight,
            Some(accord_storage::InFlight { op: accord_storage::Operation::Attach { node: n }, .. }) if n == node
        );
        if v.volume.attachments.contains(node) || attaching_here {
            match v.volume.kind {
                VolumeKind::Disk => disks += 1,
                VolumeKind::Shared => shared += 1,
            }
        }
    }
    (disks, shared)
}

/// Attaches a volume to a node.
pub fn attach(
    stored: &Versioned<StoredVolume>,
    resource_version: u64,
    target: &AttachTarget<'_>,
    now_ms: u64,
) -> Result<(Option<Change>, StoredVolume), DomainError> {
    check_version(stored, resource_version, "the volume")?;
    if !target.ready
        && !stored
            .value
            .volume
            .attachments
            .contains(&target.node.to_string())
    {
        return Err(DomainError::precondition(format!(
            "node {} is not Ready: volumes attach to Ready nodes",
            target.node_name
        )));
    }
    let node = target.node.to_string();
    let (disks, shared) = node_load(&node, target.cluster_volumes);
    let info = NodeInfo {
        id: node,
        region: target.cluster.region.clone(),
        disks,
        shared,
    };
    let next = begin_attach(stored.value.volume.clone(), &info, now_ms)?;
    moved(stored, next)
}

/// Detaches a volume from a node (by id; a node that is gone can still be detached from).
pub fn detach(
    stored: &Versioned<StoredVolume>,
    resource_version: u64,
    node: &str,
    now_ms: u64,
) -> Result<(Option<Change>, StoredVolume), DomainError> {
    check_version(stored, resource_version, "the volume")?;
    let next = begin_detach(stored.value.volume.clone(), node, now_ms)?;
    moved(stored, next)
}

/// Grows a volume.
pub fn expand(
    stored: &Versioned<StoredVolume>,
    resource_version: u64,
    size: &str,
    quota: Quota,
    project_volumes: &[StoredVolume],
    now_ms: u64,
) -> Result<(Option<Change>, StoredVolume), DomainError> {
    check_version(stored, resource_version, "the volume")?;
    not_while_migrating(&stored.value, "be expanded")?;
    let next = begin_expand(
        stored.value.volume.clone(),
        size,
        quota,
        usage(project_volumes),
        now_ms,
    )?;
    moved(stored, next)
}

/// Deletes a volume.
pub fn delete(
    stored: &Versioned<StoredVolume>,
    resource_version: u64,
    now_ms: u64,
) -> Result<(Option<Change>, StoredVolume), DomainError> {
    check_version(stored, resource_version, "the volume")?;
    not_while_migrating(&stored.value, "be deleted")?;
    let next = begin_delete(stored.value.volume.clone(), now_ms)?;
    moved(stored, next)
}
