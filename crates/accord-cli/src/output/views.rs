//! Serde views of the protobuf resources: what `-o json` and `-o yaml` print.
//!
//! prost types do not implement `Serialize`, and the wire types belong to `accord-proto`, so
//! the CLI mirrors them here. Field names are the proto field names (snake_case), maps are
//! sorted, timestamps are RFC 3339 strings, enums are lowercase names, and every resource carries
//! a `kind`. Absent sub-messages and timestamps are omitted.

use std::collections::{BTreeMap, HashMap};

use accord_proto::provisioner::v1 as pb;
use serde::Serialize;

use super::image_views::{PoolRevisionView, RolloutPolicyView, RolloutView};
use super::{Resource, rfc3339};

fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Lowercase role name (`admin`, `editor`, `reader`, `unspecified`).
pub fn role_name(role: i32) -> &'static str {
    match pb::Role::try_from(role) {
        Ok(pb::Role::Admin) => "admin",
        Ok(pb::Role::Editor) => "editor",
        Ok(pb::Role::Reader) => "reader",
        Ok(pb::Role::Unspecified) | Err(_) => "unspecified",
    }
}

/// `metadata`.
#[derive(Debug, Serialize)]
pub struct MetaView {
    id: String,
    name: String,
    project: String,
    labels: BTreeMap<String, String>,
    resource_version: u64,
    generation: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

impl From<&pb::ObjectMeta> for MetaView {
    fn from(m: &pb::ObjectMeta) -> Self {
        MetaView {
            id: m.id.clone(),
            name: m.name.clone(),
            project: m.project.clone(),
            labels: sorted(&m.labels),
            resource_version: m.resource_version,
            generation: m.generation,
            created_at: rfc3339(m.created_at.as_ref()),
            updated_at: rfc3339(m.updated_at.as_ref()),
        }
    }
}

/// A condition.
#[derive(Debug, Serialize)]
pub struct ConditionView {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    reason: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_transition_time: Option<String>,
    observed_generation: u64,
}

impl From<&pb::Condition> for ConditionView {
    fn from(c: &pb::Condition) -> Self {
        ConditionView {
            type_: c.r#type.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: rfc3339(c.last_transition_time.as_ref()),
            observed_generation: c.observed_generation,
        }
    }
}

fn conditions(list: &[pb::Condition]) -> Vec<ConditionView> {
    list.iter().map(ConditionView::from).collect()
}

// ------------------------------------------------------------------ clusters

/// A cluster.
#[derive(Debug, Serialize)]
pub struct ClusterView {
    kind: &'static str,
    metadata: Option<MetaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<ClusterSpecView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<ClusterStatusView>,
}

#[derive(Debug, Serialize)]
struct ClusterSpecView {
    kubernetes_version: String,
    region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<NetworkView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    oidc: Option<OidcView>,
    addons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    autoclusters: Option<AutoClustersView>,
}

#[derive(Debug, Serialize)]
struct NetworkView {
    vpc_subnet: String,
    pod_cidr: String,
    service_cidr: String,
    node_cidr_mask_size: u32,
}

#[derive(Debug, Serialize)]
struct OidcView {
    issuer_url: String,
    client_id: String,
    username_claim: String,
    groups_claim: String,
    required_claims: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct AutoClustersView {
    remediation_enabled: bool,
    max_unhealthy_percent: u32,
    max_in_flight_per_pool: u32,
}

#[derive(Debug, Serialize)]
struct ReplicaView {
    name: String,
    failure_domain: String,
    state: String,
    version: String,
}

#[derive(Debug, Serialize)]
struct ClusterStatusView {
    phase: String,
    current_version: String,
    requested_version: String,
    control_plane: Vec<ReplicaView>,
    api_endpoint: String,
    observed_generation: u64,
    conditions: Vec<ConditionView>,
    node_pool_count: u32,
    node_capacity: u32,
}

impl From<&pb::Cluster> for ClusterView {
    fn from(c: &pb::Cluster) -> Self {
        ClusterView {
            kind: "Cluster",
            metadata: c.metadata.as_ref().map(MetaView::from),
            spec: c.spec.as_ref().map(|s| ClusterSpecView {
                kubernetes_version: s.kubernetes_version.clone(),
                region: s.region.clone(),
                network: s.network.as_ref().map(|n| NetworkView {
                    vpc_subnet: n.vpc_subnet.clone(),
                    pod_cidr: n.pod_cidr.clone(),
                    service_cidr: n.service_cidr.clone(),
                    node_cidr_mask_size: n.node_cidr_mask_size,
                }),
                oidc: s.oidc.as_ref().map(|o| OidcView {
                    issuer_url: o.issuer_url.clone(),
                    client_id: o.client_id.clone(),
                    username_claim: o.username_claim.clone(),
                    groups_claim: o.groups_claim.clone(),
                    required_claims: sorted(&o.required_claims),
                }),
                addons: s.addons.clone(),
                autoclusters: s.autoclusters.as_ref().map(|a| AutoClustersView {
                    remediation_enabled: a.remediation_enabled,
                    max_unhealthy_percent: a.max_unhealthy_percent,
                    max_in_flight_per_pool: a.max_in_flight_per_pool,
                }),
            }),
            status: c.status.as_ref().map(|s| ClusterStatusView {
                phase: s.phase.clone(),
                current_version: s.current_version.clone(),
                requested_version: s.requested_version.clone(),
                control_plane: s
                    .control_plane
                    .iter()
                    .map(|r| ReplicaView {
                        name: r.name.clone(),
                        failure_domain: r.failure_domain.clone(),
                        state: r.state.clone(),
                        version: r.version.clone(),
                    })
                    .collect(),
                api_endpoint: s.api_endpoint.clone(),
                observed_generation: s.observed_generation,
                conditions: conditions(&s.conditions),
                node_pool_count: s.node_pool_count,
                node_capacity: s.node_capacity,
            }),
        }
    }
}

// ------------------------------------------------------------------ node pools

/// A node pool.
#[derive(Debug, Serialize)]
pub struct NodePoolView {
    kind: &'static str,
    metadata: Option<MetaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<NodePoolSpecView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<NodePoolStatusView>,
}

#[derive(Debug, Serialize)]
struct NodePoolSpecView {
    cluster_id: String,
    instance_type: String,
    count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    autoscaling: Option<AutoscalingView>,
    node_labels: BTreeMap<String, String>,
    taints: Vec<TaintView>,
    image_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rolling_update: Option<RollingUpdateView>,
    driver_branch: String,
    image_channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout_policy: Option<RolloutPolicyView>,
}

#[derive(Debug, Serialize)]
struct AutoscalingView {
    enabled: bool,
    min_count: u32,
    max_count: u32,
}

#[derive(Debug, Serialize)]
struct TaintView {
    key: String,
    value: String,
    effect: String,
}

#[derive(Debug, Serialize)]
struct RollingUpdateView {
    max_surge: u32,
    max_unavailable: u32,
}

#[derive(Debug, Serialize)]
struct NodePoolStatusView {
    phase: String,
    ready_nodes: u32,
    total_nodes: u32,
    kubelet_version: String,
    latest_image_version: String,
    update_available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle: Option<CycleView>,
    observed_generation: u64,
    conditions: Vec<ConditionView>,
    image_id: String,
    driver_version: String,
    update_available_version: String,
    update_required: bool,
    update_required_reason: String,
    deprecation_warning: String,
    revisions: Vec<PoolRevisionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollout: Option<RolloutView>,
}

#[derive(Debug, Serialize)]
struct CycleView {
    in_progress: bool,
    target_image_version: String,
    nodes_replaced: u32,
    nodes_total: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
}

impl From<&pb::NodePool> for NodePoolView {
    fn from(p: &pb::NodePool) -> Self {
        NodePoolView {
            kind: "NodePool",
            metadata: p.metadata.as_ref().map(MetaView::from),
            spec: p.spec.as_ref().map(|s| NodePoolSpecView {
                cluster_id: s.cluster_id.clone(),
                instance_type: s.instance_type.clone(),
                count: s.count,
                autoscaling: s.autoscaling.as_ref().map(|a| AutoscalingView {
                    enabled: a.enabled,
                    min_count: a.min_count,
                    max_count: a.max_count,
                }),
                node_labels: sorted(&s.node_labels),
                taints: s
                    .taints
                    .iter()
                    .map(|t| TaintView {
                        key: t.key.clone(),
                        value: t.value.clone(),
                        effect: t.effect.clone(),
                    })
                    .collect(),
                image_version: s.image_version.clone(),
                rolling_update: s.rolling_update.as_ref().map(|r| RollingUpdateView {
                    max_surge: r.max_surge,
                    max_unavailable: r.max_unavailable,
                }),
                driver_branch: s.driver_branch.clone(),
                image_channel: s.image_channel.clone(),
                rollout_policy: s.rollout_policy.as_ref().map(RolloutPolicyView::from),
            }),
            status: p.status.as_ref().map(|s| NodePoolStatusView {
                phase: s.phase.clone(),
                ready_nodes: s.ready_nodes,
                total_nodes: s.total_nodes,
                kubelet_version: s.kubelet_version.clone(),
                latest_image_version: s.latest_image_version.clone(),
                update_available: s.update_available,
                cycle: s.cycle.as_ref().map(|c| CycleView {
                    in_progress: c.in_progress,
                    target_image_version: c.target_image_version.clone(),
                    nodes_replaced: c.nodes_replaced,
                    nodes_total: c.nodes_total,
                    started_at: rfc3339(c.started_at.as_ref()),
                }),
                observed_generation: s.observed_generation,
                conditions: conditions(&s.conditions),
                image_id: s.image_id.clone(),
                driver_version: s.driver_version.clone(),
                update_available_version: s.update_available_version.clone(),
                update_required: s.update_required,
                update_required_reason: s.update_required_reason.clone(),
                deprecation_warning: s.deprecation_warning.clone(),
                revisions: s.revisions.iter().map(PoolRevisionView::from).collect(),
                rollout: s.rollout.as_ref().map(RolloutView::from),
            }),
        }
    }
}

// ------------------------------------------------------------------ nodes

/// A node.
#[derive(Debug, Serialize)]
pub struct NodeView {
    kind: &'static str,
    metadata: Option<MetaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<NodeSpecView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<NodeStatusView>,
}

#[derive(Debug, Serialize)]
struct NodeSpecView {
    cluster_id: String,
    node_pool_id: String,
    instance_type: String,
    image_version: String,
    kubelet_version: String,
}

#[derive(Debug, Serialize)]
struct NodeStatusView {
    state: String,
    cordoned: bool,
    cordoned_by: String,
    failure_domain: String,
    internal_ip: String,
    instance_id: String,
    conditions: Vec<ConditionView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ready_at: Option<String>,
}

impl From<&pb::Node> for NodeView {
    fn from(n: &pb::Node) -> Self {
        NodeView {
            kind: "Node",
            metadata: n.metadata.as_ref().map(MetaView::from),
            spec: n.spec.as_ref().map(|s| NodeSpecView {
                cluster_id: s.cluster_id.clone(),
                node_pool_id: s.node_pool_id.clone(),
                instance_type: s.instance_type.clone(),
                image_version: s.image_version.clone(),
                kubelet_version: s.kubelet_version.clone(),
            }),
            status: n.status.as_ref().map(|s| NodeStatusView {
                state: s.state.clone(),
                cordoned: s.cordoned,
                cordoned_by: s.cordoned_by.clone(),
                failure_domain: s.failure_domain.clone(),
                internal_ip: s.internal_ip.clone(),
                instance_id: s.instance_id.clone(),
                conditions: conditions(&s.conditions),
                ready_at: rfc3339(s.ready_at.as_ref()),
            }),
        }
    }
}

// ------------------------------------------------------------------ projects and IAM

/// A project.
#[derive(Debug, Serialize)]
pub struct ProjectView {
    kind: &'static str,
    metadata: Option<MetaView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<ProjectSpecView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<ProjectStatusView>,
}

#[derive(Debug, Serialize)]
struct ProjectSpecView {
    gpu_quota: u32,
}

#[derive(Debug, Serialize)]
struct ProjectStatusView {
    gpus_requested: u32,
    member_count: u32,
    cluster_count: u32,
}

impl From<&pb::Project> for ProjectView {
    fn from(p: &pb::Project) -> Self {
        ProjectView {
            kind: "Project",
            metadata: p.metadata.as_ref().map(MetaView::from),
            spec: p.spec.as_ref().map(|s| ProjectSpecView {
                gpu_quota: s.gpu_quota,
            }),
            status: p.status.as_ref().map(|s| ProjectStatusView {
                gpus_requested: s.gpus_requested,
                member_count: s.member_count,
                cluster_count: s.cluster_count,
            }),
        }
    }
}

/// A project member.
#[derive(Debug, Serialize)]
pub struct MemberView {
    kind: &'static str,
    project: String,
    user: String,
    user_id: String,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    added_at: Option<String>,
}

impl From<&pb::Member> for MemberView {
    fn from(m: &pb::Member) -> Self {
        MemberView {
            kind: "Member",
            project: m.project.clone(),
            user: m.user.clone(),
            user_id: m.user_id.clone(),
            role: role_name(m.role),
            added_at: rfc3339(m.added_at.as_ref()),
        }
    }
}

/// An API key (never its secret).
#[derive(Debug, Serialize)]
pub struct ApiKeyView {
    kind: &'static str,
    id: String,
    project: String,
    user: String,
    name: String,
    created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    revoked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

impl From<&pb::ApiKey> for ApiKeyView {
    fn from(k: &pb::ApiKey) -> Self {
        ApiKeyView {
            kind: "ApiKey",
            id: k.id.clone(),
            project: k.project.clone(),
            user: k.user.clone(),
            name: k.name.clone(),
            created_by: k.created_by.clone(),
            created_at: rfc3339(k.created_at.as_ref()),
            revoked: k.revoked,
            revoked_at: rfc3339(k.revoked_at.as_ref()),
        }
    }
}

/// `accord whoami`.
#[derive(Debug, Serialize)]
pub struct WhoAmIView {
    party: String,
    user: String,
    project: String,
    role: &'static str,
    key: String,
}

impl From<&pb::WhoAmIResponse> for WhoAmIView {
    fn from(w: &pb::WhoAmIResponse) -> Self {
        WhoAmIView {
            party: w.party.clone(),
            user: w.user.clone(),
            project: w.project.clone(),
            role: role_name(w.role),
            key: w.key.clone(),
        }
    }
}

// ------------------------------------------------------------------ catalogue

/// An instance type.
#[derive(Debug, Serialize)]
pub struct InstanceTypeView {
    kind: &'static str,
    name: String,
    gpu_count: u32,
    gpu_model: String,
    infiniband: bool,
    vcpus: u32,
    memory_gib: u32,
}

impl From<&pb::InstanceType> for InstanceTypeView {
    fn from(t: &pb::InstanceType) -> Self {
        InstanceTypeView {
            kind: "InstanceType",
            name: t.name.clone(),
            gpu_count: t.gpu_count,
            gpu_model: t.gpu_model.clone(),
            infiniband: t.infiniband,
            vcpus: t.vcpus,
            memory_gib: t.memory_gib,
        }
    }
}

/// A node image.
#[derive(Debug, Serialize)]
pub struct ImageView {
    kind: &'static str,
    version: String,
    kernel: String,
    containerd: String,
    gpu_driver: String,
    ofed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    published_at: Option<String>,
}

impl From<&pb::Image> for ImageView {
    fn from(i: &pb::Image) -> Self {
        ImageView {
            kind: "Image",
            version: i.version.clone(),
            kernel: i.kernel.clone(),
            containerd: i.containerd.clone(),
            gpu_driver: i.gpu_driver.clone(),
            ofed: i.ofed.clone(),
            published_at: rfc3339(i.published_at.as_ref()),
        }
    }
}

/// A region.
#[derive(Debug, Serialize)]
pub struct RegionView {
    kind: &'static str,
    name: String,
    failure_domains: Vec<String>,
}

impl From<&pb::Region> for RegionView {
    fn from(r: &pb::Region) -> Self {
        RegionView {
            kind: "Region",
            name: r.name.clone(),
            failure_domains: r.failure_domains.clone(),
        }
    }
}

// ------------------------------------------------------------------ Resource impls

fn meta_name(meta: Option<&pb::ObjectMeta>) -> &str {
    meta.map(|m| m.name.as_str()).unwrap_or_default()
}

impl Resource for pb::Cluster {
    const KIND: &'static str = "cluster";
    fn name(&self) -> &str {
        meta_name(self.metadata.as_ref())
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ClusterView::from(self))
    }
}

impl Resource for pb::NodePool {
    const KIND: &'static str = "nodepool";
    fn name(&self) -> &str {
        meta_name(self.metadata.as_ref())
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(NodePoolView::from(self))
    }
}

impl Resource for pb::Node {
    const KIND: &'static str = "node";
    fn name(&self) -> &str {
        meta_name(self.metadata.as_ref())
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(NodeView::from(self))
    }
}

impl Resource for pb::Project {
    const KIND: &'static str = "project";
    fn name(&self) -> &str {
        meta_name(self.metadata.as_ref())
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ProjectView::from(self))
    }
}

impl Resource for pb::Member {
    const KIND: &'static str = "member";
    fn name(&self) -> &str {
        &self.user
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(MemberView::from(self))
    }
}

impl Resource for pb::ApiKey {
    const KIND: &'static str = "apikey";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ApiKeyView::from(self))
    }
}

impl Resource for pb::InstanceType {
    const KIND: &'static str = "instancetype";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(InstanceTypeView::from(self))
    }
}

impl Resource for pb::Image {
    const KIND: &'static str = "image";
    fn name(&self) -> &str {
        &self.version
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(ImageView::from(self))
    }
}

impl Resource for pb::Region {
    const KIND: &'static str = "region";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(RegionView::from(self))
    }
}
