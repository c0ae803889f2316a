//! The provisioner: projects and IAM, clusters, node pools, nodes and kubeconfig, on an
//! infrastructure driver (the simulated fleet by default).
//!
//! It is the single writer of every resource in [`trees`]. Requests arrive over gRPC
//! (`accord.provisioner.v1`), are authorised by the auth layer against [`rules::RULES`], decided
//! by pure [`handlers`], committed with their events through the outbox by [`service`], and
//! published to NATS by the outbox relay. The [`reconcile`] controller converges pools on their
//! spec and the infrastructure on the committed state.

pub mod auth;
pub mod autoclusters;
pub mod change;
pub mod config;
pub mod controller;
pub mod driver_ops;
#[cfg(feature = "failpoints")]
pub mod failpoint;
pub mod grpc;
pub mod handlers;
pub mod images;
pub mod kubeconfig;
pub mod metrics;
pub mod nats_callout;
pub mod reconcile;
pub mod rollouts;
pub mod rules;
pub mod service;
pub mod trees;

use std::{sync::Arc, time::Duration};

use accord_core::infra::InfraDriver;
use accord_plugin_host::PluginKind;
use accord_proto::provisioner::v1 as pb;
use accord_runtime::{Basics, ServiceHost, Started};
use anyhow::Context as _;
use time::OffsetDateTime;

pub use handlers::projects::Bootstrap;
pub use service::{Provisioner, SERVICE};

/// Everything a running provisioner needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    /// The infrastructure.
    pub driver: Arc<dyn InfraDriver>,
    /// How often every cluster is reconciled even without news.
    pub resync_interval: Duration,
    /// AutoClusters (health findings → remediations); `None`: findings are not consumed.
    pub autoclusters: Option<autoclusters::Options>,
    /// How long a control-plane replica stays down before the provider rebuilds it (a blip
    /// is not worth a rebuild).
    pub replica_grace: Duration,
    /// The provider's image-signing public key: images are learnt from `image.*` events only
    /// when their signature verifies with it, and checked again before a node boots one.
    /// `None`: no image is trusted (pools cannot get nodes).
    pub image_key: Option<accord_image::VerifyingKey>,
    /// Answer the NATS server's auth callout (customers connecting with their API key);
    /// `None`: the server authenticates no customers.
    pub nats_callout: Option<nats_callout::NatsCallout>,
}

/// A started provisioner.
pub struct Running {
    pub service: Started<Provisioner>,
    /// Credentials minted because the store was empty (shown once).
    pub bootstrap: Option<Bootstrap>,
}

/// Starts the provisioner on the service kit: bootstrap credentials on an empty store, the
/// gRPC server, API-key verification for the other services, the relay and the controller.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let (provisioner, inputs) = Provisioner::new(b.store.clone(), opts.driver.clone(), &b.metrics);
    provisioner.set_replica_grace(opts.replica_grace);
    match opts.image_key {
        Some(key) => provisioner.set_image_key(key),
        None => tracing::warn!("no image-signing key configured: every published image is refused"),
    }

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

    // Other services authenticate API keys by asking us (we own keys and memberships).
    let verifier = auth::KeyAuthenticator::new(provisioner.reader().clone());
    let verification = b
        .bus
        .serve_key_verification(move |token| verifier.verification(token))
        .await
        .context("serving API-key verification")?;
    if let Some(callout) = opts.nats_callout {
        nats_callout::start(
            callout,
            auth::KeyAuthenticator::new(provisioner.reader().clone()),
            b.shutdown.clone(),
        )
        .await?;
    }

    // AutoClusters: the shipped policy (compiled off the async workers), pushes to the plugin
    // bucket swapped in at run time.
    let policy_watch = match &opts.autoclusters {
        Some(options) => {
            let options = options.clone();
            let ac =
                tokio::task::spawn_blocking(move || autoclusters::AutoClusters::load(&options))
                    .await
                    .context("loading the remediation policy")??;
            let policies = Arc::clone(ac.policies());
            provisioner.enable_autoclusters(ac);
            let reindexed = provisioner
                .reindex_remediations()
                .await
                .context("indexing the stored remediations")?;
            if reindexed > 0 {
                tracing::info!(reindexed, "indexed remediations stored before the indexes");
            }
            let shipped = {
                let p = Arc::clone(&policies);
                Arc::new(move |name: &str| p.shipped(name))
            };
            Some(
                accord_runtime::plugin_watch::start(
                    &b.bus,
                    Arc::clone(policies.registry()),
                    PluginKind::RemediationPolicy,
                    shipped,
                    b.shutdown.clone(),
                )
                .await
                .context("watching the plugin bucket for remediation policies")?,
            )
        }
        None => None,
    };

    let api = grpc::Api::new(provisioner.clone());
    let (p, sd, every) = (
        provisioner.clone(),
        b.shutdown.clone(),
        opts.resync_interval,
    );
    let verification_sd = b.shutdown.clone();
    let host = ServiceHost::new(SERVICE, b)
        .api(
            rules::RULES,
            auth::KeyAuthenticator::new(provisioner.reader().clone()),
            |s| {
                s.add_service(pb::projects_server::ProjectsServer::new(api.clone()))
                    .add_service(pb::clusters_server::ClustersServer::new(api.clone()))
                    .add_service(pb::node_pools_server::NodePoolsServer::new(api.clone()))
                    .add_service(pb::nodes_server::NodesServer::new(api.clone()))
                    .add_service(pb::remediations_server::RemediationsServer::new(api))
            },
        )
        .critical("API-key verification", async move {
            verification_sd.cancelled().await;
            verification.stop().await;
            Ok(())
        })
        .critical("controller", async move {
            p.run_controller(inputs, every, sd).await;
            Ok(())
        });
    // Published images (image-builder's `image.*`), verified before they are kept.
    let images_p = provisioner.clone();
    let host = host.consumer(images::SUBSCRIPTION, move |event, _meta| {
        let p = images_p.clone();
        async move { p.on_image_event(event).await }
    });
    let host = match policy_watch {
        Some(watch) => {
            let p = provisioner.clone();
            host.consumer(autoclusters::SUBSCRIPTION, move |input, meta| {
                let p = p.clone();
                async move { p.on_autoclusters_input(input, &meta.id).await }
            })
            // Without the watch, pushed policies wait for the next start; the shipped one
            // keeps deciding.
            .best_effort("remediation-policy watch", async move {
                watch.await.context("the remediation-policy watch")
            })
        }
        None => host,
    };
    #[cfg(feature = "failpoints")]
    let host = if failpoint::relay_disabled() {
        host.without_relay()
    } else {
        host
    };
    Ok(Running {
        service: host.start(provisioner).await?,
        bootstrap,
    })
}
