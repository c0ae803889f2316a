//! Tests of the simulated storage back ends: operations by key, their effects and refusals,
//! migration steps, faults, bounds, persistence across a restart. Most run on a manual clock
//! (simulated ms set by the test); the rest on clock factor 0 (instant) or a fast real clock
//! polled in a bounded loop. Nothing asserts how long real time took.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use accord_storage::{
    driver::{BackendOp, OpRequest, OpResult, OpStatus, StorageDriver},
    migration::{Step, StepKey},
    volume::{Mount, VolumeKind},
};

use super::*;
use crate::{fault_server, fleet::SimFleet};

const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;
/// A day of simulated time: more than any operation here takes.
const DAY: u64 = 24 * 3600 * 1000;

/// Back ends on a manual clock (simulated ms, starting at 1,000,000).
struct Manual {
    storage: SimStorage,
    clock: Arc<AtomicU64>,
}

impl Manual {
    fn new() -> Self {
        Self::with(StorageSimConfig::default().with_seed(7), None)
    }

    fn with(config: StorageSimConfig, clock: Option<Arc<AtomicU64>>) -> Self {
        let clock = clock.unwrap_or_else(|| Arc::new(AtomicU64::new(1_000_000)));
        let storage = SimStorage::with_clock(config, Clock::Manual(Arc::clone(&clock))).unwrap();
        Manual { storage, clock }
    }

    fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    async fn submit(&self, key: &str, request: OpRequest) -> OpStatus {
        self.storage.submit(op(key, request)).await.unwrap()
    }

    async fn status(&self, key: &str) -> Option<OpStatus> {
        self.storage.status(key.to_owned()).await.unwrap()
    }

    /// Submits, then lets a day pass: the outcome.
    async fn run(&self, key: &str, request: OpRequest) -> OpStatus {
        self.submit(key, request).await;
        self.advance(DAY);
        self.status(key).await.unwrap()
    }
}

fn op(key: &str, request: OpRequest) -> BackendOp {
    BackendOp {
        key: key.to_owned(),
        project: "prj-1".into(),
        region: "eu-north1".into(),
        request,
    }
}

fn create(volume: &str, kind: VolumeKind, size_bytes: u64) -> OpRequest {
    OpRequest::CreateVolume {
        volume: volume.into(),
        kind,
        size_bytes,
        mount: (kind == VolumeKind::Shared).then_some(Mount::Virtiofs),
        from_snapshot: None,
    }
}

fn attach(volume: &str, node: &str) -> OpRequest {
    OpRequest::AttachVolume {
        volume: volume.into(),
        node: node.into(),
    }
}

fn detach(volume: &str, node: &str) -> OpRequest {
    OpRequest::DetachVolume {
        volume: volume.into(),
        node: node.into(),
    }
}

fn step(step: Step) -> StepKey {
    StepKey {
        plan: "mig-1".into(),
        volume: "vol-src".into(),
        step,
    }
}

fn copy(attempt: u8, size_bytes: u64) -> OpRequest {
    OpRequest::Copy {
        step: step(Step::Copy { attempt }),
        source: "vol-src".into(),
        target: "vol-src-nfs".into(),
        size_bytes,
    }
}

fn verify(attempt: u8) -> OpRequest {
    OpRequest::Verify {
        step: step(Step::Verify { attempt }),
        source: "vol-src".into(),
        target: "vol-src-nfs".into(),
    }
}

fn succeeded() -> OpStatus {
    OpStatus::Succeeded {
        result: OpResult::Done,
    }
}

fn reason(status: &OpStatus) -> &str {
    match status {
        OpStatus::Failed { reason } => reason,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn checksums(status: &OpStatus) -> (Checksum, Checksum) {
    match status {
        OpStatus::Succeeded {
            result: OpResult::Checksums { source, target },
        } => (*source, *target),
        other => panic!("expected checksums, got {other:?}"),
    }
}

use accord_storage::migration::Checksum;

/// A ready shared source `vol-src` of `size` on the manual clock.
async fn source(m: &Manual, size: u64) {
    let status = m
        .run("create-src", create("vol-src", VolumeKind::Shared, size))
        .await;
    assert_eq!(status, succeeded());
}

#[tokio::test]
async fn a_disk_is_created_attached_detached_and_deleted_in_simulated_time() {
    let m = Manual::new();
    let key = "vol-1/create";
    let running = m
        .submit(key, create("vol-1", VolumeKind::Disk, 100 * GIB))
        .await;
    assert!(matches!(running, OpStatus::Running { .. }), "{running:?}");
    m.advance(9_999);
    assert!(matches!(
        m.status(key).await,
        Some(OpStatus::Running { .. })
    ));
    m.advance(10_001);
    assert_eq!(
        m.status(key).await,
        Some(succeeded()),
        "a disk takes 10–20 s"
    );
    assert_eq!(m.storage.volume("vol-1").unwrap().phase, VolumePhase::Ready);

    assert_eq!(m.run("a1", attach("vol-1", "node-a")).await, succeeded());
    let elsewhere = m.run("a2", attach("vol-1", "node-b")).await;
    assert!(reason(&elsewhere).contains("another node"), "{elsewhere:?}");
    let attached = m
        .run(
            "d1",
            OpRequest::DeleteVolume {
                volume: "vol-1".into(),
            },
        )
        .await;
    assert!(
        reason(&attached).contains("attached to 1 node"),
        "{attached:?}"
    );
    assert_eq!(m.run("x1", detach("vol-1", "node-a")).await, succeeded());
    assert_eq!(
        m.run(
            "e1",
            OpRequest::ExpandVolume {
                volume: "vol-1".into(),
                to_bytes: 200 * GIB
            }
        )
        .await,
        succeeded()
    );
    assert_eq!(m.storage.volume("vol-1").unwrap().size_bytes, 200 * GIB);
    let shrink = m
        .run(
            "e2",
            OpRequest::ExpandVolume {
                volume: "vol-1".into(),
                to_bytes: GIB,
            },
        )
        .await;
    assert!(reason(&shrink).contains("cannot shrink"), "{shrink:?}");

    assert_eq!(
        m.run(
            "d2",
            OpRequest::DeleteVolume {
                volume: "vol-1".into()
            }
        )
        .await,
        succeeded()
    );
    assert!(m.storage.volume("vol-1").is_none());
    // Gone: deleting or detaching again succeeds at once; attaching or expanding fails.
    assert_eq!(
        m.submit(
            "d3",
            OpRequest::DeleteVolume {
                volume: "vol-1".into()
            }
        )
        .await,
        succeeded()
    );
    assert_eq!(m.submit("x2", detach("vol-1", "node-a")).await, succeeded());
    let missing = m.submit("a3", attach("vol-1", "node-a")).await;
    assert!(reason(&missing).contains("does not exist"), "{missing:?}");
    let expand = m
        .submit(
            "e3",
            OpRequest::ExpandVolume {
                volume: "vol-1".into(),
                to_bytes: 300 * GIB,
            },
        )
        .await;
    assert!(reason(&expand).contains("does not exist"), "{expand:?}");
}

#[tokio::test]
async fn a_key_runs_once_and_its_outcome_is_kept() {
    let m = Manual::new();
    source(&m, TIB).await;
    let first = m.submit("copy-1", copy(1, TIB)).await;
    assert!(
        matches!(first, OpStatus::Running { done_bytes: 0, total_bytes } if total_bytes == TIB)
    );
    // The same key again (even with another body) starts nothing.
    m.submit("copy-1", copy(1, 2 * TIB)).await;
    assert_eq!(m.storage.submitted("copy"), 1);
    assert_eq!(m.storage.in_flight(), 1);
    m.advance(DAY);
    let outcome = m.status("copy-1").await.unwrap();
    assert_eq!(
        outcome,
        OpStatus::Succeeded {
            result: OpResult::Copied { bytes: TIB }
        }
    );
    // Kept: every later submit and status answers it, and nothing runs again.
    assert_eq!(m.submit("copy-1", copy(1, TIB)).await, outcome);
    m.advance(DAY);
    assert_eq!(m.status("copy-1").await, Some(outcome));
    assert_eq!(m.storage.submitted("copy"), 1);
    assert_eq!(m.storage.in_flight(), 0);
    assert_eq!(m.status("never-submitted").await, None);

    // A failure is kept too: a retry is a new key.
    let refused = m.submit("a-missing", attach("vol-none", "node-a")).await;
    m.advance(DAY);
    assert_eq!(
        m.submit("a-missing", attach("vol-none", "node-a")).await,
        refused
    );
}

#[tokio::test]
async fn a_copy_progresses_linearly_and_verifies_equal() {
    let m = Manual::new();
    source(&m, 10 * GIB).await;
    m.submit("copy-1", copy(1, 10 * GIB)).await;
    let (setup, duration) = {
        let core = m.storage.lock();
        let pending = core.state.pending("copy-1").unwrap();
        (pending.setup_ms, pending.duration_ms)
    };
    assert!(
        (60_000..=120_000).contains(&setup),
        "creating the NFS target: {setup}"
    );
    assert_eq!(duration - setup, 10_000, "10 GiB at 1 GiB/s");
    m.advance(setup);
    assert_eq!(
        m.status("copy-1").await,
        Some(OpStatus::Running {
            done_bytes: 0,
            total_bytes: 10 * GIB
        })
    );
    m.advance(2_500);
    assert_eq!(
        m.status("copy-1").await,
        Some(OpStatus::Running {
            done_bytes: 10 * GIB / 4,
            total_bytes: 10 * GIB
        })
    );
    m.advance(5_000);
    assert_eq!(
        m.status("copy-1").await,
        Some(OpStatus::Running {
            done_bytes: 10 * GIB * 3 / 4,
            total_bytes: 10 * GIB
        })
    );
    // Verify refuses while the copy writes.
    let busy = m.submit("verify-early", verify(1)).await;
    assert!(reason(&busy).contains("in flight"), "{busy:?}");
    m.advance(2_500);
    assert!(matches!(
        m.status("copy-1").await,
        Some(OpStatus::Succeeded { .. })
    ));
    let target = m.storage.volume("vol-src-nfs").unwrap();
    assert_eq!(
        (target.kind, target.mount),
        (VolumeKind::Shared, Some(Mount::Nfs))
    );
    assert_eq!(target.copied_from.as_deref(), Some("vol-src"));

    let (source, target) = checksums(&m.run("verify-1", verify(1)).await);
    assert_eq!(source, target);
    assert_eq!(source, m.storage.volume("vol-src").unwrap().content);
}

#[tokio::test]
async fn cut_over_moves_the_consumers_then_the_source_is_released() {
    let m = Manual::new();
    source(&m, TIB).await;
    assert_eq!(
        m.run("mount-a", attach("vol-src", "node-a")).await,
        succeeded()
    );
    assert_eq!(
        m.run("mount-b", attach("vol-src", "node-b")).await,
        succeeded()
    );
    let cut = |attempt| OpRequest::CutOver {
        step: step(Step::CutOver { attempt }),
        source: "vol-src".into(),
        target: "vol-src-nfs".into(),
    };
    let release = OpRequest::ReleaseSource {
        step: step(Step::ReleaseSource),
        source: "vol-src".into(),
    };
    let early = m.run("release-early", release.clone()).await;
    assert!(reason(&early).contains("never cut over"), "{early:?}");
    let nothing = m.run("cut-early", cut(1)).await;
    assert!(reason(&nothing).contains("does not exist"), "{nothing:?}");

    assert!(matches!(
        m.run("copy-1", copy(1, TIB)).await,
        OpStatus::Succeeded { .. }
    ));
    assert_eq!(m.run("cut-2", cut(2)).await, succeeded());
    let target = m.storage.volume("vol-src-nfs").unwrap();
    assert_eq!(
        target.attachments.iter().collect::<Vec<_>>(),
        ["node-a", "node-b"]
    );
    assert!(m.storage.volume("vol-src").unwrap().attachments.is_empty());
    let discard = OpRequest::DiscardTarget {
        step: step(Step::DiscardTarget),
        target: "vol-src-nfs".into(),
    };
    let in_use = m.run("discard", discard).await;
    assert!(reason(&in_use).contains("cut over to it"), "{in_use:?}");
    assert_eq!(m.run("release", release).await, succeeded());
    assert!(m.storage.volume("vol-src").is_none());
}

#[tokio::test]
async fn discarding_a_target_cancels_its_copy() {
    let m = Manual::new();
    source(&m, TIB).await;
    m.submit("copy-1", copy(1, TIB)).await;
    let discard = OpRequest::DiscardTarget {
        step: step(Step::DiscardTarget),
        target: "vol-src-nfs".into(),
    };
    assert_eq!(m.run("discard", discard).await, succeeded());
    let cancelled = m.status("copy-1").await.unwrap();
    assert!(reason(&cancelled).contains("discarded"), "{cancelled:?}");
    assert!(m.storage.volume("vol-src-nfs").is_none());
    assert_eq!(m.storage.in_flight(), 0);
}

#[tokio::test]
async fn a_restore_holds_the_snapshot_data() {
    let m = Manual::new();
    source(&m, TIB).await;
    let snap = OpRequest::CreateSnapshot {
        snapshot: "snap-1".into(),
        volume: "vol-src".into(),
    };
    assert_eq!(m.run("snap-1", snap).await, succeeded());
    let restore = OpRequest::CreateVolume {
        volume: "vol-restored".into(),
        kind: VolumeKind::Shared,
        size_bytes: TIB,
        mount: Some(Mount::Nfs),
        from_snapshot: Some("snap-1".into()),
    };
    m.submit("restore", restore).await;
    let duration = m
        .storage
        .lock()
        .state
        .pending("restore")
        .unwrap()
        .duration_ms;
    assert!(
        duration >= 60_000 + 512_000,
        "create + 1 TiB at 2 GiB/s: {duration}"
    );
    m.advance(DAY);
    assert_eq!(m.status("restore").await, Some(succeeded()));
    let verify = OpRequest::Verify {
        step: step(Step::Verify { attempt: 1 }),
        source: "vol-src".into(),
        target: "vol-restored".into(),
    };
    let (a, b) = checksums(&m.run("verify", verify).await);
    assert_eq!(a, b);
    let fresh = m
        .run("other", create("vol-other", VolumeKind::Shared, TIB))
        .await;
    assert_eq!(fresh, succeeded());
    assert_ne!(
        m.storage.volume("vol-other").unwrap().content,
        a,
        "a new volume's data is its own"
    );
    let small = OpRequest::CreateVolume {
        volume: "vol-small".into(),
        kind: VolumeKind::Disk,
        size_bytes: GIB,
        mount: None,
        from_snapshot: Some("snap-1".into()),
    };
    let refused = m.run("small", small).await;
    assert!(reason(&refused).contains("snapshot"), "{refused:?}");
}

#[tokio::test]
async fn fail_fault_fails_the_named_operation_only() {
    let m = Manual::new();
    let message = m
        .storage
        .inject(Fault::StorageFailNext {
            count: 1,
            operation: Some("attach-volume".into()),
        })
        .unwrap();
    assert!(message.contains("attach-volume"), "{message}");
    assert_eq!(
        m.run("c", create("vol-1", VolumeKind::Disk, GIB)).await,
        succeeded()
    );
    let failed = m.run("a1", attach("vol-1", "node-a")).await;
    assert!(reason(&failed).contains("storage-fail-next"), "{failed:?}");
    assert!(
        m.storage.volume("vol-1").unwrap().attachments.is_empty(),
        "nothing was done"
    );
    assert_eq!(m.run("a2", attach("vol-1", "node-a")).await, succeeded());

    m.storage
        .inject(Fault::StorageFailNext {
            count: 2,
            operation: None,
        })
        .unwrap();
    assert!(matches!(
        m.run("x", detach("vol-1", "node-a")).await,
        OpStatus::Failed { .. }
    ));
    assert!(matches!(
        m.run("x2", detach("vol-1", "node-a")).await,
        OpStatus::Failed { .. }
    ));
    assert_eq!(m.run("x3", detach("vol-1", "node-a")).await, succeeded());
}

#[tokio::test]
async fn hang_fault_stays_running() {
    let m = Manual::new();
    m.storage
        .inject(Fault::StorageHangNext {
            count: 1,
            operation: None,
        })
        .unwrap();
    m.submit("hung", create("vol-1", VolumeKind::Disk, GIB))
        .await;
    for _ in 0..3 {
        m.advance(DAY);
        assert!(matches!(
            m.status("hung").await,
            Some(OpStatus::Running { .. })
        ));
    }
    assert_eq!(m.storage.in_flight(), 1);
    assert_eq!(
        m.run("next", create("vol-2", VolumeKind::Disk, GIB)).await,
        succeeded()
    );

    // A hung copy stalls half-way; a later attempt into the same target supersedes it.
    source(&m, 10 * GIB).await;
    m.storage
        .inject(Fault::StorageHangNext {
            count: 1,
            operation: Some("copy".into()),
        })
        .unwrap();
    m.submit("copy-1", copy(1, 10 * GIB)).await;
    m.advance(DAY);
    assert_eq!(
        m.status("copy-1").await,
        Some(OpStatus::Running {
            done_bytes: 5 * GIB,
            total_bytes: 10 * GIB
        })
    );
    assert!(matches!(
        m.run("copy-2", copy(2, 10 * GIB)).await,
        OpStatus::Succeeded { .. }
    ));
    assert!(reason(&m.status("copy-1").await.unwrap()).contains("superseded"));
}

#[tokio::test]
async fn corrupt_copy_fault_makes_verification_mismatch() {
    let m = Manual::new();
    source(&m, TIB).await;
    m.storage
        .inject(Fault::StorageCorruptCopy { count: 1 })
        .unwrap();
    assert!(matches!(
        m.run("copy-1", copy(1, TIB)).await,
        OpStatus::Succeeded { .. }
    ));
    let (source, target) = checksums(&m.run("verify-1", verify(1)).await);
    assert_ne!(source, target);
    // Used up: the next copy is faithful.
    assert!(matches!(
        m.run("copy-2", copy(2, TIB)).await,
        OpStatus::Succeeded { .. }
    ));
    let (source, target) = checksums(&m.run("verify-2", verify(2)).await);
    assert_eq!(source, target);
}

#[tokio::test]
async fn state_survives_a_restart_mid_operation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleet-storage.json");
    let config = StorageSimConfig::default()
        .with_seed(3)
        .with_state_file(&path);
    let clock = Arc::new(AtomicU64::new(5_000_000));
    {
        let m = Manual::with(config.clone(), Some(Arc::clone(&clock)));
        source(&m, 10 * GIB).await;
        m.storage
            .inject(Fault::StorageCorruptCopy { count: 1 })
            .unwrap();
        m.storage
            .inject(Fault::StorageFailNext {
                count: 1,
                operation: Some("verify".into()),
            })
            .unwrap();
        let status = m.submit("copy-1", copy(1, 10 * GIB)).await;
        assert!(matches!(status, OpStatus::Running { .. }));
        m.advance(1_000);
        // Dropped without any goodbye, like kill -9.
    }
    let before = clock.load(Ordering::SeqCst);
    // The real clock behind a restart may even be earlier: the saved floor holds.
    clock.store(1_000, Ordering::SeqCst);
    let m = Manual::with(config, Some(Arc::clone(&clock)));
    assert!(m.storage.now_ms() >= before - 1_000);
    assert!(matches!(
        m.status("copy-1").await,
        Some(OpStatus::Running { .. })
    ));
    assert_eq!(m.storage.submitted("copy"), 1);
    // Submitting the same key after the restart starts nothing.
    m.submit("copy-1", copy(1, 10 * GIB)).await;
    assert_eq!(m.storage.submitted("copy"), 1);
    clock.store(before + DAY, Ordering::SeqCst);
    assert!(matches!(
        m.status("copy-1").await,
        Some(OpStatus::Succeeded { .. })
    ));
    // The armed faults were saved too: the copy was corrupted, the first verify fails.
    assert!(reason(&m.run("verify-1", verify(1)).await).contains("storage-fail-next"));
    let (source, target) = checksums(&m.run("verify-2", verify(2)).await);
    assert_ne!(source, target);
}

#[tokio::test]
async fn a_fast_real_clock_finishes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("storage.json");
    // 10,000× real time: a disk takes 1–2 ms.
    let config = StorageSimConfig::default()
        .with_clock_factor(0.0001)
        .with_state_file(&path);
    {
        let storage = SimStorage::new(config.clone()).unwrap();
        storage
            .submit(op("c", create("vol-1", VolumeKind::Disk, GIB)))
            .await
            .unwrap();
    }
    let storage = SimStorage::new(config).unwrap();
    let mut outcome = None;
    for _ in 0..10_000 {
        match storage.status("c".into()).await.unwrap() {
            Some(OpStatus::Running { .. }) => tokio::time::sleep(Duration::from_millis(1)).await,
            other => {
                outcome = other;
                break;
            }
        }
    }
    assert_eq!(outcome, Some(succeeded()));
    assert_eq!(storage.volume("vol-1").unwrap().phase, VolumePhase::Ready);
}

#[tokio::test]
async fn clock_factor_zero_is_instant_on_real_time() {
    let storage = SimStorage::new(StorageSimConfig::default().with_clock_factor(0.0)).unwrap();
    let before = storage.now_ms();
    assert!(before > 1_600_000_000_000, "real Unix ms");
    let status = storage
        .submit(op("c", create("vol-1", VolumeKind::Shared, TIB)))
        .await
        .unwrap();
    assert_eq!(status, succeeded());
    assert!(storage.now_ms() >= before);
}

#[tokio::test]
async fn keys_fields_and_fault_counts_are_bounded() {
    let m = Manual::new();
    let long_key = "k".repeat(MAX_OP_KEY_CHARS + 1);
    let refused = m
        .submit(&long_key, create("vol-1", VolumeKind::Disk, GIB))
        .await;
    assert!(
        reason(&refused).contains("1 to 256 characters"),
        "{refused:?}"
    );
    assert_eq!(m.status(&long_key).await, None, "not recorded");
    assert!(matches!(
        m.submit("", create("vol-1", VolumeKind::Disk, GIB)).await,
        OpStatus::Failed { .. }
    ));
    let max_key = "k".repeat(MAX_OP_KEY_CHARS);
    assert_eq!(
        m.run(&max_key, create("vol-1", VolumeKind::Disk, GIB))
            .await,
        succeeded()
    );

    let long_name = "v".repeat(10_000);
    let refused = m
        .submit("long", create(&long_name, VolumeKind::Disk, GIB))
        .await;
    let text = reason(&refused);
    assert!(text.contains("volume is longer than 256"), "{text}");
    assert!(text.len() < 200, "no echo: {text}");
    let name = "n".repeat(MAX_FIELD_CHARS);
    let missing = m.submit("quoted", attach(&name, "node-a")).await;
    assert!(
        reason(&missing).len() < 200,
        "names are quoted short: {missing:?}"
    );

    let too_many = m.storage.inject(Fault::StorageCorruptCopy {
        count: MAX_FAULT_COUNT + 1,
    });
    assert!(too_many.unwrap_err().to_string().contains("at most 1000"));
    let unknown = m
        .storage
        .inject(Fault::StorageFailNext {
            count: 1,
            operation: Some("x".repeat(10_000)),
        })
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("not a storage operation") && unknown.len() < 400,
        "{unknown}"
    );
    let not_storage = m
        .storage
        .inject(Fault::FailNextProvisions { count: 1 })
        .unwrap_err();
    assert!(
        not_storage
            .to_string()
            .contains("not a fault of the simulated storage")
    );
}

#[test]
fn outcomes_kept_are_bounded_oldest_first() {
    let mut state = StorageState::default();
    for i in 0..MAX_KEPT_OUTCOMES + 5 {
        state.finish(
            &format!("k{i}"),
            OpStatus::Failed {
                reason: String::new(),
            },
        );
    }
    assert_eq!(state.finished.len(), MAX_KEPT_OUTCOMES);
    assert_eq!(state.ops.len(), MAX_KEPT_OUTCOMES);
    assert!(!state.ops.contains_key("k4"));
    assert!(state.ops.contains_key("k5"));
}

#[test]
fn every_operation_name_is_listed() {
    let k = step(Step::ReleaseSource);
    let requests = [
        create("v", VolumeKind::Disk, GIB),
        OpRequest::ExpandVolume {
            volume: "v".into(),
            to_bytes: 1,
        },
        attach("v", "n"),
        detach("v", "n"),
        OpRequest::DeleteVolume { volume: "v".into() },
        OpRequest::CreateSnapshot {
            snapshot: "s".into(),
            volume: "v".into(),
        },
        OpRequest::DeleteSnapshot {
            snapshot: "s".into(),
        },
        copy(1, 1),
        verify(1),
        OpRequest::CutOver {
            step: k.clone(),
            source: "a".into(),
            target: "b".into(),
        },
        OpRequest::ReleaseSource {
            step: k.clone(),
            source: "a".into(),
        },
        OpRequest::DiscardTarget {
            step: k,
            target: "b".into(),
        },
    ];
    let names: Vec<&str> = requests.iter().map(OpRequest::name).collect();
    assert_eq!(names, OPERATION_NAMES);
}

#[test]
fn for_fleet_puts_the_state_file_beside_the_fleets() {
    let fleet = SimConfig::default()
        .with_clock_factor(0.01)
        .with_seed(9)
        .with_state_file("/data/sim/fleet.json");
    let config = StorageSimConfig::for_fleet(&fleet);
    assert_eq!(config.clock_factor, 0.01);
    assert_eq!(config.seed, 9);
    assert_eq!(
        config.state_file.as_deref(),
        Some(std::path::Path::new("/data/sim/fleet-storage.json"))
    );
    assert_eq!(
        StorageSimConfig::for_fleet(&SimConfig::default()).state_file,
        None
    );
    assert!(SimStorage::new(StorageSimConfig::default().with_clock_factor(-1.0)).is_err());
}

#[tokio::test]
async fn the_fault_server_routes_storage_faults_to_the_storage() {
    let fleet = SimFleet::new(SimConfig::default().with_clock_factor(0.0)).unwrap();
    let storage = SimStorage::new(StorageSimConfig::default().with_clock_factor(0.0)).unwrap();
    let body = br#"{"kind":"storage-hang-next","count":1,"operation":"copy"}"#;
    let reply: fault_server::FaultReply = serde_json::from_slice(&fault_server::handle_inject_to(
        &fleet,
        None,
        Some(&storage),
        body,
    ))
    .unwrap();
    assert!(reply.ok, "{reply:?}");
    assert_eq!(
        storage.lock().state.hang_next.by_operation.get("copy"),
        Some(&1)
    );
    let reply: fault_server::FaultReply =
        serde_json::from_slice(&fault_server::handle_inject_to(&fleet, None, None, body)).unwrap();
    let error = reply.into_result().unwrap_err();
    assert!(error.contains("runs no storage"), "{error}");
}
