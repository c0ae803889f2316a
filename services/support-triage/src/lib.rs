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
//! [`rules::RULES`]); [`consumer`] takes the platform's events — cluster conditions, add-on
//! ownership, health findings, remediation decisions — to keep each cluster's context
//! ([`view`]) current and open incidents ([`handlers::incidents`]); [`service`] commits every
//! handler's decision with its `ticket.*` events through the outbox.
//!
//! Invariants: support-triage is the single writer of tickets; a ticket about a cluster is
//! classified with that cluster's live add-on ownership, so an add-on the customer modified is
//! theirs; a human override never erases the machine verdict (both are kept).

/// The classification engine (the `accord-triage` crate).
pub use accord_triage as classify;

pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
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

use std::{net::SocketAddr, sync::Arc};

use accord_bus::Bus;
use accord_proto::support::v1::support_server::SupportServer;
use accord_runtime::{
    ServiceHost,
    consume::EventMeta,
    grpc::{BusAuthenticator, GrpcServer},
    metrics::Metrics,
};
use accord_store::Store;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use service::{SERVICE, SupportDesk};

/// Everything a running support-triage needs from its host process.
pub struct StartOptions {
    /// Address the gRPC server binds (port 0 picks one).
    pub grpc_addr: SocketAddr,
    /// support-triage's store (nobody else may open it).
    pub store: Store,
    /// A connected bus.
    pub bus: Bus,
    /// Metrics registry.
    pub metrics: Metrics,
    /// The rules (shipped, or loaded from a file by the caller).
    pub rules: RuleSet,
    /// Cancelled to stop everything.
    pub shutdown: CancellationToken,
}

/// A started support-triage.
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// The engine, for in-process callers and tests.
    pub desk: Arc<SupportDesk>,
    /// Server, relay and consumer tasks.
    pub tasks: JoinSet<anyhow::Result<()>>,
}

/// Starts support-triage on the service kit: gRPC, relay, the platform-event consumer.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let desk = SupportDesk::new(opts.store.clone(), Arc::new(opts.rules), &opts.metrics);
    let server = GrpcServer::new(opts.grpc_addr)
        .with_auth(rules::RULES, BusAuthenticator::new(opts.bus.clone()))
        .with_ready(opts.bus.connected())
        .with_metrics(opts.metrics.clone())
        .with_descriptor(accord_proto::FILE_DESCRIPTOR_SET)
        .add_service(SupportServer::new(grpc::Api::new(Arc::clone(&desk))));
    let d = Arc::clone(&desk);
    let started = ServiceHost::new(SERVICE, opts.bus, opts.store, opts.shutdown)
        .grpc(server)
        .consumer(consumer::SUBSCRIPTION, move |input, meta: EventMeta| {
            let d = Arc::clone(&d);
            async move {
                let source = handlers::incidents::Source {
                    event_type: meta.event_type,
                    event_id: meta.id,
                };
                d.on_input(input, source).await
            }
        })
        .start()
        .await?;
    Ok(Running {
        grpc_addr: started.grpc_addr.unwrap_or(opts.grpc_addr),
        desk,
        tasks: started.tasks,
    })
}
