//! accord-sim's integration tests: the driver through the `InfraDriver` trait (fast clock,
//! deadline polls), and the agents and fault server against a real nats-server.

// Test helpers fail the test the same way `#[test]` bodies do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod driver;
mod faults;
mod nats;
mod persistence;
mod repair;
mod self_healing;
