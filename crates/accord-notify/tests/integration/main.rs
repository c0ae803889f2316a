//! One POST against a local HTTP server started by each test: delivered, retryable,
//! permanent, timed out; the headers and the body a receiver gets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod delivery;
