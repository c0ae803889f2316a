//! What the reconciler asks the back ends for a stored volume or snapshot ([`volume_op`],
//! [`snapshot_op`]) and what it records when they answer ([`volume_outcome`],
//! [`snapshot_outcome`]): the state model's transition, and the event saying so.
//!
//! Invariants: an answer applies only to the operation in flight (the key names it); an
//! operation the back end has not finished after 5 minutes of its clock (plus the time its data
//! takes at 1 GiB/s for restores and snapshots) is failed visibly (`volume.operation-failed`,
//! the volume's `last_failure`; a snapshot's `failure`, a hung deletion leaving it deletable
//! again), and its late outcome is then ignored (nothing is in flight any more); a deleted volume's or snapshot's record goes with
//! its `…deleted` event.

use accord_core::storage::StorageEvent;
use accord_storage::{
    Operation, Outcome, SnapshotState, check_timeout, complete, complete_snapshot,
    driver::{BackendOp, OpRequest, OpStatus},
    limits::OPERATION_TIMEOUT_MS,
};
use accord_store::{Expect, Versioned};

use super::Change;
use crate::trees::{StoredSnapshot, StoredVolume};

/// The back-end operation a volume has in flight, if any.
pub fn volume_op(v: &StoredVolume) -> Option<BackendOp> {
    let in_flight = v.volume.in_flight.as_ref()?;
    let volume = v.backend.clone();
    let request = match &in_flight.op {
        Operation::Create => OpRequest::CreateVolume {
            volume,
            kind: v.volume.kind,
            size_bytes: v.volume.size_bytes,
            mount: v.volume.mount,
            from_snapshot: v.source_snapshot_id.map(|s| s.to_string()),
        },
        Operation::Attach { node } => OpRequest::AttachVolume {
            volume,
            node: node.clone(),
        },
        Operation::Detach { node } => OpRequest::DetachVolume {
            volume,
            node: node.clone(),
        },
        Operation::Expand { to_bytes } => OpRequest::ExpandVolume {
            volume,
            to_bytes: *to_bytes,
        },
        Operation::Delete => OpRequest::DeleteVolume { volume },
    };
    Some(BackendOp {
        key: v.op_key(),
        project: v.project.to_string(),
        region: v.volume.region.clone(),
        request,
    })
}

/// The time a size-dependent operation may take beyond the fixed timeout: restoring from a
/// snapshot moves the data at [`DATA_BYTES_PER_SECOND`] at least, so a 10 TiB restore is not a
/// hang. Every other volume operation gets the fixed timeout only.
fn size_allowance_ms(v: &StoredVolume) -> u64 {
    match v.volume.in_flight.as_ref().map(|f| &f.op) {
        Some(Operation::Create) if v.source_snapshot_id.is_some() => data_ms(v.volume.size_bytes),
        _ => 0,
    }
}

/// The slowest rate the back ends move data at before an operation counts as hung.
pub const DATA_BYTES_PER_SECOND: u64 = 1 << 30;

fn data_ms(bytes: u64) -> u64 {
    bytes.div_ceil(DATA_BYTES_PER_SECOND).saturating_mul(1000)
}

fn op_name(op: &Operation) -> &'static str {
    match op {
        Operation::Create => "create",
        Operation::Attach { .. } => "attach",
        Operation::Detach { .. } => "detach",
        Operation::Expand { .. } => "expand",
        Operation::Delete => "delete",
    }
}

/// What the back end's `status` for a volume's operation changes (`None`: nothing yet).
pub fn volume_outcome(
    stored: &Versioned<StoredVolume>,
    status: &OpStatus,
    now_ms: u64,
) -> Option<Change> {
    let v = &stored.value;
    let op = v.volume.in_flight.as_ref()?.op.clone();
    let next = match status {
        OpStatus::Running { .. } => {
            check_timeout(&v.volume, now_ms.saturating_sub(size_allowance_ms(v)))?
        }
        OpStatus::Succeeded { .. } => complete(v.volume.clone(), Outcome::Succeeded),
        OpStatus::Failed { reason } => complete(v.volume.clone(), Outcome::Failed(reason.clone())),
    };
    let failed = !matches!(status, OpStatus::Succeeded { .. });
    let (volume, cluster, project, name) = (v.id, v.cluster, v.project, v.volume.name.clone());
    let mut ch = Change::in_project(project);
    if next.state == accord_storage::VolumeState::Deleted {
        super::delete_volume(&mut ch, v, Expect::Version(stored.version));
        ch.event(StorageEvent::VolumeDeleted {
            volume,
            cluster,
            project,
            name,
        });
        return Some(ch);
    }
    let event = match &op {
        _ if failed => StorageEvent::VolumeOperationFailed {
            volume,
            cluster,
            project,
            name,
            operation: op_name(&op).to_owned(),
            reason: next.last_failure.clone().unwrap_or_default(),
            state: next.state.as_str().to_owned(),
        },
        Operation::Create => StorageEvent::VolumeAvailable {
            volume,
            cluster,
            project,
            name,
        },
        Operation::Attach { node } => StorageEvent::VolumeAttached {
            volume,
            cluster,
            project,
            name,
            node: node.clone(),
        },
        Operation::Detach { node } => StorageEvent::VolumeDetached {
            volume,
            cluster,
            project,
            name,
            node: node.clone(),
        },
        Operation::Expand { .. } => StorageEvent::VolumeExpanded {
            volume,
            cluster,
            project,
            name,
            size_bytes: next.size_bytes,
        },
        Operation::Delete => return None,
    };
    let updated = StoredVolume {
        volume: next,
        ..v.clone()
    };
    super::put_volume(&mut ch, &updated, Expect::Version(stored.version)).ok()?;
    ch.event(event);
    Some(ch)
}

/// The back-end key of a snapshot's creation or deletion.
pub fn snapshot_key(s: &StoredSnapshot) -> String {
    if s.deleting {
        format!("snapshot/{}/delete-{}", s.id, s.delete_attempts)
    } else {
        format!("snapshot/{}/create", s.id)
    }
}

/// The back-end operation a snapshot has outstanding, if any.
pub fn snapshot_op(s: &StoredSnapshot) -> Option<BackendOp> {
    let snapshot = s.id.to_string();
    let request = if s.deleting {
        OpRequest::DeleteSnapshot { snapshot }
    } else if s.snapshot.state == SnapshotState::Creating {
        OpRequest::CreateSnapshot {
            snapshot,
            volume: s.source_backend.clone(),
        }
    } else {
        return None;
    };
    Some(BackendOp {
        key: snapshot_key(s),
        project: s.project.to_string(),
        region: s.snapshot.region.clone(),
        request,
    })
}

/// What the back end's `status` for a snapshot's operation changes.
pub fn snapshot_outcome(
    stored: &Versioned<StoredSnapshot>,
    status: &OpStatus,
    now_ms: u64,
) -> Option<Change> {
    let s = &stored.value;
    let (snapshot, cluster, project, name) = (s.id, s.cluster, s.project, s.snapshot.name.clone());
    let mut ch = Change::in_project(project);
    if s.deleting {
        match status {
            OpStatus::Succeeded { .. } => {
                super::delete_snapshot(&mut ch, s, Expect::Version(stored.version));
                ch.event(StorageEvent::SnapshotDeleted {
                    snapshot,
                    cluster,
                    project,
                    name,
                });
                return Some(ch);
            }
            // A failed deletion leaves the snapshot as it was, with the reason; deleting it
            // again is a new attempt (a new key: the back end keeps each key's outcome).
            OpStatus::Failed { reason } => {
                let mut updated = s.clone();
                updated.deleting = false;
                updated.snapshot.failure = Some(format!("delete failed: {reason}"));
                super::put_snapshot(&mut ch, &updated, Expect::Version(stored.version)).ok()?;
                return Some(ch);
            }
            OpStatus::Running { .. } => {
                if now_ms.saturating_sub(s.delete_started_at_ms) < OPERATION_TIMEOUT_MS {
                    return None;
                }
                let mut updated = s.clone();
                updated.deleting = false;
                updated.snapshot.failure = Some(format!(
                    "delete failed: the back end did not finish within {} minutes",
                    OPERATION_TIMEOUT_MS / 60_000
                ));
                super::put_snapshot(&mut ch, &updated, Expect::Version(stored.version)).ok()?;
                return Some(ch);
            }
        }
    }
    if s.snapshot.state != SnapshotState::Creating {
        return None;
    }
    let outcome = match status {
        OpStatus::Running { .. } => {
            // Cutting a snapshot reads the volume: its size adds to the fixed timeout.
            let allowed = OPERATION_TIMEOUT_MS.saturating_add(data_ms(s.snapshot.size_bytes));
            if now_ms.saturating_sub(s.snapshot.created_at_ms) < allowed {
                return None;
            }
            Outcome::Failed(format!(
                "the back end did not finish within {} minutes",
                OPERATION_TIMEOUT_MS / 60_000
            ))
        }
        OpStatus::Succeeded { .. } => Outcome::Succeeded,
        OpStatus::Failed { reason } => Outcome::Failed(reason.clone()),
    };
    let next = complete_snapshot(s.snapshot.clone(), outcome);
    ch.event(match (&next.state, &next.failure) {
        (SnapshotState::Failed, failure) => StorageEvent::SnapshotFailed {
            snapshot,
            cluster,
            project,
            name,
            reason: failure.clone().unwrap_or_default(),
        },
        _ => StorageEvent::SnapshotReady {
            snapshot,
            cluster,
            project,
            name,
        },
    });
    let updated = StoredSnapshot {
        snapshot: next,
        ..s.clone()
    };
    super::put_snapshot(&mut ch, &updated, Expect::Version(stored.version)).ok()?;
    Some(ch)
}
