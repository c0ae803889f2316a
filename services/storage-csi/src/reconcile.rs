//! The reconciler: carries every operation in flight to the back ends and records their
//! answers, and runs migrations step by step.
//!
//! Each pass (every interval, and whenever a commit may have started work) visits the records
//! the `busy` index names (written with the records, so a pass costs what is outstanding, not
//! every tenant's records):
//! 1. every volume with an operation in flight: submit it under its key (the back end starts it
//!    the first time and answers its status every time), then record a finished outcome or a
//!    timeout ([`crate::handlers::backend`]);
//! 2. every snapshot being taken or deleted: the same;
//! 3. every running migration: the volumes of the batch that runs now (and any volume with a
//!    step outstanding, after a restart or a rollback) advance one step each through the state
//!    machine ([`crate::handlers::migrations::advance`]): the new state is committed *before*
//!    its step is submitted, and the step's outcome is fed back as an observation. A batch cuts
//!    over when every volume of it is verified or stopped. When all are terminal the migration
//!    finishes.
//!
//! The back ends are called outside the write lock; each outcome is committed with the version
//! it was read at, so a request committed meanwhile wins and the outcome is applied again on
//! the next pass (the back end answers the same key the same way).

use std::{collections::HashMap, sync::Arc, time::Duration};

use accord_core::DomainError;
use accord_runtime::metrics::{Labels, Metrics};
use accord_storage::{
    driver::{BackendOp, OpStatus},
    migration::{MigrationState, Observation, Step, progress},
};
use accord_store::Versioned;
use prometheus_client::metrics::{counter::Counter, family::Family};
use tokio_util::sync::CancellationToken;

use crate::{
    handlers::{
        backend,
        migrations::{self, advance, observation},
    },
    service::StorageService,
    trees::{
        BUSY, MigrationPhase, MigrationVolume, Records as _, SNAPSHOTS, StoredMigration, VOLUMES,
    },
};

/// The reconciler's counters.
pub struct Counters {
    /// Back-end operations answered, by operation and outcome (running, succeeded, failed,
    /// timed-out, error).
    pub operations: Family<Labels<2>, Counter>,
}

impl Counters {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            operations: metrics.registered(
                "accord_storage_csi_backend_operations",
                "Back-end operations polled by the reconciler, by operation and status",
            ),
        }
    }
}

fn status_label(status: &OpStatus) -> &'static str {
    match status {
        OpStatus::Running { .. } => "running",
        OpStatus::Succeeded { .. } => "succeeded",
        OpStatus::Failed { .. } => "failed",
    }
}

impl StorageService {
    /// Runs passes until shutdown.
    pub async fn run_reconciler(
        self: Arc<Self>,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.reindex_busy().await?;
        let kick = Arc::clone(&self.kick);
        accord_runtime::periodic::run("storage", interval, &kick, shutdown, || {
            self.reconcile_once()
        })
        .await
    }

    async fn submit(&self, op: BackendOp) -> Option<OpStatus> {
        let name = op.request.name();
        match self.driver.submit(op).await {
            Ok(status) => {
                self.counters
                    .operations
                    .get_or_create(&[("operation", name), ("status", status_label(&status))])
                    .inc();
                Some(status)
            }
            Err(e) => {
                self.counters
                    .operations
                    .get_or_create(&[("operation", name), ("status", "error")])
                    .inc();
                tracing::warn!(operation = name, error = %e, "storage back end unreachable; retried next pass");
                None
            }
        }
    }

    /// Commits `change` unless a request changed the same records meanwhile (the outcome is
    /// applied again next pass).
    async fn commit_outcome(&self, change: crate::handlers::Change) {
        let mut w = self.engine.lock().await;
        if let Err(e) = w.commit(change).await {
            tracing::debug!(error = %e, "outcome not recorded (changed meanwhile); next pass");
        }
    }

    /// Writes the `busy` entry of every record with an operation outstanding that has none
    /// (records written before the index existed); run once before the first pass.
    pub async fn reindex_busy(&self) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        // Index entries of every project, no events.
        let mut ch = crate::handlers::Change::none();
        let store = self.reader.store();
        for (key, v) in self.reader.all_volumes()? {
            let busy = crate::handlers::busy_volume(&key);
            if v.value.volume.in_flight.is_some() && BUSY.get(store, &busy)?.is_none() {
                ch.put(BUSY, &busy, &(), accord_store::Expect::Any)?;
            }
        }
        for (key, s) in self.reader.all_snapshots()? {
            let busy = crate::handlers::busy_snapshot(&key);
            if crate::handlers::snapshot_busy(&s.value) && BUSY.get(store, &busy)?.is_none() {
                ch.put(BUSY, &busy, &(), accord_store::Expect::Any)?;
            }
        }
        for m in self.reader.all_migrations()? {
            let busy = migrations::busy_migration(&crate::trees::migration_key(m.project, m.id));
            if matches!(
                m.phase,
                MigrationPhase::Running | MigrationPhase::RollingBack
            ) && BUSY.get(store, &busy)?.is_none()
            {
                ch.put(BUSY, &busy, &(), accord_store::Expect::Any)?;
            }
        }
        w.commit(ch).await
    }

    /// One pass over the records with an operation outstanding (the `busy` index) and the
    /// running migrations.
    pub async fn reconcile_once(&self) -> Result<(), DomainError> {
        let store = self.reader.store();
        for (busy, ()) in BUSY.list(store, "")?.into_iter().map(|(k, v)| (k, v.value)) {
            // `migration/` entries are driven below.
            // One record's trouble (a store error, a conflict) never stops the others.
            let outcome = if let Some(key) = busy.strip_prefix("volume/") {
                self.reconcile_volume(key).await
            } else if let Some(key) = busy.strip_prefix("snapshot/") {
                self.reconcile_snapshot(key).await
            } else {
                Ok(())
            };
            if let Err(e) = outcome {
                tracing::warn!(record = %busy, error = %e, "reconciling a storage record failed; next pass");
            }
        }
        for busy in BUSY.list(store, "migration/")?.into_iter().map(|(k, _)| k) {
            let Some(key) = busy.strip_prefix("migration/") else {
                continue;
            };
            if let Some(m) = crate::trees::MIGRATIONS.get(store, key)?
                && matches!(
                    m.value.phase,
                    MigrationPhase::Running | MigrationPhase::RollingBack
                )
                && let Err(e) = self.drive_migration(&m.value).await
            {
                tracing::warn!(migration = %m.value.id, error = %e, "driving a migration failed; next pass");
            }
        }
        Ok(())
    }

    /// Asks the back end about one volume's operation and records its answer.
    async fn reconcile_volume(&self, key: &str) -> Result<(), DomainError> {
        let store = self.reader.store();
        let Some(stored) = VOLUMES.get(store, key)? else {
            return Ok(());
        };
        let Some(op) = backend::volume_op(&stored.value) else {
            return Ok(());
        };
        let Some(status) = self.submit(op).await else {
            return Ok(());
        };
        // Re-read: a request may have changed the volume while the back end answered.
        let Some(now) = VOLUMES.get(store, key)? else {
            return Ok(());
        };
        if now.value.op_seq == stored.value.op_seq
            && let Some(ch) = backend::volume_outcome(&now, &status, self.driver.now_ms())
        {
            self.commit_outcome(ch).await;
        }
        Ok(())
    }

    /// Asks the back end about one snapshot's operation and records its answer.
    async fn reconcile_snapshot(&self, key: &str) -> Result<(), DomainError> {
        let store = self.reader.store();
        let Some(stored) = SNAPSHOTS.get(store, key)? else {
            return Ok(());
        };
        let Some(op) = backend::snapshot_op(&stored.value) else {
            return Ok(());
        };
        let Some(status) = self.submit(op).await else {
            return Ok(());
        };
        let Some(now) = SNAPSHOTS.get(store, key)? else {
            return Ok(());
        };
        if backend::snapshot_key(&now.value) == backend::snapshot_key(&stored.value)
            && let Some(ch) = backend::snapshot_outcome(&now, &status, self.driver.now_ms())
        {
            self.commit_outcome(ch).await;
        }
        Ok(())
    }

    /// Advances every volume of `m` that can move now, one step each.
    async fn drive_migration(&self, m: &StoredMigration) -> Result<(), DomainError> {
        let states = self.reader.migration_volumes(m.id)?;
        let plain: HashMap<String, MigrationState> = states
            .iter()
            .map(|(k, v)| (k.clone(), v.value.state.clone()))
            .collect();
        let p = progress(&m.plan, &plain);
        for planned in &m.plan.volumes {
            let Some(stored) = states.get(&planned.name) else {
                continue;
            };
            let state = &stored.value.state;
            let has_work = matches!(
                state,
                MigrationState::Copying { .. }
                    | MigrationState::Verifying { .. }
                    | MigrationState::CuttingOver { .. }
                    | MigrationState::Releasing { .. }
                    | MigrationState::RollingBack
            );
            let rolling_back = m.phase == MigrationPhase::RollingBack;
            let in_batch = p.current_batch == Some(planned.batch);
            let observation = if rolling_back
                && matches!(
                    state,
                    MigrationState::Pending
                        | MigrationState::Copying { .. }
                        | MigrationState::Copied { .. }
                        | MigrationState::Verifying { .. }
                        | MigrationState::Verified { .. }
                        | MigrationState::Failed { .. }
                ) {
                Observation::RollbackRequested
            } else if has_work
                || (!rolling_back
                    && in_batch
                    && match state {
                        MigrationState::Pending | MigrationState::Copied { .. } => true,
                        MigrationState::Verified { .. } => p.ready_to_cut_over,
                        _ => false,
                    })
            {
                Observation::Proceed
            } else {
                continue;
            };
            self.step(m, &planned.name, planned.size_bytes, observation)
                .await?;
        }
        // Finished? Read again: the steps above moved states.
        let Some(stored) = self.reader.migration(m.project, m.id)? else {
            return Ok(());
        };
        let states = self.reader.migration_volumes(m.id)?;
        let volumes = self.planned_volumes(&stored.value)?;
        let mut w = self.engine.lock().await;
        if let Some(ch) = migrations::finish(&stored, &states, &volumes)? {
            w.commit(ch).await?;
        }
        Ok(())
    }

    /// Moves one volume of `m` on: the observation's state is committed, then its step is
    /// submitted and, when finished, its outcome is observed and committed.
    async fn step(
        &self,
        m: &StoredMigration,
        planned: &str,
        size_bytes: u64,
        first: Observation,
    ) -> Result<(), DomainError> {
        let Some(r) = m.refs.get(planned) else {
            return Ok(());
        };
        let progress_key = format!("{}/{planned}", m.id);
        let (perform, retries) = {
            let mut w = self.engine.lock().await;
            let Some(stored) = self.migration_volume(m, planned)? else {
                return Ok(());
            };
            let volume = self.reader.volume(m.project, r.cluster, &r.name)?;
            let state = &stored.value.state;
            let proceed = matches!(first, Observation::Proceed);
            // A rollback accepted since this pass read the migration stops every forward step.
            let phase = self
                .reader
                .migration(m.project, m.id)?
                .map(|c| c.value.phase);
            if proceed
                && phase != Some(MigrationPhase::Running)
                && matches!(
                    state,
                    MigrationState::Pending
                        | MigrationState::Copied { .. }
                        | MigrationState::Verified { .. }
                )
            {
                return Ok(());
            }
            // No cut-over while the volume has an operation in flight: it names the source.
            if proceed
                && matches!(state, MigrationState::Verified { .. })
                && volume
                    .as_ref()
                    .is_some_and(|v| v.value.volume.in_flight.is_some())
            {
                return Ok(());
            }
            let retries = stored.value.retries;
            let a = advance(m, planned, &stored, first, None, volume.as_ref())?;
            if let Some(ch) = a.change {
                w.commit(ch).await?;
            }
            (a.perform, retries)
        };
        let Some(key) = perform else {
            return Ok(());
        };
        let deletes = matches!(key.step, Step::ReleaseSource | Step::DiscardTarget);
        let mut op_key = accord_storage::driver::step_key(&key);
        if deletes && retries > 0 {
            // Releases and discards run until they succeed; the back end keeps each key's
            // outcome, so a retry after a failure is a new key.
            op_key = format!("{op_key}-retry-{retries}");
        }
        let op = BackendOp {
            key: op_key,
            project: m.project.to_string(),
            region: self
                .reader
                .cluster(r.cluster)?
                .map(|c| c.value.region)
                .unwrap_or_default(),
            request: migrations::step_request(m, r, &key, size_bytes),
        };
        let Some(status) = self.submit(op).await else {
            return Ok(());
        };
        if let OpStatus::Running {
            done_bytes,
            total_bytes,
        } = &status
        {
            if let Ok(mut copying) = self.copying.lock() {
                copying.insert(progress_key, (*done_bytes, *total_bytes));
            }
            return Ok(());
        }
        if let Ok(mut copying) = self.copying.lock() {
            copying.remove(&progress_key);
        }
        let Some(obs) = observation(key.step, &status) else {
            return Ok(());
        };
        let failure = match (&status, &obs) {
            (OpStatus::Failed { reason }, _) => Some(format!("{}: {reason}", key_step_name(&key))),
            (_, Observation::Checksums { source, target, .. }) if source != target => {
                let short = |c: &accord_storage::migration::Checksum| {
                    c.0[..6]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                };
                Some(format!(
                    "verify: the copy's checksum does not match the source's ({}… ≠ {}…); the source stays in use",
                    short(target),
                    short(source)
                ))
            }
            _ => None,
        };
        let mut w = self.engine.lock().await;
        let Some(stored) = self.migration_volume(m, planned)? else {
            return Ok(());
        };
        if deletes && let Some(reason) = failure {
            // Retried next pass under a new key; the state stays (the machine re-issues it).
            let mut next = stored.value.clone();
            next.retries = next.retries.saturating_add(1);
            next.failure = Some(reason);
            let mut ch = crate::handlers::Change::in_project(m.project);
            ch.put(
                crate::trees::MIGRATION_VOLUMES,
                &crate::trees::migration_volume_key(m.id, planned),
                &next,
                accord_store::Expect::Version(stored.version),
            )?;
            w.commit(ch).await?;
            return Ok(());
        }
        let volume = self.reader.volume(m.project, r.cluster, &r.name)?;
        let a = advance(m, planned, &stored, obs, failure, volume.as_ref())?;
        if let Some(ch) = a.change {
            w.commit(ch).await?;
        }
        Ok(())
    }

    fn migration_volume(
        &self,
        m: &StoredMigration,
        planned: &str,
    ) -> Result<Option<Versioned<MigrationVolume>>, DomainError> {
        Ok(crate::trees::MIGRATION_VOLUMES.get(
            self.reader.store(),
            &crate::trees::migration_volume_key(m.id, planned),
        )?)
    }
}

fn key_step_name(key: &accord_storage::migration::StepKey) -> &'static str {
    use accord_storage::migration::Step;
    match key.step {
        Step::Copy { .. } => "copy",
        Step::Verify { .. } => "verify",
        Step::CutOver { .. } => "cut-over",
        Step::ReleaseSource => "release-source",
        Step::DiscardTarget => "discard-target",
    }
}
