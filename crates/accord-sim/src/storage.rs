//! [`SimStorage`]: the simulated storage back ends of a region behind
//! [`StorageDriver`] — persistent block disks and shared filesystems (VirtioFS or NFS), their
//! snapshots, and the VirtioFS → NFS migration steps (copy, verify, cut-over, release, discard).
//!
//! - **Operations by key.** [`StorageDriver::submit`] starts an operation the first time it
//!   sees its key and answers its status; a later submit of the key starts nothing. Outcomes
//!   (success or failure) are kept per key — the newest [`MAX_KEPT_OUTCOMES`] of them — and
//!   answer every later submit and [`StorageDriver::status`]. A key longer than
//!   [`MAX_OP_KEY_CHARS`] (or empty) fails at once and is not recorded.
//! - **The clock.** [`StorageDriver::now_ms`] is simulated time: real Unix milliseconds divided
//!   by the clock factor (0.001: a thousand times faster), so it keeps running across restarts
//!   of the process; it never goes back (the latest value is saved with every change). With clock
//!   factor 0 it is real time and every operation is instant. One clock factor per state file:
//!   another one moves the clock.
//! - **Durations** (simulated time; the fixed part is drawn in its range from a SHA-256 of the
//!   seed and the key, so a run is reproducible and a restart recomputes nothing differently):
//!
//! | operation | fixed part | size-dependent part |
//! |---|---|---|
//! | `create-volume` (disk) | 10–20 s | — |
//! | `create-volume` (shared filesystem) | 60–120 s | — |
//! | `create-volume` from a snapshot | as above | + the snapshot's size at 2 GiB/s |
//! | `expand-volume` | 8–12 s | — |
//! | `attach-volume` / `detach-volume` (disk) | 5–10 s | — |
//! | `attach-volume` / `detach-volume` (shared: mount, unmount) | 4–6 s | — |
//! | `delete-volume`, `release-source`, `discard-target` | 8–12 s | — |
//! | `create-snapshot` | 25–35 s | + the volume's size at 4 GiB/s |
//! | `delete-snapshot` | 8–12 s | — |
//! | `copy` | 60–120 s creating the NFS target if absent, else 1–2 s | + `size_bytes` at 1 GiB/s; `Running{done_bytes}` grows linearly |
//! | `verify` | 2–5 s | + the larger side at 2 GiB/s (both sides read in parallel) |
//! | `cut-over` | 8–12 s | — |
//!
//!   Deletes and detaches of something already gone succeed at once (CSI's idempotent
//!   `DeleteVolume` / `ControllerUnpublishVolume`).
//! - **Bookkeeping** (see `ops`): volumes (kind, size, mount, attachments, the identity of their
//!   data — a SHA-256 — and an incarnation), snapshots (the data they captured) and migration
//!   targets. A copy gives the target the source's data, so `verify` answers equal checksums
//!   unless a fault corrupted the copy. Refusals (attaching a volume that does not exist,
//!   deleting an attached one, expanding one being deleted, cutting over to a target holding no
//!   copy, releasing a source never cut over …) are `Failed` outcomes with bounded reasons: the
//!   service validates first, these are defence in depth.
//! - **Faults** ([`SimStorage::inject`], served by
//!   [`serve_faults_to`](crate::fault_server::serve_faults_to)):
//!
//! | kind | JSON | effect |
//! |---|---|---|
//! | `storage-fail-next` | `{"kind":"storage-fail-next","count":2,"operation":"copy"}` (`operation` optional) | the next `count` new keys of that operation (or of any) fail at their due time, having done nothing |
//! | `storage-hang-next` | `{"kind":"storage-hang-next","count":1,"operation":"attach-volume"}` (`operation` optional) | the next `count` accepted operations of that name (or any) never finish: `Running` forever (a hung copy stalls half-way) |
//! | `storage-corrupt-copy` | `{"kind":"storage-corrupt-copy","count":1}` | the next `count` accepted copies leave the target with data that differs from the source's |
//!
//!   `count` is at most [`MAX_FAULT_COUNT`] (0 disarms); injecting again replaces the count of
//!   the same scope. A failure is used before a hang, a hang before a corruption; an operation
//!   armed by name uses its own count before the `any` one.
//! - **Persistence.** With a state file ([`StorageSimConfig::state_file`]) everything above
//!   survives a restart (even `kill -9`): the file is replaced atomically (temp file, fsync,
//!   rename) on every change before the change is answered, and an operation in flight
//!   finishes at its due time in simulated time. The whole state is written each time, so a
//!   save costs in proportion to what is kept (outcomes dominate: ~15 MB at the cap).
//! - **Cancellation.** A copy in flight (hung or not) is cancelled — `Failed`, "cancelled: …" —
//!   by a later copy into the same target or by `discard-target` of its target; nothing else
//!   ends a hung operation.
//!
//! Invariants: nothing is acknowledged before it is saved (a failed save answers
//! `Unavailable`; the change stays in memory and the next save writes it); an operation's end
//! is applied once, in due order, under the back end's one lock; no lock is held across an
//! `.await` (the driver's futures do not wait).

mod ops;
mod state;
mod timing;

#[cfg(test)]
mod tests;

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use accord_core::infra::{InfraError, InfraFuture};
use accord_storage::driver::{BackendOp, MAX_OP_KEY_CHARS, OpRequest, OpStatus, StorageDriver};

pub use ops::{ECHO_CHARS, MAX_ATTACHMENTS, MAX_FIELD_CHARS};
pub use state::{
    MAX_IN_FLIGHT, MAX_KEPT_OUTCOMES, MAX_RESOURCES, SimSnapshot, SimVolume, SnapshotPhase,
    VolumePhase,
};
pub use timing::{
    COPY_BYTES_PER_SEC, RESTORE_BYTES_PER_SEC, SNAPSHOT_BYTES_PER_SEC, StoragePhase,
    VERIFY_BYTES_PER_SEC,
};

use crate::{
    error::{SimError, chain},
    faults::Fault,
    fleet::{SimConfig, SimFleet},
};
use ops::{Start, quote};
use state::{Fate, OpRecord, Pending, StorageState};
use timing::StorageTiming;

/// The largest `count` a storage fault accepts.
pub const MAX_FAULT_COUNT: u32 = 1000;

/// Every operation name ([`OpRequest::name`]), as `storage-fail-next` and `storage-hang-next`
/// accept them.
pub const OPERATION_NAMES: [&str; 12] = [
    "create-volume",
    "expand-volume",
    "attach-volume",
    "detach-volume",
    "delete-volume",
    "create-snapshot",
    "delete-snapshot",
    "copy",
    "verify",
    "cut-over",
    "release-source",
    "discard-target",
];

/// How a [`SimStorage`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageSimConfig {
    /// Real time per unit of simulated time (see [`SimConfig::clock_factor`]): 0.001 runs the
    /// back end's clock a thousand times faster than real time; 0 makes every operation
    /// instant.
    pub clock_factor: f64,
    /// Seed of the durations' jitter.
    pub seed: u64,
    /// Where the back ends' state is kept across restarts; `None`: in memory only. One live
    /// back end per file.
    pub state_file: Option<PathBuf>,
}

impl Default for StorageSimConfig {
    fn default() -> Self {
        StorageSimConfig {
            clock_factor: 1.0,
            seed: 0,
            state_file: None,
        }
    }
}

impl StorageSimConfig {
    /// The storage of a fleet configured with `fleet`: the same clock factor and seed, and a
    /// state file beside the fleet's (`fleet.json` → `fleet-storage.json`) when it has one.
    pub fn for_fleet(fleet: &SimConfig) -> Self {
        let state_file = fleet.state_file.as_ref().map(|path| {
            let mut name = path
                .file_stem()
                .map(|s| s.to_os_string())
                .unwrap_or_default();
            name.push("-storage.json");
            path.with_file_name(name)
        });
        StorageSimConfig {
            clock_factor: fleet.clock_factor,
            seed: fleet.seed,
            state_file,
        }
    }

    /// Sets [`StorageSimConfig::clock_factor`].
    pub fn with_clock_factor(mut self, clock_factor: f64) -> Self {
        self.clock_factor = clock_factor;
        self
    }

    /// Sets [`StorageSimConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`StorageSimConfig::state_file`].
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }
}

/// Where simulated time comes from.
#[derive(Debug, Clone)]
enum Clock {
    /// Real Unix ms divided by the factor (real ms when it is 0).
    Real { factor: f64 },
    /// Set by tests.
    #[cfg(test)]
    Manual(Arc<AtomicU64>),
}

impl Clock {
    fn read(&self) -> u64 {
        match self {
            Clock::Real { factor } => {
                let real_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64() * 1000.0)
                    .unwrap_or(0.0);
                let sim = if *factor > 0.0 {
                    real_ms / factor
                } else {
                    real_ms
                };
                // Saturating: a factor small enough to overflow u64 ms stops at u64::MAX.
                sim as u64
            }
            #[cfg(test)]
            Clock::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }
}

/// The simulated storage back ends.
pub struct SimStorage {
    config: StorageSimConfig,
    timing: StorageTiming,
    clock: Clock,
    /// The latest simulated time handed out.
    floor: AtomicU64,
    core: Mutex<Core>,
}

struct Core {
    state: StorageState,
    /// Changed since the last successful save.
    dirty: bool,
}

impl std::fmt::Debug for SimStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimStorage")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: &SimError) -> InfraError {
    InfraError::Unavailable(chain(error))
}

impl SimStorage {
    /// Back ends configured with `config`; with a state file, the saved state is loaded.
    pub fn new(config: StorageSimConfig) -> Result<SimStorage, SimError> {
        let clock = Clock::Real {
            factor: config.clock_factor,
        };
        Self::with_clock(config, clock)
    }

    /// The storage of `fleet` ([`StorageSimConfig::for_fleet`]).
    pub fn for_fleet(fleet: &Arc<SimFleet>) -> Result<SimStorage, SimError> {
        SimStorage::new(StorageSimConfig::for_fleet(fleet.config()))
    }

    fn with_clock(config: StorageSimConfig, clock: Clock) -> Result<SimStorage, SimError> {
        if !config.clock_factor.is_finite() || config.clock_factor < 0.0 {
            return Err(SimError::Config(format!(
                "clock_factor must be a finite number >= 0 (got {})",
                config.clock_factor
            )));
        }
        let mut state = match &config.state_file {
            Some(path) => state::load(path)?,
            None => StorageState::default(),
        };
        let mut dirty = false;
        if state.clock_factor != config.clock_factor {
            if state.in_flight > 0 {
                tracing::warn!(
                    saved = state.clock_factor,
                    now = config.clock_factor,
                    in_flight = state.in_flight,
                    "the simulated storage restarts with another clock factor: its clock moves, \
                     and operations in flight finish earlier or later than they would have"
                );
            }
            state.clock_factor = config.clock_factor;
            dirty = true;
        }
        tracing::info!(
            volumes = state.volumes.len(),
            snapshots = state.snapshots.len(),
            in_flight = state.in_flight,
            outcomes = state.finished.len(),
            "simulated storage ready"
        );
        Ok(SimStorage {
            timing: StorageTiming::new(config.clock_factor, config.seed),
            floor: AtomicU64::new(state.last_now_ms),
            clock,
            core: Mutex::new(Core { state, dirty }),
            config,
        })
    }

    /// The configuration the back ends run with.
    pub fn config(&self) -> &StorageSimConfig {
        &self.config
    }

    /// The back-end volume `name`, as it is now.
    pub fn volume(&self, name: &str) -> Option<SimVolume> {
        let mut core = self.settled();
        let volume = core.state.volumes.get(name).cloned();
        self.save_quietly(&mut core);
        volume
    }

    /// The back-end snapshot `name`, as it is now.
    pub fn snapshot(&self, name: &str) -> Option<SimSnapshot> {
        let mut core = self.settled();
        let snapshot = core.state.snapshots.get(name).cloned();
        self.save_quietly(&mut core);
        snapshot
    }

    /// How many new keys of operation `name` (`copy`, …) were submitted (each key counts once,
    /// however often it is submitted).
    pub fn submitted(&self, name: &str) -> u64 {
        self.lock().state.started.get(name).copied().unwrap_or(0)
    }

    /// Operations in flight (hung ones included).
    pub fn in_flight(&self) -> usize {
        self.settled().state.in_flight
    }

    /// Finished operations whose outcome is kept (at most [`MAX_KEPT_OUTCOMES`]).
    pub fn outcomes_kept(&self) -> usize {
        self.lock().state.finished.len()
    }

    /// Injects a storage fault ([`Fault::is_storage`]); returns a sentence saying what
    /// happened.
    pub fn inject(&self, fault: Fault) -> Result<String, SimError> {
        tracing::info!(?fault, "injecting storage fault");
        let kind = fault.kind();
        let mut core = self.lock();
        let message = match fault {
            Fault::StorageFailNext { count, operation } => {
                let operation = check_fault(count, operation.as_deref())?;
                core.state.fail_next.set(operation, count);
                format!(
                    "the next {count} {} operations will fail (simulated back-end failure)",
                    operation.unwrap_or("storage")
                )
            }
            Fault::StorageHangNext { count, operation } => {
                let operation = check_fault(count, operation.as_deref())?;
                core.state.hang_next.set(operation, count);
                format!(
                    "the next {count} {} operations will never finish (simulated hung back end)",
                    operation.unwrap_or("storage")
                )
            }
            Fault::StorageCorruptCopy { count } => {
                check_fault(count, None)?;
                core.state.corrupt_copies = count;
                format!(
                    "the next {count} copies will leave the target's data different from the \
                     source's"
                )
            }
            _ => {
                return Err(SimError::InvalidFault(format!(
                    "{kind} is not a fault of the simulated storage"
                )));
            }
        };
        core.dirty = true;
        self.save(&mut core)?;
        Ok(message)
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lock, with every operation due by now finished.
    fn settled(&self) -> MutexGuard<'_, Core> {
        let now = self.now();
        let mut core = self.lock();
        settle(&mut core, now);
        core
    }

    /// Simulated now, never below what was handed out before.
    fn now(&self) -> u64 {
        let now = self.clock.read();
        self.floor.fetch_max(now, Ordering::SeqCst).max(now)
    }

    fn save(&self, core: &mut Core) -> Result<(), SimError> {
        if !core.dirty {
            return Ok(());
        }
        core.state.last_now_ms = self.floor.load(Ordering::SeqCst);
        if let Some(path) = &self.config.state_file {
            state::save(path, &core.state)?;
        }
        core.dirty = false;
        Ok(())
    }

    /// Saves for a read-only call: a failure is logged (the next change saves again).
    fn save_quietly(&self, core: &mut Core) {
        if let Err(error) = self.save(core) {
            tracing::warn!(error = %chain(&error), "could not save the simulated storage");
        }
    }

    fn submit_now(&self, op: BackendOp) -> Result<OpStatus, InfraError> {
        if op.key.is_empty() || op.key.chars().count() > MAX_OP_KEY_CHARS {
            return Ok(OpStatus::Failed {
                reason: format!(
                    "invalid request: the operation key must be 1 to {MAX_OP_KEY_CHARS} \
                     characters"
                ),
            });
        }
        let now = self.now();
        let mut core = self.lock();
        settle(&mut core, now);
        if !core.state.ops.contains_key(&op.key) {
            self.begin(&mut core, &op, now);
            settle(&mut core, now);
        }
        let status = status_of(&core.state, &op.key, now);
        self.save(&mut core).map_err(|e| unavailable(&e))?;
        Ok(status.unwrap_or_else(|| OpStatus::Failed {
            reason: "the operation's outcome was not kept".to_owned(),
        }))
    }

    /// Starts the new key `op.key`.
    fn begin(&self, core: &mut Core, op: &BackendOp, now: u64) {
        core.dirty = true;
        let state = &mut core.state;
        let name = op.request.name();
        *state.started.entry(name.to_owned()).or_default() += 1;
        if let Err(reason) = ops::check_fields(op) {
            state.finish(&op.key, OpStatus::Failed { reason });
            return;
        }
        if state.in_flight >= MAX_IN_FLIGHT {
            state.finish(
                &op.key,
                OpStatus::Failed {
                    reason: format!(
                        "the back end is busy: {MAX_IN_FLIGHT} operations are in flight"
                    ),
                },
            );
            return;
        }
        if state.fail_next.take(name) {
            let (setup_ms, duration_ms) = ops::duration(state, &self.timing, &op.key, &op.request);
            let pending = Pending {
                request: op.request.clone(),
                project: op.project.clone(),
                region: op.region.clone(),
                start_ms: now,
                duration_ms,
                setup_ms,
                fate: Fate::Fail,
                incarnation: None,
                source_incarnation: None,
                content: None,
            };
            state.insert_pending(op.key.clone(), pending);
            return;
        }
        match ops::start(state, &self.timing, op, now) {
            Start::Now(outcome) => state.finish(&op.key, outcome),
            Start::Accepted(mut pending) => {
                if state.hang_next.take(name) {
                    pending.fate = Fate::Hang;
                } else if matches!(op.request, OpRequest::Copy { .. }) && state.corrupt_copies > 0 {
                    state.corrupt_copies -= 1;
                    pending.fate = Fate::Corrupt;
                }
                state.insert_pending(op.key.clone(), *pending);
            }
        }
    }
}

/// Checks a storage fault's parameters; answers the operation name.
fn check_fault(count: u32, operation: Option<&str>) -> Result<Option<&'static str>, SimError> {
    if count > MAX_FAULT_COUNT {
        return Err(SimError::InvalidFault(format!(
            "count must be at most {MAX_FAULT_COUNT} (got {count})"
        )));
    }
    operation
        .map(|name| {
            OPERATION_NAMES
                .into_iter()
                .find(|known| *known == name)
                .ok_or_else(|| {
                    SimError::InvalidFault(format!(
                        "{} is not a storage operation (use one of {})",
                        quote(name),
                        OPERATION_NAMES.join(", ")
                    ))
                })
        })
        .transpose()
}

/// Finishes every operation due by `now`, in due order.
fn settle(core: &mut Core, now: u64) {
    while let Some(first) = core.state.due.first().cloned() {
        let (due, _, key) = &first;
        if *due > now {
            break;
        }
        core.state.due.remove(&first);
        let Some(pending) = core.state.pending(key).cloned() else {
            continue;
        };
        let outcome = ops::finish(&mut core.state, key, &pending);
        core.state.finish(key, outcome);
        core.dirty = true;
    }
}

/// The status of `key` at `now` (`None`: unknown).
fn status_of(state: &StorageState, key: &str, now: u64) -> Option<OpStatus> {
    match state.ops.get(key)? {
        OpRecord::Pending { op, .. } => Some(ops::progress(op, now)),
        OpRecord::Finished { outcome, .. } => Some(outcome.clone()),
    }
}

impl StorageDriver for SimStorage {
    fn submit(&self, op: BackendOp) -> InfraFuture<'_, OpStatus> {
        Box::pin(async move { self.submit_now(op) })
    }

    fn status(&self, key: String) -> InfraFuture<'_, Option<OpStatus>> {
        Box::pin(async move {
            let now = self.now();
            let mut core = self.lock();
            settle(&mut core, now);
            let status = status_of(&core.state, &key, now);
            self.save(&mut core).map_err(|e| unavailable(&e))?;
            Ok(status)
        })
    }

    fn now_ms(&self) -> u64 {
        self.now()
    }
}
