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
use accord_store::{Expect, Versioned};

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

#[cfg(test)]
mod tests;
