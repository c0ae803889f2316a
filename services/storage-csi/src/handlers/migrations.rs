//! VirtioFS → NFS migrations of a project's shared volumes: planned ([`plan`]; a dry run
//! stores nothing), started ([`run`]: each planned volume is locked to the migration), rolled
//! back ([`rollback`]), and driven one volume step at a time by the service's runner through
//! [`advance`], which applies the engine's state machine (`accord_storage::migration::next`)
//! and records its answer with a `migration.volume-progressed` event.
//!
//! The runner's order for each volume is: store the state `next` answers, *then* submit the
//! step's back-end operation (idempotent by its key), then feed the outcome back through
//! [`advance`]. So a kill at any point resumes from the stored state and asks the back end
//! under the same key: nothing is copied twice and the source is released only after a
//! verified cut-over (the machine's invariants, property-tested in `accord-storage`).
//!
//! A cut-over moves the volume itself onto the NFS copy (its mount and back-end name) in the
//! same commit as the state that records it. When every volume is terminal the migration is
//! `finished` and the volumes are unlocked.

use std::collections::{BTreeMap, HashMap};

use accord_core::{
    DomainError,
    error::echo,
    ids::{ClusterId, MigrationId, ProjectId},
    storage::StorageEvent,
};
use accord_storage::{
    Mount, NfsGate, Volume,
    driver::{OpRequest, OpResult, OpStatus},
    migration::{
        Action, MigrationPlan, MigrationState, Observation, PlanSpec, Step, StepKey, estimate,
        next, plan_migration,
    },
};
use accord_store::{Expect, Versioned};

use super::{Change, Ctx};
use crate::trees::{
    MIGRATION_VOLUMES, MIGRATIONS, MigrationPhase, MigrationVolume, PlannedRef, StoredMigration,
    StoredVolume, migration_key, migration_volume_key,
};

/// What the customer asked for.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    pub name: String,
    /// `<cluster>/<name>` or a name unique in the project.
    pub volumes: Vec<String>,
    pub batch_size: Option<usize>,
    pub dry_run: bool,
}

/// A planned migration with its volumes' states.
#[derive(Debug, Clone)]
pub struct Planned {
    pub migration: StoredMigration,
    pub states: BTreeMap<String, MigrationVolume>,
}

/// The name a plan gives a volume: `<cluster name>/<volume name>`.
pub fn planned_name(cluster: &str, volume: &str) -> String {
    format!("{cluster}/{volume}")
}

/// Plans a migration of `project`'s volumes (`clusters`: the project's cluster names by id).
#[allow(clippy::too_many_arguments)]
pub fn plan(
    ctx: &Ctx,
    project: ProjectId,
    clusters: &HashMap<ClusterId, String>,
    volumes: &[StoredVolume],
    gate: &NfsGate,
    existing_names: &[String],
    open_migrations: usize,
    req: &PlanRequest,
    throughput_bytes_per_second: u64,
) -> Result<(Option<Change>, Planned), DomainError> {
    // The engine plans over names unique in the project: `<cluster>/<volume>`.
    let mut by_planned: BTreeMap<String, &StoredVolume> = BTreeMap::new();
    let mut by_name: HashMap<&str, Vec<String>> = HashMap::new();
    for v in volumes {
        let Some(cluster) = clusters.get(&v.cluster) else {
            continue;
        };
        let planned = planned_name(cluster, &v.volume.name);
        by_name
            .entry(v.volume.name.as_str())
            .or_default()
            .push(planned.clone());
        by_planned.insert(planned, v);
    }
    let mut selection = Vec::with_capacity(req.volumes.len());
    for (i, requested) in req.volumes.iter().enumerate() {
        let requested = requested.trim();
        if requested.contains('/') {
            selection.push(requested.to_owned());
            continue;
        }
        match by_name.get(requested).map(Vec::as_slice) {
            Some([one]) => selection.push(one.clone()),
            Some(several) if several.len() > 1 => {
                return Err(DomainError::invalid(
                    format!("volumes[{i}]"),
                    format!(
                        "{} names a volume in {} clusters: write CLUSTER/NAME",
                        echo(requested),
                        several.len()
                    ),
                ));
            }
            _ => selection.push(requested.to_owned()),
        }
    }
    for (i, planned) in selection.iter().enumerate() {
        if let Some(v) = by_planned.get(planned)
            && let Some(m) = v.migration
        {
            return Err(DomainError::precondition(format!(
                "volumes[{i}]: {} is already being migrated by migration {m}",
                echo(planned)
            )));
        }
    }
    let engine_volumes: Vec<Volume> = by_planned
        .iter()
        .filter(|(_, v)| v.migration.is_none())
        .map(|(planned, v)| Volume {
            name: planned.clone(),
            ..v.volume.clone()
        })
        .collect();
    let spec = PlanSpec {
        name: req.name.clone(),
        project: project.to_string(),
        volumes: selection,
        batch_size: req.batch_size,
    };
    let plan: MigrationPlan = plan_migration(&spec, gate, &engine_volumes)?;
    if open_migrations >= MAX_OPEN_MIGRATIONS && !req.dry_run {
        return Err(DomainError::ResourceExhausted(format!(
            "migrations: a project holds at most {MAX_OPEN_MIGRATIONS} unfinished migrations: run, roll back or finish one first"
        )));
    }
    if existing_names.contains(&plan.name) {
        return Err(DomainError::AlreadyExists {
            kind: "migration",
            name: plan.name,
        });
    }
    let estimate = estimate(&plan, throughput_bytes_per_second)?;
    let refs: BTreeMap<String, PlannedRef> = plan
        .volumes
        .iter()
        .filter_map(|p| {
            let v = by_planned.get(&p.name)?;
            Some((
                p.name.clone(),
                PlannedRef {
                    volume: v.id,
                    cluster: v.cluster,
                    name: v.volume.name.clone(),
                    source: v.backend.clone(),
                },
            ))
        })
        .collect();
    let migration = StoredMigration {
        id: MigrationId::generate(),
        project,
        plan,
        refs,
        estimate,
        phase: MigrationPhase::Planned,
        created_at: ctx.now,
        created_by: ctx.actor.clone(),
    };
    let states: BTreeMap<String, MigrationVolume> = migration
        .plan
        .volumes
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                MigrationVolume {
                    state: MigrationState::Pending,
                    failure: None,
                    retries: 0,
                },
            )
        })
        .collect();
    if req.dry_run {
        return Ok((None, Planned { migration, states }));
    }
    let mut ch = Change::in_project(project);
    put_migration(&mut ch, &migration, Expect::Absent)?;
    for (planned, state) in &states {
        ch.put(
            MIGRATION_VOLUMES,
            &migration_volume_key(migration.id, planned),
            state,
            Expect::Absent,
        )?;
    }
    ch.event(StorageEvent::MigrationPlanned {
        migration: migration.id,
        project,
        name: migration.plan.name.clone(),
        volumes: estimate.volumes as u64,
        batches: estimate.batches as u64,
        bytes: estimate.bytes,
        estimated_seconds: estimate.duration_seconds,
    });
    Ok((Some(ch), Planned { migration, states }))
}

/// Starts a planned migration: every planned volume must still be there, and is locked to it.
/// `volumes` are the planned volumes' records as stored now (by planned name).
pub fn run(
    stored: &Versioned<StoredMigration>,
    volumes: &BTreeMap<String, Versioned<StoredVolume>>,
) -> Result<(Option<Change>, StoredMigration), DomainError> {
    let m = &stored.value;
    if m.phase != MigrationPhase::Planned {
        return Ok((None, m.clone()));
    }
    let mut ch = Change::in_project(m.project);
    for (planned, r) in &m.refs {
        let v = volumes
            .get(planned)
            .filter(|v| v.value.id == r.volume)
            .ok_or_else(|| {
                DomainError::precondition(format!(
                    "volume {} was deleted since the migration was planned: plan again",
                    echo(planned)
                ))
            })?;
        if let Some(other) = v.value.migration.filter(|o| *o != m.id) {
            return Err(DomainError::precondition(format!(
                "volume {} is being migrated by migration {other}",
                echo(planned)
            )));
        }
        if v.value.volume.in_flight.is_some() {
            return Err(DomainError::precondition(format!(
                "volume {} is {}: start the migration when it is done",
                echo(planned),
                v.value.volume.state.as_str()
            )));
        }
        let locked = StoredVolume {
            migration: Some(m.id),
            ..v.value.clone()
        };
        super::put_volume(&mut ch, &locked, Expect::Version(v.version))?;
    }
    let next = StoredMigration {
        phase: MigrationPhase::Running,
        ..m.clone()
    };
    put_migration(&mut ch, &next, Expect::Version(stored.version))?;
    ch.event(StorageEvent::MigrationStarted {
        migration: m.id,
        project: m.project,
        name: m.plan.name.clone(),
    });
    Ok((Some(ch), next))
}

/// Asks for a rollback: every volume not cut over goes back to its source.
pub fn rollback(
    ctx: &Ctx,
    stored: &Versioned<StoredMigration>,
    states: &BTreeMap<String, Versioned<MigrationVolume>>,
) -> Result<(Option<Change>, StoredMigration), DomainError> {
    let m = &stored.value;
    if m.phase == MigrationPhase::RollingBack {
        return Ok((None, m.clone()));
    }
    let can = states.values().any(|s| {
        matches!(
            s.value.state,
            MigrationState::Failed { .. }
                | MigrationState::Pending
                | MigrationState::Copying { .. }
                | MigrationState::Copied { .. }
                | MigrationState::Verifying { .. }
                | MigrationState::Verified { .. }
        )
    });
    if !can {
        return Err(DomainError::precondition(format!(
            "migration {} has nothing to roll back: every volume is cut over or rolled back",
            m.plan.name
        )));
    }
    let next = StoredMigration {
        phase: MigrationPhase::RollingBack,
        ..m.clone()
    };
    let mut ch = Change::in_project(m.project);
    put_migration(&mut ch, &next, Expect::Version(stored.version))?;
    ch.event(StorageEvent::MigrationRollbackRequested {
        migration: m.id,
        project: m.project,
        name: m.plan.name.clone(),
        by: ctx.actor.clone(),
    });
    Ok((Some(ch), next))
}

/// The `busy` entry of a migration record.
pub fn busy_migration(record_key: &str) -> String {
    format!("migration/{record_key}")
}

/// Writes a migration record and keeps its `busy` entry in step (the runner visits running and
/// rolling-back migrations only).
pub fn put_migration(
    ch: &mut Change,
    m: &StoredMigration,
    expect: Expect,
) -> Result<(), DomainError> {
    let k = migration_key(m.project, m.id);
    ch.put(MIGRATIONS, &k, m, expect)?;
    let busy = busy_migration(&k);
    if matches!(
        m.phase,
        MigrationPhase::Running | MigrationPhase::RollingBack
    ) {
        ch.put(crate::trees::BUSY, &busy, &(), Expect::Any)?;
    } else {
        ch.delete(crate::trees::BUSY, &busy, Expect::Any);
    }
    Ok(())
}

/// The most migrations a project holds that have not finished (planned, running or rolling
/// back); a finished one no longer counts.
pub const MAX_OPEN_MIGRATIONS: usize = 10;

/// The NFS copy's back-end name for a planned volume.
pub fn target_name(m: &StoredMigration, r: &PlannedRef) -> String {
    format!("{}-nfs-{}", r.volume, m.id)
}

/// The back-end request of a step.
pub fn step_request(
    m: &StoredMigration,
    r: &PlannedRef,
    key: &StepKey,
    size_bytes: u64,
) -> OpRequest {
    let (source, target) = (r.source.clone(), target_name(m, r));
    let step = key.clone();
    match key.step {
        Step::Copy { .. } => OpRequest::Copy {
            step,
            source,
            target,
            size_bytes,
        },
        Step::Verify { .. } => OpRequest::Verify {
            step,
            source,
            target,
        },
        Step::CutOver { .. } => OpRequest::CutOver {
            step,
            source,
            target,
        },
        Step::ReleaseSource => OpRequest::ReleaseSource { step, source },
        Step::DiscardTarget => OpRequest::DiscardTarget { step, target },
    }
}

/// The observation a finished back-end operation of `step` makes (`None`: still running).
pub fn observation(step: Step, status: &OpStatus) -> Option<Observation> {
    match status {
        OpStatus::Running { .. } => None,
        OpStatus::Failed { .. } => Some(Observation::StepFailed { step }),
        OpStatus::Succeeded { result } => Some(match (step, result) {
            (Step::Copy { .. }, OpResult::Copied { bytes }) => Observation::CopySucceeded {
                step,
                bytes: *bytes,
            },
            (Step::Verify { .. }, OpResult::Checksums { source, target }) => {
                Observation::Checksums {
                    step,
                    source: *source,
                    target: *target,
                }
            }
            (Step::Copy { .. } | Step::Verify { .. }, _) => Observation::StepFailed { step },
            _ => Observation::StepSucceeded { step },
        }),
    }
}

/// The outcome of one [`advance`].
pub struct Advanced {
    /// What to commit (`None`: nothing changed).
    pub change: Option<Change>,
    /// The state now.
    pub state: MigrationState,
    /// The step to perform now, if any.
    pub perform: Option<StepKey>,
}

/// Applies `observation` to the volume `planned` of `m`: the machine's next state, stored with
/// its event; a successful cut-over also moves the volume onto its NFS copy (`volume`: its
/// record as stored now).
pub fn advance(
    m: &StoredMigration,
    planned: &str,
    stored: &Versioned<MigrationVolume>,
    observation: Observation,
    failure: Option<String>,
    volume: Option<&Versioned<StoredVolume>>,
) -> Result<Advanced, DomainError> {
    let before = stored.value.state.clone();
    let (state, action) = next(&m.id.to_string(), planned, before.clone(), &observation);
    let perform = match action {
        Action::Perform(key) => Some(key),
        Action::None | Action::Ignored(_) => None,
    };
    if state == before {
        return Ok(Advanced {
            change: None,
            state,
            perform,
        });
    }
    let mut ch = Change::in_project(m.project);
    let failure = failure.or_else(|| stored.value.failure.clone());
    ch.put(
        MIGRATION_VOLUMES,
        &migration_volume_key(m.id, planned),
        &MigrationVolume {
            state: state.clone(),
            failure,
            // A new state starts its own retries.
            retries: 0,
        },
        Expect::Version(stored.version),
    )?;
    let cut_over = matches!(before, MigrationState::CuttingOver { .. })
        && matches!(state, MigrationState::Releasing { .. });
    if cut_over
        && let (Some(v), Some(r)) = (volume, m.refs.get(planned))
        && v.value.id == r.volume
    {
        let mut moved = v.value.clone();
        moved.backend = target_name(m, r);
        moved.volume.mount = Some(Mount::Nfs);
        super::put_volume(&mut ch, &moved, Expect::Version(v.version))?;
    }
    ch.event(StorageEvent::MigrationVolumeProgressed {
        migration: m.id,
        project: m.project,
        volume: planned.to_owned(),
        state: state.as_str().to_owned(),
    });
    Ok(Advanced {
        change: Some(ch),
        state,
        perform,
    })
}

/// Finishes `m` when every volume is terminal: the phase, the event, the volumes unlocked.
pub fn finish(
    stored: &Versioned<StoredMigration>,
    states: &BTreeMap<String, Versioned<MigrationVolume>>,
    volumes: &BTreeMap<String, Versioned<StoredVolume>>,
) -> Result<Option<Change>, DomainError> {
    let m = &stored.value;
    if m.phase == MigrationPhase::Finished || m.phase == MigrationPhase::Planned {
        return Ok(None);
    }
    if !states.values().all(|s| s.value.state.is_terminal()) {
        return Ok(None);
    }
    let count = |f: fn(&MigrationState) -> bool| {
        states.values().filter(|s| f(&s.value.state)).count() as u64
    };
    let mut ch = Change::in_project(m.project);
    put_migration(
        &mut ch,
        &StoredMigration {
            phase: MigrationPhase::Finished,
            ..m.clone()
        },
        Expect::Version(stored.version),
    )?;
    for v in volumes.values() {
        if v.value.migration == Some(m.id) {
            let unlocked = StoredVolume {
                migration: None,
                ..v.value.clone()
            };
            super::put_volume(&mut ch, &unlocked, Expect::Version(v.version))?;
        }
    }
    ch.event(StorageEvent::MigrationFinished {
        migration: m.id,
        project: m.project,
        name: m.plan.name.clone(),
        done: count(|s| matches!(s, MigrationState::Done { .. })),
        failed: count(|s| matches!(s, MigrationState::Failed { .. })),
        rolled_back: count(|s| matches!(s, MigrationState::RolledBack)),
    });
    Ok(Some(ch))
}
