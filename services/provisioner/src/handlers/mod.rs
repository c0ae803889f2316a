//! Request handlers: plain functions from (state, input) to a [`Change`](crate::change::Change).
//!
//! Each handler validates its input (reporting every bad field with its path), checks the
//! state rules (order, quota, immutability, versions), and returns the writes and events of the
//! change. Nothing here commits, publishes or calls the infrastructure: the service does that,
//! which is what makes every rule testable against a temporary store.

pub mod clusters;
pub mod infra;
pub mod nodepools;
pub mod nodes;
pub mod projects;
pub mod resync;
pub mod rollback;

use accord_core::{iam::Principal, infra::Catalog};
use time::OffsetDateTime;

use crate::trees::Reader;

/// What every handler may look at.
pub struct Ctx<'a> {
    /// Current state.
    pub reader: &'a Reader,
    /// What the infrastructure offers.
    pub catalog: &'a Catalog,
    /// The time of the request.
    pub now: OffsetDateTime,
    /// Who asks.
    pub principal: &'a Principal,
}

/// Checks labels, reporting each bad one under `field[key]` (the key quoted through
/// [`accord_core::error::echo`]: a field path never repeats unbounded input either).
pub(crate) fn check_labels(
    v: &mut accord_core::error::Violations,
    field: &str,
    labels: &std::collections::BTreeMap<String, String>,
) {
    for (k, val) in labels {
        if let Err(e) = accord_core::validation::label(k, val) {
            v.add(format!("{field}[{}]", accord_core::error::echo(k)), e);
        }
    }
}
