//! Domain resources → `accord.provisioner.v1` messages.
//!
//! Requests are read field by field at each service's gRPC edge (where the field paths of
//! validation errors are known); resources go out through these functions only.

use accord_core::{
    cluster::{Cluster, OidcConfig},
    iam::Role,
    infra::{InstanceType, Region},
    meta::{Condition, Conditions, Metadata},
    node::Node,
    nodepool::NodePool,
    project::{ApiKeyRecord, Member, Project},
};
use time::OffsetDateTime;

use crate::provisioner::v1 as pb;

/// A protobuf timestamp.
pub fn ts(t: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

fn meta<Id: std::fmt::Display>(m: &Metadata<Id>) -> pb::ObjectMeta {
    pb::ObjectMeta {
        id: m.id.to_string(),
        name: m.name.clone(),
        project: m.project.to_string(),
        labels: m.labels.clone().into_iter().collect(),
        resource_version: m.resource_version,
        generation: m.generation,
        created_at: Some(ts(m.created_at)),
        updated_at: Some(ts(m.updated_at)),
    }
}

fn condition(c: &Condition) -> pb::Condition {
    pb::Condition {
        r#type: c.type_.clone(),
        status: c.status.as_str().to_owned(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        last_transition_time: Some(ts(c.last_transition_time)),
        observed_generation: c.observed_generation,
    }
}

fn conditions(c: &Conditions) -> Vec<pb::Condition> {
    c.0.iter().map(condition).collect()
}

/// Role → wire enum.
pub fn role(r: Role) -> pb::Role {
    match r {
        Role::Reader => pb::Role::Reader,
        Role::Editor => pb::Role::Editor,
        Role::Admin => pb::Role::Admin,
    }
}

/// Wire enum → role (`None` for unspecified).
pub fn role_from(r: i32) -> Option<Role> {
    match pb::Role::try_from(r).ok()? {
        pb::Role::Reader => Some(Role::Reader),
        pb::Role::Editor => Some(Role::Editor),
        pb::Role::Admin => Some(Role::Admin),
        pb::Role::Unspecified => None,
    }
}

/// A project with its computed status.
pub fn project(p: &Project, status: pb::ProjectStatus) -> pb::Project {
    pb::Project {
        metadata: Some(meta(&p.metadata)),
        spec: Some(pb::ProjectSpec {
            gpu_quota: p.spec.gpu_quota,
        }),
        status: Some(status),
    }
}

/// A membership.
pub fn member(m: &Member) -> pb::Member {
    pb::Member {
        project: m.project.to_string(),
        user: m.user_name.clone(),
        user_id: m.user.to_string(),
        role: role(m.role).into(),
        added_at: Some(ts(m.added_at)),
    }
}

/// An API key (never its secret or digest).
pub fn api_key(k: &ApiKeyRecord) -> pb::ApiKey {
    pb::ApiKey {
        id: k.id.to_string(),
        project: k.project.map(|p| p.to_string()).unwrap_or_default(),
        user: k.principal_name.clone(),
        name: k.name.clone(),
        created_by: k.created_by.clone(),
        created_at: Some(ts(k.created_at)),
        revoked: k.revoked_at.is_some(),
        revoked_at: k.revoked_at.map(ts),
    }
}

fn oidc(o: &OidcConfig) -> pb::OidcConfig {
    pb::OidcConfig {
        issuer_url: o.issuer_url.clone(),
        client_id: o.client_id.clone(),
        username_claim: o.username_claim.clone(),
        groups_claim: o.groups_claim.clone(),
        required_claims: o.required_claims.clone().into_iter().collect(),
    }
}

/// A cluster; `node_pool_count` comes from the caller.
pub fn cluster(c: &Cluster, node_pool_count: u32) -> pb::Cluster {
    let s = &c.spec;
    pb::Cluster {
        metadata: Some(meta(&c.metadata)),
        spec: Some(pb::ClusterSpec {
            kubernetes_version: s.kubernetes_version.to_string(),
            region: s.region.clone(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: s.network.vpc_subnet.to_string(),
                pod_cidr: s.network.pod_cidr.to_string(),
                service_cidr: s.network.service_cidr.to_string(),
                node_cidr_mask_size: u32::from(s.network.node_cidr_mask_size),
            }),
            oidc: s.oidc.as_ref().map(oidc),
            addons: s.addons.clone(),
            autoclusters: Some(pb::AutoClustersSettings {
                remediation_enabled: s.autoclusters.remediation_enabled,
                max_unhealthy_percent: s.autoclusters.max_unhealthy_percent,
                max_in_flight_per_pool: s.autoclusters.max_in_flight_per_pool,
                mode: s.autoclusters.mode.as_str().to_owned(),
                maintenance_windows: s
                    .autoclusters
                    .maintenance
                    .windows
                    .iter()
                    .map(|w| pb::MaintenanceWindow {
                        days: w.days.iter().map(|d| d.as_str().to_owned()).collect(),
                        start: format!("{:02}:{:02}", w.start_minute / 60, w.start_minute % 60),
                        duration_minutes: u32::from(w.duration_minutes),
                        text: w.to_string(),
                    })
                    .collect(),
                maintenance_exclusions: s
                    .autoclusters
                    .maintenance
                    .exclusions
                    .iter()
                    .map(|e| pb::MaintenanceExclusion {
                        start: Some(ts(e.start)),
                        end: Some(ts(e.end)),
                        reason: e.reason.clone(),
                    })
                    .collect(),
                policy: s.autoclusters.policy.clone(),
            }),
            cni: Some(pb::CniSettings {
                tunnel: s.cni.tunnel.as_str().to_owned(),
                wireguard: s.cni.wireguard,
                hubble: s.cni.hubble,
            }),
        }),
        status: Some(pb::ClusterStatus {
            phase: c.status.phase.as_str().to_owned(),
            current_version: c
                .status
                .current_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            requested_version: c
                .status
                .requested_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            control_plane: c
                .status
                .control_plane
                .iter()
                .map(|r| pb::ControlPlaneReplica {
                    name: r.name.clone(),
                    failure_domain: r.failure_domain.clone(),
                    state: r.state.as_str().to_owned(),
                    version: r.version.to_string(),
                })
                .collect(),
            api_endpoint: c.status.api_endpoint.clone(),
            observed_generation: c.status.observed_generation,
            conditions: conditions(&c.status.conditions),
            node_pool_count,
            node_capacity: s.network.node_capacity(),
        }),
    }
}

/// A node pool without its image facts (update available or required, revisions, rollout):
/// the provisioner adds those from its images.
pub fn node_pool(p: &NodePool) -> pb::NodePool {
    let s = &p.spec;
    pb::NodePool {
        metadata: Some(meta(&p.metadata)),
        spec: Some(pb::NodePoolSpec {
            cluster_id: s.cluster.to_string(),
            instance_type: s.instance_type.clone(),
            count: s.count,
            autoscaling: Some(match s.autoscaling {
                Some(a) => pb::Autoscaling {
                    enabled: true,
                    min_count: a.min_count,
                    max_count: a.max_count,
                },
                None => pb::Autoscaling {
                    enabled: false,
                    min_count: 0,
                    max_count: 0,
                },
            }),
            node_labels: s.node_labels.clone().into_iter().collect(),
            taints: s
                .taints
                .iter()
                .map(|t| pb::Taint {
                    key: t.key.clone(),
                    value: t.value.clone(),
                    effect: t.effect.clone(),
                })
                .collect(),
            image_version: s.image_version.clone(),
            rolling_update: Some(pb::RollingUpdate {
                max_surge: s.rolling_update.max_surge,
                max_unavailable: s.rolling_update.max_unavailable,
            }),
            remediation_enabled: s.remediation_enabled,
            driver_branch: s.driver_branch.clone(),
            image_channel: s.image_channel.clone(),
            rollout_policy: None,
        }),
        status: Some(pb::NodePoolStatus {
            phase: p.status.phase.as_str().to_owned(),
            ready_nodes: p.status.ready_nodes,
            total_nodes: p.status.total_nodes,
            kubelet_version: s.kubelet_version.to_string(),
            cycle: p.status.cycle.as_ref().map(|c| pb::CycleStatus {
                in_progress: true,
                target_image_version: c.target_image_version.clone(),
                nodes_replaced: c.nodes_replaced,
                nodes_total: c.nodes_total,
                started_at: Some(ts(c.started_at)),
            }),
            observed_generation: p.status.observed_generation,
            conditions: conditions(&p.status.conditions),
            ..Default::default()
        }),
    }
}

/// A node.
pub fn node(n: &Node) -> pb::Node {
    pb::Node {
        metadata: Some(meta(&n.metadata)),
        spec: Some(pb::NodeSpec {
            cluster_id: n.spec.cluster.to_string(),
            node_pool_id: n.spec.pool.to_string(),
            instance_type: n.spec.instance_type.clone(),
            image_version: n.spec.image_version.clone(),
            kubelet_version: n.spec.kubelet_version.to_string(),
        }),
        status: Some(pb::NodeStatus {
            state: n.status.state.as_str().to_owned(),
            cordoned: n.status.cordoned_by.is_some(),
            cordoned_by: n
                .status
                .cordoned_by
                .map(|p| p.to_string())
                .unwrap_or_default(),
            failure_domain: n.status.failure_domain.clone(),
            internal_ip: n.status.internal_ip.clone(),
            instance_id: n.status.instance_id.clone(),
            conditions: conditions(&n.status.conditions),
            ready_at: n.status.ready_at.map(ts),
        }),
    }
}

/// An instance type.
pub fn instance_type(t: &InstanceType) -> pb::InstanceType {
    pb::InstanceType {
        name: t.name.clone(),
        gpu_count: t.gpu_count,
        gpu_model: t.gpu_model.clone(),
        infiniband: t.infiniband,
        vcpus: t.vcpus,
        memory_gib: t.memory_gib,
    }
}

/// A region.
pub fn region(r: &Region) -> pb::Region {
    pb::Region {
        name: r.name.clone(),
        failure_domains: r.failure_domains.clone(),
    }
}
