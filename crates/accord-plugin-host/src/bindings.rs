//! Generated bindings for the worlds the host loads:
//! - `addon` of `accord:plugin@0.1.0` (`plugins/wit/plugin.wit`);
//! - `remediation-policy` of `accord:plugin@0.2.0` (`plugins/wit/policy-v0.2/policy.wit`), the
//!   current policy interface ([`policy_v02`]);
//! - `remediation-policy` of `accord:plugin@0.1.0`, for policies built before 0.2.0
//!   ([`policy_v01`]): four finding kinds, numbered ports.
//!
//! Invariant: nothing outside this crate sees these types; `convert` turns them into the plain
//! types of `types` and `accord_core::remediation`.
//!
//! The generated code contains `unsafe` blocks; the workspace's `forbid(unsafe_code)` accepts
//! them only because they come from an external macro. `WASMTIME_DEBUG_BINDGEN=1` (which
//! splices the generated file in as local source) therefore fails to compile here.
//!
//! Exports are generated `async` (`call_*` run the wasm on a fiber and yield to the caller's
//! executor at every epoch tick, see `store`); the one import (`log`) stays synchronous: it
//! never blocks.

/// The `remediation-policy` world of `accord:plugin@0.2.0`.
pub(crate) mod policy_v02 {
    wasmtime::component::bindgen!({
        world: "remediation-policy",
        path: "../../plugins/wit/policy-v0.2",
        exports: { default: async },
    });
}

/// The `remediation-policy` world of `accord:plugin@0.1.0`.
pub(crate) mod policy_v01 {
    wasmtime::component::bindgen!({
        world: "remediation-policy",
        path: "../../plugins/wit",
        exports: { default: async },
    });
}

/// The `addon` world (`accord:plugin@0.1.0`).
pub(crate) mod addon {
    wasmtime::component::bindgen!({
        world: "addon",
        path: "../../plugins/wit",
        exports: { default: async },
    });
}
