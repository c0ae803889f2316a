//! The provisioner: projects and IAM, clusters, node pools, nodes and kubeconfig, on an
//! infrastructure driver (the simulated fleet by default).
//!
//! It is the single writer of every resource in [`trees`]. Requests arrive over gRPC
//! (`accord.provisioner.v1`), are authorised by the auth layer against [`rules::RULES`], decided
//! by pure [`handlers`], committed with their events through the outbox by [`service`], and
//! published to NATS by the outbox relay. The [`reconcile`] controller converges pools on their
//! spec and the infrastructure on the committed state.

pub mod auth;
pub mod change;
pub mod config;
pub mod controller;
pub mod driver_ops;
#[cfg(feature = "failpoints")]
pub mod failpoint;
pub mod grpc;
pub mod handlers;
pub mod kubeconfig;
pub mod metrics;
pub mod reconcile;
pub mod rules;
pub mod service;
pub mod trees;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use accord_bus::Bus;
use accord_core::infra::InfraDriver;
use accord_proto::provisioner::v1 as pb;
use accord_runtime::{ServiceHost, grpc::GrpcServer, metrics::Metrics};
use accord_store::Store;
use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use handlers::projects::Bootstrap;
pub use service::{Provisioner, SERVICE};

/// Everything a running provisioner needs from its host process.
pub struct StartOptions {
    /// Address the gRPC server binds (port 0 picks one).
    pub grpc_addr: SocketAddr,
    /// The provisioner's store (opened by the caller; nobody else may open it).
    pub store: Store,
    /// A connected bus.
    pub bus: Bus,
    /// The infrastructure.
    pub driver: Arc<dyn InfraDriver>,
    /// Metrics registry the gRPC server records into.
    pub metrics: Metrics,
    /// How often every cluster is reconciled even without news.
    pub resync_interval: Duration,
    /// Cancelled to stop everything.
    pub shutdown: CancellationToken,
}

/// A started provisioner.
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Credentials minted because the store was empty (shown once).
    pub bootstrap: Option<Bootstrap>,
    /// The engine, for in-process callers and tests.
    pub provisioner: Arc<Provisioner>,
    /// Server, relay and controller tasks.
    pub tasks: JoinSet<anyhow::Result<()>>,
}

/// Starts the provisioner on the service kit: bootstrap credentials on an empty store, the
/// gRPC server, API-key verification for the other services, the relay and the controller.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let (provisioner, inputs) =
        Provisioner::new(opts.store.clone(), opts.driver.clone(), &opts.metrics);

    let bootstrap = {
        let reader = provisioner.reader().clone();
        match handlers::projects::bootstrap(&reader, OffsetDateTime::now_utc())
            .map_err(anyhow::Error::msg)?
        {
            Some((change, creds)) => {
                provisioner
                    .apply(change)
                    .await
                    .map_err(anyhow::Error::msg)?;
                Some(creds)
            }
            None => None,
        }
    };
    #[cfg(feature = "failpoints")]
    failpoint::arm();

    let api = grpc::Api::new(provisioner.clone());
    let server = GrpcServer::new(opts.grpc_addr)
        .with_auth(
            rules::RULES,
            auth::KeyAuthenticator::new(provisioner.reader().clone()),
        )
        .with_ready(opts.bus.connected())
        .with_metrics(opts.metrics.clone())
        .with_descriptor(accord_proto::FILE_DESCRIPTOR_SET)
        .add_service(pb::projects_server::ProjectsServer::new(api.clone()))
        .add_service(pb::clusters_server::ClustersServer::new(api.clone()))
        .add_service(pb::node_pools_server::NodePoolsServer::new(api.clone()))
        .add_service(pb::nodes_server::NodesServer::new(api));

    // Other services authenticate API keys by asking us (we own keys and memberships).
    let verifier = auth::KeyAuthenticator::new(provisioner.reader().clone());
    let verification = opts
        .bus
        .serve_key_verification(move |token| verifier.verification(token))
        .await
        .context("serving API-key verification")?;

    let (p, sd, every) = (
        provisioner.clone(),
        opts.shutdown.clone(),
        opts.resync_interval,
    );
    let verification_sd = opts.shutdown.clone();
    let host = ServiceHost::new(SERVICE, opts.bus, opts.store, opts.shutdown)
        .grpc(server)
        .critical("API-key verification", async move {
            verification_sd.cancelled().await;
            verification.stop().await;
            Ok(())
        })
        .critical("controller", async move {
            p.run_controller(inputs, every, sd).await;
            Ok(())
        });
    #[cfg(feature = "failpoints")]
    let host = if failpoint::relay_disabled() {
        host.without_relay()
    } else {
        host
    };
    let started = host.start().await?;
    Ok(Running {
        grpc_addr: started.grpc_addr.unwrap_or(opts.grpc_addr),
        bootstrap,
        provisioner,
        tasks: started.tasks,
    })
}
