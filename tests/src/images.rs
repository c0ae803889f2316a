//! The harness's image-builder: every deployment runs it beside the provisioner (its key from
//! [`crate::IMAGE_KEY_SEED`], stages of [`crate::IMAGE_STAGE_DURATION`]); its gRPC client
//! ([`Env::images`]); and the wait at start until the provisioner has learnt the base release
//! from its `image.published` events ([`Env::await_base_release`]), since no node can be
//! created before; and another image-builder on a store the test keeps
//! ([`Env::start_image_builder_on`]), to stop and restart it. The operator's usual moves are
//! here too: a build waited on like `accord image build --wait` ([`Env::build_image_and_wait`]),
//! a promotion ([`Env::promote_image`]), and the wait until the provisioner lists an image
//! ([`Env::await_provisioner_image`]).

use std::{net::SocketAddr, time::Duration};

use accord_platform::ImageBuilderSettings;
use accord_proto::images::v1 as ipb;
use accord_proto::images::v1::images_client::ImagesClient;
use accord_proto::provisioner::v1 as pb;
use accord_store::Store;
use anyhow::{Context as _, anyhow};

use crate::{AuthChannel, Bearer, Env, IMAGE_KEY_SEED, Stopper, connect, wait_for};

impl Env {
    /// image-builder's client (`accord.images.v1.Images`) authenticated as `token`.
    pub fn images(&self, token: &str) -> anyhow::Result<ImagesClient<AuthChannel>> {
        Ok(ImagesClient::with_interceptor(
            self.images_channel.clone(),
            Bearer::new(token)?,
        ))
    }

    /// Waits until the provisioner lists the base release (one stable image per driver
    /// branch of `accord_image::default_base`), learnt from image-builder's events.
    pub async fn await_base_release(&self) -> anyhow::Result<()> {
        let types: Vec<String> = accord_sim::default_catalog()
            .instance_types
            .into_iter()
            .map(|t| t.name)
            .collect();
        let base = accord_image::default_base(&types)?.manifests.len();
        let pools = self.admin()?.node_pools;
        wait_for("the provisioner to learn the base release's images", || {
            let mut pools = pools.clone();
            async move {
                let images = pools
                    .list_images(pb::ListImagesRequest {
                        channel: "stable".into(),
                        ..Default::default()
                    })
                    .await
                    .map_err(|s| s.to_string())?
                    .into_inner()
                    .images;
                if images.len() >= base {
                    Ok(())
                } else {
                    Err(format!("{} of {base} images so far", images.len()))
                }
            }
        })
        .await
    }

    /// Starts another image-builder (the deployment's key and NATS) on `store` with
    /// `stage_duration`; returns its client, authenticated as the provider operator, and what
    /// stops it.
    pub async fn start_image_builder_on(
        &self,
        store: Store,
        stage_duration: Duration,
    ) -> anyhow::Result<(ImagesClient<AuthChannel>, Stopper)> {
        let mut settings = ImageBuilderSettings::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            accord_image::signing_key_from_seed(IMAGE_KEY_SEED),
        );
        settings.stage_duration = stage_duration;
        settings.store = Some(store);
        let running = self
            .platform()
            .image_builder(settings)
            .start()
            .await
            .context("starting image-builder")?;
        let addr = running
            .image_builder
            .as_ref()
            .map(|i| i.grpc_addr)
            .ok_or_else(|| anyhow!("the platform did not start image-builder"))?;
        let client = ImagesClient::with_interceptor(
            connect(addr, "image-builder").await?,
            Bearer::new(&self.operator_token)?,
        );
        let shutdown = running.shutdown.clone();
        let stopped = Box::pin(async move {
            if let Err(e) = running.join(Duration::from_secs(10)).await {
                eprintln!("an image-builder task failed: {e:#}");
            }
        });
        Ok((client, Stopper { shutdown, stopped }))
    }

    /// Builds `req` as the provider operator and polls `GetBuild` (like `accord image build
    /// --wait`) until it has succeeded; a failed build is an error naming its stage.
    pub async fn build_image_and_wait(
        &self,
        req: ipb::BuildImageRequest,
    ) -> anyhow::Result<ipb::Build> {
        let images = self.images(&self.operator_token)?;
        let build = images
            .clone()
            .build_image(req)
            .await
            .map_err(|s| anyhow!("BuildImage: {:?}: {}", s.code(), s.message()))?
            .into_inner();
        wait_for(&format!("build {} to succeed", build.id), || {
            let mut images = images.clone();
            let id = build.id.clone();
            async move {
                let b = images
                    .get_build(ipb::GetBuildRequest { build: id })
                    .await
                    .map_err(|s| s.to_string())?
                    .into_inner();
                match b.state.as_str() {
                    "succeeded" => Ok(Ok(b)),
                    "failed" => Ok(Err(anyhow!("build failed at {}: {}", b.stage, b.error))),
                    other => Err(format!("{other} at stage {}", b.stage)),
                }
            }
        })
        .await?
    }

    /// Promotes `image` (id, prefix or label) to `stable` as the provider operator.
    pub async fn promote_image(&self, image: &str) -> anyhow::Result<ipb::Image> {
        Ok(self
            .images(&self.operator_token)?
            .promote_image(ipb::ImageTransitionRequest {
                image: image.to_owned(),
                reason: "qualified".into(),
            })
            .await
            .map_err(|s| anyhow!("PromoteImage: {:?}: {}", s.code(), s.message()))?
            .into_inner())
    }

    /// Polls the provisioner's `ListImages` until it lists image `id` with `pred` holding.
    pub async fn await_provisioner_image(
        &self,
        id: &str,
        what: &str,
        pred: impl Fn(&pb::Image) -> bool,
    ) -> anyhow::Result<pb::Image> {
        let pools = self.admin()?.node_pools;
        let pred = &pred;
        wait_for(what, || {
            let mut pools = pools.clone();
            async move {
                let images = pools
                    .list_images(pb::ListImagesRequest::default())
                    .await
                    .map_err(|s| s.to_string())?
                    .into_inner()
                    .images;
                match images.into_iter().find(|i| i.id == id) {
                    Some(i) if pred(&i) => Ok(i),
                    Some(i) => Err(format!("listed as {i:?}")),
                    None => Err("not listed yet".into()),
                }
            }
        })
        .await
    }
}
