//! VirtioFS → NFS migration: plans, dry-run estimates and progress ([`plan`]), and the
//! per-volume state machine whose steps are idempotent by `(plan, volume, step)` ([`machine`]).
//!
//! The service stores each volume's [`MigrationState`] after every [`next`] and performs the
//! returned action through an executor that runs each [`StepKey`] at most once to success; the
//! invariants (the source is never released before its copy was verified, nothing is copied
//! twice, a restart resumes from the stored state) are listed in [`machine`].

pub mod machine;
pub mod plan;

pub use machine::{
    Action, Checksum, FailedStep, Ignored, MigrationState, Observation, Step, StepKey, next,
};
pub use plan::{
    Estimate, MigrationPlan, PlanSpec, PlannedVolume, Progress, estimate, plan_migration, progress,
};
