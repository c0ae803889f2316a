//! network-firewall: every cluster's firewall in the cloud's VPC, in two tiers — the rules the
//! cluster needs, which the provider derives from the cluster and keeps in step with it, and
//! the rules the customer writes beside them to expose their workloads.
//!
//! The firewall engine is the `accord-firewall` crate (pure): it derives the required rules,
//! validates customer rules, evaluates packets in tier order (required rules first, then
//! customer rules by priority, then ingress deny / egress allow) and warns about what a new rule
//! cannot touch. The service around it: [`consumer`] takes the provisioner's cluster, pool and
//! node events into a read model ([`view`]) and moves each cluster's rule set to a new revision
//! when it changes ([`handlers::cluster_view`]); [`grpc`] serves `accord.firewall.v1.Firewall`
//! (authorised by [`rules::RULES`], every request held to [`bounds`] first): both tiers, and
//! the customer's rules created and deleted ([`handlers::rules`]); [`service`] commits every
//! change with its `firewall.*` events through the outbox and runs the reconciler that applies
//! rule sets to the VPC firewall through the [`accord_firewall::driver::NetworkDriver`],
//! retries failures with backoff and puts back what drifted ([`handlers::apply`]).
//!
//! Invariants: network-firewall is the single writer of firewall rules and of the VPC firewall;
//! no customer rule can cut a flow the cluster needs (by the evaluation order, and the answer to
//! creating a rule says which flows it cannot touch); a required rule is never the customer's
//! to change.

pub mod bounds;
pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
pub mod rules;
pub mod service;
pub mod trees;
pub mod view;

use std::{sync::Arc, time::Duration};

use accord_firewall::driver::NetworkDriver;
use accord_proto::firewall::v1::firewall_server::FirewallServer;
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};

pub use service::{FirewallService, SERVICE};

/// How often the reconciler compares every cluster's VPC firewall with its rule set when
/// nothing changed (drift is repaired within it; the target is 10 s).
pub const DEFAULT_RECONCILE_INTERVAL: Duration = Duration::from_secs(5);

/// Everything a running network-firewall needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// The cloud's network (the simulator's VPC in `accord up`).
    pub driver: Arc<dyn NetworkDriver>,
    /// The reconciler's period.
    pub reconcile_interval: Duration,
}

/// A started network-firewall.
pub type Running = Started<FirewallService>;

/// Starts network-firewall on the service kit: gRPC, relay, the platform-event consumer and
/// the reconciler.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let service = FirewallService::new(b.store.clone(), opts.driver, &b.metrics);
    let api = grpc::Api::new(Arc::clone(&service));
    ServiceHost::new(SERVICE, b)
        .api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
            s.add_service(FirewallServer::new(api))
        })
        .events(consumer::SUBSCRIPTION, Arc::clone(&service))
        .critical(
            "firewall-reconciler",
            Arc::clone(&service).run_reconciler(opts.reconcile_interval, b.shutdown.clone()),
        )
        .start(service)
        .await
}
