//! `-o json|yaml` views of the image-builder's resources (`accord.images.v1`: images, image
//! details, builds) and of a node pool's image parts (rollout policy, revisions, rollout). Field names are the proto field names; timestamps are RFC 3339; maps are
//! sorted so the output is stable.

use std::collections::BTreeMap;

use accord_proto::images::v1 as pb;
use accord_proto::provisioner::v1 as pool_pb;
use serde::Serialize;

use super::{Resource, rfc3339};

/// One lifecycle change of an image.
#[derive(Debug, Serialize)]
pub struct TransitionView {
    action: String,
    by: String,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

impl From<&pb::Transition> for TransitionView {
    fn from(t: &pb::Transition) -> Self {
        TransitionView {
            action: t.action.clone(),
            by: t.by.clone(),
            reason: t.reason.clone(),
            at: rfc3339(t.at.as_ref()),
        }
    }
}

/// A worker image.
#[derive(Debug, Serialize)]
pub struct ImageView {
    kind: &'static str,
    id: String,
    version: String,
    channel: String,
    driver_branch: String,
    driver_version: String,
    kernel: String,
    os: String,
    kubelet: BTreeMap<String, String>,
    instance_types: Vec<String>,
    status: String,
    status_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<String>,
    key_id: String,
    history: Vec<TransitionView>,
    build: String,
    ofed: String,
    containerd: String,
}

impl From<&pb::Image> for ImageView {
    fn from(i: &pb::Image) -> Self {
        ImageView {
            kind: "Image",
            id: i.id.clone(),
            version: i.version.clone(),
            channel: i.channel.clone(),
            driver_branch: i.driver_branch.clone(),
            driver_version: i.driver_version.clone(),
            kernel: i.kernel.clone(),
            os: i.os.clone(),
            kubelet: i.kubelet.clone().into_iter().collect(),
            instance_types: i.instance_types.clone(),
            status: i.status.clone(),
            status_reason: i.status_reason.clone(),
            published_at: rfc3339(i.published_at.as_ref()),
            key_id: i.key_id.clone(),
            history: i.history.iter().map(TransitionView::from).collect(),
            build: i.build.clone(),
            ofed: i.ofed.clone(),
            containerd: i.containerd.clone(),
        }
    }
}

/// An image with its manifest, SBOM summary and signature status (`describe image -o json`).
#[derive(Debug, Serialize)]
pub struct ImageDetailView {
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<ImageView>,
    /// The manifest as a JSON object (the text when it does not parse).
    manifest: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    sbom: Option<SbomView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<SignatureView>,
}

/// The SBOM summary.
#[derive(Debug, Serialize)]
pub struct SbomView {
    format: String,
    spec_version: String,
    serial_number: String,
    components: u32,
    sha256: String,
}

/// The signature status.
#[derive(Debug, Serialize)]
pub struct SignatureView {
    verified: bool,
    key_id: String,
    signature: String,
    detail: String,
}

impl From<&pb::ImageDetail> for ImageDetailView {
    fn from(d: &pb::ImageDetail) -> Self {
        ImageDetailView {
            kind: "ImageDetail",
            image: d.image.as_ref().map(ImageView::from),
            manifest: serde_json::from_str(&d.manifest_json)
                .unwrap_or_else(|_| serde_json::Value::String(d.manifest_json.clone())),
            sbom: d.sbom.as_ref().map(|s| SbomView {
                format: s.format.clone(),
                spec_version: s.spec_version.clone(),
                serial_number: s.serial_number.clone(),
                components: s.components,
                sha256: s.sha256.clone(),
            }),
            signature: d.signature.as_ref().map(|s| SignatureView {
                verified: s.verified,
                key_id: s.key_id.clone(),
                signature: s.signature.clone(),
                detail: s.detail.clone(),
            }),
        }
    }
}

/// One stage of a build.
#[derive(Debug, Serialize)]
pub struct BuildStageView {
    name: String,
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    duration_ms: u64,
    log: Vec<String>,
}

/// An image build.
#[derive(Debug, Serialize)]
pub struct BuildView {
    kind: &'static str,
    id: String,
    version: String,
    driver_branch: String,
    state: String,
    stage: String,
    stages: Vec<BuildStageView>,
    image: String,
    error: String,
    by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
}

impl From<&pb::Build> for BuildView {
    fn from(b: &pb::Build) -> Self {
        BuildView {
            kind: "Build",
            id: b.id.clone(),
            version: b.version.clone(),
            driver_branch: b.driver_branch.clone(),
            state: b.state.clone(),
            stage: b.stage.clone(),
            stages: b
                .stages
                .iter()
                .map(|s| BuildStageView {
                    name: s.name.clone(),
                    state: s.state.clone(),
                    started_at: rfc3339(s.started_at.as_ref()),
                    finished_at: rfc3339(s.finished_at.as_ref()),
                    duration_ms: s.duration_ms,
                    log: s.log.clone(),
                })
                .collect(),
            image: b.image.clone(),
            error: b.error.clone(),
            by: b.by.clone(),
            created_at: rfc3339(b.created_at.as_ref()),
            finished_at: rfc3339(b.finished_at.as_ref()),
        }
    }
}

impl Resource for pb::Image {
    const KIND: &'static str = "image";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ImageView::from(self))
    }
}

impl Resource for pb::ImageDetail {
    const KIND: &'static str = "image";
    fn name(&self) -> &str {
        self.image
            .as_ref()
            .map(|i| i.id.as_str())
            .unwrap_or_default()
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ImageDetailView::from(self))
    }
}

impl Resource for pb::Build {
    const KIND: &'static str = "build";
    fn name(&self) -> &str {
        &self.id
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(BuildView::from(self))
    }
}

/// A node pool's rollout policy (`get nodepool -o json`, `spec.rollout_policy`).
#[derive(Debug, Serialize)]
pub struct RolloutPolicyView {
    wave_percentages: Vec<u32>,
    batch_size: u32,
    soak_seconds: u32,
    max_unavailable: u32,
    only_in_maintenance_windows: bool,
    ready_timeout_seconds: u32,
}

impl From<&pool_pb::RolloutPolicy> for RolloutPolicyView {
    fn from(p: &pool_pb::RolloutPolicy) -> Self {
        RolloutPolicyView {
            wave_percentages: p.wave_percentages.clone(),
            batch_size: p.batch_size,
            soak_seconds: p.soak_seconds,
            max_unavailable: p.max_unavailable,
            only_in_maintenance_windows: p.only_in_maintenance_windows,
            ready_timeout_seconds: p.ready_timeout_seconds,
        }
    }
}

/// One revision of a node pool (`status.revisions`).
#[derive(Debug, Serialize)]
pub struct PoolRevisionView {
    revision: u32,
    image_version: String,
    image_id: String,
    driver_version: String,
    kubernetes_version: String,
    active_nodes: u32,
    disabled: bool,
}

impl From<&pool_pb::PoolRevision> for PoolRevisionView {
    fn from(r: &pool_pb::PoolRevision) -> Self {
        PoolRevisionView {
            revision: r.revision,
            image_version: r.image_version.clone(),
            image_id: r.image_id.clone(),
            driver_version: r.driver_version.clone(),
            kubernetes_version: r.kubernetes_version.clone(),
            active_nodes: r.active_nodes,
            disabled: r.disabled,
        }
    }
}

/// A node pool's rollout (`status.rollout`).
#[derive(Debug, Serialize)]
pub struct RolloutView {
    phase: String,
    halt_reason: String,
    from_revision: u32,
    to_revision: u32,
    wave: u32,
    waves: u32,
    nodes_on_new: u32,
    nodes_total: u32,
}

impl From<&pool_pb::Rollout> for RolloutView {
    fn from(r: &pool_pb::Rollout) -> Self {
        RolloutView {
            phase: r.phase.clone(),
            halt_reason: r.halt_reason.clone(),
            from_revision: r.from_revision,
            to_revision: r.to_revision,
            wave: r.wave,
            waves: r.waves,
            nodes_on_new: r.nodes_on_new,
            nodes_total: r.nodes_total,
        }
    }
}
