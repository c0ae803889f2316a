//! The volume state model and its transitions, as pure functions of a [`Volume`] and the time
//! the caller passes in.
//!
//! ```text
//!            create            ok                         attach ok
//!   (none) ─────────▶ creating ───▶ available ◀─┬──▶ attaching ───▶ attached
//!                        │ fail        │  ▲     │ fail             │  │ detach
//!                        ▼             │  └─────┴──────────────────│──┘ (last node)
//!                      failed ◀─fail─ deleting ◀─delete (not attached)
//!                                       │ ok                       │
//!                                       ▼                          ▼
//!                                    deleted               detaching ─▶ attached (other nodes)
//! expanding: from available or attached (online), back to the same resting state.
//! ```
//!
//! `begin_*` validates an operation and moves the volume into its transitional state with an
//! [`InFlight`] record; [`complete`] applies the back end's [`Outcome`]; [`check_timeout`] turns
//! an operation older than [`OPERATION_TIMEOUT_MS`] into a failure. A failed attach, detach or
//! expand returns to the resting state with `last_failure` set; a failed create or delete leaves
//! the volume `failed` (only delete is allowed from there).
//!
//! Invariants: at most one operation is in flight; the resting state is derived from the
//! attachments (`attached` iff any), so it cannot disagree with them; a disk has at most one
//! attachment; a volume is never deleted while attached; a size never shrinks. Repeating an
//! operation already done (attach to the same node, detach from a node it is not on, expand to
//! the current size, delete while deleting) returns the volume unchanged, as CSI requires.

use serde::{Deserialize, Serialize};

use crate::error::StorageError;
use crate::limits::{MAX_NAMED_USERS, OPERATION_TIMEOUT_MS};
use crate::quantity::{format_quantity, parse_quantity};
use crate::volume::{NewVolume, Quota, Usage, Volume, VolumeKind, check_id, check_quota};

/// Where a volume is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeState {
    /// The back end is creating it.
    Creating,
    /// Ready, attached nowhere.
    Available,
    /// Being attached to a node.
    Attaching,
    /// Attached to one node (disk) or more (shared).
    Attached,
    /// Being detached from a node.
    Detaching,
    /// Growing.
    Expanding,
    /// Being deleted.
    Deleting,
    /// A create or delete failed; only delete is allowed.
    Failed,
    /// Gone (the service drops the record).
    Deleted,
}

impl VolumeState {
    /// The name shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Available => "available",
            Self::Attaching => "attaching",
            Self::Attached => "attached",
            Self::Detaching => "detaching",
            Self::Expanding => "expanding",
            Self::Deleting => "deleting",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }
}

/// A back-end operation in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// What it does.
    pub op: Operation,
    /// When it started (ms, the caller's clock).
    pub started_at_ms: u64,
}

/// A back-end operation on a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Operation {
    /// Create (blank or from the volume's snapshot).
    Create,
    /// Attach to a node.
    Attach {
        /// The node.
        node: String,
    },
    /// Detach from a node.
    Detach {
        /// The node.
        node: String,
    },
    /// Grow.
    Expand {
        /// The new size.
        to_bytes: u64,
    },
    /// Delete.
    Delete,
}

/// What the back end reported about the operation in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It succeeded.
    Succeeded,
    /// It failed, with the back end's reason (bounded by the caller).
    Failed(String),
}

/// A node as attach sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// The node's id.
    pub id: String,
    /// Its region.
    pub region: String,
    /// Disks attached (or attaching) to it now.
    pub disks: usize,
    /// Shared filesystems attached (or attaching) to it now.
    pub shared: usize,
}

/// A new volume in `creating`, its create in flight since `now_ms`. Check the NFS gate
/// ([`crate::nfs::require_nfs`]) and the quota ([`check_create_quota`]) first.
pub fn begin_create(new: NewVolume, now_ms: u64) -> Volume {
    Volume {
        name: new.name,
        project: new.project,
        region: new.region,
        kind: new.kind,
        size_bytes: new.size_bytes,
        mount: new.mount,
        source_snapshot: new.source_snapshot,
        state: VolumeState::Creating,
        attachments: Default::default(),
        in_flight: Some(InFlight {
            op: Operation::Create,
            started_at_ms: now_ms,
        }),
        last_failure: None,
    }
}

/// Whether one more volume of `new`'s size fits the project's quota.
pub fn check_create_quota(new: &NewVolume, quota: Quota, usage: Usage) -> Result<(), StorageError> {
    check_quota(quota, usage, new.size_bytes, 1)
}

fn busy(volume: &Volume, what: &str) -> StorageError {
    StorageError::precondition(
        "volume.state",
        format!(
            "volume {} is {}: it cannot {what} now",
            volume.name,
            volume.state.as_str()
        ),
    )
}

fn resting(volume: &Volume) -> VolumeState {
    if volume.attachments.is_empty() {
        VolumeState::Available
    } else {
        VolumeState::Attached
    }
}

fn start(mut volume: Volume, state: VolumeState, op: Operation, now_ms: u64) -> Volume {
    volume.state = state;
    volume.in_flight = Some(InFlight {
        op,
        started_at_ms: now_ms,
    });
    volume
}

/// Starts attaching `volume` to `node`.
pub fn begin_attach(volume: Volume, node: &NodeInfo, now_ms: u64) -> Result<Volume, StorageError> {
    check_id(&node.id).map_err(|e| StorageError::invalid("node.id", e))?;
    let attaching_here = matches!(
        &volume.in_flight,
        Some(InFlight { op: Operation::Attach { node: n }, .. }) if *n == node.id
    );
    if attaching_here
        || (volume.attachments.contains(&node.id) && volume.state != VolumeState::Detaching)
    {
        return Ok(volume);
    }
    if !matches!(volume.state, VolumeState::Available | VolumeState::Attached) {
        return Err(busy(&volume, "be attached"));
    }
    if node.region != volume.region {
        return Err(StorageError::precondition(
            "node.region",
            format!(
                "volume {} is in region {} and the node in another region: attach within a region",
                volume.name, volume.region
            ),
        ));
    }
    let limits = volume.kind.limits();
    if volume.attachments.len() >= limits.max_attachments {
        let message = match volume.kind {
            VolumeKind::Disk => format!(
                "disk {} is attached to another node: detach it first (a disk attaches to one node)",
                volume.name
            ),
            VolumeKind::Shared => format!(
                "shared volume {} is mounted on {} nodes, the most allowed",
                volume.name, limits.max_attachments
            ),
        };
        return Err(StorageError::precondition("volume.attachments", message));
    }
    let (field, on_node) = match volume.kind {
        VolumeKind::Disk => ("node.disks", node.disks),
        VolumeKind::Shared => ("node.shared_volumes", node.shared),
    };
    if on_node >= limits.per_node {
        return Err(StorageError::exhausted(
            field,
            format!(
                "a node holds at most {} {} volumes and this one has {on_node}",
                limits.per_node,
                volume.kind.as_str()
            ),
        ));
    }
    let node = node.id.clone();
    Ok(start(
        volume,
        VolumeState::Attaching,
        Operation::Attach { node },
        now_ms,
    ))
}

/// Starts detaching `volume` from `node` (unchanged when it is not attached there).
pub fn begin_detach(volume: Volume, node: &str, now_ms: u64) -> Result<Volume, StorageError> {
    let detaching_here = matches!(
        &volume.in_flight,
        Some(InFlight { op: Operation::Detach { node: n }, .. }) if n == node
    );
    if detaching_here || !volume.attachments.contains(node) {
        return Ok(volume);
    }
    if volume.state != VolumeState::Attached {
        return Err(busy(&volume, "be detached"));
    }
    let node = node.to_owned();
    Ok(start(
        volume,
        VolumeState::Detaching,
        Operation::Detach { node },
        now_ms,
    ))
}

/// Starts growing `volume` to `size` (a quantity): online whether attached or not, never
/// smaller, within the kind's range and steps, within the quota (`usage` includes `volume`).
pub fn begin_expand(
    volume: Volume,
    size: &str,
    quota: Quota,
    usage: Usage,
    now_ms: u64,
) -> Result<Volume, StorageError> {
    let to_bytes = parse_quantity(size).map_err(|e| StorageError::invalid("volume.size", e))?;
    if let (
        VolumeState::Expanding,
        Some(InFlight {
            op: Operation::Expand { to_bytes: t },
            ..
        }),
    ) = (volume.state, &volume.in_flight)
        && *t == to_bytes
    {
        return Ok(volume);
    }
    if to_bytes < volume.size_bytes {
        return Err(StorageError::invalid(
            "volume.size",
            format!(
                "volumes never shrink: {} is smaller than the current {}",
                format_quantity(to_bytes),
                format_quantity(volume.size_bytes)
            ),
        ));
    }
    volume
        .kind
        .check_size(to_bytes)
        .map_err(|e| StorageError::invalid("volume.size", e))?;
    if to_bytes == volume.size_bytes {
        return Ok(volume);
    }
    if !matches!(volume.state, VolumeState::Available | VolumeState::Attached) {
        return Err(busy(&volume, "be expanded"));
    }
    check_quota(quota, usage, to_bytes - volume.size_bytes, 0)?;
    Ok(start(
        volume,
        VolumeState::Expanding,
        Operation::Expand { to_bytes },
        now_ms,
    ))
}

/// Starts deleting `volume`: refused while it is attached anywhere (naming the nodes).
pub fn begin_delete(volume: Volume, now_ms: u64) -> Result<Volume, StorageError> {
    if matches!(volume.state, VolumeState::Deleting | VolumeState::Deleted) {
        return Ok(volume);
    }
    if !volume.attachments.is_empty() {
        let named: Vec<&str> = volume
            .attachments
            .iter()
            .take(MAX_NAMED_USERS)
            .map(String::as_str)
            .collect();
        let more = volume.attachments.len() - named.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(StorageError::precondition(
            "volume.attachments",
            format!(
                "volume {} is attached to {}{more}: detach it before deleting",
                volume.name,
                named.join(", ")
            ),
        ));
    }
    if !matches!(volume.state, VolumeState::Available | VolumeState::Failed) {
        return Err(busy(&volume, "be deleted"));
    }
    Ok(start(
        volume,
        VolumeState::Deleting,
        Operation::Delete,
        now_ms,
    ))
}

/// Applies the back end's `outcome` to the operation in flight (unchanged when none is: a late
/// or repeated report).
pub fn complete(mut volume: Volume, outcome: Outcome) -> Volume {
    let Some(in_flight) = volume.in_flight.take() else {
        return volume;
    };
    match (in_flight.op, outcome) {
        (Operation::Create, Outcome::Succeeded) => {
            volume.state = VolumeState::Available;
            volume.last_failure = None;
        }
        (Operation::Delete, Outcome::Succeeded) => {
            volume.state = VolumeState::Deleted;
            volume.last_failure = None;
        }
        (Operation::Create | Operation::Delete, Outcome::Failed(reason)) => {
            volume.state = VolumeState::Failed;
            volume.last_failure = Some(reason);
        }
        (op, Outcome::Succeeded) => {
            match op {
                Operation::Attach { node } => {
                    volume.attachments.insert(node);
                }
                Operation::Detach { node } => {
                    volume.attachments.remove(&node);
                }
                Operation::Expand { to_bytes } => volume.size_bytes = to_bytes,
                Operation::Create | Operation::Delete => {}
            }
            volume.state = resting(&volume);
            volume.last_failure = None;
        }
        (_, Outcome::Failed(reason)) => {
            volume.state = resting(&volume);
            volume.last_failure = Some(reason);
        }
    }
    volume
}

/// The volume with its operation failed when it has run for [`OPERATION_TIMEOUT_MS`] or more by
/// `now_ms`; `None` when nothing timed out.
pub fn check_timeout(volume: &Volume, now_ms: u64) -> Option<Volume> {
    let in_flight = volume.in_flight.as_ref()?;
    (now_ms.saturating_sub(in_flight.started_at_ms) >= OPERATION_TIMEOUT_MS).then(|| {
        complete(
            volume.clone(),
            Outcome::Failed(format!(
                "the back end did not finish within {} minutes",
                OPERATION_TIMEOUT_MS / 60_000
            )),
        )
    })
}
