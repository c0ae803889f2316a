//! support-triage's integration tests, one test binary (one link for the crate, not one per
//! file): the pure handlers, the desk's dispatch of platform events and the gRPC API.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod desk;
mod handlers;
mod notifications;
