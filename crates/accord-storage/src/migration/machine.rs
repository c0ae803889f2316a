//! One volume's migration as a pure state machine: [`next`]`(state, observation) -> (state,
//! action)`.
//!
//! ```text
//! pending ─▶ copying ─▶ copied ─▶ verifying ─▶ verified ─▶ cutting-over ─▶ releasing ─▶ done
//!    │      (retry ≤3)    │       (retry ≤3)      │         (retry ≤3)
//!    │         │ ▼        │          │ ▼ mismatch │             │ ▼
//!    │       failed ◀─────┴──────────┴────────────┘           failed
//!    └─ rollback (any state before cutting-over, failed included) ─▶ rolling-back ─▶ rolled-back
//! ```
//!
//! [`Observation::Proceed`] means "look at this volume": the first time, and after every
//! restart. From a state that has work, it (re)issues that work under the *same* [`StepKey`]
//! `(plan, volume, step)`. The executor's contract:
//! - a copy, verify or cut-over key (they carry an attempt number) runs at most once: its first
//!   outcome, success or failure, is stored and answers every repeat of the key, so a retry is
//!   always a new attempt and a late failure report can never hide a later success;
//! - release-source and discard-target keys run until they succeed (deleting is idempotent);
//!   their success is stored and answers every repeat.
//!
//! So a crash anywhere — before the work started, during it, after it finished but before its
//! result was stored — resumes without doing anything twice.
//! `copied` and `verified` are checkpoints: the runner proceeds from `copied` at once and from
//! `verified` when its batch is ready to cut over together. A result names the step it answers;
//! a result for any other step (late, duplicated, from an older attempt) changes nothing.
//!
//! Invariants (property-tested in `src/tests/migration_props.rs` over random crash, duplicate,
//! failure and rollback sequences):
//! 1. `ReleaseSource` is issued only after a verification whose source and target checksums
//!    matched, and after the cut-over succeeded;
//! 2. `CutOver` and `ReleaseSource` are never issued once a rollback began, and `DiscardTarget`
//!    never once a cut-over was issued: the source is kept until the target is verified and in
//!    use, and the target is kept once it may be in use;
//! 3. at most one copy succeeds per volume (a copy is retried only after it failed, under a new
//!    attempt number; a mismatch fails the volume instead of copying again);
//! 4. with no faults, `Proceed` from any stored state reaches `done` (or `rolled-back` once a
//!    rollback began).

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_COPY_ATTEMPTS, MAX_CUTOVER_ATTEMPTS, MAX_VERIFY_ATTEMPTS};

/// A content checksum (e.g. SHA-256 of the tree walk) reported by the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Checksum(pub [u8; 32]);

/// One step of one volume's migration; with the plan and volume it is the idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum Step {
    /// Copy source → target (creates the target if absent; overwrites a failed attempt's data).
    Copy {
        /// 1-based attempt.
        attempt: u8,
    },
    /// Checksum both sides.
    Verify {
        /// 1-based attempt.
        attempt: u8,
    },
    /// Point the volume's claim at the target (atomic: done or not done).
    CutOver {
        /// 1-based attempt.
        attempt: u8,
    },
    /// Release (delete) the source.
    ReleaseSource,
    /// Delete the target (cancelling a copy in flight first).
    DiscardTarget,
}

/// The idempotency key of an action: `(plan, volume, step)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StepKey {
    /// The plan.
    pub plan: String,
    /// The volume.
    pub volume: String,
    /// The step.
    pub step: Step,
}

/// Which step failed a volume's migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStep {
    /// Every copy attempt failed.
    Copy,
    /// Every verification attempt failed to read.
    Verify,
    /// The checksums differed.
    Mismatch,
    /// Every cut-over attempt failed (the claim still points at the source).
    CutOver,
}

/// Where one volume's migration is (stored after every transition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum MigrationState {
    /// Not started.
    Pending,
    /// A copy is issued.
    Copying {
        /// Its attempt.
        attempt: u8,
    },
    /// Copied; not yet verified.
    Copied {
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// A verification is issued.
    Verifying {
        /// Its attempt.
        attempt: u8,
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// Checksums matched.
    Verified {
        /// The matching checksum.
        checksum: Checksum,
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// A cut-over is issued.
    CuttingOver {
        /// Its attempt.
        attempt: u8,
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// Cut over; the source is being released.
    Releasing {
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// Migrated; the source is released.
    Done {
        /// Bytes the copy moved.
        bytes: u64,
    },
    /// The target is being discarded.
    RollingBack,
    /// Rolled back: the source is in use, the target gone.
    RolledBack,
    /// Stopped; the source is untouched and in use. Only a rollback leaves this state.
    Failed {
        /// The step that failed.
        step: FailedStep,
    },
}

impl MigrationState {
    /// The name shown to users.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Copying { .. } => "copying",
            Self::Copied { .. } => "copied",
            Self::Verifying { .. } => "verifying",
            Self::Verified { .. } => "verified",
            Self::CuttingOver { .. } => "cutting-over",
            Self::Releasing { .. } => "releasing",
            Self::Done { .. } => "done",
            Self::RollingBack => "rolling-back",
            Self::RolledBack => "rolled-back",
            Self::Failed { .. } => "failed",
        }
    }

    /// Whether nothing more happens without a rollback request.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Done { .. } | Self::RolledBack | Self::Failed { .. }
        )
    }

    /// Bytes copied so far (for progress).
    pub fn bytes_copied(&self) -> u64 {
        match self {
            Self::Copied { bytes }
            | Self::Verifying { bytes, .. }
            | Self::Verified { bytes, .. }
            | Self::CuttingOver { bytes, .. }
            | Self::Releasing { bytes }
            | Self::Done { bytes } => *bytes,
            _ => 0,
        }
    }
}

/// What the runner saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "observation")]
pub enum Observation {
    /// Start, continue or resume after a restart: (re)issue the stored state's work.
    Proceed,
    /// The customer asked to roll back.
    RollbackRequested,
    /// The copy of `step` finished.
    CopySucceeded {
        /// The step answered.
        step: Step,
        /// Bytes moved.
        bytes: u64,
    },
    /// A step failed (the executor's reason stays in its logs and events).
    StepFailed {
        /// The step answered.
        step: Step,
    },
    /// The verification of `step` read both sides.
    Checksums {
        /// The step answered.
        step: Step,
        /// The source's checksum.
        source: Checksum,
        /// The target's checksum.
        target: Checksum,
    },
    /// A cut-over, release or discard finished.
    StepSucceeded {
        /// The step answered.
        step: Step,
    },
}

/// Why an observation changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignored {
    /// A result for a step that is not the current one (late, repeated, an older attempt).
    Stale,
    /// Rollback asked after the cut-over was issued: the target may be in use.
    TooLateToRollBack,
}

/// What the runner does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "key")]
pub enum Action {
    /// Nothing: a checkpoint or a terminal state.
    None,
    /// Perform the keyed step (`key.step` says which).
    Perform(StepKey),
    /// Nothing, and why the observation was not applied.
    Ignored(Ignored),
}

/// The work a state has outstanding, if any.
fn work(state: &MigrationState) -> Option<Step> {
    match state {
        MigrationState::Copying { attempt } => Some(Step::Copy { attempt: *attempt }),
        MigrationState::Verifying { attempt, .. } => Some(Step::Verify { attempt: *attempt }),
        MigrationState::CuttingOver { attempt, .. } => Some(Step::CutOver { attempt: *attempt }),
        MigrationState::Releasing { .. } => Some(Step::ReleaseSource),
        MigrationState::RollingBack => Some(Step::DiscardTarget),
        _ => None,
    }
}

/// The next state and action of volume `volume` of plan `plan`, given what was observed. Total:
/// every pair has an answer, and an observation that does not apply changes nothing.
pub fn next(
    plan: &str,
    volume: &str,
    state: MigrationState,
    observation: &Observation,
) -> (MigrationState, Action) {
    use MigrationState as S;
    let issue = |state: S| {
        let action = match work(&state) {
            Some(step) => Action::Perform(StepKey {
                plan: plan.to_owned(),
                volume: volume.to_owned(),
                step,
            }),
            None => Action::None,
        };
        (state, action)
    };
    let current = work(&state);
    let answers = |step: &Step| current == Some(*step);
    match (state, observation) {
        (S::Pending, Observation::Proceed) => issue(S::Copying { attempt: 1 }),
        (S::Copied { bytes }, Observation::Proceed) => issue(S::Verifying { attempt: 1, bytes }),
        (S::Verified { bytes, .. }, Observation::Proceed) => {
            issue(S::CuttingOver { attempt: 1, bytes })
        }
        (state, Observation::Proceed) => issue(state),

        (S::Pending, Observation::RollbackRequested) => (S::RolledBack, Action::None),
        (
            state @ (S::Copying { .. }
            | S::Copied { .. }
            | S::Verifying { .. }
            | S::Verified { .. }
            | S::Failed { .. }
            | S::RollingBack),
            Observation::RollbackRequested,
        ) => {
            let _ = state;
            issue(S::RollingBack)
        }
        (S::RolledBack, Observation::RollbackRequested) => (S::RolledBack, Action::None),
        (state, Observation::RollbackRequested) => {
            (state, Action::Ignored(Ignored::TooLateToRollBack))
        }

        (S::Copying { .. }, Observation::CopySucceeded { step, bytes }) if answers(step) => {
            (S::Copied { bytes: *bytes }, Action::None)
        }
        (S::Copying { attempt }, Observation::StepFailed { step }) if answers(step) => {
            if attempt < MAX_COPY_ATTEMPTS {
                issue(S::Copying {
                    attempt: attempt + 1,
                })
            } else {
                (
                    S::Failed {
                        step: FailedStep::Copy,
                    },
                    Action::None,
                )
            }
        }
        (
            S::Verifying { bytes, .. },
            Observation::Checksums {
                step,
                source,
                target,
            },
        ) if answers(step) => {
            if source == target {
                (
                    S::Verified {
                        checksum: *source,
                        bytes,
                    },
                    Action::None,
                )
            } else {
                (
                    S::Failed {
                        step: FailedStep::Mismatch,
                    },
                    Action::None,
                )
            }
        }
        (S::Verifying { attempt, bytes }, Observation::StepFailed { step }) if answers(step) => {
            if attempt < MAX_VERIFY_ATTEMPTS {
                issue(S::Verifying {
                    attempt: attempt + 1,
                    bytes,
                })
            } else {
                (
                    S::Failed {
                        step: FailedStep::Verify,
                    },
                    Action::None,
                )
            }
        }
        (S::CuttingOver { bytes, .. }, Observation::StepSucceeded { step }) if answers(step) => {
            issue(S::Releasing { bytes })
        }
        (S::CuttingOver { attempt, bytes }, Observation::StepFailed { step }) if answers(step) => {
            if attempt < MAX_CUTOVER_ATTEMPTS {
                issue(S::CuttingOver {
                    attempt: attempt + 1,
                    bytes,
                })
            } else {
                (
                    S::Failed {
                        step: FailedStep::CutOver,
                    },
                    Action::None,
                )
            }
        }
        (S::Releasing { bytes }, Observation::StepSucceeded { step }) if answers(step) => {
            (S::Done { bytes }, Action::None)
        }
        (S::RollingBack, Observation::StepSucceeded { step }) if answers(step) => {
            (S::RolledBack, Action::None)
        }
        // Releasing and discarding are retried, with the same key, until they succeed: the
        // source is already unused (resp. the target never used), so there is no way back.
        (state @ (S::Releasing { .. } | S::RollingBack), Observation::StepFailed { step })
            if answers(step) =>
        {
            issue(state)
        }
        (state, _) => (state, Action::Ignored(Ignored::Stale)),
    }
}
