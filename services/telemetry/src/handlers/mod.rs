//! Handlers: plain functions from (state, input) to a [`Change`] — tested without a runtime.
//!
//! - [`cluster_view`] — the read model of clusters, their projects and pool names;
//! - [`findings`] — the findings one sample raised → stored findings and
//!   `health.finding-raised` events, each finding once.

pub mod cluster_view;
pub mod findings;

use accord_core::remediation::HealthEvent;

/// Writes and health events of one atomic change.
pub type Change = accord_runtime::change::Change<HealthEvent>;
