//! `gpu-remediation`: Accord's GPU remediation policy, a WebAssembly component of the world
//! `remediation-policy` (`accord:plugin@0.2.0`, `plugins/wit/policy-v0.2/policy.wit`).
//!
//! It decides what to do about one health finding on a GPU node — an XID error, double-bit ECC
//! errors, remapped rows or a failed remap, NVLink CRC errors, PCIe replays, an InfiniBand
//! link fault, a NotReady node, a thermal or power violation — given what the host knows about
//! the node, its pool and its cluster: notify the customer, reset the GPU, reboot or replace the
//! node, escalate to humans, hold back, or nothing. The rules (the XID catalogue, the ladder
//! reset → reboot → replace, and the safety rules: opt-in, repeats, maintenance windows,
//! in-flight limit, circuit breaker) live in [`logic`].
//!
//! Layout:
//! - [`logic`]: the policy as a pure function over plain structs. No bindings, no IO, no
//!   dependencies; compiles natively too, which is how the tests run and how the host's benchmark
//!   compares native and WASM calls.
//! - `component` (only on `wasm32`): the `wit-bindgen` glue. It converts the WIT records to the
//!   [`logic`] types and back, and logs one debug line per decision through the `log` import —
//!   the only thing the component asks of its host.
//!
//! Invariant: the component is a pure function of its inputs (the WIT contract): no clock, no
//! randomness, no state between calls.

// Stricter than the workspace lints (which allow it): every public item of the policy is documented.
#![warn(missing_docs)]

pub mod logic;

pub use logic::{Action, Context, Decision, Finding, FindingKind, Responsibility, decide};

/// The policy's name as reported by `describe()`.
pub const POLICY_NAME: &str = "gpu-remediation";

/// The policy's version as reported by `describe()`: the crate version.
pub const POLICY_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(target_arch = "wasm32")]
// The generated bindings contain the `unsafe` ABI shims of the component model; this crate's own
// code has none.
#[allow(unsafe_code)]
mod component {
    //! WIT ↔ [`crate::logic`] conversions and the export. Renaming only: every decision is made
    //! by [`crate::logic::decide`].

    use crate::logic;

    wit_bindgen::generate!({
        path: "../../wit/policy-v0.2",
        world: "remediation-policy",
    });

    use accord::plugin::log::{Level, log};
    use accord::plugin::types::Responsibility;
    use exports::accord::plugin::policy_api::{
        Action, Context, Decision, Finding, FindingKind, Guest, PolicyInfo,
    };

    struct GpuRemediation;

    impl Guest for GpuRemediation {
        fn describe() -> PolicyInfo {
            PolicyInfo {
                name: crate::POLICY_NAME.to_owned(),
                version: crate::POLICY_VERSION.to_owned(),
            }
        }

        fn decide(finding: Finding, context: Context) -> Decision {
            let finding = finding_from_wit(finding);
            let decision = logic::decide(&finding, &context_from_wit(&context));
            log(
                Level::Debug,
                &format!(
                    "gpu-remediation: cluster={} node={} kind={} → {} ({}): {}",
                    finding.cluster,
                    finding.node,
                    finding.kind,
                    decision.action,
                    decision.responsibility,
                    decision.reason
                ),
            );
            decision_to_wit(decision)
        }
    }

    fn finding_from_wit(f: Finding) -> logic::Finding {
        logic::Finding {
            kind: match f.kind {
                FindingKind::GpuXid => logic::FindingKind::GpuXid,
                FindingKind::IbLink => logic::FindingKind::IbLink,
                FindingKind::NodeNotReady => logic::FindingKind::NodeNotReady,
                FindingKind::GpuThermal => logic::FindingKind::GpuThermal,
                FindingKind::GpuEcc => logic::FindingKind::GpuEcc,
                FindingKind::GpuRowRemap => logic::FindingKind::GpuRowRemap,
                FindingKind::GpuNvlink => logic::FindingKind::GpuNvlink,
                FindingKind::GpuPcie => logic::FindingKind::GpuPcie,
            },
            cluster: f.cluster,
            node: f.node,
            xid: f.xid,
            gpu: f.gpu,
            port: f.port,
            state: f.state,
            minutes: f.minutes,
            temp_c: f.temp_c,
            signal: f.signal,
            severity: f.severity,
        }
    }

    // WIT words must start with a letter, so the 24-hour and 7-day counters are spelled
    // `xid-count24h` and `remediations7d` in the WIT (`xid_count24h`, `remediations7d` here).
    fn context_from_wit(c: &Context) -> logic::Context {
        logic::Context {
            remediation_allowed: c.remediation_allowed,
            xid_count_24h: c.xid_count24h,
            remediations_7d: c.remediations7d,
            unhealthy_in_pool: c.unhealthy_in_pool,
            pool_size: c.pool_size,
            mig: c.mig,
            in_flight_in_pool: c.in_flight_in_pool,
            max_in_flight_per_pool: c.max_in_flight_per_pool,
            unhealthy_in_cluster: c.unhealthy_in_cluster,
            cluster_size: c.cluster_size,
            max_unhealthy_percent: c.max_unhealthy_percent,
            in_maintenance_window: c.in_maintenance_window,
        }
    }

    fn decision_to_wit(d: logic::Decision) -> Decision {
        Decision {
            action: match d.action {
                logic::Action::None => Action::None,
                logic::Action::NotifyCustomer => Action::NotifyCustomer,
                logic::Action::ResetGpu => Action::ResetGpu,
                logic::Action::RebootNode => Action::RebootNode,
                logic::Action::ReplaceNode => Action::ReplaceNode,
                logic::Action::Escalate => Action::Escalate,
                logic::Action::Hold => Action::Hold,
            },
            responsibility: match d.responsibility {
                logic::Responsibility::Supported => Responsibility::Supported,
                logic::Responsibility::BestEffort => Responsibility::BestEffort,
                logic::Responsibility::CustomerOwned => Responsibility::CustomerOwned,
            },
            reason: d.reason,
        }
    }

    export!(GpuRemediation);
}

#[cfg(test)]
mod tests;
