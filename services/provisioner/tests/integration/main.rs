//! The provisioner's integration tests, one test binary (one link for the crate, not one per
//! file): its rules against the pure handlers and a temporary store, hostile input, request
//! limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod autoclusters;
mod common;
mod control_plane;
mod handlers;
mod images;
mod input_and_access_rules;
mod request_limits;
