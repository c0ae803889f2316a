//! The storage engine of the storage-csi service (issue 13), pure: no IO, no async, no clock
//! (times are passed in as milliseconds). The service stores records, calls the back ends and
//! publishes events; this crate decides what is allowed and what happens next.
//!
//! - [`quantity`]: Kubernetes quantities (`100Gi`, `1.5Ti`, `500G`) ↔ bytes.
//! - [`volume`]: the kinds (`disk`, `shared`) and their limits, volumes as written
//!   ([`VolumeSpec`]) → validated ([`NewVolume`]) → records ([`Volume`]), quotas.
//! - [`state`]: the volume state model and its transitions (create, attach, detach, expand,
//!   delete, back-end outcomes, the 5-minute timeout).
//! - [`snapshot`]: snapshots of both kinds and restores.
//! - [`nfs`]: the provider's per-project NFS gate.
//! - [`class`]: the customer's StorageClasses, validated and rendered as `storage.k8s.io/v1`.
//! - [`migration`]: VirtioFS → NFS plans, estimates, progress and the per-volume state machine.
//! - [`limits`]: every bound; [`error`]: errors naming their field and their gRPC code.
//!
//! Invariants: every error names its field and quotes caller input only through
//! [`accord_core::validation::quote`]; every input is bounded before work is done on it
//! ([`limits`]); every function is deterministic.

pub mod class;
pub mod driver;
pub mod error;
pub mod limits;
pub mod migration;
pub mod nfs;
pub mod quantity;
pub mod snapshot;
pub mod state;
pub mod volume;

#[cfg(test)]
mod tests;

pub use class::{
    BindingMode, ClassSpec, DISK_PROVISIONER, DriverInstall, Filesystem, ReclaimPolicy,
    SHARED_PROVISIONER, StorageClass, ValidatedClass, provisioner, render_class, render_yaml,
    validate_class,
};
pub use error::{ErrorKind, FieldError, StorageError};
pub use nfs::{
    GateChange, NfsGate, NfsState, NfsUser, disable, enable, enable_with, require_nfs, shared_mount,
};
pub use quantity::{format_quantity, parse_quantity};
pub use snapshot::{Snapshot, SnapshotState, begin_snapshot, check_restore, complete_snapshot};
pub use state::{
    InFlight, NodeInfo, Operation, Outcome, VolumeState, begin_attach, begin_create, begin_delete,
    begin_detach, begin_expand, check_create_quota, check_timeout, complete,
};
pub use volume::{
    KindLimits, Mount, NewVolume, Quota, Usage, Volume, VolumeKind, VolumeSpec, check_quota,
    validate_volume,
};
