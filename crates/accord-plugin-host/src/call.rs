//! Running one plugin call: a fresh store, instantiation from the cached `InstancePre`, the
//! export call, error classification and quarantine bookkeeping.
//!
//! Invariants:
//! - A plugin call never blocks a tokio worker and never takes longer than
//!   `HostConfig::call_timeout` as the caller sees it: it runs on `spawn_blocking` under an
//!   outer `tokio::time::timeout`, and the epoch deadline stops the wasm inside.
//! - A call that outlived its timeout keeps its concurrency slot until the blocking thread
//!   actually returns, so runaway calls cannot pile up beyond `max_concurrent_calls`.
//! - Load-time calls (`describe()`) run on a short-lived thread of their own: wasmtime-wasi's
//!   synchronous WASI drives futures with `Handle::block_on`, which panics on a tokio worker.

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmtime::{Engine, Store};

use crate::bindings::addon::{Addon, AddonPre};
use crate::bindings::policy::{RemediationPolicy, RemediationPolicyPre};
use crate::config::HostConfig;
use crate::error::{PluginError, classify};
use crate::health::Health;
use crate::store::{CallState, new_store};

/// What every loaded plugin shares with its host.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) config: HostConfig,
    pub(crate) permits: Arc<Semaphore>,
}

/// A world's pre-instantiated component.
pub(crate) trait World: Clone + Send + Sync + 'static {
    type Instance;
    fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Self::Instance>;
}

impl World for RemediationPolicyPre<CallState> {
    type Instance = RemediationPolicy;
    fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Self::Instance> {
        RemediationPolicyPre::instantiate(self, store)
    }
}

impl World for AddonPre<CallState> {
    type Instance = Addon;
    fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Self::Instance> {
        AddonPre::instantiate(self, store)
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

    /// Runs `f` against a fresh instance, with every limit of the sandbox.
    pub(crate) async fn call<R, F>(&self, op: &'static str, f: F) -> Result<R, PluginError>
    where
        R: Send + 'static,
        F: FnOnce(&W::Instance, &mut Store<CallState>) -> wasmtime::Result<R> + Send + 'static,
    {
        if let Some(reason) = self.health.quarantined() {
            return Err(PluginError::Quarantined {
                name: self.name.to_string(),
                reason: reason.to_owned(),
            });
        }
        let outcome = self.run(f).await;
        if let Err(err) = &outcome {
            tracing::debug!(plugin = %self.name, op, error = %err, "plugin call failed");
        }
        if self.health.record(&outcome) {
            tracing::warn!(
                plugin = %self.name,
                digest = %self.digest,
                op,
                reason = self.health.quarantined().unwrap_or_default(),
                "plugin quarantined"
            );
        }
        outcome
    }

    async fn run<R, F>(&self, f: F) -> Result<R, PluginError>
    where
        R: Send + 'static,
        F: FnOnce(&W::Instance, &mut Store<CallState>) -> wasmtime::Result<R> + Send + 'static,
    {
        let runtime_handle = tokio::runtime::Handle::try_current().map_err(|_| {
            PluginError::Engine("plugin calls must run inside a tokio runtime".to_owned())
        })?;
        // One deadline for the whole call as the caller sees it. Waiting for a slot is the
        // host's congestion, not the plugin's fault: it ends in `Engine`, which never counts
        // towards quarantine.
        let timeout = self.runtime.config.call_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let permit = match tokio::time::timeout_at(
            deadline,
            Arc::clone(&self.runtime.permits).acquire_owned(),
        )
        .await
        {
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
        let runtime = Arc::clone(&self.runtime);
        let world = self.world.clone();
        let name = Arc::clone(&self.name);
        let task = runtime_handle.spawn_blocking(move || {
            let _slot = permit;
            run_sync(&runtime, &world, name, f)
        });
        match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) => Err(PluginError::Engine(format!(
                "the plugin call's thread failed: {join}"
            ))),
            Err(_elapsed) => Err(PluginError::Timeout { after: timeout }),
        }
    }
}

/// A call at load time, before the plugin has a name: on its own thread (see the module
/// docs), bounded by the epoch deadline and the memory limit.
pub(crate) fn call_at_load<W, R, F>(runtime: &Runtime, world: &W, f: F) -> Result<R, PluginError>
where
    W: World,
    R: Send,
    F: FnOnce(&W::Instance, &mut Store<CallState>) -> wasmtime::Result<R> + Send,
{
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("accord-plugin-load".to_owned())
            .spawn_scoped(scope, || run_sync(runtime, world, "<loading>".into(), f))
            .map_err(|err| PluginError::Engine(format!("starting the load thread: {err}")))?
            .join()
            .map_err(|_| PluginError::Engine("the plugin load thread panicked".to_owned()))?
    })
}

fn run_sync<W, R, F>(runtime: &Runtime, world: &W, name: Arc<str>, f: F) -> Result<R, PluginError>
where
    W: World,
    F: FnOnce(&W::Instance, &mut Store<CallState>) -> wasmtime::Result<R>,
{
    let mut store = new_store(&runtime.engine, &runtime.config, Arc::clone(&name));
    let outcome = world
        .instantiate(&mut store)
        .and_then(|instance| f(&instance, &mut store));
    outcome.map_err(|err| {
        // The full chain (with the wasm backtrace) for whoever debugs the plugin; callers get
        // the classified error.
        tracing::debug!(plugin = %name, error = format!("{err:?}"), "plugin call did not complete");
        classify(&err, runtime.config.epoch_deadline)
    })
}
