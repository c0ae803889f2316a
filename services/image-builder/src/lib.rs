//! image-builder: the provider's worker images — built from a manifest through named stages
//! (resolve, install, configure, sbom, scan, sign, publish) on a simulated build farm,
//! content-addressed (the id is the SHA-256 of the canonical manifest), signed with the
//! provider's Ed25519 key, described by a CycloneDX SBOM, refused when the compatibility
//! matrix knows a pair in them to be broken, and carried through their lifecycle (candidate →
//! stable, deprecated, withdrawn).
//!
//! The image rules are the `accord-image` crate (pure). The service around it: [`grpc`] serves
//! `accord.images.v1.Images` (authorised by [`rules::RULES`]: building and the lifecycle are
//! the provider's, reading is open to both parties); [`service`] commits every change with its
//! `image.*` events through the outbox; [`handlers`] decide those changes; [`reconcile`] runs
//! the builds stage by stage; [`trees`] is the store; [`keys`] the signing key on disk;
//! [`config`] the standalone binary's settings.
//!
//! On first start with an empty store the base release (`accord_image::default_base`: one
//! manifest per driver branch) is published and promoted to `stable` — the provisioner's
//! initial set of published images, learnt from the `image.published` events.
//!
//! Invariants: image-builder is the single writer of images and builds; an image is published
//! once (its key is its id); every published image carries a signature that verifies over its
//! stored manifest with the service's key; a build's state is in the store after every step,
//! so a process stopped mid-stage restarts that stage and publishes exactly once.

pub mod config;
pub mod grpc;
pub mod handlers;
pub mod keys;
pub mod reconcile;
pub mod rules;
pub mod service;
pub mod trees;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use accord_proto::images::v1::images_server::ImagesServer;
use accord_runtime::{Basics, ServiceHost, Started, grpc::BusAuthenticator};
use anyhow::Context as _;

pub use keys::load_or_create_signing_key;
pub use service::{DEFAULT_STAGE_DURATION, ImageBuilder, SERVICE, Settings};

/// Everything a running image-builder needs from its host process.
pub struct StartOptions {
    pub basics: Basics,
    pub settings: Settings,
}

/// A started image-builder.
pub type Running = Started<ImageBuilder>;

/// Starts image-builder on the service kit: the base release published when missing, then
/// gRPC, relay and the build reconciler.
pub async fn start(opts: StartOptions) -> anyhow::Result<Running> {
    let b = &opts.basics;
    let service = ImageBuilder::new(b.store.clone(), opts.settings, &b.metrics)?;
    let published = service
        .publish_base()
        .await
        .context("publishing the base release")?;
    if published > 0 {
        tracing::info!(images = published, "published the base release");
    }
    let api = grpc::Api::new(Arc::clone(&service));
    ServiceHost::new(SERVICE, b)
        .api(rules::RULES, BusAuthenticator::new(b.bus.clone()), |s| {
            s.add_service(ImagesServer::new(api))
        })
        .critical(
            "image-builds",
            Arc::clone(&service).run_builds(b.shutdown.clone()),
        )
        .start(service)
        .await
}
