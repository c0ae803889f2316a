//! How long the simulated storage back ends' operations take, in **simulated** milliseconds
//! (the clock of [`SimStorage::now_ms`](super::SimStorage), which runs `1 / clock_factor` times
//! faster than real time, so these are the real-world durations, unscaled).
//!
//! Each operation has a fixed part drawn from a range modelled on the source products (block
//! disks and managed NFS/VirtioFS filesystems of a GPU cloud) and, for the operations that move
//! data, a size-dependent part at a fixed throughput (see the table in the
//! [module docs](super)). The point in a range comes from a SHA-256 of the seed, the operation's
//! key and the part's name: the same seed and key always take the same time, whatever else ran
//! before (so a restart recomputes nothing differently).
//!
//! Invariant: a duration is finite and never negative; with clock factor 0 every duration is 0.

use sha2::{Digest, Sha256};

/// Milliseconds per second.
const SEC: u64 = 1_000;
/// Bytes per GiB.
pub const GIB: u64 = 1 << 30;

/// Migration copy throughput (one stream): 1 GiB/s.
pub const COPY_BYTES_PER_SEC: u64 = GIB;
/// Verification reads both sides in parallel, each at 2 GiB/s.
pub const VERIFY_BYTES_PER_SEC: u64 = 2 * GIB;
/// Restoring a volume from a snapshot hydrates its data at 2 GiB/s.
pub const RESTORE_BYTES_PER_SEC: u64 = 2 * GIB;
/// A snapshot uploads the volume's blocks at 4 GiB/s.
pub const SNAPSHOT_BYTES_PER_SEC: u64 = 4 * GIB;

/// The fixed part of a storage operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoragePhase {
    /// Creating a block disk (10–20 s).
    CreateDisk,
    /// Creating a shared filesystem (60–120 s); also a migration target created by a copy.
    CreateShared,
    /// Growing a volume online (8–12 s).
    Expand,
    /// Attaching or detaching a block disk on a node (5–10 s).
    AttachDisk,
    /// Mounting or unmounting a shared filesystem on a node (4–6 s).
    MountShared,
    /// Deleting a volume; also releasing a migration source or discarding a target (8–12 s).
    Delete,
    /// The fixed part of a snapshot (25–35 s).
    Snapshot,
    /// Deleting a snapshot (8–12 s).
    DeleteSnapshot,
    /// Preparing a copy into a target that exists already (1–2 s).
    CopySetup,
    /// The fixed part of a verification (2–5 s).
    Verify,
    /// Pointing consumers at the migration target (8–12 s).
    CutOver,
}

impl StoragePhase {
    /// Every phase, for tables and tests.
    pub const ALL: [StoragePhase; 11] = [
        StoragePhase::CreateDisk,
        StoragePhase::CreateShared,
        StoragePhase::Expand,
        StoragePhase::AttachDisk,
        StoragePhase::MountShared,
        StoragePhase::Delete,
        StoragePhase::Snapshot,
        StoragePhase::DeleteSnapshot,
        StoragePhase::CopySetup,
        StoragePhase::Verify,
        StoragePhase::CutOver,
    ];

    /// The range (shortest, longest), simulated milliseconds.
    pub fn range_ms(self) -> (u64, u64) {
        let (lo, hi) = match self {
            StoragePhase::CreateDisk => (10, 20),
            StoragePhase::CreateShared => (60, 120),
            StoragePhase::Expand
            | StoragePhase::Delete
            | StoragePhase::DeleteSnapshot
            | StoragePhase::CutOver => (8, 12),
            StoragePhase::AttachDisk => (5, 10),
            StoragePhase::MountShared => (4, 6),
            StoragePhase::Snapshot => (25, 35),
            StoragePhase::CopySetup => (1, 2),
            StoragePhase::Verify => (2, 5),
        };
        (lo * SEC, hi * SEC)
    }

    fn salt(self) -> &'static str {
        match self {
            StoragePhase::CreateDisk => "create-disk",
            StoragePhase::CreateShared => "create-shared",
            StoragePhase::Expand => "expand",
            StoragePhase::AttachDisk => "attach-disk",
            StoragePhase::MountShared => "mount-shared",
            StoragePhase::Delete => "delete",
            StoragePhase::Snapshot => "snapshot",
            StoragePhase::DeleteSnapshot => "delete-snapshot",
            StoragePhase::CopySetup => "copy-setup",
            StoragePhase::Verify => "verify",
            StoragePhase::CutOver => "cut-over",
        }
    }
}

/// Turns phases and sizes into simulated durations for one back end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct StorageTiming {
    /// Clock factor 0: every operation is instant.
    instant: bool,
    seed: u64,
}

impl StorageTiming {
    pub(crate) fn new(clock_factor: f64, seed: u64) -> Self {
        StorageTiming {
            instant: clock_factor <= 0.0 || !clock_factor.is_finite(),
            seed,
        }
    }

    /// The fixed part `phase` takes for the operation `key`.
    pub(crate) fn phase_ms(&self, phase: StoragePhase, key: &str) -> u64 {
        if self.instant {
            return 0;
        }
        let (lo, hi) = phase.range_ms();
        let mut hasher = Sha256::new();
        hasher.update(b"accord-sim-storage/jitter\0");
        hasher.update(self.seed.to_le_bytes());
        hasher.update(phase.salt().as_bytes());
        hasher.update([0]);
        hasher.update(key.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let span = hi - lo + 1;
        lo + u64::from_le_bytes(first) % span
    }

    /// How long moving `bytes` takes at `bytes_per_sec`.
    pub(crate) fn transfer_ms(&self, bytes: u64, bytes_per_sec: u64) -> u64 {
        if self.instant || bytes_per_sec == 0 {
            return 0;
        }
        let ms = u128::from(bytes) * u128::from(SEC) / u128::from(bytes_per_sec);
        u64::try_from(ms).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_stay_in_their_range_and_are_deterministic() {
        let timing = StorageTiming::new(1.0, 7);
        for phase in StoragePhase::ALL {
            let (lo, hi) = phase.range_ms();
            for i in 0..200 {
                let key = format!("op-{i}");
                let d = timing.phase_ms(phase, &key);
                assert!((lo..=hi).contains(&d), "{phase:?} {d}");
                assert_eq!(d, timing.phase_ms(phase, &key));
            }
        }
        let other = StorageTiming::new(1.0, 8);
        let differs = (0..50).any(|i| {
            let key = format!("op-{i}");
            timing.phase_ms(StoragePhase::CreateShared, &key)
                != other.phase_ms(StoragePhase::CreateShared, &key)
        });
        assert!(differs, "the seed moves the jitter");
    }

    #[test]
    fn transfers_are_linear_and_instant_means_zero() {
        let timing = StorageTiming::new(0.5, 1);
        assert_eq!(timing.transfer_ms(GIB, COPY_BYTES_PER_SEC), 1_000);
        assert_eq!(timing.transfer_ms(10 * GIB, COPY_BYTES_PER_SEC), 10_000);
        assert_eq!(timing.transfer_ms(u64::MAX, 1), u64::MAX);
        let instant = StorageTiming::new(0.0, 1);
        assert_eq!(instant.transfer_ms(GIB, COPY_BYTES_PER_SEC), 0);
        assert_eq!(instant.phase_ms(StoragePhase::CreateShared, "k"), 0);
    }

    #[test]
    fn every_phase_is_listed_once() {
        let unique: std::collections::HashSet<StoragePhase> =
            StoragePhase::ALL.into_iter().collect();
        assert_eq!(unique.len(), StoragePhase::ALL.len());
    }
}
