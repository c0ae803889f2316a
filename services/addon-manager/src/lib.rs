//! The addon-manager: runs the add-on plugins for every cluster and keeps each add-on's
//! ownership (provider-managed → shared → customer-owned) true.
//!
//! It is the single writer of add-on installations ([`trees`]). It learns about clusters and
//! node pools from the provisioner's events ([`consumer`] → [`handlers::cluster_view`]), installs
//! the add-ons a cluster opted into and the Network Operator when an InfiniBand pool appears,
//! re-renders manifests when the cluster changes, and serves `accord.addons.v1.Addons`
//! ([`grpc`], authorised by [`rules::RULES`]). Every decision is a plain function in
//! [`handlers`] over the plugin results the [`catalog`] produced; [`service`] commits it with
//! its events through the outbox. Pushed plugins replace shipped ones without a restart (the
//! kit's `accord_runtime::plugin_watch`).
//!
//! Invariants:
//! - ownership never moves without an `addon.ownership-changed` event carrying the reason;
//! - a provider critical upgrade never touches a customer-owned installation, and says so with
//!   `addon.upgrade-skipped`;
//! - API keys are verified by the provisioner on every call (this service stores none).

pub mod catalog;
pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
pub mod metrics;
pub mod rules;
pub mod service;
pub mod trees;
pub mod view;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use accord_bus::Bus;
use accord_plugin_host::{HostConfig, PluginKind};
use accord_proto::addons::v1::addons_server::AddonsServer;
use accord_runtime::{
    ServiceHost,
    grpc::{BusAuthenticator, GrpcServer},
    metrics::Metrics,
};
use accord_store::Store;
use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use service::{AddonManager, SERVICE};

/// Everything a running addon-manager needs from its host process.
pub struct StartOptions {
    /// Address the gRPC server binds (port 0 picks one).
    pub grpc_addr: SocketAddr,
    /// The addon-manager's store (nobody else may open it).
    pub store: Store,
    /// A connected bus.
    pub bus: Bus,
    /// Metrics registry.
    pub metrics: Metrics,
    /// Directory of the shipped add-on plugins.
    pub plugin_dir: PathBuf,
    /// Which add-ons of that directory are shipped (by name); pushes may add others.
    pub shipped_addons: Vec<String>,
    /// Plugin sandbox limits.
    pub host_config: HostConfig,
    /// Cancelled to stop everything.
    pub shutdown: CancellationToken,
}

/// A started addon-manager.
pub struct Running {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// The engine, for in-process callers and tests.
    pub manager: Arc<AddonManager>,
    /// Server, relay, consumer and plugin-watch tasks.
    pub tasks: JoinSet<anyhow::Result<()>>,
}

/// Loads the plugins, then starts the service on the kit: gRPC, relay, the event consumer and
/// the plugin-bucket watch.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let catalog = Arc::new(
        catalog::Catalog::new(opts.host_config.clone()).context("starting the plugin host")?,
    );
    {
        let (c, dir, allowed) = (
            Arc::clone(&catalog),
            opts.plugin_dir.clone(),
            opts.shipped_addons.clone(),
        );
        let loaded = tokio::task::spawn_blocking(move || c.load_dir(&dir, &allowed))
            .await
            .context("loading add-on plugins")?
            .with_context(|| {
                format!(
                    "reading the add-on plugin directory {} (build it with `cargo xtask plugins`)",
                    opts.plugin_dir.display()
                )
            })?;
        tracing::info!(addons = ?loaded, dir = %opts.plugin_dir.display(), "shipped add-on plugins");
    }
    let shipped = {
        let c = Arc::clone(&catalog);
        Arc::new(move |name: &str| c.shipped(name))
    };
    let watch = accord_runtime::plugin_watch::start(
        &opts.bus,
        Arc::clone(catalog.registry()),
        PluginKind::Addon,
        shipped,
        opts.shutdown.clone(),
    )
    .await
    .context("watching the plugin bucket")?;
    let addon_metrics = metrics::AddonMetrics::register(&opts.metrics, Arc::clone(&catalog));
    let manager = AddonManager::new(opts.store.clone(), catalog, &opts.metrics, addon_metrics);

    let server = GrpcServer::new(opts.grpc_addr)
        .with_auth(rules::RULES, BusAuthenticator::new(opts.bus.clone()))
        .with_ready(opts.bus.connected())
        .with_metrics(opts.metrics.clone())
        .with_descriptor(accord_proto::FILE_DESCRIPTOR_SET)
        .add_service(AddonsServer::new(grpc::Api::new(Arc::clone(&manager))));
    let m = Arc::clone(&manager);
    let started = ServiceHost::new(SERVICE, opts.bus, opts.store, opts.shutdown)
        .grpc(server)
        .consumer(consumer::SUBSCRIPTION, move |input, _meta| {
            let m = Arc::clone(&m);
            async move { m.on_input(input).await }
        })
        // Without the watch, pushes wait for the next start; the add-ons keep serving.
        .best_effort("plugin-bucket watch", async move {
            watch.await.context("the plugin-bucket watch")
        })
        .start()
        .await?;
    Ok(Running {
        grpc_addr: started.grpc_addr.unwrap_or(opts.grpc_addr),
        manager,
        tasks: started.tasks,
    })
}
