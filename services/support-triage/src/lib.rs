//! support-triage: every support ticket and platform incident lands in Supported, Best-Effort
//! or Customer-Owned, with the rule that decided it.
//!
//! The classification engine is the `accord-triage` crate (re-exported as [`classify`]): a pure library (no IO except reading a rule
//! file on request, no async) that maps a ticket to a support category of the
//! shared-responsibility model — Supported, Best-Effort or Customer-Owned — with the layer and
//! component it concerns, the rule that decided, routing actions, a checklist for the customer
//! and a confidence. The rules are data (`crates/accord-triage/rules/triage-rules.yaml`), embedded as the default and
//! loadable from a path at run time.
//!
//! The service around it: [`grpc`] serves `accord.support.v1.Support` (authorised by
//! [`rules::RULES`]; every request held to [`bounds`] before any work, clusters the read model
//! has not caught up with waited for briefly by [`catch_up`]); [`consumer`] takes the platform's events — cluster conditions, add-on
//! ownership, health findings, AutoClusters remediations — to keep each cluster's context
//! ([`view`]) current and open incidents ([`handlers::incidents`]; a node's incidents come
//! from the remediation policy's decisions, with the policy's responsibility as their category:
//! [`handlers::remediations`]); [`service`] commits every handler's decision with its
//! `ticket.*` events through the outbox. [`notify`] keeps customers' webhooks and sends them
//! signed CloudEvents about remediations and incidents (`accord.support.v1.Notifications`).
//!
//! Invariants: support-triage is the single writer of tickets; a ticket about a cluster is
//! classified with that cluster's live add-on ownership, so an add-on the customer modified is
//! theirs; a human override never erases the machine verdict (both are kept).

/// The classification engine (the `accord-triage` crate).
pub use accord_triage as classify;

pub mod bounds;
pub use accord_runtime::catch_up;
pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
pub mod notify;
pub mod rules;
pub mod service;
pub mod trees;
pub mod verdict;
pub mod view;

pub use classify::{
    Action, AddonOwnership, Category, Classification, JsonlSummary, Problem, Rule, RuleError,
    RuleRef, RuleSet, SHIPPED_RULES, Settings, Ticket, TicketContext, Trigger, classify_jsonl,
    normalise,
};

use std::sync::Arc;

use accord_proto::support::v1::{
    notifications_server::NotificationsServer, support_server::SupportServer,
};
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};

pub use notify::NotifySettings;
pub use service::{SERVICE, SupportDesk};

/// Everything a running support-triage needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// The rules (shipped, or loaded from a file by the caller).
    pub rules: RuleSet,
    /// Customer webhook notifications (loopback allowed or not, attempt deadline).
    pub notify: NotifySettings,
}

/// A started support-triage.
pub type Running = Started<SupportDesk>;

/// Starts support-triage on the service kit: gRPC (tickets and notifications), relay, the
/// platform-event consumer, the webhook delivery loop.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let desk = SupportDesk::with_settings(
        b.store.clone(),
        Arc::new(opts.rules),
        &b.metrics,
        catch_up::CatchUp::default(),
        opts.notify,
    );
    let notifier =
        accord_notify::Notifier::with_timeout(opts.notify.policy(), opts.notify.attempt_timeout)?;
    let api = grpc::Api::new(Arc::clone(&desk));
    let notifications = notify::grpc::NotificationsApi::new(Arc::clone(&desk));
    ServiceHost::new(SERVICE, b)
        .api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
            s.add_service(SupportServer::new(api))
                .add_service(NotificationsServer::new(notifications))
        })
        .events(consumer::SUBSCRIPTION, Arc::clone(&desk))
        .critical(
            "webhook-deliveries",
            notify::delivery_loop::run(Arc::clone(&desk), notifier, b.shutdown.clone()),
        )
        .start(desk)
        .await
}
