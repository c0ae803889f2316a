//! image-builder's gRPC edge (`accord.images.v1.Images`): bounds every request before any
//! work (each field against its limit, the error naming the field and the limit, never
//! echoing the value), runs the engine and renders its records. The responsibility rule of
//! each method ([`crate::rules`]) was enforced by the kit's auth layer before a method runs;
//! images are platform-wide, so there is no project to resolve. Nothing here decides an image
//! rule.

use std::sync::Arc;

use accord_core::{DomainError, error::Violations, limits};
use accord_image::{
    ManifestSignature, limits::MAX_MANIFEST_BYTES, parse_canonical, sbom, verify_bytes,
    verifying_key_to_pem,
};
use accord_proto::{
    convert::{provisioner::ts, status_from},
    images::v1::{self as pb, images_server::Images},
};
use accord_runtime::grpc::caller;
use sha2::{Digest as _, Sha256};
use tonic::{Request, Response, Status};

use crate::{
    handlers::{
        Ctx,
        build::BuildRequest,
        lifecycle::{Step, status},
    },
    service::ImageBuilder,
    trees::{StoredBuild, StoredImage},
};

/// Longest reason, bytes.
pub const MAX_REASON_BYTES: usize = accord_image::limits::MAX_REASON_CHARS;
/// Longest image name (an id is 71 bytes; a label/branch fewer).
pub const MAX_IMAGE_NAME_BYTES: usize = 128;
/// Longest short field (branch, version, stage, channel, build id).
pub const MAX_SHORT_BYTES: usize = 64;

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    s: Arc<ImageBuilder>,
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

/// INVALID_ARGUMENT when a field is over its limit.
fn bounded(fields: &[(&str, &str, usize)]) -> Result<(), Status> {
    let mut v = Violations::new();
    for (field, value, max) in fields {
        limits::text(&mut v, field, value, *max);
    }
    v.into_result().map_err(st)
}

impl Api {
    pub fn new(s: Arc<ImageBuilder>) -> Self {
        Self { s }
    }

    /// The operator's context: their name, now.
    fn ctx<T>(req: &Request<T>) -> Result<Ctx, Status> {
        Ok(Ctx::new(caller(req)?.principal.display_name()))
    }

    fn named(&self, req: &pb::GetImageRequest) -> Result<StoredImage, Status> {
        bounded(&[("image", &req.image, MAX_IMAGE_NAME_BYTES)])?;
        self.s.image(&req.image).map_err(st)
    }

    async fn transition(
        &self,
        step: Step,
        req: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        let ctx = Self::ctx(&req)?;
        let r = req.into_inner();
        bounded(&[
            ("image", &r.image, MAX_IMAGE_NAME_BYTES),
            ("reason", &r.reason, MAX_REASON_BYTES),
        ])?;
        let image = self
            .s
            .transition(&ctx, step, &r.image, &r.reason)
            .await
            .map_err(st)?;
        Ok(Response::new(image_pb(&image)))
    }
}

/// An image as the API shows it.
pub fn image_pb(i: &StoredImage) -> pb::Image {
    let r = &i.record;
    let manifest = parse_canonical(i.manifest.as_bytes()).ok();
    let (state, reason) = status(i);
    let mut out = pb::Image {
        id: r.id.to_string(),
        version: r.version.to_string(),
        channel: r.channel.as_str().into(),
        driver_branch: r.driver_branch.clone(),
        status: state.into(),
        status_reason: reason.into(),
        published_at: Some(ts(i.published_at)),
        key_id: i.signature.key_id.clone(),
        history: r
            .history
            .iter()
            .map(|t| pb::Transition {
                action: serde_json::to_value(t.action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                by: t.by.clone(),
                reason: t.reason.clone(),
                at: Some(ts(t.at)),
            })
            .collect(),
        build: i.build.clone().unwrap_or_default(),
        ..Default::default()
    };
    if let Some(m) = manifest {
        out.driver_version = m.gpu_driver.version;
        out.kernel = m.kernel.version;
        out.os = format!("{} {}", m.os.id, m.os.version_id);
        out.kubelet = m.kubelet.into_iter().collect();
        out.instance_types = m.instance_types.into_iter().collect();
        out.ofed = m.doca_ofed.version;
        out.containerd = m.containerd.version;
    }
    out
}

/// A build as the API shows it.
pub fn build_pb(b: &StoredBuild) -> pb::Build {
    let stage = b
        .current()
        .map(|i| b.stages[i].stage.as_str().to_owned())
        .unwrap_or_default();
    pb::Build {
        id: b.id.clone(),
        version: b.version.to_string(),
        driver_branch: b.driver_branch.clone(),
        state: b.state.as_str().into(),
        stage,
        stages: b
            .stages
            .iter()
            .map(|s| pb::BuildStage {
                name: s.stage.as_str().into(),
                state: s.state.as_str().into(),
                started_at: s.started_at.map(ts),
                finished_at: s.finished_at.map(ts),
                duration_ms: s.duration_ms,
                log: s.log.clone(),
            })
            .collect(),
        image: b.image.to_string(),
        error: b.error.clone().unwrap_or_default(),
        by: b.by.clone(),
        created_at: Some(ts(b.created_at)),
        finished_at: b.finished_at.map(ts),
    }
}

/// Whether the stored signature verifies over the stored manifest with `key`.
fn signature_status(i: &StoredImage, key: &accord_image::VerifyingKey) -> pb::SignatureStatus {
    let sig: &ManifestSignature = &i.signature;
    let outcome = verify_bytes(i.manifest.as_bytes(), sig, key);
    pb::SignatureStatus {
        verified: outcome.is_ok(),
        key_id: sig.key_id.clone(),
        signature: sig.signature.clone(),
        detail: outcome.err().map(|e| e.to_string()).unwrap_or_default(),
    }
}

fn sbom_summary(i: &StoredImage) -> pb::SbomSummary {
    let sha256 = hex::encode(Sha256::digest(i.sbom.as_bytes()));
    match sbom::Bom::from_json(&i.sbom) {
        Ok(bom) => {
            let s = sbom::summary(&bom);
            pb::SbomSummary {
                format: s.format,
                spec_version: s.spec_version,
                serial_number: bom.serial_number,
                components: u32::try_from(s.components).unwrap_or(u32::MAX),
                sha256,
            }
        }
        Err(_) => pb::SbomSummary {
            sha256,
            ..Default::default()
        },
    }
}

#[tonic::async_trait]
impl Images for Api {
    async fn list_images(
        &self,
        req: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesResponse>, Status> {
        let r = req.into_inner();
        bounded(&[
            ("channel", &r.channel, MAX_SHORT_BYTES),
            ("driver_branch", &r.driver_branch, MAX_SHORT_BYTES),
        ])?;
        let images = self
            .s
            .list_images(&r.channel, &r.driver_branch, r.include_withdrawn)
            .map_err(st)?;
        Ok(Response::new(pb::ListImagesResponse {
            images: images.iter().map(image_pb).collect(),
        }))
    }

    async fn get_image(
        &self,
        req: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDetail>, Status> {
        let i = self.named(req.get_ref())?;
        let manifest_json = serde_json::from_str::<serde_json::Value>(&i.manifest)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| i.manifest.clone());
        Ok(Response::new(pb::ImageDetail {
            image: Some(image_pb(&i)),
            manifest_json,
            sbom: Some(sbom_summary(&i)),
            signature: Some(signature_status(&i, &self.s.verifying_key())),
        }))
    }

    async fn get_image_sbom(
        &self,
        req: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDocument>, Status> {
        let i = self.named(req.get_ref())?;
        Ok(Response::new(pb::ImageDocument {
            content_type: "application/vnd.cyclonedx+json".into(),
            data: i.sbom.into_bytes(),
        }))
    }

    async fn get_image_manifest(
        &self,
        req: Request<pb::GetImageRequest>,
    ) -> Result<Response<pb::ImageDocument>, Status> {
        let i = self.named(req.get_ref())?;
        Ok(Response::new(pb::ImageDocument {
            content_type: "application/json".into(),
            data: i.manifest.into_bytes(),
        }))
    }

    async fn get_signing_key(
        &self,
        _req: Request<pb::GetSigningKeyRequest>,
    ) -> Result<Response<pb::SigningKey>, Status> {
        let key = self.s.verifying_key();
        Ok(Response::new(pb::SigningKey {
            key_id: self.s.key_id(),
            public_key_pem: verifying_key_to_pem(&key).map_err(|e| st(DomainError::from(e)))?,
        }))
    }

    async fn get_compatibility_matrix(
        &self,
        _req: Request<pb::GetCompatibilityMatrixRequest>,
    ) -> Result<Response<pb::CompatibilityMatrix>, Status> {
        let (matrix, yaml) = self.s.matrix();
        Ok(Response::new(pb::CompatibilityMatrix {
            version: matrix.version.to_string(),
            yaml: yaml.to_owned(),
            rules: u32::try_from(matrix.rules.len()).unwrap_or(u32::MAX),
        }))
    }

    async fn build_image(
        &self,
        req: Request<pb::BuildImageRequest>,
    ) -> Result<Response<pb::Build>, Status> {
        let ctx = Self::ctx(&req)?;
        let r = req.into_inner();
        bounded(&[
            ("manifest", &r.manifest, MAX_MANIFEST_BYTES),
            ("driver_branch", &r.driver_branch, MAX_SHORT_BYTES),
            ("version", &r.version, MAX_SHORT_BYTES),
            ("fail_at_stage", &r.fail_at_stage, MAX_SHORT_BYTES),
            ("reason", &r.reason, MAX_REASON_BYTES),
        ])?;
        let request = BuildRequest {
            manifest: r.manifest,
            driver_branch: r.driver_branch,
            version: r.version,
            fail_at_stage: r.fail_at_stage,
            reason: r.reason,
        };
        let build = self.s.build(&ctx, &request).await.map_err(st)?;
        Ok(Response::new(build_pb(&build)))
    }

    async fn get_build(
        &self,
        req: Request<pb::GetBuildRequest>,
    ) -> Result<Response<pb::Build>, Status> {
        let r = req.into_inner();
        bounded(&[("build", &r.build, MAX_SHORT_BYTES)])?;
        let build = self.s.get_build(&r.build).map_err(st)?;
        Ok(Response::new(build_pb(&build)))
    }

    async fn list_builds(
        &self,
        _req: Request<pb::ListBuildsRequest>,
    ) -> Result<Response<pb::ListBuildsResponse>, Status> {
        let builds = self.s.list_builds().map_err(st)?;
        Ok(Response::new(pb::ListBuildsResponse {
            builds: builds.iter().map(build_pb).collect(),
        }))
    }

    async fn promote_image(
        &self,
        req: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        self.transition(Step::Promote, req).await
    }

    async fn deprecate_image(
        &self,
        req: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        self.transition(Step::Deprecate, req).await
    }

    async fn withdraw_image(
        &self,
        req: Request<pb::ImageTransitionRequest>,
    ) -> Result<Response<pb::Image>, Status> {
        self.transition(Step::Withdraw, req).await
    }
}
