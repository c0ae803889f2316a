//! accord-platform's integration tests, one test binary (one link for the crate, not one per
//! file): the composer against a real nats-server, and the provisioner binary under SIGTERM,
//! SIGKILL and crash loops. The process tests need the crate's `failpoints` feature
//! (`cargo xtask test` turns it on).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash_loop;
mod image_crash;
mod nats_ownership;
#[cfg(feature = "failpoints")]
mod process;
mod remediation_crash;
mod standalone_auth;
mod storage_crash;
mod support;
