//! The addon-manager: runs the add-on plugins for every cluster and keeps each add-on's
//! ownership (provider-managed → shared → customer-owned) true.
//!
//! It is the single writer of add-on installations ([`trees`]). It learns about clusters and
//! node pools from the provisioner's events ([`consumer`] → [`handlers::cluster_view`]), installs
//! the add-ons a cluster opted into and the Network Operator when an InfiniBand pool appears
//! (retrying those that fail, [`install_retries`]), re-renders manifests when the cluster
//! changes or the project's NFS gate moves (the storage service's `nfs.*` events →
//! [`handlers::nfs_gate`]; the csi-driver gets the gate as `platform.nfsEnabled`, see
//! [`catalog`]), and serves `accord.addons.v1.Addons`
//! ([`grpc`], authorised by [`rules::RULES`]) and the provider's plugin pushes,
//! `accord.addons.v1.Plugins` ([`plugins`]). Every decision is a plain function in
//! [`handlers`] over the plugin results the [`catalog`] produced; [`service`] commits it with
//! its events through the outbox. Pushed plugins replace shipped ones without a restart (the
//! kit's `accord_runtime::plugin_watch`).
//!
//! Invariants:
//! - ownership never moves without an `addon.ownership-changed` event carrying the reason;
//! - a provider critical upgrade never touches a customer-owned installation, and says so with
//!   `addon.upgrade-skipped`;
//! - API keys are verified by the provisioner on every call (this service stores none).

pub mod bounds;
pub mod catalog;
pub mod config;
pub mod consumer;
pub mod grpc;
pub mod handlers;
pub mod install_retries;
pub mod metrics;
pub mod plugins;
pub mod rules;
pub mod service;
pub mod trees;
pub mod view;

use std::{path::PathBuf, sync::Arc};

use accord_plugin_host::{HostConfig, PluginKind};
use accord_proto::addons::v1::{addons_server::AddonsServer, plugins_server::PluginsServer};
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};
use anyhow::Context as _;

pub use service::{AddonManager, SERVICE};

/// Everything a running addon-manager needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// Directory of the shipped add-on plugins.
    pub plugin_dir: PathBuf,
    /// Which add-ons of that directory are shipped (by name); pushes may add others.
    pub shipped_addons: Vec<String>,
    /// Plugin sandbox limits.
    pub host_config: HostConfig,
    /// Where clusters reach the Accord API, handed to the add-ons that declare
    /// `platform.apiEndpoint` (the cluster-autoscaler's cloud provider); empty: not known, and
    /// those add-ons refuse to render.
    pub api_endpoint: String,
}

/// A started addon-manager.
pub type Running = Started<AddonManager>;

/// Loads the plugins, then starts the service on the kit: gRPC, relay, the event consumer and
/// the plugin-bucket watch.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    // The autoscaler plugin validates it as an https:// URL; a bad setting would surface as a
    // customer's configuration error, so it stops the start instead (same rules as the plugin).
    config::check_api_endpoint(&opts.api_endpoint).map_err(anyhow::Error::msg)?;
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
        &b.bus,
        Arc::clone(catalog.registry()),
        PluginKind::Addon,
        shipped,
        b.shutdown.clone(),
    )
    .await
    .context("watching the plugin bucket")?;
    let addon_metrics = metrics::AddonMetrics::register(&b.metrics, Arc::clone(&catalog));
    let manager = AddonManager::new(
        b.store.clone(),
        catalog,
        &b.metrics,
        addon_metrics,
        &opts.api_endpoint,
    );

    let api = grpc::Api::new(Arc::clone(&manager));
    let plugins = plugins::PluginsApi::new(Arc::clone(manager.catalog().registry()), b.bus.clone());
    ServiceHost::new(SERVICE, b)
        .api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
            s.add_service(AddonsServer::new(api))
                .add_service(PluginsServer::new(plugins))
        })
        .events(consumer::SUBSCRIPTION, Arc::clone(&manager))
        // Without the watch, pushes wait for the next start; the add-ons keep serving.
        .best_effort("plugin-bucket watch", async move {
            watch.await.context("the plugin-bucket watch")
        })
        .critical(
            "automatic-install retries",
            install_retries::run(
                Arc::clone(&manager),
                install_retries::TICK,
                b.shutdown.clone(),
            ),
        )
        .start(manager)
        .await
}
