//! Snapshots of a cluster's volumes, disks and shared filesystems alike (the source product's
//! driver has none): taken of an available or attached volume, kept after the volume is
//! deleted, deleted on request (refused while a volume is being restored from it).

use accord_core::{DomainError, ids::SnapshotId, storage::StorageEvent};
use accord_storage::begin_snapshot;
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::trees::{StoredSnapshot, StoredVolume};

/// Takes a snapshot named `name` of `volume`.
pub fn create(
    ctx: &Ctx,
    volume: &StoredVolume,
    name: &str,
    exists: bool,
    now_ms: u64,
) -> Result<(Change, StoredSnapshot), DomainError> {
    let snapshot = begin_snapshot(&volume.volume, name, now_ms)?;
    if exists {
        return Err(DomainError::AlreadyExists {
            kind: "snapshot",
            name: name.to_owned(),
        });
    }
    let stored = StoredSnapshot {
        id: SnapshotId::generate(),
        cluster: volume.cluster,
        project: volume.project,
        snapshot,
        source_backend: volume.backend.clone(),
        deleting: false,
        delete_attempts: 0,
        delete_started_at_ms: 0,
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
    };
    let mut ch = Change::in_project(volume.project);
    super::put_snapshot(&mut ch, &stored, Expect::Absent)?;
    ch.event(StorageEvent::SnapshotCreated {
        snapshot: stored.id,
        volume: volume.id,
        cluster: volume.cluster,
        project: volume.project,
        name: name.to_owned(),
        size_bytes: stored.snapshot.size_bytes,
    });
    Ok((ch, stored))
}

/// Deletes a snapshot; `restoring` names a volume being created from it, if any.
pub fn delete(
    stored: &Versioned<StoredSnapshot>,
    restoring: Option<&str>,
    now_ms: u64,
) -> Result<(Option<Change>, StoredSnapshot), DomainError> {
    let s = &stored.value;
    if s.deleting {
        return Ok((None, s.clone()));
    }
    if let Some(volume) = restoring {
        return Err(DomainError::precondition(format!(
            "volume {volume} is being restored from snapshot {}: delete it once the volume is available",
            s.snapshot.name
        )));
    }
    let updated = StoredSnapshot {
        deleting: true,
        delete_attempts: s.delete_attempts + 1,
        delete_started_at_ms: now_ms,
        ..s.clone()
    };
    let mut ch = Change::in_project(s.project);
    super::put_snapshot(&mut ch, &updated, Expect::Version(stored.version))?;
    Ok((Some(ch), updated))
}
