//! The simulated storage back ends' state as data — volumes, snapshots, operations by key,
//! armed faults, counters — and how it is kept on disk (its own JSON file, replaced atomically
//! like the fleet's and the VPC's, compact because it holds up to [`MAX_KEPT_OUTCOMES`]
//! outcomes).
//!
//! An operation in flight is its start and duration in simulated milliseconds; it is finished
//! when the back end's clock reaches `start_ms + duration_ms`, so a restored state resumes where
//! it was (one already overdue finishes at the next call).
//!
//! Invariants:
//! - A key names one operation for the life of the state (until its outcome is evicted, oldest
//!   first, beyond [`MAX_KEPT_OUTCOMES`]).
//! - `due` and `finished` are indexes rebuilt from `ops` on load, never saved.
//! - A volume's `incarnation` is unique in the state: a name deleted and created again is a new
//!   back-end volume, and an operation acts only on the incarnation it started on.
//! - Fields added after version 1 carry `#[serde(default)]`, so older state files still load.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use accord_storage::{
    driver::{OpRequest, OpStatus},
    migration::Checksum,
    volume::{Mount, VolumeKind},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::SimError;

/// Version of the storage state-file schema.
pub(crate) const STORAGE_STATE_VERSION: u32 = 1;

/// Finished operations whose outcome is kept (the most recent; an older key submitted again
/// after its outcome was evicted would run again). At roughly 150 bytes each this bounds the
/// outcomes at ~15 MB.
pub const MAX_KEPT_OUTCOMES: usize = 100_000;

/// Operations in flight at once (including hung ones); beyond, a new key fails at once.
pub const MAX_IN_FLIGHT: usize = 100_000;

/// Volumes and snapshots the back end holds, each; beyond, a create fails for capacity.
pub const MAX_RESOURCES: usize = 100_000;

/// Where a volume is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VolumePhase {
    /// Being created (or, for a migration target, created by a copy in flight).
    Creating,
    /// Usable.
    Ready,
    /// Being deleted.
    Deleting,
}

/// One back-end volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimVolume {
    pub project: String,
    pub region: String,
    pub kind: VolumeKind,
    pub size_bytes: u64,
    pub mount: Option<Mount>,
    pub phase: VolumePhase,
    /// Nodes it is attached to (disks) or mounted on (shared filesystems).
    pub attachments: BTreeSet<String>,
    /// Nodes an attach is in flight to.
    pub attaching: BTreeSet<String>,
    /// The identity of its data (a SHA-256): what a verification reads.
    pub content: Checksum,
    /// Unique per back-end volume (see the module invariants).
    pub incarnation: u64,
    /// The snapshot it was restored from.
    pub from_snapshot: Option<String>,
    /// The key of the copy writing into it now.
    pub copying: Option<String>,
    /// The source whose data the last finished copy gave it.
    pub copied_from: Option<String>,
    /// The target its consumers were cut over to.
    pub cut_over_to: Option<String>,
}

/// Where a snapshot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SnapshotPhase {
    Creating,
    Ready,
    Deleting,
}

/// One back-end snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSnapshot {
    pub project: String,
    pub region: String,
    /// The volume it was taken of.
    pub volume: String,
    pub kind: VolumeKind,
    pub size_bytes: u64,
    pub phase: SnapshotPhase,
    /// The volume's data when it was taken.
    pub content: Checksum,
    pub incarnation: u64,
}

/// What happens to an operation in flight, decided when it was submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "fate")]
pub(crate) enum Fate {
    /// It does what it says.
    Normal,
    /// It fails at its end (`storage-fail-next`; nothing was started).
    Fail,
    /// It never finishes (`storage-hang-next`).
    Hang,
    /// A copy whose target's data ends up different from the source's (`storage-corrupt-copy`).
    Corrupt,
}

/// An operation in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub request: OpRequest,
    pub project: String,
    pub region: String,
    /// Simulated ms at submission.
    pub start_ms: u64,
    /// Simulated ms it takes.
    pub duration_ms: u64,
    /// For a copy: the part of `duration_ms` before data moves (creating the target).
    pub setup_ms: u64,
    pub fate: Fate,
    /// The incarnation of the volume (or snapshot) it acts on, when it existed at submission
    /// or was created by it; for a copy, verify or cut-over, the target's.
    pub incarnation: Option<u64>,
    /// For a copy, verify or cut-over: the source's incarnation.
    pub source_incarnation: Option<u64>,
    /// For a copy: the source's data at submission.
    pub content: Option<Checksum>,
}

impl Pending {
    pub(crate) fn due_ms(&self) -> u64 {
        self.start_ms.saturating_add(self.duration_ms)
    }
}

/// One operation by key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub(crate) enum OpRecord {
    /// In flight.
    Pending {
        /// Submission order.
        seq: u64,
        op: Box<Pending>,
    },
    /// Finished; `seq` is the finishing order (eviction goes oldest first).
    Finished { seq: u64, outcome: OpStatus },
}

/// Faults armed for the next operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Armed {
    /// For any operation.
    pub any: u32,
    /// For operations of one name (`copy`, …), used before `any`.
    pub by_operation: BTreeMap<String, u32>,
}

impl Armed {
    /// Uses one for an operation named `name`; whether one was armed.
    pub(crate) fn take(&mut self, name: &str) -> bool {
        if let Some(count) = self.by_operation.get_mut(name) {
            let armed = *count > 0;
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_operation.remove(name);
            }
            if armed {
                return true;
            }
        }
        if self.any > 0 {
            self.any -= 1;
            return true;
        }
        false
    }

    /// Arms `count` (replacing what was armed for the same scope; 0 disarms).
    pub(crate) fn set(&mut self, operation: Option<&str>, count: u32) {
        match operation {
            None => self.any = count,
            Some(name) if count == 0 => {
                self.by_operation.remove(name);
            }
            Some(name) => {
                self.by_operation.insert(name.to_owned(), count);
            }
        }
    }
}

/// Everything the simulated storage back ends know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StorageState {
    /// Schema version ([`STORAGE_STATE_VERSION`]).
    pub version: u32,
    /// The clock factor the state was written with (a different one moves the clock).
    pub clock_factor: f64,
    /// The latest simulated time handed out (the clock never goes below it).
    pub last_now_ms: u64,
    /// The last sequence number used (operations, finishes, incarnations).
    pub last_seq: u64,
    pub volumes: BTreeMap<String, SimVolume>,
    pub snapshots: BTreeMap<String, SimSnapshot>,
    pub ops: BTreeMap<String, OpRecord>,
    /// `storage-fail-next`.
    pub fail_next: Armed,
    /// `storage-hang-next`.
    pub hang_next: Armed,
    /// `storage-corrupt-copy`.
    pub corrupt_copies: u32,
    /// Operations started (new keys accepted), by name.
    pub started: BTreeMap<String, u64>,
    /// In-flight operations not hung, by (due ms, submission seq).
    #[serde(skip)]
    pub due: BTreeSet<(u64, u64, String)>,
    /// Finished operations by finishing seq.
    #[serde(skip)]
    pub finished: BTreeMap<u64, String>,
    /// Operations in flight (hung ones included).
    #[serde(skip)]
    pub in_flight: usize,
}

impl Default for StorageState {
    fn default() -> Self {
        StorageState {
            version: STORAGE_STATE_VERSION,
            clock_factor: 1.0,
            last_now_ms: 0,
            last_seq: 0,
            volumes: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            ops: BTreeMap::new(),
            fail_next: Armed::default(),
            hang_next: Armed::default(),
            corrupt_copies: 0,
            started: BTreeMap::new(),
            due: BTreeSet::new(),
            finished: BTreeMap::new(),
            in_flight: 0,
        }
    }
}

impl StorageState {
    /// Rebuilds the indexes from `ops`.
    pub(crate) fn reindex(&mut self) {
        self.due.clear();
        self.finished.clear();
        self.in_flight = 0;
        for (key, record) in &self.ops {
            match record {
                OpRecord::Pending { seq, op } => {
                    self.in_flight += 1;
                    if op.fate != Fate::Hang {
                        self.due.insert((op.due_ms(), *seq, key.clone()));
                    }
                }
                OpRecord::Finished { seq, .. } => {
                    self.finished.insert(*seq, key.clone());
                }
            }
        }
    }

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Records `key` in flight.
    pub(crate) fn insert_pending(&mut self, key: String, op: Pending) {
        let seq = self.next_seq();
        if op.fate != Fate::Hang {
            self.due.insert((op.due_ms(), seq, key.clone()));
        }
        self.in_flight += 1;
        self.ops.insert(
            key,
            OpRecord::Pending {
                seq,
                op: Box::new(op),
            },
        );
    }

    /// Records `key`'s outcome (ending it if it was in flight), evicting the oldest outcomes
    /// beyond [`MAX_KEPT_OUTCOMES`].
    pub(crate) fn finish(&mut self, key: &str, outcome: OpStatus) {
        if let Some(OpRecord::Pending { seq, op }) = self.ops.get(key) {
            self.due.remove(&(op.due_ms(), *seq, key.to_owned()));
            self.in_flight = self.in_flight.saturating_sub(1);
        }
        let seq = self.next_seq();
        self.ops
            .insert(key.to_owned(), OpRecord::Finished { seq, outcome });
        self.finished.insert(seq, key.to_owned());
        while self.finished.len() > MAX_KEPT_OUTCOMES {
            if let Some((_, old)) = self.finished.pop_first() {
                self.ops.remove(&old);
            }
        }
    }

    /// The in-flight operation `key`.
    pub(crate) fn pending(&self, key: &str) -> Option<&Pending> {
        match self.ops.get(key) {
            Some(OpRecord::Pending { op, .. }) => Some(op),
            _ => None,
        }
    }

    /// The volume `name` if it is incarnation `incarnation`.
    pub(crate) fn volume_at(
        &mut self,
        name: &str,
        incarnation: Option<u64>,
    ) -> Option<&mut SimVolume> {
        self.volumes
            .get_mut(name)
            .filter(|v| Some(v.incarnation) == incarnation)
    }
}

/// The data identity of a new, empty volume.
pub(crate) fn fresh_content(name: &str, incarnation: u64) -> Checksum {
    let mut hasher = Sha256::new();
    hasher.update(b"accord-sim-storage/content\0");
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(incarnation.to_le_bytes());
    Checksum(hasher.finalize().into())
}

/// What a corrupted copy of `source` leaves in the target.
pub(crate) fn corrupted(source: &Checksum, key: &str) -> Checksum {
    let mut hasher = Sha256::new();
    hasher.update(b"accord-sim-storage/corrupt\0");
    hasher.update(source.0);
    hasher.update(key.as_bytes());
    Checksum(hasher.finalize().into())
}

/// Reads the state file; a missing file is an empty back end.
pub(crate) fn load(path: &Path) -> Result<StorageState, SimError> {
    let mut state: StorageState = crate::state::load_versioned(path, STORAGE_STATE_VERSION)?;
    state.reindex();
    Ok(state)
}

/// Replaces the state file atomically.
pub(crate) fn save(path: &Path, state: &StorageState) -> Result<(), SimError> {
    crate::state::save_json_compact(path, state)
}
