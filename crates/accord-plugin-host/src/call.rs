//! Running one plugin call: a fresh store, instantiation from the cached `InstancePre`, the
//! export call, error classification and quarantine bookkeeping.
//!
//! Calls run on the caller's own task, with wasmtime's async API: the wasm runs on a fiber
//! (its stack pooled like instances and memories) and yields back to the executor at every
//! epoch tick (see `store`), so there is no hop to another thread.
//!
//! Invariants:
//! - A plugin's wasm never holds a tokio worker for longer than one epoch tick
//!   ([`EPOCH_TICK`](crate::config::EPOCH_TICK)) at a time; the host's own part of a call
//!   (store, instantiation, releasing the instance) is bounded work, not plugin code. A call
//!   never takes longer than `HostConfig::call_timeout` as the caller sees it: the whole call
//!   (waiting for a slot included) runs under an outer `tokio::time::timeout`, and the epoch
//!   deadline interrupts the wasm inside.
//! - A call that is dropped — its timeout expired, or the caller stopped waiting — is
//!   cancelled: the wasm does not run again, and its store, instance and concurrency slot are
//!   freed with the future. Runaway calls therefore cannot pile up beyond
//!   `max_concurrent_calls`.
//! - Load-time calls (`describe()`) run on a short-lived thread of their own with a
//!   single-threaded tokio runtime: loading is synchronous, and may be called from a tokio
//!   worker, where blocking on a runtime would panic.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::{Engine, Store};

use crate::bindings::addon::{Addon, AddonPre};
use crate::bindings::{policy_v01, policy_v02};
use crate::config::HostConfig;
use crate::error::{PluginError, classify};
use crate::health::{Health, Quarantined};
use crate::store::{CallState, new_store};

/// What every loaded plugin shares with its host.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) config: HostConfig,
    pub(crate) permits: Semaphore,
}

/// A world's pre-instantiated component.
pub(crate) trait World: Send + Sync + 'static {
    type Instance: Send;
    fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send;
}

impl World for policy_v02::RemediationPolicyPre<CallState> {
    type Instance = policy_v02::RemediationPolicy;
    fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send {
        policy_v02::RemediationPolicyPre::instantiate_async(self, store)
    }
}

impl World for policy_v01::RemediationPolicyPre<CallState> {
    type Instance = policy_v01::RemediationPolicy;
    fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send {
        policy_v01::RemediationPolicyPre::instantiate_async(self, store)
    }
}

impl World for AddonPre<CallState> {
    type Instance = Addon;
    fn instantiate(
        &self,
        store: &mut Store<CallState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Instance>> + Send {
        AddonPre::instantiate_async(self, store)
    }
}

/// One loaded plugin of world `W`: shared by all clones of the public handle.
pub(crate) struct Loaded<W> {
    runtime: Arc<Runtime>,
    world: W,
    pub(crate) name: Arc<str>,
    pub(crate) digest: String,
    pub(crate) health: Health,
}

impl<W: World> Loaded<W> {
    pub(crate) fn new(runtime: Arc<Runtime>, world: W, name: &str, digest: String) -> Self {
        let health = Health::new(runtime.config.quarantine_after);
        Self {
            runtime,
            world,
            name: name.into(),
            digest,
            health,
        }
    }

    /// Runs `f` against a fresh instance, with every limit of the sandbox. `f` gets the
    /// instance and its store by value and calls one export.
    pub(crate) async fn call<R, F, Fut>(
        &self,
        op: &'static str,
        caller: Option<&str>,
        f: F,
    ) -> Result<R, PluginError>
    where
        F: FnOnce(W::Instance, Store<CallState>) -> Fut,
        Fut: Future<Output = wasmtime::Result<R>>,
    {
        if let Some(reason) = self.health.quarantined_for(caller) {
            return Err(PluginError::Quarantined {
                name: self.name.to_string(),
                reason,
            });
        }
        let outcome = self.run(f).await;
        if let Err(err) = &outcome {
            tracing::debug!(plugin = %self.name, op, caller, error = %err, "plugin call failed");
        }
        match self.health.record(caller, &outcome) {
            Quarantined::Nothing => {}
            Quarantined::Caller => tracing::warn!(
                plugin = %self.name,
                digest = %self.digest,
                op,
                caller,
                "plugin quarantined for one tenant; other tenants' calls still run"
            ),
            Quarantined::Everyone => tracing::warn!(
                plugin = %self.name,
                digest = %self.digest,
                op,
                reason = self.health.quarantined().unwrap_or_default(),
                "plugin quarantined"
            ),
        }
        outcome
    }

    async fn run<R, F, Fut>(&self, f: F) -> Result<R, PluginError>
    where
        F: FnOnce(W::Instance, Store<CallState>) -> Fut,
        Fut: Future<Output = wasmtime::Result<R>>,
    {
        // The timers below need a runtime (with its time driver): outside one, a typed error
        // instead of tokio's panic.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(PluginError::Engine(
                "plugin calls must run inside a tokio runtime".to_owned(),
            ));
        }
        // One deadline for the whole call as the caller sees it. Waiting for a slot is the
        // host's congestion, not the plugin's fault: it ends in `Engine`, which never counts
        // towards quarantine.
        let timeout = self.runtime.config.call_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let _slot = match tokio::time::timeout_at(deadline, self.runtime.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => {
                return Err(PluginError::Engine(
                    "the plugin host is shutting down".to_owned(),
                ));
            }
            Err(_elapsed) => {
                return Err(PluginError::Engine(format!(
                    "every plugin call slot stayed busy for {timeout:?}"
                )));
            }
        };
        // Dropping the call at the deadline cancels the wasm (see the module docs). The wasm
        // yields at every epoch tick, so the deadline is noticed within a tick.
        tokio::time::timeout_at(
            deadline,
            run_in_store(&self.runtime, &self.world, Arc::clone(&self.name), f),
        )
        .await
        .unwrap_or(Err(PluginError::Timeout { after: timeout }))
    }
}

/// A call at load time, before the plugin has a name: on its own thread with a
/// single-threaded runtime (see the module docs), bounded by the epoch deadline, the memory
/// limit and the call timeout.
pub(crate) fn call_at_load<W, R, F, Fut>(
    runtime: &Runtime,
    world: &W,
    f: F,
) -> Result<R, PluginError>
where
    W: World,
    R: Send,
    F: FnOnce(W::Instance, Store<CallState>) -> Fut + Send,
    Fut: Future<Output = wasmtime::Result<R>>,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("accord-plugin-load".to_owned())
            .spawn_scoped(scope, || {
                let executor = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|err| {
                        PluginError::Engine(format!("starting the load runtime: {err}"))
                    })?;
                let timeout = runtime.config.call_timeout;
                executor.block_on(async {
                    tokio::time::timeout(
                        timeout,
                        run_in_store(runtime, world, "<loading>".into(), f),
                    )
                    .await
                    .unwrap_or(Err(PluginError::Timeout { after: timeout }))
                })
            })
            .map_err(|err| PluginError::Engine(format!("starting the load thread: {err}")))?
            .join()
            .map_err(|_| PluginError::Engine("the plugin load thread panicked".to_owned()))?
    })
}

/// A fresh store, an instance in it, and `f`; wasmtime errors classified.
async fn run_in_store<W, R, F, Fut>(
    runtime: &Runtime,
    world: &W,
    name: Arc<str>,
    f: F,
) -> Result<R, PluginError>
where
    W: World,
    F: FnOnce(W::Instance, Store<CallState>) -> Fut,
    Fut: Future<Output = wasmtime::Result<R>>,
{
    let mut store = new_store(&runtime.engine, &runtime.config, Arc::clone(&name));
    let outcome = match world.instantiate(&mut store).await {
        Ok(instance) => f(instance, store).await,
        Err(err) => Err(err),
    };
    outcome.map_err(|err| {
        // The full chain (with the wasm backtrace) for whoever debugs the plugin; callers get
        // the classified error.
        tracing::debug!(plugin = %name, error = format!("{err:?}"), "plugin call did not complete");
        classify(&err, runtime.config.epoch_deadline)
    })
}
