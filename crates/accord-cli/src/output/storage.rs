//! Storage as the CLI prints it (`accord.storage.v1`): views of volumes, snapshots,
//! StorageClasses and NFS gates (what `-o json|yaml` prints, field names as in the proto), the
//! `get` tables, the volume quota line and the `describe volume` document.
//!
//! Shapes:
//! - `get volumes -o json`: `{"items": [volume, …], "usage": {"volumes", "total_gib",
//!   "max_volumes", "max_total_gib"}}` (`usage` is `null` only if the server sent none);
//!   `get volume NAME -o json` and the volume commands print one volume.
//! - `get snapshots -o json`: `{"kind": "List", "items": [snapshot, …]}`.
//! - `get storageclasses -o json`: `{"items": [class, …], "driver_installed"}`; `-o yaml`
//!   prints the classes' rendered manifests as one multi-document YAML stream instead (what
//!   `kubectl apply -f -` reads).
//!
//! Timestamps are RFC 3339 and left out when the server sent none.

use accord_proto::storage::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::describe::Doc;
use super::tables::render;
use super::{Resource, age, or_dash, rfc3339};

/// At most this many nodes in the ATTACHED-TO cell; the rest is counted (`+N`).
pub const ATTACHED_CELL_ITEMS: usize = 3;

/// A volume condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionView {
    pub r#type: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// A volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeView {
    pub id: String,
    pub name: String,
    pub project: String,
    pub cluster: String,
    pub region: String,
    pub r#type: String,
    pub size_bytes: u64,
    pub size: String,
    pub mount: String,
    pub source_snapshot: String,
    pub state: String,
    pub attachments: Vec<String>,
    pub conditions: Vec<ConditionView>,
    pub last_failure: String,
    pub resource_version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub created_by: String,
}

impl VolumeView {
    pub fn from_pb(v: &pb::Volume) -> VolumeView {
        VolumeView {
            id: v.id.clone(),
            name: v.name.clone(),
            project: v.project.clone(),
            cluster: v.cluster.clone(),
            region: v.region.clone(),
            r#type: v.r#type.clone(),
            size_bytes: v.size_bytes,
            size: v.size.clone(),
            mount: v.mount.clone(),
            source_snapshot: v.source_snapshot.clone(),
            state: v.state.clone(),
            attachments: v.attachments.clone(),
            conditions: v
                .conditions
                .iter()
                .map(|c| ConditionView {
                    r#type: c.r#type.clone(),
                    status: c.status.clone(),
                    reason: c.reason.clone(),
                    message: c.message.clone(),
                })
                .collect(),
            last_failure: v.last_failure.clone(),
            resource_version: v.resource_version,
            created_at: rfc3339(v.created_at.as_ref()),
            created_by: v.created_by.clone(),
        }
    }
}

impl Resource for pb::Volume {
    const KIND: &'static str = "volume";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(VolumeView::from_pb(self))
    }
}

/// The project's storage quota and what it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageView {
    pub volumes: u64,
    pub total_gib: u64,
    pub max_volumes: u64,
    pub max_total_gib: u64,
}

/// `accord get volumes -o json|yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeListView {
    pub items: Vec<VolumeView>,
    pub usage: Option<UsageView>,
}

impl VolumeListView {
    pub fn from_pb(r: &pb::ListVolumesResponse) -> VolumeListView {
        VolumeListView {
            items: r.volumes.iter().map(VolumeView::from_pb).collect(),
            usage: r.usage.as_ref().map(|u| UsageView {
                volumes: u.volumes,
                total_gib: u.total_gib,
                max_volumes: u.max_volumes,
                max_total_gib: u.max_total_gib,
            }),
        }
    }
}

/// A snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotView {
    pub id: String,
    pub name: String,
    pub cluster: String,
    pub volume: String,
    pub r#type: String,
    pub size_bytes: u64,
    pub size: String,
    pub state: String,
    pub failure: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl SnapshotView {
    pub fn from_pb(s: &pb::Snapshot) -> SnapshotView {
        SnapshotView {
            id: s.id.clone(),
            name: s.name.clone(),
            cluster: s.cluster.clone(),
            volume: s.volume.clone(),
            r#type: s.r#type.clone(),
            size_bytes: s.size_bytes,
            size: s.size.clone(),
            state: s.state.clone(),
            failure: s.failure.clone(),
            created_at: rfc3339(s.created_at.as_ref()),
        }
    }
}

impl Resource for pb::Snapshot {
    const KIND: &'static str = "snapshot";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(SnapshotView::from_pb(self))
    }
}

/// A StorageClass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageClassView {
    pub name: String,
    pub cluster: String,
    pub r#type: String,
    pub filesystem: String,
    pub mount: String,
    pub reclaim_policy: String,
    pub volume_binding_mode: String,
    pub allow_volume_expansion: bool,
    pub default_class: bool,
    pub provisioner: String,
    pub driver_installed: bool,
    pub manifest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl StorageClassView {
    pub fn from_pb(c: &pb::StorageClass) -> StorageClassView {
        StorageClassView {
            name: c.name.clone(),
            cluster: c.cluster.clone(),
            r#type: c.r#type.clone(),
            filesystem: c.filesystem.clone(),
            mount: c.mount.clone(),
            reclaim_policy: c.reclaim_policy.clone(),
            volume_binding_mode: c.volume_binding_mode.clone(),
            allow_volume_expansion: c.allow_volume_expansion,
            default_class: c.default_class,
            provisioner: c.provisioner.clone(),
            driver_installed: c.driver_installed,
            manifest: c.manifest.clone(),
            created_at: rfc3339(c.created_at.as_ref()),
        }
    }
}

impl Resource for pb::StorageClass {
    const KIND: &'static str = "storageclass";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(StorageClassView::from_pb(self))
    }
}

/// `accord get storageclasses -o json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageClassListView {
    pub items: Vec<StorageClassView>,
    pub driver_installed: bool,
}

impl StorageClassListView {
    pub fn from_pb(r: &pb::ListStorageClassesResponse) -> StorageClassListView {
        StorageClassListView {
            items: r
                .storage_classes
                .iter()
                .map(StorageClassView::from_pb)
                .collect(),
            driver_installed: r.driver_installed,
        }
    }
}

/// A project's NFS gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NfsGateView {
    pub project: String,
    pub enabled: bool,
    pub changed_by: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    pub mount: String,
}

impl NfsGateView {
    pub fn from_pb(g: &pb::NfsGate) -> NfsGateView {
        NfsGateView {
            project: g.project.clone(),
            enabled: g.enabled,
            changed_by: g.changed_by.clone(),
            reason: g.reason.clone(),
            changed_at: rfc3339(g.changed_at.as_ref()),
            mount: g.mount.clone(),
        }
    }
}

/// The first [`ATTACHED_CELL_ITEMS`] nodes joined with `,`, then `+N`; `-` when none.
fn attached_cell(nodes: &[String]) -> String {
    if nodes.is_empty() {
        return "-".to_owned();
    }
    let mut text = nodes
        .iter()
        .take(ATTACHED_CELL_ITEMS)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    if nodes.len() > ATTACHED_CELL_ITEMS {
        text.push_str(&format!(",+{}", nodes.len() - ATTACHED_CELL_ITEMS));
    }
    text
}

/// The volume table: NAME TYPE SIZE MOUNT STATE ATTACHED-TO AGE.
pub fn volumes_table(volumes: &[pb::Volume], now: OffsetDateTime) -> String {
    render(
        &[
            "NAME",
            "TYPE",
            "SIZE",
            "MOUNT",
            "STATE",
            "ATTACHED-TO",
            "AGE",
        ],
        volumes
            .iter()
            .map(|v| {
                vec![
                    v.name.clone(),
                    or_dash(&v.r#type),
                    or_dash(&v.size),
                    or_dash(&v.mount),
                    or_dash(&v.state),
                    attached_cell(&v.attachments),
                    age(v.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

/// `quota: 3/50 volumes, 400/10240 GiB` (what the project uses of its storage quota).
pub fn usage_line(usage: Option<&pb::Usage>) -> String {
    match usage {
        Some(u) => format!(
            "quota: {}/{} volumes, {}/{} GiB",
            u.volumes, u.max_volumes, u.total_gib, u.max_total_gib
        ),
        None => "quota: unknown (the server sent none)".to_owned(),
    }
}

/// `accord get volumes` (table form): the volumes, then the quota line.
pub fn volumes_list_table(r: &pb::ListVolumesResponse, now: OffsetDateTime) -> String {
    format!(
        "{}\n\n{}",
        volumes_table(&r.volumes, now),
        usage_line(r.usage.as_ref())
    )
}

/// The snapshot table: NAME VOLUME TYPE SIZE STATE AGE.
pub fn snapshots_table(snapshots: &[pb::Snapshot], now: OffsetDateTime) -> String {
    render(
        &["NAME", "VOLUME", "TYPE", "SIZE", "STATE", "AGE"],
        snapshots
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    or_dash(&s.volume),
                    or_dash(&s.r#type),
                    or_dash(&s.size),
                    or_dash(&s.state),
                    age(s.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

/// The stderr lines of failed snapshots: `warning: snapshot NAME failed: …`.
pub fn snapshot_failure_lines(snapshots: &[pb::Snapshot]) -> Vec<String> {
    snapshots
        .iter()
        .filter(|s| s.state == "failed")
        .map(|s| {
            format!(
                "warning: snapshot {} failed: {}",
                s.name,
                or_dash(&s.failure)
            )
        })
        .collect()
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// The StorageClass table: NAME TYPE PROVISIONER RECLAIM BINDING EXPANSION DRIVER-INSTALLED
/// (the default class is marked `(default)`, as kubectl marks it).
pub fn storage_classes_table(classes: &[pb::StorageClass]) -> String {
    render(
        &[
            "NAME",
            "TYPE",
            "PROVISIONER",
            "RECLAIM",
            "BINDING",
            "EXPANSION",
            "DRIVER-INSTALLED",
        ],
        classes
            .iter()
            .map(|c| {
                let name = if c.default_class {
                    format!("{} (default)", c.name)
                } else {
                    c.name.clone()
                };
                vec![
                    name,
                    or_dash(&c.r#type),
                    or_dash(&c.provisioner),
                    or_dash(&c.reclaim_policy),
                    or_dash(&c.volume_binding_mode),
                    yes_no(c.allow_volume_expansion),
                    yes_no(c.driver_installed),
                ]
            })
            .collect(),
    )
}

/// The manifests as one multi-document YAML stream (`---` before each document), for
/// `kubectl apply -f -`; classes without a manifest are left out.
pub fn manifests_stream(classes: &[pb::StorageClass]) -> String {
    let mut out = String::new();
    for manifest in classes
        .iter()
        .map(|c| c.manifest.trim())
        .filter(|m| !m.is_empty())
    {
        let manifest = manifest
            .strip_prefix("---")
            .unwrap_or(manifest)
            .trim_start();
        out.push_str("---\n");
        out.push_str(manifest);
        out.push('\n');
    }
    out
}

/// The stderr line when the cluster has no CSI driver installed.
pub fn driver_warning(cluster: &str) -> String {
    format!(
        "warning: the CSI driver is not installed in cluster {cluster}: its StorageClasses \
         provision nothing until the csi-driver add-on is installed (see `accord addon`)"
    )
}

/// `accord nfs status` (table form).
pub fn nfs_gate_text(g: &pb::NfsGate, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Project", g.project.clone()).field(
        0,
        "NFS",
        if g.enabled { "enabled" } else { "disabled" },
    );
    if !g.mount.is_empty() {
        doc.field(0, "Mount", format!("{} (new shared volumes)", g.mount));
    }
    if g.changed_by.is_empty() && g.changed_at.is_none() {
        doc.field(0, "Changed", "never (the provider has not acted yet)");
    } else {
        doc.field(0, "Changed by", g.changed_by.clone())
            .field(0, "Reason", g.reason.clone())
            .field(0, "Changed at", when(g.changed_at.as_ref(), now));
    }
    doc.render()
}

fn when(timestamp: Option<&prost_types::Timestamp>, now: OffsetDateTime) -> String {
    match rfc3339(timestamp) {
        Some(at) => format!("{at} ({} ago)", age(timestamp, now)),
        None => String::new(),
    }
}

/// `accord describe volume`: fields, attachments, conditions and the last failure.
pub fn describe_volume(v: &pb::Volume, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    let size = if v.size.is_empty() {
        format!("{} bytes", v.size_bytes)
    } else {
        format!("{} ({} bytes)", v.size, v.size_bytes)
    };
    doc.field(0, "Name", v.name.clone())
        .field(0, "ID", v.id.clone())
        .field(0, "Project", v.project.clone())
        .field(0, "Cluster", v.cluster.clone())
        .field(0, "Region", v.region.clone())
        .field(0, "Type", v.r#type.clone())
        .field(0, "Size", size);
    if v.r#type == "shared" || !v.mount.is_empty() {
        doc.field(0, "Mount", v.mount.clone());
    }
    doc.field(0, "Source snapshot", v.source_snapshot.clone())
        .field(0, "State", v.state.clone())
        .field(0, "Resource version", v.resource_version.to_string())
        .field(0, "Created", when(v.created_at.as_ref(), now))
        .field(0, "Created by", v.created_by.clone());
    if v.attachments.is_empty() {
        doc.field(0, "Attached to", "");
    } else {
        doc.heading(0, &format!("Attached to ({})", v.attachments.len()));
        for node in &v.attachments {
            doc.text(1, node);
        }
    }
    if v.conditions.is_empty() {
        doc.field(0, "Conditions", "");
    } else {
        doc.heading(0, "Conditions");
        let table = render(
            &["TYPE", "STATUS", "REASON", "MESSAGE"],
            v.conditions
                .iter()
                .map(|c| {
                    vec![
                        c.r#type.clone(),
                        or_dash(&c.status),
                        or_dash(&c.reason),
                        or_dash(&c.message),
                    ]
                })
                .collect(),
        );
        for line in table.lines() {
            doc.text(1, line);
        }
    }
    doc.field(0, "Last failure", v.last_failure.clone());
    doc.render()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::fixtures::NOW;
    use crate::output::timestamp;

    pub(crate) fn disk() -> pb::Volume {
        pb::Volume {
            id: "vol-01jexample0000000000data01".into(),
            name: "data".into(),
            project: "acme".into(),
            cluster: "demo".into(),
            region: "eu-iceland1".into(),
            r#type: "disk".into(),
            size_bytes: 100 << 30,
            size: "100Gi".into(),
            mount: String::new(),
            source_snapshot: String::new(),
            state: "attached".into(),
            attachments: vec!["gpu-a-x1".into()],
            conditions: vec![pb::Condition {
                r#type: "Ready".into(),
                status: "True".into(),
                reason: "Attached".into(),
                message: String::new(),
            }],
            last_failure: String::new(),
            resource_version: 4,
            created_at: Some(timestamp(NOW - time::Duration::minutes(5))),
            created_by: "alice@acme.example".into(),
        }
    }

    pub(crate) fn shared() -> pb::Volume {
        pb::Volume {
            id: "vol-01jexample0000000000sets01".into(),
            name: "datasets".into(),
            r#type: "shared".into(),
            size_bytes: 10 << 40,
            size: "10Ti".into(),
            mount: "virtiofs".into(),
            state: "failed".into(),
            attachments: (1..=5).map(|i| format!("gpu-a-x{i}")).collect(),
            conditions: vec![pb::Condition {
                r#type: "OperationFailed".into(),
                status: "True".into(),
                reason: "BackendTimeout".into(),
                message: "attach timed out after 5m".into(),
            }],
            last_failure: "attach gpu-a-x5: back end timed out after 5m".into(),
            created_at: Some(timestamp(NOW - time::Duration::days(3))),
            ..disk()
        }
    }

    fn listing() -> pb::ListVolumesResponse {
        pb::ListVolumesResponse {
            volumes: vec![disk(), shared()],
            usage: Some(pb::Usage {
                volumes: 2,
                total_gib: 10340,
                max_volumes: 50,
                max_total_gib: 20480,
            }),
        }
    }

    #[test]
    fn volume_table_has_the_columns_and_the_quota_line() {
        let text = volumes_list_table(&listing(), NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "NAME       TYPE     SIZE    MOUNT      STATE      ATTACHED-TO                     AGE"
        );
        assert_eq!(
            lines[1],
            "data       disk     100Gi   -          attached   gpu-a-x1                        5m"
        );
        assert_eq!(
            lines[2],
            "datasets   shared   10Ti    virtiofs   failed     gpu-a-x1,gpu-a-x2,gpu-a-x3,+2   3d"
        );
        assert_eq!(lines[3], "");
        assert_eq!(lines[4], "quota: 2/50 volumes, 10340/20480 GiB");
        assert_eq!(usage_line(None), "quota: unknown (the server sent none)");
    }

    #[test]
    fn volume_json_uses_the_proto_field_names() {
        let value = serde_json::to_value(VolumeListView::from_pb(&listing())).unwrap();
        let item = &value["items"][0];
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attachments",
                "cluster",
                "conditions",
                "created_at",
                "created_by",
                "id",
                "last_failure",
                "mount",
                "name",
                "project",
                "region",
                "resource_version",
                "size",
                "size_bytes",
                "source_snapshot",
                "state",
                "type",
            ]
        );
        assert_eq!(item["type"], "disk");
        assert_eq!(item["size_bytes"], 107_374_182_400_u64);
        assert_eq!(item["created_at"], "2026-11-24T09:55:00Z");
        assert_eq!(item["conditions"][0]["type"], "Ready");
        assert_eq!(
            value["usage"],
            serde_json::json!({"volumes": 2, "total_gib": 10340, "max_volumes": 50, "max_total_gib": 20480})
        );
        assert_eq!(disk().to_value().unwrap(), *item);
        assert_eq!(<pb::Volume as Resource>::KIND, "volume");
    }

    #[test]
    fn describe_volume_shows_attachments_conditions_and_the_last_failure() {
        let text = describe_volume(&shared(), NOW);
        assert!(text.contains("Size:"), "{text}");
        assert!(text.contains("10Ti (10995116277760 bytes)"), "{text}");
        assert!(text.contains("Mount:"), "{text}");
        assert!(text.contains("Attached to (5):\n  gpu-a-x1\n"), "{text}");
        assert!(
            text.contains("OperationFailed   True     BackendTimeout   attach timed out after 5m"),
            "{text}"
        );
        assert!(
            text.contains("attach gpu-a-x5: back end timed out after 5m"),
            "{text}"
        );
        let text = describe_volume(&disk(), NOW);
        assert!(!text.contains("Mount:"), "{text}");
        assert!(text.contains("Last failure:"), "{text}");
        assert!(text.contains("<none>"), "{text}");
    }

    fn snapshot() -> pb::Snapshot {
        pb::Snapshot {
            id: "snap-01jexample00000000000001".into(),
            name: "data-0412".into(),
            cluster: "demo".into(),
            volume: "data".into(),
            r#type: "disk".into(),
            size_bytes: 100 << 30,
            size: "100Gi".into(),
            state: "ready".into(),
            failure: String::new(),
            created_at: Some(timestamp(NOW - time::Duration::hours(2))),
        }
    }

    #[test]
    fn snapshot_table_json_and_failures() {
        let failed = pb::Snapshot {
            name: "data-0413".into(),
            state: "failed".into(),
            failure: "back end refused: volume busy".into(),
            ..snapshot()
        };
        let text = snapshots_table(&[snapshot(), failed.clone()], NOW);
        assert_eq!(
            text,
            "NAME        VOLUME   TYPE   SIZE    STATE    AGE\n\
             data-0412   data     disk   100Gi   ready    120m\n\
             data-0413   data     disk   100Gi   failed   120m"
        );
        assert_eq!(
            snapshot_failure_lines(&[snapshot(), failed]),
            ["warning: snapshot data-0413 failed: back end refused: volume busy"]
        );
        let value = snapshot().to_value().unwrap();
        assert_eq!(value["volume"], "data");
        assert_eq!(value["type"], "disk");
        assert_eq!(value["size_bytes"], 107_374_182_400_u64);
    }

    pub(crate) fn class(name: &str, default_class: bool) -> pb::StorageClass {
        pb::StorageClass {
            name: name.into(),
            cluster: "demo".into(),
            r#type: "disk".into(),
            filesystem: "xfs".into(),
            mount: String::new(),
            reclaim_policy: "Delete".into(),
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_volume_expansion: true,
            default_class,
            provisioner: "disk.csi.accord.example".into(),
            driver_installed: false,
            manifest: format!(
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {name}\nprovisioner: disk.csi.accord.example\n"
            ),
            created_at: None,
        }
    }

    #[test]
    fn storage_class_table_marks_the_default() {
        let text = storage_classes_table(&[class("fast", true), class("slow", false)]);
        assert_eq!(
            text,
            "NAME             TYPE   PROVISIONER               RECLAIM   BINDING                EXPANSION   DRIVER-INSTALLED\n\
             fast (default)   disk   disk.csi.accord.example   Delete    WaitForFirstConsumer   yes         no\n\
             slow             disk   disk.csi.accord.example   Delete    WaitForFirstConsumer   yes         no"
        );
    }

    #[test]
    fn storage_class_yaml_is_a_stream_of_the_manifests() {
        let mut empty = class("empty", false);
        empty.manifest.clear();
        let mut prefixed = class("prefixed", false);
        prefixed.manifest = format!("---\n{}", prefixed.manifest);
        let text = manifests_stream(&[class("fast", true), empty, prefixed]);
        assert_eq!(
            text,
            "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\nprovisioner: disk.csi.accord.example\n\
             ---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: prefixed\nprovisioner: disk.csi.accord.example\n"
        );
        let value = serde_json::to_value(StorageClassListView::from_pb(
            &pb::ListStorageClassesResponse {
                storage_classes: vec![class("fast", true)],
                driver_installed: false,
            },
        ))
        .unwrap();
        assert_eq!(value["driver_installed"], false);
        assert_eq!(
            value["items"][0]["volume_binding_mode"],
            "WaitForFirstConsumer"
        );
        assert_eq!(value["items"][0]["default_class"], true);
        assert!(value["items"][0].get("created_at").is_none());
    }

    #[test]
    fn nfs_gate_text_and_json() {
        let never = pb::NfsGate {
            project: "acme".into(),
            ..pb::NfsGate::default()
        };
        let text = nfs_gate_text(&never, NOW);
        assert!(text.contains("disabled"), "{text}");
        assert!(text.contains("never"), "{text}");
        let gate = pb::NfsGate {
            mount: "nfs".into(),
            project: "acme".into(),
            enabled: true,
            changed_by: "op@provider.example".into(),
            reason: "ticket T-1234".into(),
            changed_at: Some(timestamp(NOW - time::Duration::minutes(3))),
        };
        let text = nfs_gate_text(&gate, NOW);
        assert!(text.contains("enabled"), "{text}");
        assert!(text.contains("ticket T-1234"), "{text}");
        assert!(text.contains("nfs (new shared volumes)"), "{text}");
        assert!(text.contains("2026-11-24T09:57:00Z (3m ago)"), "{text}");
        let value = serde_json::to_value(NfsGateView::from_pb(&gate)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "project": "acme", "enabled": true, "changed_by": "op@provider.example",
                "reason": "ticket T-1234", "changed_at": "2026-11-24T09:57:00Z", "mount": "nfs"
            })
        );
    }
}
