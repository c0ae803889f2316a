//! Handlers: plain functions from (state, input) to a [`Change`] — tested without a runtime.
//!
//! - [`open`] — a new ticket (filed, or a platform incident), classified with its live context
//!   or opened with the verdict it was given;
//! - [`incidents`] — platform events → incidents (open, add evidence, close on recovery);
//! - [`remediations`] — AutoClusters decisions and progress → node incidents, with the
//!   policy's responsibility as their category;
//! - [`evidence`] — an incident's bounded evidence lines;
//! - [`reclassify`] — a human override, kept with who and why;
//! - [`close`] — closing;
//! - [`cluster_view`] — the read model of clusters and add-on ownership.

pub mod close;
pub mod cluster_view;
pub mod evidence;
pub mod impacts;
pub mod incidents;
pub mod open;
pub mod reclassify;
pub mod remediations;

use accord_core::support::TicketEvent;

/// Writes and ticket events of one atomic change.
pub type Change = accord_runtime::change::Change<TicketEvent>;

/// Who acts, and when (the kit's).
pub use accord_runtime::Ctx;
