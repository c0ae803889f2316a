//! Snapshots of disks and shared filesystems (the source product's driver has none) and
//! restoring a new volume from one.
//!
//! Decisions: a snapshot is taken of an `available` or `attached` volume (crash-consistent, as
//! CSI snapshots are); it outlives its volume (deleting a volume keeps its snapshots); a restore
//! makes a volume of the same kind, project and region, at least as large as the snapshot.
//!
//! Invariant: a restored volume is never smaller than its snapshot and never of another kind.

use serde::{Deserialize, Serialize};

use crate::error::StorageError;
use crate::quantity::format_quantity;
use crate::state::{Outcome, VolumeState};
use crate::volume::{Mount, NewVolume, Volume, VolumeKind, check_name};

/// Where a snapshot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// Being cut.
    Creating,
    /// Usable for restores.
    Ready,
    /// The back end failed to cut it.
    Failed,
}

/// A snapshot's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Its name (DNS-1123 label).
    pub name: String,
    /// The volume it was taken of.
    pub volume: String,
    /// The project.
    pub project: String,
    /// The region.
    pub region: String,
    /// The volume's kind.
    pub kind: VolumeKind,
    /// The volume's mount (shared volumes).
    pub mount: Option<Mount>,
    /// The volume's size when the snapshot was taken.
    pub size_bytes: u64,
    /// Where it is in its life.
    pub state: SnapshotState,
    /// When it was requested (ms, the caller's clock).
    pub created_at_ms: u64,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Starts a snapshot `name` of `volume`.
pub fn begin_snapshot(volume: &Volume, name: &str, now_ms: u64) -> Result<Snapshot, StorageError> {
    check_name(name).map_err(|e| StorageError::invalid("snapshot.name", e))?;
    if !matches!(volume.state, VolumeState::Available | VolumeState::Attached) {
        return Err(StorageError::precondition(
            "volume.state",
            format!(
                "volume {} is {}: snapshots are taken of available or attached volumes",
                volume.name,
                volume.state.as_str()
            ),
        ));
    }
    Ok(Snapshot {
        name: name.to_owned(),
        volume: volume.name.clone(),
        project: volume.project.clone(),
        region: volume.region.clone(),
        kind: volume.kind,
        mount: volume.mount,
        size_bytes: volume.size_bytes,
        state: SnapshotState::Creating,
        created_at_ms: now_ms,
        failure: None,
    })
}

/// Applies the back end's outcome to a snapshot being cut (unchanged otherwise).
pub fn complete_snapshot(mut snapshot: Snapshot, outcome: Outcome) -> Snapshot {
    if snapshot.state != SnapshotState::Creating {
        return snapshot;
    }
    match outcome {
        Outcome::Succeeded => snapshot.state = SnapshotState::Ready,
        Outcome::Failed(reason) => {
            snapshot.state = SnapshotState::Failed;
            snapshot.failure = Some(reason);
        }
    }
    snapshot
}

/// Checks that `new` (whose `source_snapshot` names `snapshot`) may be restored from it.
pub fn check_restore(new: &NewVolume, snapshot: &Snapshot) -> Result<(), StorageError> {
    if snapshot.state != SnapshotState::Ready {
        return Err(StorageError::precondition(
            "volume.source_snapshot",
            format!("snapshot {} is not ready", snapshot.name),
        ));
    }
    if new.project != snapshot.project {
        return Err(StorageError::precondition(
            "volume.source_snapshot",
            format!("snapshot {} belongs to another project", snapshot.name),
        ));
    }
    if new.region != snapshot.region {
        return Err(StorageError::precondition(
            "volume.region",
            format!(
                "snapshot {} is in region {}: restore it in that region",
                snapshot.name, snapshot.region
            ),
        ));
    }
    if new.kind != snapshot.kind {
        return Err(StorageError::invalid(
            "volume.type",
            format!(
                "snapshot {} is of a {} volume: restore it as {}",
                snapshot.name,
                snapshot.kind.as_str(),
                snapshot.kind.as_str()
            ),
        ));
    }
    if new.size_bytes < snapshot.size_bytes {
        return Err(StorageError::invalid(
            "volume.size",
            format!(
                "a restore must be at least the snapshot's {} (asked for {})",
                format_quantity(snapshot.size_bytes),
                format_quantity(new.size_bytes)
            ),
        ));
    }
    Ok(())
}
