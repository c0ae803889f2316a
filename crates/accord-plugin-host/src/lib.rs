//! Accord's WebAssembly plugin host: loads add-on components (`accord:plugin@0.1.0`,
//! `plugins/wit/plugin.wit`) and remediation policies (`accord:plugin@0.2.0`,
//! `plugins/wit/policy-v0.2/policy.wit`, and policies built against 0.1.0) and runs them
//! sandboxed. The only crate that uses wasmtime.
//!
//! - [`PluginHost`] (`host`): compiles a component, checks it against its world, calls its
//!   `describe()`, and hands out a [`PolicyPlugin`] or an [`AddonPlugin`]; [`PluginHost::kind_of`]
//!   tells the two apart. A policy says which interface it speaks
//!   ([`PolicyPlugin::interface`], [`PolicyInterface`]); one of 0.1.0 is given findings in that
//!   version's terms and refused the kinds it lacks ([`PluginError::Unsupported`]).
//! - [`PluginRegistry`] (`registry`): the hot-swap point — active plugins by name, replaced
//!   atomically by an offer that loaded; an invalid offer changes nothing.
//! - [`HostConfig`] (`config`): epoch deadline, memory limit, call timeout, quarantine
//!   threshold, concurrency, allocator.
//! - [`PluginError`] (`error`): typed failures — timeouts, limit hits and traps are variants, not
//!   strings.
//! - [`types`]: the plain Rust side of the WIT; policies use `accord_core::remediation`.
//! - Internals: `engine` (wasmtime engine, epoch ticker), `linker` (what plugins may import),
//!   `store` (per-call store, WASI, limits), `call` (running a call), `health` (quarantine),
//!   `log` (the log import), `bindings` + `convert` (generated code and its conversions).
//!
//! Invariants:
//! - No wasmtime type appears in this crate's public API.
//! - A plugin call runs on the caller's task (async wasmtime, no thread hop) and never holds a
//!   tokio worker for longer than one [`EPOCH_TICK`] at a time: the wasm yields at every
//!   tick. It never runs longer than `HostConfig::call_timeout` as the caller sees it (the
//!   call is then dropped, which cancels it); inside, the wasm is interrupted at
//!   `epoch_deadline`.
//! - Every call runs in a fresh store and instance with a memory cap; plugins get no
//!   filesystem, network, environment, clock or randomness, and cannot make the host block.
//! - A plugin that fails `quarantine_after` times in a row is quarantined: further calls fail
//!   fast with [`PluginError::Quarantined`]. Metrics are the caller's job, from
//!   `state()`/`failures()`.

// This crate is the designated owner of wasmtime: the workspace `clippy.toml` forbids
// `wasmtime::Engine` and friends everywhere else.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod addon;
mod bindings;
mod call;
mod config;
mod convert;
mod engine;
mod error;
mod health;
mod host;
mod linker;
mod log;
mod policy;
mod registry;
mod store;
pub mod types;

pub use addon::AddonPlugin;
pub use config::{
    COMPILE_CACHE_ENV, EPOCH_TICK, HostConfig, MIN_MEMORY_LIMIT, default_compile_cache,
};
pub use error::PluginError;
pub use host::PluginHost;
pub use log::{MAX_LINES_PER_CALL, MAX_MESSAGE_BYTES};
pub use policy::PolicyPlugin;
pub use registry::{Loaded, PluginRegistry, PluginStatus, kind_name};
pub use types::{
    AddonInfo, ClusterInfo, Installer, Manifest, Ownership, PluginKind, PluginState, PolicyInfo,
    PolicyInterface, PoolInfo, UpgradePlan, Verdict, Violation,
};
