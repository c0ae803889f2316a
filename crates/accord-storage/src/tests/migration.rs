//! Migration plans (selection, batches, the gate), estimates, progress, and the state
//! machine's transitions one by one.

use std::collections::HashMap;

use super::{available, enabled_gate, new_shared, shared};
use crate::error::ErrorKind;
use crate::limits::{CUTOVER_SECONDS_PER_BATCH, MAX_COPY_ATTEMPTS, MAX_CUTOVER_ATTEMPTS};
use crate::migration::{
    Action, Checksum, FailedStep, Ignored, MigrationState as S, Observation as O, PlanSpec, Step,
    estimate, next, plan_migration, progress,
};
use crate::quantity::TIB;
use crate::{NfsGate, Volume, begin_create};

fn spec(volumes: &[&str], batch: Option<usize>) -> PlanSpec {
    PlanSpec {
        name: "move".into(),
        project: "p1".into(),
        volumes: volumes.iter().map(|s| s.to_string()).collect(),
        batch_size: batch,
    }
}

fn project() -> Vec<Volume> {
    let mut other = shared("theirs", "1Ti", "virtiofs");
    other.project = "p2".into();
    vec![
        shared("a", "1Ti", "virtiofs"),
        shared("b", "2Ti", "virtiofs"),
        shared("c", "3Ti", "virtiofs"),
        shared("already-nfs", "1Ti", "nfs"),
        available("disk", "disk", "1Gi"),
        begin_create(new_shared("new", "1Ti", "virtiofs"), 0),
        other,
    ]
}

#[test]
fn an_empty_selection_takes_every_settled_virtiofs_volume_of_the_project() {
    let plan = plan_migration(&spec(&[], Some(2)), &enabled_gate(), &project()).unwrap();
    let names: Vec<&str> = plan.volumes.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(plan.batch_count(), 2);
    assert_eq!(plan.volumes[2].batch, 1);
}

#[test]
fn a_named_selection_reports_each_bad_entry() {
    let err = plan_migration(
        &spec(
            &["a", "a", "nope", "disk", "already-nfs", "new", "theirs"],
            None,
        ),
        &enabled_gate(),
        &project(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.fields(),
        [
            "plan.volumes[1]",
            "plan.volumes[2]",
            "plan.volumes[3]",
            "plan.volumes[4]",
            "plan.volumes[5]",
            "plan.volumes[6]"
        ]
    );
}

#[test]
fn plans_need_the_gate_a_name_and_a_sane_batch() {
    let err = plan_migration(&spec(&["a"], None), &NfsGate::new("p1"), &project()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    for batch in [0, 101] {
        let err = plan_migration(&spec(&["a"], Some(batch)), &enabled_gate(), &project());
        assert_eq!(err.unwrap_err().fields(), ["plan.batch_size"]);
    }
    let mut bad = spec(&["a"], None);
    bad.name = "Move!".into();
    let err = plan_migration(&bad, &enabled_gate(), &project()).unwrap_err();
    assert_eq!(err.fields(), ["plan.name"]);
    let err = plan_migration(&spec(&[], None), &enabled_gate(), &[]).unwrap_err();
    assert_eq!(err.fields(), ["plan.volumes"]);
}

#[test]
fn a_thousand_volumes_out_of_ten_thousand_are_planned_in_batches_of_fifty() {
    let volumes: Vec<Volume> = (0..10_000)
        .map(|i| shared(&format!("v{i}"), "1Ti", "virtiofs"))
        .collect();
    let names: Vec<String> = (0..1_000).map(|i| format!("v{}", i * 7)).collect();
    let selection = PlanSpec {
        volumes: names,
        ..spec(&[], Some(50))
    };
    let plan = plan_migration(&selection, &enabled_gate(), &volumes).unwrap();
    let est = estimate(&plan, 1 << 30).unwrap();
    assert_eq!(plan.volumes.len(), 1_000);
    assert_eq!(est.batches, 20);
    // (How long planning takes is the bench's to measure, not a test's.)
}

#[test]
fn the_estimate_reads_everything_twice_and_cuts_over_per_batch() {
    let plan = plan_migration(&spec(&[], Some(2)), &enabled_gate(), &project()).unwrap();
    let est = estimate(&plan, TIB).unwrap();
    assert_eq!(est.volumes, 3);
    assert_eq!(est.bytes, 6 * TIB);
    assert_eq!(est.batches, 2);
    // Batch 1: 3 TiB read twice at 1 TiB/s = 6 s; batch 2: 3 TiB → 6 s; plus two cut-overs.
    assert_eq!(est.duration_seconds, 12 + 2 * CUTOVER_SECONDS_PER_BATCH);
    assert_eq!(
        estimate(&plan, 0).unwrap_err().fields(),
        ["estimate.throughput"]
    );
}

#[test]
fn progress_names_the_current_batch_and_when_it_may_cut_over() {
    let plan = plan_migration(&spec(&[], Some(2)), &enabled_gate(), &project()).unwrap();
    let mut states = HashMap::new();
    let p = progress(&plan, &states);
    assert_eq!(p.current_batch, Some(0));
    assert!(!p.ready_to_cut_over);
    assert_eq!(p.by_state["pending"], 3);
    let verified = S::Verified {
        checksum: Checksum([1; 32]),
        bytes: TIB,
    };
    states.insert("a".to_owned(), verified.clone());
    states.insert(
        "b".to_owned(),
        S::Failed {
            step: FailedStep::Copy,
        },
    );
    let p = progress(&plan, &states);
    assert!(p.ready_to_cut_over);
    assert_eq!(p.bytes_copied, TIB);
    states.insert("a".to_owned(), S::Done { bytes: TIB });
    let p = progress(&plan, &states);
    assert_eq!(p.current_batch, Some(1));
    states.insert("c".to_owned(), S::RolledBack);
    assert_eq!(progress(&plan, &states).current_batch, None);
}

fn key_step(action: &Action) -> Step {
    match action {
        Action::Perform(key) => {
            assert_eq!((key.plan.as_str(), key.volume.as_str()), ("p", "v"));
            key.step
        }
        other => panic!("expected work, got {other:?}"),
    }
}

fn run(state: S, obs: O) -> (S, Action) {
    next("p", "v", state, &obs)
}

#[test]
fn the_happy_path_visits_every_state_in_order() {
    let sum = Checksum([7; 32]);
    let (s, a) = run(S::Pending, O::Proceed);
    assert_eq!(key_step(&a), Step::Copy { attempt: 1 });
    let (s, a) = run(
        s,
        O::CopySucceeded {
            step: Step::Copy { attempt: 1 },
            bytes: 5,
        },
    );
    assert_eq!((s.clone(), a), (S::Copied { bytes: 5 }, Action::None));
    let (s, a) = run(s, O::Proceed);
    assert_eq!(key_step(&a), Step::Verify { attempt: 1 });
    let (s, _) = run(
        s,
        O::Checksums {
            step: Step::Verify { attempt: 1 },
            source: sum,
            target: sum,
        },
    );
    assert_eq!(
        s,
        S::Verified {
            checksum: sum,
            bytes: 5
        }
    );
    let (s, a) = run(s, O::Proceed);
    assert_eq!(key_step(&a), Step::CutOver { attempt: 1 });
    let (s, a) = run(
        s,
        O::StepSucceeded {
            step: Step::CutOver { attempt: 1 },
        },
    );
    assert_eq!(key_step(&a), Step::ReleaseSource);
    let (s, a) = run(
        s,
        O::StepSucceeded {
            step: Step::ReleaseSource,
        },
    );
    assert_eq!((s, a), (S::Done { bytes: 5 }, Action::None));
}

#[test]
fn resuming_reissues_the_same_key() {
    let (s, first) = run(S::Pending, O::Proceed);
    let (s2, again) = run(s.clone(), O::Proceed);
    assert_eq!((s2, again), (s, first));
}

#[test]
fn a_checksum_mismatch_fails_without_copying_again() {
    let s = S::Verifying {
        attempt: 1,
        bytes: 1,
    };
    let (s, a) = run(
        s,
        O::Checksums {
            step: Step::Verify { attempt: 1 },
            source: Checksum([1; 32]),
            target: Checksum([2; 32]),
        },
    );
    assert_eq!(
        (s.clone(), a),
        (
            S::Failed {
                step: FailedStep::Mismatch
            },
            Action::None
        )
    );
    assert_eq!(run(s.clone(), O::Proceed), (s, Action::None));
}

#[test]
fn failed_steps_retry_with_new_attempts_then_fail() {
    let mut s = S::Pending;
    let (next_s, _) = run(s, O::Proceed);
    s = next_s;
    for attempt in 1..=MAX_COPY_ATTEMPTS {
        let (n, a) = run(
            s,
            O::StepFailed {
                step: Step::Copy { attempt },
            },
        );
        s = n;
        if attempt < MAX_COPY_ATTEMPTS {
            assert_eq!(
                key_step(&a),
                Step::Copy {
                    attempt: attempt + 1
                }
            );
        }
    }
    assert_eq!(
        s,
        S::Failed {
            step: FailedStep::Copy
        }
    );
    let mut s = S::CuttingOver {
        attempt: 1,
        bytes: 1,
    };
    for attempt in 1..=MAX_CUTOVER_ATTEMPTS {
        s = run(
            s,
            O::StepFailed {
                step: Step::CutOver { attempt },
            },
        )
        .0;
    }
    assert_eq!(
        s,
        S::Failed {
            step: FailedStep::CutOver
        }
    );
    // Releasing is retried under the same key until it succeeds.
    let (s, a) = run(
        S::Releasing { bytes: 1 },
        O::StepFailed {
            step: Step::ReleaseSource,
        },
    );
    assert_eq!(
        (s, key_step(&a)),
        (S::Releasing { bytes: 1 }, Step::ReleaseSource)
    );
}

#[test]
fn rollback_is_allowed_until_the_cut_over_is_issued() {
    assert_eq!(
        run(S::Pending, O::RollbackRequested),
        (S::RolledBack, Action::None)
    );
    for s in [
        S::Copying { attempt: 2 },
        S::Copied { bytes: 1 },
        S::Verifying {
            attempt: 1,
            bytes: 1,
        },
        S::Verified {
            checksum: Checksum([0; 32]),
            bytes: 1,
        },
        S::Failed {
            step: FailedStep::CutOver,
        },
    ] {
        let (s, a) = run(s, O::RollbackRequested);
        assert_eq!(
            (s.clone(), key_step(&a)),
            (S::RollingBack, Step::DiscardTarget)
        );
        let (s, _) = run(
            s,
            O::StepSucceeded {
                step: Step::DiscardTarget,
            },
        );
        assert_eq!(s, S::RolledBack);
    }
    for s in [
        S::CuttingOver {
            attempt: 1,
            bytes: 1,
        },
        S::Releasing { bytes: 1 },
        S::Done { bytes: 1 },
    ] {
        assert_eq!(
            run(s.clone(), O::RollbackRequested),
            (s, Action::Ignored(Ignored::TooLateToRollBack))
        );
    }
}

#[test]
fn late_and_foreign_results_are_stale() {
    let s = S::Copying { attempt: 2 };
    let late = O::CopySucceeded {
        step: Step::Copy { attempt: 1 },
        bytes: 1,
    };
    assert_eq!(run(s.clone(), late), (s, Action::Ignored(Ignored::Stale)));
    let done = S::Done { bytes: 1 };
    let dup = O::StepSucceeded {
        step: Step::ReleaseSource,
    };
    assert_eq!(
        run(done.clone(), dup),
        (done, Action::Ignored(Ignored::Stale))
    );
    let rb = S::RollingBack;
    let copy = O::CopySucceeded {
        step: Step::Copy { attempt: 1 },
        bytes: 1,
    };
    assert_eq!(run(rb.clone(), copy), (rb, Action::Ignored(Ignored::Stale)));
}
