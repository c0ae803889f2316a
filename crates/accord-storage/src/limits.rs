//! Every bound the engine enforces (STYLE.md rule 14), in one place.
//!
//! Invariant: validation never reads past these bounds, and no error message repeats more than
//! [`accord_core::error::ECHO_LIMIT`] characters of a caller's value.

use crate::quantity::{GIB, TIB};

/// Smallest persistent disk: 1 GiB.
pub const DISK_MIN_BYTES: u64 = GIB;
/// Largest persistent disk: 10 TiB.
pub const DISK_MAX_BYTES: u64 = 10 * TIB;
/// Disk sizes are whole GiB.
pub const DISK_STEP_BYTES: u64 = GIB;
/// Disks attached to one node.
pub const DISKS_PER_NODE: usize = 15;

/// Smallest shared filesystem: 1 TiB.
pub const SHARED_MIN_BYTES: u64 = TIB;
/// Largest shared filesystem: 1000 TiB.
pub const SHARED_MAX_BYTES: u64 = 1000 * TIB;
/// Shared filesystem sizes are whole TiB.
pub const SHARED_STEP_BYTES: u64 = TIB;
/// Shared filesystems mounted on one node.
pub const SHARED_PER_NODE: usize = 4;
/// Nodes one shared filesystem may be mounted on at once (it is multi-node, multi-writer; a
/// bound keeps the attachment list finite).
pub const SHARED_MAX_ATTACHMENTS: usize = 1024;

/// Longest volume, snapshot or migration-plan name (a DNS-1123 label).
pub const MAX_NAME_CHARS: usize = 63;
/// Longest StorageClass name (a DNS-1123 subdomain, as Kubernetes requires).
pub const MAX_CLASS_NAME_CHARS: usize = 253;
/// Longest node, region or project identifier accepted by the engine.
pub const MAX_ID_CHARS: usize = 128;
/// Longest Kubernetes quantity string (`1000Ti` is 6; room for decimals such as `1.5Ti`).
pub const MAX_QUANTITY_CHARS: usize = 32;
/// Parameters of one StorageClass (the driver understands three).
pub const MAX_CLASS_PARAMETERS: usize = 16;
/// Longest parameter key or value of a StorageClass.
pub const MAX_PARAMETER_CHARS: usize = 256;

/// Longest `who` of an NFS gate change (an operator's identity).
pub const MAX_ACTOR_CHARS: usize = 128;
/// Longest `why` of an NFS gate change.
pub const MAX_REASON_CHARS: usize = 512;
/// Users of the NFS gate a refusal to disable names; the rest are counted.
pub const MAX_NAMED_USERS: usize = 10;

/// How long one back-end operation may run before it becomes a failed condition (the source
/// product's driver timeout): 5 minutes of sim time.
pub const OPERATION_TIMEOUT_MS: u64 = 5 * 60 * 1000;

/// Volumes one migration plan may hold.
pub const MAX_PLAN_VOLUMES: usize = 10_000;
/// Largest migration batch.
pub const MAX_BATCH_SIZE: usize = 100;
/// Batch size when the plan does not choose one.
pub const DEFAULT_BATCH_SIZE: usize = 10;
/// Copy attempts per volume before the volume's migration fails (a failed copy copied nothing).
pub const MAX_COPY_ATTEMPTS: u8 = 3;
/// Verification attempts (reading both sides) before the volume's migration fails.
pub const MAX_VERIFY_ATTEMPTS: u8 = 3;
/// Cut-over attempts before the volume's migration fails.
pub const MAX_CUTOVER_ATTEMPTS: u8 = 3;
/// Fixed cost of one batch's cut-over in the dry-run estimate (remount on every node), seconds.
pub const CUTOVER_SECONDS_PER_BATCH: u64 = 60;

/// Field errors reported for one input; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 20;
