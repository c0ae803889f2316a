//! [`SimFleet`]: the simulated provider behind the [`InfraDriver`] trait.
//!
//! The fleet is a thin concurrent shell around the pure state machines in
//! `lifecycle`, `control_plane`, `repair`, `impacts` and [`crate::faults`]: each call takes the state lock, applies one
//! function, saves the state file when something changed, queues the resulting events for
//! delivery and releases the lock. A scheduler task wakes when the earliest pending transition
//! falls due and completes it the same way.
//!
//! Invariants:
//! - Operations return as soon as they are accepted; progress arrives as events. Like any
//!   future, an operation does nothing until it is polled.
//! - With a state file, nothing is acknowledged before it is saved: an operation whose change
//!   cannot be written fails with [`InfraError::Unavailable`] (the change stays in memory and
//!   the next successful save writes it; a retry is idempotent).
//! - Events are queued in state-change order and delivered in that order (see the
//!   `delivery` module).
//! - After a `SimFleet` is dropped its tasks stop and it writes nothing more, so a new fleet can
//!   take over the same state file.
//! - A node whose required flows its cluster's VPC firewall blocks is not Ready: a linked
//!   [`SimVpc`](crate::SimVpc) installs each cluster's firewall (`set_network_gate`), and every
//!   operation ends with `vpc::effect`'s check of the readiness it reports. The firewalls are
//!   not kept in the fleet's state file: the VPC installs them again when it is linked.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId},
    infra::{
        Catalog, ControlPlaneRequest, InfraDriver, InfraError, InfraEventSink, InfraFuture,
        InfraSnapshot, Mitigation, NodeRequest, RepairRequest,
    },
    validation::KubeVersion,
};
use accord_firewall::Firewall;
use rand::{SeedableRng, rngs::StdRng};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::{
    catalog::default_catalog,
    control_plane,
    delivery::{self, Delivery, DeliveryQueue},
    error::{SimError, chain},
    faults::{self, Fault},
    impacts,
    lifecycle::{self, Ctx},
    repair,
    state::{self, FleetState, Instance},
    timing::Timing,
    vpc::effect::NetworkGates,
};

/// How a [`SimFleet`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Multiplier on every operation's real-world duration: 1.0 = real time, 0.001 = a thousand
    /// times faster, 0.0 = instant. Must be finite and ≥ 0.
    pub clock_factor: f64,
    /// Seed of every random choice (jitter, GPU UUIDs, telemetry values).
    pub seed: u64,
    /// Where the fleet keeps its state across restarts; `None` keeps it in memory only. One
    /// live fleet per file: a second fleet on the same file would overwrite the first's saves.
    pub state_file: Option<PathBuf>,
    /// How often each node agent publishes a sample (wall-clock time, not scaled).
    pub telemetry_interval: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            clock_factor: 1.0,
            seed: 0,
            state_file: None,
            telemetry_interval: Duration::from_secs(10),
        }
    }
}

impl SimConfig {
    /// Sets [`SimConfig::clock_factor`].
    pub fn with_clock_factor(mut self, clock_factor: f64) -> Self {
        self.clock_factor = clock_factor;
        self
    }

    /// Sets [`SimConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`SimConfig::state_file`].
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Sets [`SimConfig::telemetry_interval`].
    pub fn with_telemetry_interval(mut self, interval: Duration) -> Self {
        self.telemetry_interval = interval;
        self
    }

    fn validate(&self) -> Result<(), SimError> {
        if !self.clock_factor.is_finite() || self.clock_factor < 0.0 {
            return Err(SimError::Config(format!(
                "clock_factor must be a finite number >= 0 (got {})",
                self.clock_factor
            )));
        }
        if self.telemetry_interval.is_zero() {
            return Err(SimError::Config(
                "telemetry_interval must be longer than zero".to_owned(),
            ));
        }
        Ok(())
    }
}

/// One instance as `accord.cmd.sim.fleet.list` and [`SimFleet::instances`] show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetInstance {
    /// Node id.
    pub node: NodeId,
    /// Node name.
    pub name: String,
    /// Cluster.
    pub cluster: ClusterId,
    /// Node pool.
    pub pool: NodePoolId,
    /// Instance type.
    pub instance_type: String,
    /// Provider instance id.
    pub instance_id: String,
    /// Lifecycle phase: `provisioning`, `running`, `draining`, `terminating`.
    pub state: String,
    /// Kubelet Ready.
    pub ready: bool,
    /// Drained (cordoned) by the provider.
    pub drained: bool,
    /// Failure domain.
    pub failure_domain: String,
    /// Internal IP.
    pub ip: String,
    /// Active faults, e.g. `kubelet-stopped`, `gpu3-xid-48`, `ib2-down`, and a running repair
    /// (`repair-reset-gpu3`, `repair-reboot-node`) or a failed reboot (`reboot-failed`), and
    /// the required flows the VPC firewall blocks (`vpc-blocks-kubelet`,
    /// `vpc-blocks-api-server`, `vpc-blocks-kubelet-and-api-server`).
    pub faults: Vec<String>,
}

impl From<&Instance> for FleetInstance {
    fn from(i: &Instance) -> Self {
        FleetInstance {
            node: i.node,
            name: i.name.clone(),
            cluster: i.cluster,
            pool: i.pool,
            instance_type: i.instance_type.clone(),
            instance_id: i.instance_id.clone(),
            state: i.phase.as_str().to_owned(),
            ready: i.ready,
            drained: i.drained,
            failure_domain: i.failure_domain.clone(),
            ip: i.internal_ip.to_string(),
            faults: i.active_faults(),
        }
    }
}

/// The simulated GPU cloud.
pub struct SimFleet {
    inner: Arc<Inner>,
    wake: Arc<Notify>,
}

struct Inner {
    config: SimConfig,
    catalog: Catalog,
    timing: Timing,
    core: Mutex<Core>,
    queue: DeliveryQueue,
}

struct Core {
    state: FleetState,
    rng: StdRng,
    /// Changed since the last successful save.
    dirty: bool,
    /// The owning `SimFleet` was dropped: change nothing more.
    closed: bool,
    /// The VPC firewall of each cluster a linked `SimVpc` installed (not persisted: the VPC
    /// installs them again when it is linked).
    network: NetworkGates,
}

impl std::fmt::Debug for SimFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimFleet")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Now, Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SimFleet {
    /// A fleet with the [default catalogue](default_catalog). Must be called inside a tokio
    /// runtime. With a state file, the saved fleet is loaded and its pending transitions resume.
    pub fn new(config: SimConfig) -> Result<SimFleet, SimError> {
        SimFleet::with_catalog(config, default_catalog())
    }

    /// A fleet offering `catalog` instead of the default one.
    pub fn with_catalog(config: SimConfig, catalog: Catalog) -> Result<SimFleet, SimError> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| SimError::NoRuntime)?;
        let state = match &config.state_file {
            Some(path) => state::load(path)?,
            None => FleetState::default(),
        };
        tracing::info!(
            instances = state.instances.len(),
            control_planes = state.control_planes.len(),
            clock_factor = config.clock_factor,
            "simulated fleet ready"
        );
        let queue = delivery::spawn(&runtime);
        let inner = Arc::new(Inner {
            timing: Timing::new(config.clock_factor),
            core: Mutex::new(Core {
                state,
                rng: StdRng::seed_from_u64(config.seed),
                dirty: false,
                closed: false,
                network: NetworkGates::default(),
            }),
            config,
            catalog,
            queue,
        });
        let wake = Arc::new(Notify::new());
        runtime.spawn(schedule(Arc::downgrade(&inner), Arc::clone(&wake)));
        Ok(SimFleet { inner, wake })
    }

    /// The configuration the fleet runs with.
    pub fn config(&self) -> &SimConfig {
        &self.inner.config
    }

    /// Injects a fault; returns a sentence saying what happened.
    pub fn inject(&self, fault: Fault) -> Result<String, SimError> {
        tracing::info!(?fault, "injecting fault");
        let result = self
            .inner
            .with_state(|state, ctx| faults::apply(state, ctx, fault));
        self.wake.notify_one();
        let (message, saved) = result;
        let message = message?;
        saved?;
        Ok(message)
    }

    /// Every instance, ordered by node id.
    pub fn instances(&self) -> Vec<FleetInstance> {
        let core = self.inner.lock();
        core.state
            .instances
            .values()
            .map(|i| {
                let mut instance = FleetInstance::from(i);
                if let Some(block) = core.network.blocked(i) {
                    instance.faults.push(block.tag().to_owned());
                }
                instance
            })
            .collect()
    }

    /// Installs (`Some`) or removes (`None`) the VPC firewall `cluster`'s nodes sit behind, and
    /// re-evaluates their readiness (a node whose required flows it blocks goes NotReady; one
    /// it no longer blocks goes Ready when nothing else keeps it NotReady).
    pub(crate) fn set_network_gate(
        &self,
        cluster: ClusterId,
        gate: Option<Arc<Firewall>>,
    ) -> Result<(), SimError> {
        let mut core = self.inner.lock();
        if core.closed {
            return Ok(());
        }
        core.network.set(cluster, gate);
        let ((), saved) = self.inner.apply(&mut core, |_, _| ());
        saved
    }

    /// Instances that are up and powered on (their node agent runs), for [`crate::agent`].
    pub(crate) fn running_instances(&self) -> Vec<Instance> {
        self.inner
            .lock()
            .state
            .instances
            .values()
            .filter(|i| i.phase.is_up() && !i.powered_off())
            .cloned()
            .collect()
    }

    /// The catalogue (without cloning through the trait).
    pub fn catalog_ref(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// Runs one driver operation and maps a failed save to `Unavailable`.
    fn operate(
        &self,
        op: impl FnOnce(&mut FleetState, &mut Ctx<'_>) -> Result<(), InfraError>,
    ) -> Result<(), InfraError> {
        let (result, saved) = self.inner.with_state(op);
        self.wake.notify_one();
        result?;
        saved.map_err(|error| InfraError::Unavailable(chain(&error)))
    }
}

impl Drop for SimFleet {
    fn drop(&mut self) {
        // Under the lock: a scheduler pass in progress finishes first, none runs afterwards.
        self.inner.lock().closed = true;
        self.wake.notify_one();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `f` under the lock, saves when the state changed, queues the events. Returns
    /// `f`'s result and the save result.
    fn with_state<T>(
        &self,
        f: impl FnOnce(&mut FleetState, &mut Ctx<'_>) -> T,
    ) -> (T, Result<(), SimError>) {
        let mut guard = self.lock();
        self.apply(&mut guard, f)
    }

    /// [`Inner::with_state`] with the lock already held.
    fn apply<T>(
        &self,
        core: &mut Core,
        f: impl FnOnce(&mut FleetState, &mut Ctx<'_>) -> T,
    ) -> (T, Result<(), SimError>) {
        let mut ctx = Ctx::new(&self.catalog, self.timing, &mut core.rng, now_ms());
        let value = f(&mut core.state, &mut ctx);
        core.network.enforce(&mut core.state, &mut ctx);
        let Ctx {
            events, changed, ..
        } = ctx;
        if changed {
            core.dirty = true;
        }
        let saved = self.save(core);
        for event in events {
            if self.queue.send(Delivery::Event(event)).is_err() {
                tracing::error!("event delivery stopped; dropping an infra event");
            }
        }
        (value, saved)
    }

    fn save(&self, core: &mut Core) -> Result<(), SimError> {
        if !core.dirty {
            return Ok(());
        }
        if let Some(path) = &self.config.state_file {
            state::save(path, &core.state)?;
        }
        core.dirty = false;
        Ok(())
    }
}

/// The scheduler: completes transitions as they fall due, until the fleet is dropped.
async fn schedule(inner: Weak<Inner>, wake: Arc<Notify>) {
    /// Retry delay after a failed save, and the longest sleep (a safety net for clock jumps).
    const RETRY: Duration = Duration::from_secs(1);
    const MAX_SLEEP: Duration = Duration::from_secs(60);
    loop {
        let sleep = {
            let Some(inner) = inner.upgrade() else { return };
            let mut core = inner.lock();
            if core.closed {
                return;
            }
            let (next, saved) = inner.apply(&mut core, |state, ctx| {
                lifecycle::complete_due(state, ctx);
                lifecycle::next_due(state)
            });
            drop(core);
            let mut sleep = match next {
                Some(due) => {
                    Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0))
                }
                None => MAX_SLEEP,
            };
            if let Err(error) = saved {
                tracing::error!(error = %chain(&error), "could not save the fleet state; retrying");
                sleep = sleep.min(RETRY);
            }
            sleep.min(MAX_SLEEP)
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

impl InfraDriver for SimFleet {
    fn catalog(&self) -> Catalog {
        self.inner.catalog.clone()
    }

    fn subscribe(&self, sink: InfraEventSink) {
        if self.inner.queue.send(Delivery::Subscribe(sink)).is_err() {
            tracing::error!("event delivery stopped; the subscription is lost");
        }
    }

    fn snapshot(&self) -> InfraSnapshot {
        lifecycle::snapshot(&self.inner.lock().state)
    }

    fn ensure_control_plane(&self, req: ControlPlaneRequest) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| control_plane::ensure_control_plane(state, ctx, req))
        })
    }

    fn upgrade_control_plane(
        &self,
        cluster: ClusterId,
        version: KubeVersion,
    ) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| {
                control_plane::upgrade_control_plane(state, ctx, cluster, version)
            })
        })
    }

    fn delete_control_plane(&self, cluster: ClusterId) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| control_plane::delete_control_plane(state, ctx, cluster))
        })
    }

    fn provision_node(&self, req: NodeRequest) -> InfraFuture<'_, ()> {
        Box::pin(
            async move { self.operate(|state, ctx| lifecycle::provision_node(state, ctx, req)) },
        )
    }

    fn drain_node(&self, node: NodeId) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| {
                lifecycle::drain_node(state, ctx, node);
                Ok(())
            })
        })
    }

    fn terminate_node(&self, node: NodeId) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| {
                lifecycle::terminate_node(state, ctx, node);
                Ok(())
            })
        })
    }

    fn repair_node(&self, req: RepairRequest) -> InfraFuture<'_, ()> {
        Box::pin(async move { self.operate(|state, ctx| repair::repair_node(state, ctx, req)) })
    }

    fn replace_replica(&self, cluster: ClusterId, replica: String) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| control_plane::replace_replica(state, ctx, cluster, &replica))
        })
    }

    fn mitigate(
        &self,
        cluster: ClusterId,
        component: String,
        mitigation: Mitigation,
    ) -> InfraFuture<'_, ()> {
        Box::pin(async move {
            self.operate(|state, ctx| {
                impacts::mitigate(state, ctx, cluster, &component, mitigation)
            })
        })
    }
}
