//! accord-triage's integration tests, one test binary (one link for the crate, not one per
//! file): accuracy on labelled tickets, the JSON Lines batch helper, the decision matrix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accuracy;
mod jsonl;
mod matrix;
