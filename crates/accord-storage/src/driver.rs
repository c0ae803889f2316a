//! The contract between the storage-csi service and the provider's storage back ends: persistent
//! block disks and shared filesystems in a region. The simulator implements it
//! (`accord_sim::storage::SimStorage`); a real cloud's driver would replace it behind the same
//! trait.
//!
//! Every back-end action is an **operation** named by a key the service chooses
//! ([`BackendOp::key`]) and derives from what it stored before asking (a volume's in-flight
//! record, a snapshot, or a migration's [`StepKey`]), so a restart asks again under the same key.
//! The back end's contract:
//! - [`StorageDriver::submit`] starts the operation the first time it sees a key; every later
//!   submit of that key starts nothing and answers the operation's status (so a crash between
//!   submitting and storing the answer never runs anything twice);
//! - an operation's outcome, once reached, is kept and answers every later submit and
//!   [`StorageDriver::status`] of its key (success or failure: a retry is a new key);
//! - operations take time ([`OpStatus::Running`] until then), in the back end's clock
//!   ([`StorageDriver::now_ms`]), which is the clock the service's 5-minute timeout uses;
//! - an operation that never finishes (a hung back end) stays `Running`; the service gives up on
//!   it, and a late outcome is then ignored by the state model.
//!
//! Back-end names are the service's ids (`vol-…`, `snap-…`): a volume deleted and created again
//! under the same name is a new back-end volume.

use accord_core::infra::InfraFuture;
use serde::{Deserialize, Serialize};

use crate::migration::{Checksum, StepKey};
use crate::volume::{Mount, VolumeKind};

/// One operation asked of the back end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendOp {
    /// The idempotency key (at most 256 characters).
    pub key: String,
    /// The project the resources belong to.
    pub project: String,
    /// The region the resources are in.
    pub region: String,
    /// What to do.
    pub request: OpRequest,
}

/// What an operation does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "op")]
pub enum OpRequest {
    /// Creates a volume (from a snapshot's data when `from_snapshot` is set).
    CreateVolume {
        volume: String,
        kind: VolumeKind,
        size_bytes: u64,
        mount: Option<Mount>,
        from_snapshot: Option<String>,
    },
    /// Grows a volume (online: it may be attached).
    ExpandVolume { volume: String, to_bytes: u64 },
    /// Attaches (a disk) or mounts (a shared filesystem) on a node.
    AttachVolume { volume: String, node: String },
    /// Detaches from a node.
    DetachVolume { volume: String, node: String },
    /// Deletes a volume (its snapshots stay).
    DeleteVolume { volume: String },
    /// Takes a crash-consistent snapshot of a volume.
    CreateSnapshot { snapshot: String, volume: String },
    /// Deletes a snapshot.
    DeleteSnapshot { snapshot: String },
    /// Migration: copies `source`'s data into `target`, creating the target (an NFS shared
    /// filesystem of the same size) if absent; overwrites a failed attempt's partial data.
    Copy {
        step: StepKey,
        source: String,
        target: String,
        size_bytes: u64,
    },
    /// Migration: checksums both sides.
    Verify {
        step: StepKey,
        source: String,
        target: String,
    },
    /// Migration: points the volume's consumers at the target (atomic).
    CutOver {
        step: StepKey,
        source: String,
        target: String,
    },
    /// Migration: deletes the source after a verified cut-over.
    ReleaseSource { step: StepKey, source: String },
    /// Migration: deletes the target (cancelling a copy in flight first).
    DiscardTarget { step: StepKey, target: String },
}

impl OpRequest {
    /// The operation's name (`create-volume` …), for logs, metrics and timings.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateVolume { .. } => "create-volume",
            Self::ExpandVolume { .. } => "expand-volume",
            Self::AttachVolume { .. } => "attach-volume",
            Self::DetachVolume { .. } => "detach-volume",
            Self::DeleteVolume { .. } => "delete-volume",
            Self::CreateSnapshot { .. } => "create-snapshot",
            Self::DeleteSnapshot { .. } => "delete-snapshot",
            Self::Copy { .. } => "copy",
            Self::Verify { .. } => "verify",
            Self::CutOver { .. } => "cut-over",
            Self::ReleaseSource { .. } => "release-source",
            Self::DiscardTarget { .. } => "discard-target",
        }
    }
}

/// Where an operation is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum OpStatus {
    /// Still running; `done_bytes` of `total_bytes` for copies (0/0 otherwise).
    Running { done_bytes: u64, total_bytes: u64 },
    /// Finished.
    Succeeded { result: OpResult },
    /// Failed, with the back end's reason (bounded, no caller input).
    Failed { reason: String },
}

/// What a finished operation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum OpResult {
    /// Nothing beyond success.
    Done,
    /// A copy moved `bytes`.
    Copied { bytes: u64 },
    /// A verification read both sides.
    Checksums { source: Checksum, target: Checksum },
}

/// The provider's storage back ends.
pub trait StorageDriver: Send + Sync + 'static {
    /// Starts the operation if its key is new; answers its status either way.
    fn submit(&self, op: BackendOp) -> InfraFuture<'_, OpStatus>;
    /// The status of the operation with this key; `None` if it was never submitted.
    fn status(&self, key: String) -> InfraFuture<'_, Option<OpStatus>>;
    /// The back end's clock, in milliseconds (simulated time in the simulator).
    fn now_ms(&self) -> u64;
}

/// The longest operation key.
pub const MAX_OP_KEY_CHARS: usize = 256;

/// The key of a migration step: `migration/<plan>/<volume>/<step>[-<attempt>]`.
pub fn step_key(key: &StepKey) -> String {
    use crate::migration::Step;
    let step = match key.step {
        Step::Copy { attempt } => format!("copy-{attempt}"),
        Step::Verify { attempt } => format!("verify-{attempt}"),
        Step::CutOver { attempt } => format!("cut-over-{attempt}"),
        Step::ReleaseSource => "release-source".to_owned(),
        Step::DiscardTarget => "discard-target".to_owned(),
    };
    format!("migration/{}/{}/{step}", key.plan, key.volume)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Step;

    #[test]
    fn step_keys_differ_by_attempt_and_serialise_round_trip() {
        let k = |step| StepKey {
            plan: "mig-1".into(),
            volume: "vol-1".into(),
            step,
        };
        let a = step_key(&k(Step::Copy { attempt: 1 }));
        let b = step_key(&k(Step::Copy { attempt: 2 }));
        assert_ne!(a, b);
        assert_eq!(a, "migration/mig-1/vol-1/copy-1");
        let op = BackendOp {
            key: a,
            project: "prj".into(),
            region: "r".into(),
            request: OpRequest::Copy {
                step: k(Step::Copy { attempt: 1 }),
                source: "vol-1".into(),
                target: "vol-1-nfs".into(),
                size_bytes: 1,
            },
        };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<BackendOp>(&json).unwrap(), op);
    }
}
