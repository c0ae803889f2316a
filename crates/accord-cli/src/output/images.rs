//! Worker images as the CLI prints them: the `get images` and `get builds` tables, the
//! `describe image` and `describe build` documents, `image build --wait`'s stage transitions
//! (a pure function over successive [`pb::Build`] snapshots), and a node pool's image and
//! rollout facts (`get nodepools`' UPDATE column, `describe nodepool`'s sections).
//!
//! Invariant: rendering is pure — "now" is an argument, nothing is fetched here. Image
//! documents (`image sbom`, `image manifest`) are not rendered at all: their bytes go to stdout
//! unchanged ([`document_bytes`]).

use accord_proto::images::v1 as pb;
use accord_proto::provisioner::v1 as pool_pb;
use serde_json::Value;
use time::OffsetDateTime;

use super::describe::Doc;
use super::tables::render;
use super::{age, or_dash, rfc3339};

/// Hex digits of an image id shown in tables.
const SHORT_ID_HEX: usize = 12;
/// Longest "required: <reason>" in the UPDATE column.
const UPDATE_COLUMN_CHARS: usize = 32;

/// `3f2a9c1b7d4e`: the first 12 hex digits of `sha256:<hex>` (the id as it is otherwise).
pub fn short_image_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.get(..SHORT_ID_HEX).unwrap_or(hex).to_owned()
}

/// The bytes `image sbom` / `image manifest` print: the document exactly as served.
pub fn document_bytes(document: &pb::ImageDocument) -> &[u8] {
    &document.data
}

/// `accord get images`.
pub fn images_table(images: &[pb::Image], now: OffsetDateTime) -> String {
    let rows = images
        .iter()
        .map(|i| {
            vec![
                or_dash(&i.version),
                or_dash(&i.driver_branch),
                or_dash(&i.channel),
                or_dash(&i.status),
                or_dash(&i.driver_version),
                or_dash(&i.kernel),
                short_image_id(&i.id),
                age(i.published_at.as_ref(), now),
            ]
        })
        .collect();
    render(
        &[
            "VERSION", "BRANCH", "CHANNEL", "STATUS", "DRIVER", "KERNEL", "ID", "AGE",
        ],
        rows,
    )
}

/// `accord get builds`.
pub fn builds_table(builds: &[pb::Build], now: OffsetDateTime) -> String {
    let rows = builds
        .iter()
        .map(|b| {
            vec![
                or_dash(&b.id),
                or_dash(&b.version),
                or_dash(&b.driver_branch),
                or_dash(&b.state),
                or_dash(&b.stage),
                short_image_id(&b.image),
                age(b.created_at.as_ref(), now),
            ]
        })
        .collect();
    render(
        &["ID", "VERSION", "BRANCH", "STATE", "STAGE", "IMAGE", "AGE"],
        rows,
    )
}

/// `1.5s`, `250ms`, `-` for zero.
fn stage_duration(ms: u64) -> String {
    match ms {
        0 => "-".to_owned(),
        ms if ms < 1000 => format!("{ms}ms"),
        ms => format!("{:.1}s", ms as f64 / 1000.0),
    }
}

/// A JSON string at `path` in `value`, empty when absent.
fn text_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `k=v, k=v` of the JSON object at `path`.
fn map_at(value: &Value, path: &[&str]) -> String {
    let Some(map) = path
        .iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_object)
    else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a, b` of the JSON array at `path`.
fn list_at(value: &Value, path: &[&str], separator: &str) -> String {
    let Some(items) = path
        .iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_array)
    else {
        return String::new();
    };
    items
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(separator)
}

/// `accord describe image`.
pub fn describe_image(detail: &pb::ImageDetail, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    let image = detail.image.clone().unwrap_or_default();
    doc.field(0, "Id", image.id.clone())
        .field(0, "Version", image.version.clone())
        .field(0, "Channel", image.channel.clone())
        .field(
            0,
            "Status",
            if image.status_reason.is_empty() {
                image.status.clone()
            } else {
                format!("{}: {}", image.status, image.status_reason)
            },
        )
        .field(
            0,
            "Published",
            match rfc3339(image.published_at.as_ref()) {
                Some(at) => format!("{at} ({} ago)", age(image.published_at.as_ref(), now)),
                None => String::new(),
            },
        )
        .field(0, "Build", image.build.clone());

    let manifest: Value = serde_json::from_str(&detail.manifest_json).unwrap_or(Value::Null);
    let os = format!(
        "{} {}",
        text_at(&manifest, &["os", "id"]),
        text_at(&manifest, &["os", "version_id"])
    );
    let driver = format!(
        "{} ({})",
        text_at(&manifest, &["gpu_driver", "version"]),
        text_at(&manifest, &["gpu_driver", "branch"])
    );
    doc.heading(0, "Manifest")
        .field(1, "OS", os.trim().to_owned())
        .field(1, "Kernel", text_at(&manifest, &["kernel", "version"]))
        .field(
            1,
            "containerd",
            text_at(&manifest, &["containerd", "version"]),
        )
        .field(1, "runc", text_at(&manifest, &["runc", "version"]))
        .field(1, "Kubelets", map_at(&manifest, &["kubelet"]))
        .field(1, "GPU Driver", driver)
        .field(
            1,
            "Fabric Manager",
            text_at(&manifest, &["fabric_manager", "version"]),
        )
        .field(
            1,
            "DOCA-OFED",
            text_at(&manifest, &["doca_ofed", "version"]),
        )
        .field(
            1,
            "CUDA Compat",
            text_at(&manifest, &["cuda_compat", "version"]),
        )
        .field(1, "Firmware", map_at(&manifest, &["firmware"]))
        .field(
            1,
            "Instance Types",
            list_at(&manifest, &["instance_types"], ", "),
        )
        .field(1, "Sysctls", map_at(&manifest, &["base", "sysctls"]))
        .field(
            1,
            "Kernel Args",
            list_at(&manifest, &["base", "kernel_args"], " "),
        )
        .field(1, "Hardening", text_at(&manifest, &["base", "hardening"]));

    let sbom = detail.sbom.clone().unwrap_or_default();
    doc.heading(0, "SBOM")
        .field(
            1,
            "Format",
            format!("{} {}", sbom.format, sbom.spec_version)
                .trim()
                .to_owned(),
        )
        .field(1, "Components", sbom.components.to_string())
        .field(1, "Serial", sbom.serial_number.clone())
        .field(1, "SHA-256", sbom.sha256.clone());

    let signature = detail.signature.clone().unwrap_or_default();
    doc.heading(0, "Signature")
        .field(1, "Verified", if signature.verified { "yes" } else { "no" })
        .field(1, "Key", signature.key_id.clone());
    if !signature.detail.is_empty() {
        doc.field(1, "Detail", signature.detail.clone());
    }

    doc.heading(0, "History");
    let rows = image
        .history
        .iter()
        .map(|t| {
            vec![
                or_dash(&t.action),
                or_dash(&t.by),
                or_dash(&t.reason),
                rfc3339(t.at.as_ref()).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    doc.table(1, &["ACTION", "BY", "REASON", "AT"], rows);
    doc.render()
}

/// `accord describe build`.
pub fn describe_build(build: &pb::Build, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Id", build.id.clone())
        .field(0, "Version", build.version.clone())
        .field(0, "Driver Branch", build.driver_branch.clone())
        .field(0, "State", build.state.clone())
        .field(0, "Stage", build.stage.clone())
        .field(0, "Image", build.image.clone())
        .field(0, "By", build.by.clone())
        .field(
            0,
            "Created",
            match rfc3339(build.created_at.as_ref()) {
                Some(at) => format!("{at} ({} ago)", age(build.created_at.as_ref(), now)),
                None => String::new(),
            },
        )
        .field(
            0,
            "Finished",
            rfc3339(build.finished_at.as_ref()).unwrap_or_default(),
        );
    if !build.error.is_empty() {
        doc.field(0, "Error", build.error.clone());
    }
    doc.heading(0, "Stages");
    let rows = build
        .stages
        .iter()
        .map(|s| {
            vec![
                or_dash(&s.name),
                or_dash(&s.state),
                stage_duration(s.duration_ms),
                or_dash(s.log.last().map(String::as_str).unwrap_or_default()),
            ]
        })
        .collect();
    doc.table(1, &["STAGE", "STATE", "DURATION", "LAST LOG"], rows);
    doc.render()
}

/// One stage transition: `scan       succeeded   1.5s  scanned 412 components`.
pub fn stage_line(stage: &pb::BuildStage) -> String {
    let last = stage.log.last().map(String::as_str).unwrap_or_default();
    let line = format!(
        "{:<10} {:<10} {:>6}  {last}",
        stage.name,
        stage.state,
        stage_duration(stage.duration_ms)
    );
    line.trim_end().to_owned()
}

/// The stage transitions between two snapshots of a build: a line for every stage whose state
/// changed (every stage past `pending` for the first snapshot), in stage order; a `resolve`
/// stage that succeeded is followed by the package upgrades its log lists (`kernel a → b`,
/// a build without a manifest), indented.
pub fn build_transitions(previous: Option<&pb::Build>, next: &pb::Build) -> Vec<String> {
    next.stages
        .iter()
        .filter(|stage| {
            let before = previous
                .and_then(|p| p.stages.iter().find(|s| s.name == stage.name))
                .map(|s| s.state.as_str())
                .unwrap_or("pending");
            stage.state != before
        })
        .flat_map(|stage| {
            let upgrades = (stage.name == "resolve" && stage.state == "succeeded")
                .then(|| stage.log.iter().filter(|l| l.contains(" → ")))
                .into_iter()
                .flatten()
                .map(|l| format!("{:<10} {l}", ""));
            std::iter::once(stage_line(stage)).chain(upgrades)
        })
        .collect()
}

/// Whether a build has finished.
pub fn build_finished(build: &pb::Build) -> bool {
    matches!(build.state.as_str(), "succeeded" | "failed")
}

/// How a finished build ended: `Ok(summary)` or `Err(the failed stage and reason)`.
pub fn build_outcome(build: &pb::Build) -> Result<String, String> {
    if build.state == "failed" {
        let stage = or_dash(&build.stage);
        let reason = or_dash(&build.error);
        return Err(format!(
            "build {} failed at stage {stage}: {reason}",
            build.id
        ));
    }
    Ok(format!(
        "build {} succeeded: image {} ({}) published to candidate",
        build.id, build.version, build.image
    ))
}

/// What `--wait` prints over a sequence of snapshots: each snapshot's transitions, then the
/// outcome once the last one has finished (the polling loop prints the same, a poll at a time).
pub fn build_progress(snapshots: &[pb::Build]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut previous: Option<&pb::Build> = None;
    for snapshot in snapshots {
        lines.extend(build_transitions(previous, snapshot));
        previous = Some(snapshot);
    }
    if let Some(last) = previous.filter(|b| build_finished(b)) {
        lines.push(match build_outcome(last) {
            Ok(line) | Err(line) => line,
        });
    }
    lines
}

/// `get nodepools`' UPDATE column: `required: <reason>` (shortened), else the available
/// version, else `-`.
pub fn pool_update_column(pool: &pool_pb::NodePool) -> Option<String> {
    let status = pool.status.as_ref()?;
    if status.update_required {
        let text = format!("required: {}", status.update_required_reason);
        let text = text.trim_end_matches([' ', ':']).to_owned();
        if text.chars().count() <= UPDATE_COLUMN_CHARS {
            return Some(text);
        }
        let short: String = text.chars().take(UPDATE_COLUMN_CHARS - 1).collect();
        return Some(format!("{short}…"));
    }
    Some(status.update_available_version.clone()).filter(|v| !v.is_empty())
}

/// A rollout policy in one line: `waves 1,5,25,100%, soak 30m, max unavailable 1, ready
/// timeout 15m, only in maintenance windows`.
pub fn rollout_policy_text(policy: &pool_pb::RolloutPolicy) -> String {
    let strategy = if policy.wave_percentages.is_empty() {
        format!("batches of {}", policy.batch_size)
    } else {
        let waves = policy
            .wave_percentages
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        format!("waves {waves}%")
    };
    let seconds = |s: u32| crate::parse::format_duration(std::time::Duration::from_secs(s.into()));
    let mut text = format!(
        "{strategy}, soak {}, max unavailable {}, ready timeout {}",
        seconds(policy.soak_seconds),
        policy.max_unavailable,
        seconds(policy.ready_timeout_seconds)
    );
    if policy.only_in_maintenance_windows {
        text.push_str(", only in maintenance windows");
    }
    text
}

/// A rollout in one line: `halted, wave 2/4, 3/10 nodes on revision 4 (from 3): <reason>`.
pub fn rollout_text(rollout: &pool_pb::Rollout) -> String {
    let mut text = format!(
        "{}, wave {}/{}, {}/{} nodes on revision {} (from {})",
        or_dash(&rollout.phase),
        rollout.wave,
        rollout.waves,
        rollout.nodes_on_new,
        rollout.nodes_total,
        rollout.to_revision,
        rollout.from_revision
    );
    if !rollout.halt_reason.is_empty() {
        text.push_str(": ");
        text.push_str(&rollout.halt_reason);
    }
    text
}

/// `describe nodepool`'s spec lines about images: driver branch, channel, rollout policy.
pub fn pool_spec_fields(doc: &mut Doc, spec: &pool_pb::NodePoolSpec) {
    doc.field(1, "Driver Branch", spec.driver_branch.clone())
        .field(1, "Image Channel", spec.image_channel.clone())
        .field(
            1,
            "Rollout Policy",
            match &spec.rollout_policy {
                Some(policy) => rollout_policy_text(policy),
                None => "none (plain rolling cycles)".to_owned(),
            },
        );
}

/// `describe nodepool`'s status lines about images: the image in use, driver, what to update
/// to, the rollout, and the revisions table.
pub fn pool_status_fields(
    doc: &mut Doc,
    spec: &pool_pb::NodePoolSpec,
    status: &pool_pb::NodePoolStatus,
) {
    let image = match (spec.image_version.as_str(), status.image_id.as_str()) {
        ("", "") => String::new(),
        (version, "") => version.to_owned(),
        ("", id) => short_image_id(id),
        (version, id) => format!("{version} ({})", short_image_id(id)),
    };
    doc.field(1, "Image", image)
        .field(1, "Driver Version", status.driver_version.clone());
    if status.update_required {
        doc.field(
            1,
            "Update Required",
            format!("yes: {}", or_dash(&status.update_required_reason)),
        );
    }
    if !status.deprecation_warning.is_empty() {
        doc.field(1, "Deprecation Warning", status.deprecation_warning.clone());
    }
    if let Some(rollout) = &status.rollout {
        doc.field(1, "Rollout", rollout_text(rollout));
    }
}

/// `describe nodepool`'s revisions table.
pub fn pool_revisions(doc: &mut Doc, status: &pool_pb::NodePoolStatus) {
    if status.revisions.is_empty() {
        return;
    }
    doc.heading(0, "Revisions");
    let rows = status
        .revisions
        .iter()
        .map(|r| {
            let image = if r.image_id.is_empty() {
                or_dash(&r.image_version)
            } else {
                format!(
                    "{} ({})",
                    or_dash(&r.image_version),
                    short_image_id(&r.image_id)
                )
            };
            vec![
                r.revision.to_string(),
                image,
                or_dash(&r.driver_version),
                or_dash(&r.kubernetes_version),
                r.active_nodes.to_string(),
                if r.disabled { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    doc.table(
        1,
        &["REV", "IMAGE", "DRIVER", "K8S", "READY NODES", "DISABLED"],
        rows,
    );
}
