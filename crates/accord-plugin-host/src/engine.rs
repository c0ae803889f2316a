//! The wasmtime [`Engine`] of a plugin host — epoch interruption on, pooling allocator (unless
//! turned off) sized from [`HostConfig`], the on-disk compilation cache when configured — and
//! the thread that advances its epoch.
//!
//! Invariants:
//! - The epoch advances every [`EPOCH_TICK`] for as long as anything (the host or a loaded
//!   plugin) holds the engine; the ticker holds only a weak reference and exits after the
//!   last strong one is dropped.
//! - The ticker is a plain thread, not a tokio task: it keeps ticking even when the runtime's
//!   workers are all busy, which is exactly when a runaway plugin must be interrupted.

use std::time::Duration;

use wasmtime::{
    Cache, CacheConfig, Config, Enabled, Engine, EngineWeak, InstanceAllocationStrategy,
    PoolingAllocationConfig,
};

use crate::config::{EPOCH_TICK, HostConfig};
use crate::error::PluginError;
use crate::store::{MAX_INSTANCES, MAX_MEMORIES, MAX_TABLE_ELEMENTS, MAX_TABLES};

/// Wasm call stack for plugin code (wasmtime's default): deep recursion beyond it is
/// `Trap::StackOverflow`, well before the host thread's own stack is at risk.
const MAX_WASM_STACK: usize = 512 << 10;

/// Fiber stack for a call (wasm stack plus the host functions it calls, on top of
/// `MAX_WASM_STACK`): wasmtime's default.
const ASYNC_STACK: usize = 2 << 20;

/// Dirty linear-memory bytes per pool slot restored in place (not decommitted) when a call
/// ends, with PAGEMAP_SCAN. A policy call dirties a few dozen KiB (its shadow stack, data and
/// heap pages); the rest of a larger call's memory is decommitted as usual.
const MEMORY_KEEP_RESIDENT: usize = 1 << 20;
/// The same for tables: a whole table of `MAX_TABLE_ELEMENTS` pointers.
const TABLE_KEEP_RESIDENT: usize = MAX_TABLE_ELEMENTS * 8;

/// Builds the engine and starts its epoch ticker.
pub(crate) fn new_engine(config: &HostConfig) -> Result<Engine, PluginError> {
    let mut wasm = Config::new();
    wasm.epoch_interruption(true)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK);
    if config.pooling_allocator {
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool(config)));
    } else {
        wasm.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    }
    if let Some(dir) = &config.compile_cache {
        wasm.cache(Some(compile_cache(dir)?));
    }

    let engine = Engine::new(&wasm)
        .map_err(|err| PluginError::Engine(format!("creating the wasmtime engine: {err:#}")))?;
    start_epoch_ticker(engine.weak(), EPOCH_TICK)?;
    Ok(engine)
}

/// wasmtime's on-disk compilation cache in `dir` (created if missing).
fn compile_cache(dir: &std::path::Path) -> Result<Cache, PluginError> {
    std::fs::create_dir_all(dir).map_err(|err| {
        PluginError::Engine(format!(
            "creating the compilation cache {}: {err}",
            dir.display()
        ))
    })?;
    let mut cache = CacheConfig::new();
    cache.with_directory(dir);
    Cache::new(cache).map_err(|err| {
        PluginError::Engine(format!("the compilation cache {}: {err:#}", dir.display()))
    })
}

/// The pool: room for every call slot, each with its instances, memories, tables and fiber
/// stack.
fn pool(config: &HostConfig) -> PoolingAllocationConfig {
    let slots = config.max_concurrent_calls;
    // Calls hold one slot each (a semaphore in front of the pool); `describe()` at load takes
    // one outside the semaphore, hence the spare capacity.
    let components = slots.saturating_mul(2);
    let per_component = |n: usize| components.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));

    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(components)
        .total_core_instances(per_component(MAX_INSTANCES))
        .total_memories(per_component(MAX_MEMORIES))
        .total_tables(per_component(MAX_TABLES))
        .max_core_instances_per_component(u32::try_from(MAX_INSTANCES).unwrap_or(u32::MAX))
        .max_memories_per_component(u32::try_from(MAX_MEMORIES).unwrap_or(u32::MAX))
        .max_tables_per_component(u32::try_from(MAX_TABLES).unwrap_or(u32::MAX))
        .max_tables_per_module(4)
        .table_elements(MAX_TABLE_ELEMENTS)
        .max_memory_size(config.memory_limit)
        .total_stacks(components);
    // A slot's memory and tables are reset for the next call when the store is dropped. By
    // default that is `madvise(DONTNEED)`, after which every page the next call touches faults
    // in again: most of a call's cost. With PAGEMAP_SCAN (Linux ≥ 6.7) the pool instead finds
    // the pages the call dirtied and restores just those in place (up to the amounts below),
    // keeping them resident. Without it, "keep resident" would mean a memset of that many
    // leading bytes on every call, so it stays off.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT);
    }
    pool
}

fn start_epoch_ticker(engine: EngineWeak, tick: Duration) -> Result<(), PluginError> {
    std::thread::Builder::new()
        .name("accord-plugin-epoch".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|err| PluginError::Engine(format!("starting the epoch ticker: {err}")))
}
