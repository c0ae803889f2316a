//! accord-bus against a real nats-server: one server per test on a random port (accord-testkit),
//! no sleeps — every wait is a deadline poll or a bounded stream read.

// Test helpers outside `#[test]` functions fail loudly too; clippy's test allowance only covers
// `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod consumer;
mod core_nats;
mod objects;
mod publish;
mod relay;
mod restart;
mod support;
mod trace_propagation;
mod watch;
