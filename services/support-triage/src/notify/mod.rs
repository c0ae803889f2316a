//! Customer webhook notifications: support-triage is the customer-communication service, so it
//! owns a project's webhooks and tells them what the platform did about their clusters.
//!
//! - [`routes`] — which bus events notify, as which kind (a table);
//! - [`enqueue`] — delivery records written in the same commit as the event's own effects
//!   (the incident it opened, the evidence it added): never an HTTP call on the consumer path;
//! - [`attempt`] — an attempt's outcome recorded: delivered, retried with backoff, or failed;
//! - [`webhooks`] — creating (URL policy, at most 10 per project, a secret shown once) and
//!   deleting webhooks;
//! - [`desk`] — those operations on the service's engine, and the reads;
//! - [`delivery_loop`] — the task that POSTs due deliveries through `accord_notify::Notifier`;
//! - [`grpc`] — `accord.support.v1.Notifications`.
//!
//! Invariants: webhooks and deliveries are written only by support-triage, through its engine;
//! the write lock is never held across an HTTP call; a delivery and its due entry change in
//! one commit, so a restart resumes exactly the pending deliveries.

pub mod attempt;
pub mod delivery_loop;
pub mod desk;
pub mod enqueue;
pub mod grpc;
pub mod routes;
pub mod webhooks;

use std::time::Duration;

use accord_notify::{UrlPolicy, client::DEFAULT_TIMEOUT};

/// How notifications are sent (the deployment's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifySettings {
    /// `http://` webhooks to loopback hosts are allowed (`accord up`, tests); off in production.
    pub allow_loopback: bool,
    /// Deadline of one attempt.
    pub attempt_timeout: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            attempt_timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl NotifySettings {
    /// Loopback allowed: local use.
    pub fn local() -> Self {
        Self {
            allow_loopback: true,
            ..Self::default()
        }
    }

    /// The URL policy.
    pub fn policy(&self) -> UrlPolicy {
        UrlPolicy::new(self.allow_loopback)
    }
}
