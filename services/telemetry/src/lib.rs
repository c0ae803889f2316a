//! telemetry: the node agents' samples in, health findings out.
//!
//! The service around the pure checks of `accord-health`: [`ingest`] takes every sample
//! published on core NATS (`accord.tel.<cluster>.<node>`, one queue group), [`service`] bounds,
//! decodes and admits it (known cluster, its own subject), runs the node's checks ([`fleet`],
//! in memory; nodes that stop reporting are forgotten) and commits the findings they raise —
//! stored once each in [`trees`], announced as `health.finding-raised` through the outbox
//! ([`handlers::findings`]). [`consumer`] keeps the read model of clusters, projects and pool
//! names from the provisioner's events ([`view`], [`handlers::cluster_view`]). [`grpc`] serves
//! `accord.telemetry.v1.Health` (authorised by [`rules::RULES`], every request held to
//! [`bounds`]): node verdicts, findings and the latest samples; [`http`] serves each cluster's
//! metrics to its project's members (`GET /v1/clusters/{cluster}/metrics`). [`metrics`] counts samples
//! accepted and dropped by reason; [`config`] is the standalone binary's configuration.
//!
//! Invariants: the telemetry service is the single writer of findings; a finding (its id is
//! derived from the tripping sample) is committed and published at most once; the per-node
//! state is in memory, rebuilt from new samples after a restart.

pub mod bounds;
pub mod config;
pub mod consumer;
pub mod fleet;
pub mod grpc;
pub mod handlers;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod rules;
pub mod service;
pub mod trees;
pub mod view;

use std::{net::SocketAddr, sync::Arc};

use accord_health::HealthConfig;
use accord_proto::telemetry::v1::health_server::HealthServer;
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};
use anyhow::Context as _;

pub use service::{Ingested, MAX_SAMPLE_BYTES, SERVICE, Telemetry};

/// Everything a running telemetry service needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// The health checks' settings (defaults, overrides per instance type and cluster).
    pub health: HealthConfig,
    /// Where to serve the customer metrics endpoint ([`http`]; port 0 picks one); `None`: not
    /// served.
    pub cluster_metrics_addr: Option<SocketAddr>,
}

/// A started telemetry service.
pub type Running = Started<Telemetry>;

/// Starts the telemetry service on the service kit: gRPC, relay, the provisioner-event
/// consumer, then the telemetry ingest.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let telemetry = Telemetry::new(b.store.clone(), opts.health, &b.metrics);
    let api = grpc::Api::new(Arc::clone(&telemetry));
    let mut host = ServiceHost::new(SERVICE, b);
    if let Some(addr) = opts.cluster_metrics_addr {
        let (listener, bound) = http::bind(addr)
            .await
            .with_context(|| format!("binding the cluster metrics endpoint on {addr}"))?;
        telemetry.set_cluster_metrics_addr(bound);
        tracing::info!(addr = %bound, "cluster metrics endpoint listening");
        host = host.critical(
            "cluster metrics endpoint",
            http::serve(
                listener,
                Arc::clone(&telemetry),
                BusAuthenticator::new(b.bus.clone()),
                b.shutdown.clone(),
            ),
        );
    }
    host.api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
        s.add_service(HealthServer::new(api))
    })
    .events(consumer::SUBSCRIPTION, Arc::clone(&telemetry))
    .critical(
        "telemetry ingest",
        ingest::run(b.bus.clone(), Arc::clone(&telemetry), b.shutdown.clone()),
    )
    .best_effort(
        "silent-node sweep",
        ingest::sweep(Arc::clone(&telemetry), b.shutdown.clone()),
    )
    .start(telemetry)
    .await
}
