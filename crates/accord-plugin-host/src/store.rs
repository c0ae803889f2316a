//! What one plugin call runs in: a fresh [`Store`] holding [`CallState`] — a WASI 0.2 context
//! that offers nothing, the memory limiter, and the plugin's name for its log lines.
//!
//! Invariants:
//! - Every call gets a new store; nothing a plugin does survives the call.
//! - Wasm in a store runs at most one epoch tick at a time: at every tick the epoch callback
//!   either yields to the caller's executor (so a spinning plugin never holds a tokio worker
//!   for longer than [`EPOCH_TICK`](crate::config::EPOCH_TICK)) or, once
//!   `HostConfig::epoch_deadline` has passed since the store was made, interrupts the wasm
//!   (`Trap::Interrupt`).
//! - WASI offers no preopened directories, no environment, no arguments, no stdin, no
//!   network (TCP, UDP and name lookup denied, every address refused); stdout and stderr go
//!   nowhere.
//! - Plugins are pure functions: clocks are frozen at the UNIX epoch and "random" bytes are a
//!   fixed sequence, so the same input gives the same output.
//! - Linear memory is capped at `HostConfig::memory_limit` summed over the store's memories; a
//!   refused grow traps at once with [`LimitExceeded`] (not a `Trap`, so `classify` looks for
//!   this type).

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{
    ResourceLimiter, Store, StoreContextMut, StoreLimits, StoreLimitsBuilder, UpdateDeadline,
};
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView,
    WasiView,
};

use crate::config::HostConfig;
use crate::log::LogBudget;

/// Core instances, memories and tables one store may create. A Rust `wasm32-wasip2` component
/// has a handful of core instances and tables and one memory.
pub(crate) const MAX_INSTANCES: usize = 16;
pub(crate) const MAX_MEMORIES: usize = 2;
pub(crate) const MAX_TABLES: usize = 16;
/// Elements per table: far above what rustc emits, small enough to bound host memory.
pub(crate) const MAX_TABLE_ELEMENTS: usize = 20_000;

/// A resource limit was hit: the error the limiter returns so the call traps at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LimitExceeded {
    #[error("memory limit exceeded: growing to {desired} bytes, limit {limit}")]
    Memory { desired: usize, limit: usize },
    #[error("table limit exceeded: growing to {desired} elements, limit {limit}")]
    Table { desired: usize, limit: usize },
}

/// A plugin called a WASI function the host refuses (see `linker`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin called `{0}`, which plugins may not use")]
pub(crate) struct HostDenied(pub(crate) &'static str);

/// The data of one call's [`Store`].
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    /// The plugin's name (or `<loading>` during `describe()`), a field on every log line.
    pub(crate) plugin: Arc<str>,
    pub(crate) log_budget: LogBudget,
    /// When the epoch deadline of this call has passed.
    interrupt_at: Instant,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A fresh store for one call: limits, the epoch callback (yield each tick, trap at the
/// deadline) and an empty WASI. The call's epoch deadline starts now.
pub(crate) fn new_store(
    engine: &wasmtime::Engine,
    config: &HostConfig,
    plugin: Arc<str>,
) -> Store<CallState> {
    let state = CallState {
        wasi: sealed_wasi(),
        table: ResourceTable::new(),
        limits: Limits::new(config.memory_limit),
        plugin,
        log_budget: LogBudget::default(),
        interrupt_at: Instant::now() + config.epoch_deadline,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.epoch_deadline_callback(on_epoch_tick);
    store.set_epoch_deadline(1);
    store
}

/// Runs in the store each time the epoch advanced past its deadline, i.e. once per tick while
/// wasm runs: interrupt when the call's epoch deadline has passed, else yield to the executor
/// and run on for one more tick. `tokio::task::yield_now` (not a plain self-wake) lets the
/// runtime poll its timer and I/O drivers before the call resumes, so the outer timeout and
/// the worker's other tasks get their turn even on a single-threaded runtime.
fn on_epoch_tick(store: StoreContextMut<'_, CallState>) -> wasmtime::Result<UpdateDeadline> {
    if Instant::now() >= store.data().interrupt_at {
        Ok(UpdateDeadline::Interrupt)
    } else {
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    }
}

/// The WASI context of a plugin call: everything denied or emptied.
fn sealed_wasi() -> WasiCtx {
    let mut builder = WasiCtxBuilder::new();
    // The builder's defaults already mean: stdin closed, stdout/stderr discarded, no env, no
    // args, no preopens, name lookup denied. Sockets are denied explicitly so that a change
    // of defaults cannot open them.
    builder
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .wall_clock(FrozenClock)
        .monotonic_clock(FrozenClock)
        .secure_random(Deterministic::new(FIXED_RANDOM.to_vec()))
        .insecure_random(Deterministic::new(FIXED_RANDOM.to_vec()))
        .insecure_random_seed(0);
    builder.build()
}

/// The "random" bytes plugins see, repeated.
const FIXED_RANDOM: [u8; 8] = [0x41, 0x63, 0x63, 0x6f, 0x72, 0x64, 0x21, 0x00];

/// A clock that never moves: plugins decide from their inputs, not from the time.
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// [`StoreLimits`] (per-memory cap, instance/table/memory counts) plus a cap on the total over
/// all memories, turning every refusal into a [`LimitExceeded`] trap.
struct Limits {
    inner: StoreLimits,
    memory_limit: usize,
    memory_total: usize,
}

impl Limits {
    fn new(memory_limit: usize) -> Self {
        Self {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_limit)
                .table_elements(MAX_TABLE_ELEMENTS)
                .instances(MAX_INSTANCES)
                .memories(MAX_MEMORIES)
                .tables(MAX_TABLES)
                .build(),
            memory_limit,
            memory_total: 0,
        }
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_sub(current)
            .saturating_add(desired);
        let allowed =
            total <= self.memory_limit && self.inner.memory_growing(current, desired, maximum)?;
        if !allowed {
            return Err(LimitExceeded::Memory {
                desired: total,
                limit: self.memory_limit,
            }
            .into());
        }
        self.memory_total = total;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        // The grow was allowed but the allocation failed (the pool's slot or the OS): to the
        // plugin that is the same as hitting the limit.
        Err(error.context(LimitExceeded::Memory {
            desired: self.memory_total,
            limit: self.memory_limit,
        }))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.inner.table_growing(current, desired, maximum)? {
            Ok(true)
        } else {
            Err(LimitExceeded::Table {
                desired,
                limit: MAX_TABLE_ELEMENTS,
            }
            .into())
        }
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_capped_over_all_memories() {
        let mut limits = Limits::new(4 << 20);
        assert!(limits.memory_growing(0, 3 << 20, None).unwrap());
        // a second memory may only take what is left
        let err = limits.memory_growing(0, 2 << 20, None).unwrap_err();
        assert!(err.is::<LimitExceeded>(), "{err:#}");
        assert!(limits.memory_growing(0, 1 << 20, None).unwrap());
        // growing the first memory counts only the difference
        let err = limits
            .memory_growing(3 << 20, (3 << 20) + 1, None)
            .unwrap_err();
        assert!(err.is::<LimitExceeded>(), "{err:#}");
    }

    #[test]
    fn a_declared_maximum_is_respected_too() {
        let mut limits = Limits::new(64 << 20);
        let err = limits
            .memory_growing(1 << 20, 2 << 20, Some(1 << 20))
            .unwrap_err();
        assert!(err.is::<LimitExceeded>(), "{err:#}");
    }

    #[test]
    fn tables_are_capped() {
        let mut limits = Limits::new(64 << 20);
        assert!(limits.table_growing(0, 100, None).unwrap());
        let err = limits
            .table_growing(100, MAX_TABLE_ELEMENTS + 1, None)
            .unwrap_err();
        assert!(err.is::<LimitExceeded>(), "{err:#}");
    }
}
