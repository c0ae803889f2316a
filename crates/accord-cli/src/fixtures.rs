//! Sample resources, built from the prost types, for rendering and request tests.

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use time::OffsetDateTime;
use time::macros::datetime;

use crate::output::timestamp;

/// The "now" every rendering test uses.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

fn ago(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(timestamp(NOW - time::Duration::seconds(seconds)))
}

fn meta(id: &str, name: &str, created_seconds_ago: i64) -> pb::ObjectMeta {
    pb::ObjectMeta {
        id: id.into(),
        name: name.into(),
        project: "pr-01jexample00000000000001".into(),
        labels: HashMap::from([("team".to_owned(), "ml".to_owned())]),
        resource_version: 7,
        generation: 2,
        created_at: ago(created_seconds_ago),
        updated_at: ago(30),
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> pb::Condition {
    pb::Condition {
        r#type: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: ago(120),
        observed_generation: 2,
    }
}

/// A running cluster with three replicas.
pub fn cluster(name: &str, id: &str) -> pb::Cluster {
    pb::Cluster {
        metadata: Some(meta(id, name, 300)),
        spec: Some(pb::ClusterSpec {
            cni: None,
            kubernetes_version: "1.32".into(),
            region: "eu-iceland1".into(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: "10.0.0.0/16".into(),
                pod_cidr: "10.244.0.0/16".into(),
                service_cidr: "10.96.0.0/12".into(),
                node_cidr_mask_size: 24,
            }),
            oidc: None,
            addons: vec!["cilium".into(), "nvidia-gpu-operator".into()],
            autoclusters: Some(pb::AutoClustersSettings {
                remediation_enabled: true,
                max_unhealthy_percent: 20,
                max_in_flight_per_pool: 1,
                mode: "auto".into(),
                maintenance_windows: vec![pb::MaintenanceWindow {
                    days: vec!["sat".into(), "sun".into()],
                    start: "02:00".into(),
                    duration_minutes: 240,
                    text: "sat,sun 02:00+4h".into(),
                }],
                ..Default::default()
            }),
        }),
        status: Some(pb::ClusterStatus {
            phase: "running".into(),
            current_version: "1.32".into(),
            requested_version: String::new(),
            control_plane: (0..3)
                .map(|i| pb::ControlPlaneReplica {
                    name: format!("cp-{i}"),
                    failure_domain: format!("fd-{}", i + 1),
                    state: "running".into(),
                    version: "1.32".into(),
                })
                .collect(),
            api_endpoint: format!("https://{name}.eu-iceland1.accord.example:6443"),
            observed_generation: 2,
            conditions: vec![
                condition(
                    "ControlPlaneReady",
                    "True",
                    "AllReplicasRunning",
                    "3/3 replicas running",
                ),
                condition("Ready", "True", "ControlPlaneServing", ""),
            ],
            node_pool_count: 2,
            node_capacity: 256,
        }),
    }
}

/// A ready GPU pool of two nodes with an image update available.
pub fn node_pool(name: &str) -> pb::NodePool {
    pb::NodePool {
        metadata: Some(meta("np-01jexample00000000000001", name, 120)),
        spec: Some(pb::NodePoolSpec {
            cluster_id: "cl-01jexample000000000demo001".into(),
            instance_type: "h100-80gb-sxm-ib.8x".into(),
            count: 2,
            autoscaling: Some(pb::Autoscaling {
                enabled: true,
                min_count: 1,
                max_count: 4,
            }),
            node_labels: HashMap::from([("accord.dev/gpu".to_owned(), "h100".to_owned())]),
            taints: vec![pb::Taint {
                key: "nvidia.com/gpu".into(),
                value: "present".into(),
                effect: "NoSchedule".into(),
            }],
            image_version: "2026.10".into(),
            rolling_update: Some(pb::RollingUpdate {
                max_surge: 1,
                max_unavailable: 0,
            }),
            remediation_enabled: None,
            driver_branch: "production".into(),
            image_channel: "stable".into(),
            rollout_policy: None,
        }),
        status: Some(pb::NodePoolStatus {
            phase: "ready".into(),
            ready_nodes: 2,
            total_nodes: 2,
            kubelet_version: "1.32".into(),
            latest_image_version: "2026.11".into(),
            update_available: true,
            cycle: None,
            observed_generation: 2,
            conditions: vec![condition("Ready", "True", "AllNodesReady", "")],
            image_id: String::new(),
            driver_version: String::new(),
            update_available_version: String::new(),
            update_required: false,
            update_required_reason: String::new(),
            deprecation_warning: String::new(),
            revisions: Vec::new(),
            rollout: None,
        }),
    }
}

/// A ready node.
pub fn node(name: &str) -> pb::Node {
    pb::Node {
        metadata: Some(meta("node-01jexample00000000000001", name, 90)),
        spec: Some(pb::NodeSpec {
            cluster_id: "cl-01jexample000000000demo001".into(),
            node_pool_id: "np-01jexample00000000000001".into(),
            instance_type: "h100-80gb-sxm-ib.8x".into(),
            image_version: "2026.10".into(),
            kubelet_version: "1.32".into(),
        }),
        status: Some(pb::NodeStatus {
            state: "ready".into(),
            cordoned: false,
            cordoned_by: String::new(),
            failure_domain: "fd-1".into(),
            internal_ip: "10.0.1.5".into(),
            instance_id: "i-0123".into(),
            conditions: vec![condition("Ready", "True", "KubeletReady", "")],
            ready_at: ago(60),
        }),
    }
}

/// A project with a 64-GPU quota, 16 in use.
pub fn project(name: &str) -> pb::Project {
    pb::Project {
        metadata: Some(meta("pr-01jexample00000000000001", name, 86_400)),
        spec: Some(pb::ProjectSpec { gpu_quota: 64 }),
        status: Some(pb::ProjectStatus {
            gpus_requested: 16,
            member_count: 3,
            cluster_count: 1,
        }),
    }
}

/// A member.
pub fn member(user: &str, role: pb::Role) -> pb::Member {
    pb::Member {
        project: "pr-01jexample00000000000001".into(),
        user: user.into(),
        user_id: "us-01jexample00000000000001".into(),
        role: role.into(),
        added_at: ago(300),
    }
}

/// An active API key.
pub fn api_key(name: &str) -> pb::ApiKey {
    pb::ApiKey {
        id: "ak-01jexample00000000000001".into(),
        project: "pr-01jexample00000000000001".into(),
        user: "alice@example.com".into(),
        name: name.into(),
        created_by: "alice@example.com".into(),
        created_at: ago(300),
        revoked: false,
        revoked_at: None,
    }
}

/// The canonical manifest of [`image_detail`]: compact JSON with sorted keys, no final newline.
pub const CANONICAL_MANIFEST: &str = r#"{"api_version":"image.accord.dev/v1","base":{"hardening":"cis_level1","kernel_args":["iommu=pt","pci=realloc=off"],"sysctls":{"net.core.rmem_max":"268435456"}},"containerd":{"version":"2.0.6"},"cuda_compat":{"version":"12.8"},"doca_ofed":{"version":"24.10-2.1.8.0"},"fabric_manager":{"version":"570.195.03"},"firmware":{"connectx7":"28.43.2026"},"gpu_driver":{"branch":"production","version":"570.195.03"},"instance_types":["h100-80gb-sxm-ib.8x"],"kernel":{"version":"6.8.0-88-generic"},"kubelet":{"1.32":"1.32.9"},"os":{"id":"ubuntu","version_id":"24.04"},"runc":{"version":"1.2.6"}}"#;

/// The id of [`image`].
pub const IMAGE_ID: &str =
    "sha256:3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff";

/// A published, promoted image of the production branch.
pub fn image() -> accord_proto::images::v1::Image {
    use accord_proto::images::v1 as ipb;
    ipb::Image {
        id: IMAGE_ID.into(),
        version: "2026.12.0".into(),
        channel: "stable".into(),
        driver_branch: "production".into(),
        driver_version: "570.195.03".into(),
        kernel: "6.8.0-88-generic".into(),
        os: "ubuntu 24.04".into(),
        kubelet: HashMap::from([("1.32".to_owned(), "1.32.9".to_owned())]),
        instance_types: vec!["h100-80gb-sxm-ib.8x".into()],
        status: "active".into(),
        status_reason: String::new(),
        published_at: ago(7200),
        key_id: "ed25519:9a8b7c6d".into(),
        history: vec![
            ipb::Transition {
                action: "published".into(),
                by: "operator@accord".into(),
                reason: "monthly release".into(),
                at: ago(7200),
            },
            ipb::Transition {
                action: "promoted".into(),
                by: "operator@accord".into(),
                reason: "soaked a week".into(),
                at: ago(3600),
            },
        ],
        build: "bld-01jexample00000000000001".into(),
        ofed: "24.10-2.1.8.0".into(),
        containerd: "2.0.6".into(),
    }
}

/// [`image`] with its manifest, SBOM summary and a verified signature.
pub fn image_detail() -> accord_proto::images::v1::ImageDetail {
    use accord_proto::images::v1 as ipb;
    let manifest: serde_json::Value =
        serde_json::from_str(CANONICAL_MANIFEST).unwrap_or_else(|e| panic!("{e}"));
    ipb::ImageDetail {
        image: Some(image()),
        manifest_json: serde_json::to_string_pretty(&manifest).unwrap_or_else(|e| panic!("{e}")),
        sbom: Some(ipb::SbomSummary {
            format: "CycloneDX".into(),
            spec_version: "1.6".into(),
            serial_number: "urn:uuid:3f2a9c1b-7d4e-5f60-7182-93a4b5c6d7e8".into(),
            components: 14,
            sha256: "ab12cd34ef56".into(),
        }),
        signature: Some(ipb::SignatureStatus {
            verified: true,
            key_id: "ed25519:9a8b7c6d".into(),
            signature: "c2lnbmF0dXJl".into(),
            detail: String::new(),
        }),
    }
}

/// A build's successive snapshots, as `--wait` would see them: queued, resolve running,
/// resolve done and install running, …, then `scan` failing.
pub fn failing_build_snapshots() -> Vec<accord_proto::images::v1::Build> {
    use accord_proto::images::v1 as ipb;
    const STAGES: [&str; 7] = [
        "resolve",
        "install",
        "configure",
        "sbom",
        "scan",
        "sign",
        "publish",
    ];
    let at = |states: [&str; 7], state: &str, stage: &str, error: &str| ipb::Build {
        id: "bld-01jexample00000000000002".into(),
        version: "2026.12.1".into(),
        driver_branch: "production".into(),
        state: state.into(),
        stage: stage.into(),
        stages: STAGES
            .iter()
            .zip(states)
            .map(|(name, state)| ipb::BuildStage {
                name: (*name).into(),
                state: state.into(),
                duration_ms: if matches!(state, "succeeded" | "failed") {
                    1500
                } else {
                    0
                },
                log: match state {
                    "pending" => vec![],
                    "failed" => vec![format!("{name}: starting"), format!("{name}: {error}")],
                    _ => vec![format!("{name}: starting"), format!("{name}: done")],
                },
                ..Default::default()
            })
            .collect(),
        image: IMAGE_ID.into(),
        error: error.into(),
        by: "operator@accord".into(),
        created_at: ago(60),
        finished_at: None,
    };
    let p = "pending";
    let r = "running";
    let s = "succeeded";
    let why = "CVE-2026-12345 in openssl 3.0.2";
    vec![
        at([p, p, p, p, p, p, p], "queued", "", ""),
        at([r, p, p, p, p, p, p], "running", "resolve", ""),
        at([s, r, p, p, p, p, p], "running", "install", ""),
        // Two transitions between polls: configure finished and sbom started unseen.
        at([s, s, s, s, r, p, p], "running", "scan", ""),
        at([s, s, s, s, "failed", p, p], "failed", "scan", why),
    ]
}
