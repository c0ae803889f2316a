//! The plugin host against real components built for `wasm32-wasip2` (`cargo xtask plugins`):
//! loading and world checks, the sandbox against a hostile policy, quarantine, the add-on
//! calls, and the real GPU remediation policy when it is built.

// Test code: a failed expectation is a panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod addon;
mod hostile;
mod loading;
mod policy;
mod quarantine;
mod support;
