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
