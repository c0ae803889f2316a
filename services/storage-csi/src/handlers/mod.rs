//! storage-csi's handlers: plain functions from (what is stored, an input) to a [`Change`] —
//! writes and storage events — that the engine commits in one batch. No IO: the reconciler
//! asks the back ends and hands what they said to [`backend`] and [`migrations`].
//!
//! - [`cluster_view`]: the read model (clusters, nodes, the CSI driver's install state) from
//!   `cluster.*`, `node.*` and `addon.*` events;
//! - [`volumes`]: the customer's volumes created, attached, detached, expanded and deleted;
//! - [`snapshots`]: snapshots taken and deleted, restores checked;
//! - [`classes`]: the customer's StorageClasses;
//! - [`nfs`]: the provider's per-project NFS gate;
//! - [`backend`]: what the reconciler records when a back-end operation finishes or times out;
//! - [`migrations`]: VirtioFS → NFS plans and their per-volume state machines.

pub mod backend;
pub mod classes;
pub mod cluster_view;
pub mod migrations;
pub mod nfs;
pub mod snapshots;
pub mod volumes;

use accord_core::{DomainError, storage::StorageEvent};
use accord_storage::SnapshotState;
use accord_store::{Expect, Versioned};

use crate::trees::{BUSY, SNAPSHOTS, StoredSnapshot, StoredVolume, VOLUMES, key};

/// A change of storage-csi's store.
pub type Change = accord_runtime::Change<StorageEvent>;
pub use accord_runtime::Ctx;

/// The write condition for a record read at `v` (version 0: read as absent).
pub fn expect<T>(v: &Versioned<T>) -> Expect {
    if v.version == 0 {
        Expect::Absent
    } else {
        Expect::Version(v.version)
    }
}

/// `ABORTED` when the caller's `resource_version` (0: any) is not the stored one.
pub fn check_version<T>(
    stored: &Versioned<T>,
    requested: u64,
    what: &str,
) -> Result<(), DomainError> {
    if requested != 0 && requested != stored.version {
        return Err(DomainError::Aborted(format!(
            "{what} changed since you read it (resource_version {requested}, now {}): read it again and retry",
            stored.version
        )));
    }
    Ok(())
}

/// The `busy` entry of a volume record.
pub fn busy_volume(record_key: &str) -> String {
    format!("volume/{record_key}")
}

/// The `busy` entry of a snapshot record.
pub fn busy_snapshot(record_key: &str) -> String {
    format!("snapshot/{record_key}")
}

fn mark(ch: &mut Change, busy_key: &str, busy: bool) -> Result<(), DomainError> {
    if busy {
        ch.put(BUSY, busy_key, &(), Expect::Any)?;
    } else {
        ch.delete(BUSY, busy_key, Expect::Any);
    }
    Ok(())
}

/// Writes a volume record and keeps its `busy` entry in step (an operation in flight or not).
pub fn put_volume(ch: &mut Change, v: &StoredVolume, expect: Expect) -> Result<(), DomainError> {
    let k = key(v.project, v.cluster, &v.volume.name);
    ch.put(VOLUMES, &k, v, expect)?;
    mark(ch, &busy_volume(&k), v.volume.in_flight.is_some())
}

/// Deletes a volume record and its `busy` entry.
pub fn delete_volume(ch: &mut Change, v: &StoredVolume, expect: Expect) {
    let k = key(v.project, v.cluster, &v.volume.name);
    ch.delete(VOLUMES, &k, expect);
    ch.delete(BUSY, &busy_volume(&k), Expect::Any);
}

/// Whether a snapshot has a back-end operation outstanding.
pub fn snapshot_busy(s: &StoredSnapshot) -> bool {
    s.deleting || s.snapshot.state == SnapshotState::Creating
}

/// Writes a snapshot record and keeps its `busy` entry in step.
pub fn put_snapshot(
    ch: &mut Change,
    s: &StoredSnapshot,
    expect: Expect,
) -> Result<(), DomainError> {
    let k = key(s.project, s.cluster, &s.snapshot.name);
    ch.put(SNAPSHOTS, &k, s, expect)?;
    mark(ch, &busy_snapshot(&k), snapshot_busy(s))
}

/// Deletes a snapshot record and its `busy` entry.
pub fn delete_snapshot(ch: &mut Change, s: &StoredSnapshot, expect: Expect) {
    let k = key(s.project, s.cluster, &s.snapshot.name);
    ch.delete(SNAPSHOTS, &k, expect);
    ch.delete(BUSY, &busy_snapshot(&k), Expect::Any);
}

#[cfg(test)]
mod tests;
