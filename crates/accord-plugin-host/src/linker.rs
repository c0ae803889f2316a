//! The linkers (one per world: the add-on world, and the policy world of each supported
//! version): WASI 0.2 — which Rust's `std` on `wasm32-wasip2` imports
//! whether or not a plugin uses it — the `accord:plugin/log` import, and nothing else.
//!
//! Invariants:
//! - A component importing anything else fails `instantiate_pre` and is refused at load.
//! - WASI is linked in its async form (`add_to_linker_async`): its host functions are awaited
//!   on the call's fiber, never `block_on` a runtime, so calls run on the caller's tokio task.
//! - No host function a plugin can reach waits: WASI timers
//!   (`wasi:clocks/monotonic-clock.subscribe-*`) are replaced by functions that trap with
//!   [`HostDenied`]. A pending timer would park the call where no epoch tick reaches it (epoch
//!   interruption only happens while wasm runs), leaving only the outer call timeout to end it
//!   — and clocks are frozen anyway. Everything else WASI offers here answers at once: streams
//!   are closed or discarded, sockets and the filesystem are denied.

use wasmtime::component::{HasSelf, Linker};

use crate::bindings;
use crate::store::{CallState, HostDenied};

/// The monotonic-clock interface as wasmtime-wasi 48 defines it. Imports of any 0.2.x
/// version resolve to it (semver-compatible matching). A test (`sleep` in the hostile policy)
/// fails if a wasmtime upgrade moves the interface and the denial stops applying.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// Linker for the `remediation-policy` world of `accord:plugin@0.2.0`.
pub(crate) fn policy_v02(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = wasi(engine)?;
    bindings::policy_v02::RemediationPolicy::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Linker for the `remediation-policy` world of `accord:plugin@0.1.0`.
pub(crate) fn policy_v01(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = wasi(engine)?;
    bindings::policy_v01::RemediationPolicy::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// Linker for the `addon` world.
pub(crate) fn addon(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = wasi(engine)?;
    bindings::addon::Addon::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

fn wasi(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;

    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    for (name, qualified) in [
        (
            "subscribe-duration",
            "wasi:clocks/monotonic-clock.subscribe-duration",
        ),
        (
            "subscribe-instant",
            "wasi:clocks/monotonic-clock.subscribe-instant",
        ),
    ] {
        clock.func_new(name, move |_store, _ty, _params, _results| {
            Err(HostDenied(qualified).into())
        })?;
    }
    linker.allow_shadowing(false);
    Ok(linker)
}
