//! A remediation policy that misbehaves on request, so the plugin host's sandbox can be tested
//! against a real component. The finding's `node` field picks the behaviour:
//!
//! | node      | behaviour                                                                  |
//! |-----------|----------------------------------------------------------------------------|
//! | `loop`    | spins forever (the host's epoch deadline must stop it)                     |
//! | `alloc`   | allocates and leaks 1 MiB blocks until allocation fails (memory cap)       |
//! | `recurse` | recurses without bound (the host's wasm stack limit)                       |
//! | `trap`    | panics (`panic = "abort"` makes that a wasm `unreachable` trap)            |
//! | `sleep`   | sleeps for an hour through WASI clocks (the host must refuse timers)       |
//! | `file`    | reads `/etc/passwd`; answers `none` with the error in the reason           |
//! | `socket`  | connects to `127.0.0.1:1`; answers `none` with the error in the reason     |
//! | `log`     | logs one line per level, and one oversized line, then answers normally     |
//! | `echo`    | `none`, reason `hostile-policy: echo kind=<kind> port=<port or ->`         |
//! | other     | a normal decision: `notify-customer`, reason `hostile-policy: ok <node>`   |
//!
//! It stays on `accord:plugin@0.1.0` (`plugins/wit/plugin.wit`) on purpose: it is the host
//! tests' policy of the older interface, and `echo` shows what such a policy is given (a port
//! as its HCA index).
//!
//! Invariant: this crate is test-only; it is never packaged or pushed as a real policy.

/// Bindings generated from `plugins/wit/plugin.wit` (world `remediation-policy`). They are the component
/// model's `unsafe` ABI shims, so `unsafe_code` is allowed here and in [`export`] only.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "remediation-policy",
        path: "../../wit",
    });
}

use bindings::accord::plugin::log::{Level, log};
use bindings::accord::plugin::types::Responsibility;
use bindings::exports::accord::plugin::policy_api::{
    Action, Context, Decision, Finding, FindingKind, Guest, PolicyInfo,
};

struct HostilePolicy;

impl Guest for HostilePolicy {
    fn describe() -> PolicyInfo {
        PolicyInfo {
            name: "hostile-policy".to_owned(),
            version: "0.1.0".to_owned(),
        }
    }

    fn decide(finding: Finding, _context: Context) -> Decision {
        match finding.node.as_str() {
            "loop" => spin_forever(),
            "alloc" => allocate_until_failure(),
            "recurse" => decision(Action::None, format!("depth {}", recurse(u64::MAX))),
            #[allow(
                clippy::panic,
                reason = "trapping on request is this test component's purpose"
            )]
            "trap" => panic!("hostile-policy: asked to trap"),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                decision(Action::None, "slept for an hour".to_owned())
            }
            "file" => match std::fs::read("/etc/passwd") {
                Ok(bytes) => decision(Action::Escalate, format!("read {} bytes", bytes.len())),
                Err(err) => decision(Action::None, format!("open failed: {err}")),
            },
            "socket" => match std::net::TcpStream::connect("127.0.0.1:1") {
                Ok(_) => decision(Action::Escalate, "connected".to_owned()),
                Err(err) => decision(Action::None, format!("connect failed: {err}")),
            },
            "log" => {
                for (level, name) in [
                    (Level::Trace, "trace"),
                    (Level::Debug, "debug"),
                    (Level::Info, "info"),
                    (Level::Warn, "warn"),
                    (Level::Error, "error"),
                ] {
                    log(level, &format!("hostile-policy says {name}"));
                }
                log(Level::Info, &"x".repeat(64 * 1024));
                decision(Action::NotifyCustomer, "hostile-policy: logged".to_owned())
            }
            "echo" => {
                let kind = match finding.kind {
                    FindingKind::GpuXid => "gpu-xid",
                    FindingKind::IbLink => "ib-link",
                    FindingKind::NodeNotReady => "node-not-ready",
                    FindingKind::GpuThermal => "gpu-thermal",
                };
                let port = finding
                    .port
                    .map_or_else(|| "-".to_owned(), |p| p.to_string());
                decision(
                    Action::None,
                    format!("hostile-policy: echo kind={kind} port={port}"),
                )
            }
            node => decision(Action::NotifyCustomer, format!("hostile-policy: ok {node}")),
        }
    }
}

fn decision(action: Action, reason: String) -> Decision {
    Decision {
        action,
        responsibility: Responsibility::BestEffort,
        reason,
    }
}

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn allocate_until_failure() -> ! {
    loop {
        // Each 1 MiB block makes the allocator grow linear memory (`memory.grow`); leaking it
        // keeps the memory. The pages are not written: growing is what the host limits, and
        // filling them would only make the bomb slow enough to hit the epoch deadline first.
        let block: Vec<u8> = Vec::with_capacity(1 << 20);
        std::mem::forget(std::hint::black_box(block));
    }
}

/// Not a tail call (the addition happens after the call returns), so every level keeps a
/// wasm frame alive until the host's stack limit is hit.
fn recurse(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        std::hint::black_box(recurse(std::hint::black_box(n - 1))) + 1
    }
}

/// The exported entry points (`unsafe` `export_name` shims generated by wit-bindgen).
#[allow(unsafe_code)]
mod export {
    use super::HostilePolicy;

    crate::bindings::export!(HostilePolicy with_types_in crate::bindings);
}
