//! The size of every field of every provisioner request, checked before anything else is done
//! with the request: before its project is resolved, before the write lock, before any rule
//! looks at the content (limits in [`accord_core::limits`]).
//!
//! Names and references (projects, clusters, pools, nodes, users, keys, versions, regions,
//! instance types, images, CIDRs, OIDC client id and claim names) are at most
//! [`MAX_REF_BYTES`]; the OIDC issuer URL at most [`MAX_SHORT_TEXT_BYTES`]; label maps (labels,
//! node labels, required claims) at most [`MAX_LABELS`] entries of at most [`MAX_REF_BYTES`]
//! per key and value; taints at most [`MAX_TAINTS`]; add-ons and update masks at most
//! [`MAX_ITEMS`] items; `ListRemediations` `limit` at most [`MAX_REMEDIATIONS_LIMIT`];
//! `GetKubeconfig` `client_certificate_ttl_seconds` 0 (the default) or within
//! [`MIN_CLIENT_CERT_TTL`]..=[`CLIENT_CERT_TTL`].
//!
//! Invariant: every request type of `accord.provisioner.v1` implements [`Bounded`], and every
//! method checks it first ([`super::Api::scope`] does for every project-scoped method); a
//! field over its limit is `INVALID_ARGUMENT` naming the field and the limit, never repeating
//! the value. The checks are linear in the request; a label map is copied only once its entry
//! count is within the limit.

use std::collections::{BTreeMap, HashMap};

use accord_core::{
    DomainError,
    error::Violations,
    limits::{
        self, MAX_ITEMS, MAX_LABELS, MAX_REF_BYTES, MAX_SHORT_TEXT_BYTES, MAX_TAINTS, text_items,
    },
};
use accord_proto::provisioner::v1 as pb;

use crate::kubeconfig::{CLIENT_CERT_TTL, MIN_CLIENT_CERT_TTL};

/// A request whose fields have size limits.
pub trait Bounded {
    /// Records every field over its limit.
    fn bounds(&self, v: &mut Violations);
}

/// `Ok` when every field of `request` is within its limit; otherwise `INVALID_ARGUMENT` naming
/// each field over its limit.
pub fn check<T: Bounded + ?Sized>(request: &T) -> Result<(), DomainError> {
    let mut v = Violations::new();
    request.bounds(&mut v);
    v.into_result()
}

fn reference(v: &mut Violations, field: &str, value: &str) {
    limits::text(v, field, value, MAX_REF_BYTES);
}

/// A wire map (a `HashMap`) held to [`limits::map`]: the entry count first, and only a map
/// within its count is copied (sorted, so `field[i]` names the i-th key in order) to check each
/// key and value.
fn label_map(v: &mut Violations, field: &str, map: &HashMap<String, String>) {
    limits::items(v, field, map.len(), MAX_LABELS);
    if map.len() <= MAX_LABELS {
        let sorted: BTreeMap<String, String> =
            map.iter().map(|(k, x)| (k.clone(), x.clone())).collect();
        limits::map(v, field, &sorted, MAX_LABELS);
    }
}

fn strings(v: &mut Violations, field: &str, values: &[String]) {
    text_items(v, field, values, MAX_ITEMS, MAX_REF_BYTES);
}

fn cluster_spec(v: &mut Violations, spec: &pb::ClusterSpec) {
    reference(v, "spec.kubernetes_version", &spec.kubernetes_version);
    reference(v, "spec.region", &spec.region);
    if let Some(n) = &spec.network {
        reference(v, "spec.network.vpc_subnet", &n.vpc_subnet);
        reference(v, "spec.network.pod_cidr", &n.pod_cidr);
        reference(v, "spec.network.service_cidr", &n.service_cidr);
    }
    if let Some(o) = &spec.oidc {
        limits::text(
            v,
            "spec.oidc.issuer_url",
            &o.issuer_url,
            MAX_SHORT_TEXT_BYTES,
        );
        reference(v, "spec.oidc.client_id", &o.client_id);
        reference(v, "spec.oidc.username_claim", &o.username_claim);
        reference(v, "spec.oidc.groups_claim", &o.groups_claim);
        label_map(v, "spec.oidc.required_claims", &o.required_claims);
    }
    strings(v, "spec.addons", &spec.addons);
}

fn pool_spec(v: &mut Violations, spec: &pb::NodePoolSpec) {
    reference(v, "spec.cluster_id", &spec.cluster_id);
    reference(v, "spec.instance_type", &spec.instance_type);
    reference(v, "spec.image_version", &spec.image_version);
    reference(v, "spec.driver_branch", &spec.driver_branch);
    reference(v, "spec.image_channel", &spec.image_channel);
    label_map(v, "spec.node_labels", &spec.node_labels);
    limits::items(v, "spec.taints", spec.taints.len(), MAX_TAINTS);
    for (i, t) in spec.taints.iter().take(MAX_TAINTS).enumerate() {
        reference(v, &format!("spec.taints[{i}].key"), &t.key);
        reference(v, &format!("spec.taints[{i}].value"), &t.value);
        reference(v, &format!("spec.taints[{i}].effect"), &t.effect);
    }
}

/// Requests whose only variable-size fields are references.
macro_rules! references {
    ($($request:ty => [$($field:ident),*];)*) => {$(
        impl Bounded for $request {
            #[allow(unused_variables)]
            fn bounds(&self, v: &mut Violations) {
                $(reference(v, stringify!($field), &self.$field);)*
            }
        }
    )*};
}

references! {
    pb::GetProjectRequest => [project];
    pb::ListProjectsRequest => [];
    pb::SetProjectQuotaRequest => [project];
    pb::AddMemberRequest => [project, user];
    pb::RemoveMemberRequest => [project, user];
    pb::ListMembersRequest => [project];
    pb::CreateApiKeyRequest => [project, name, user];
    pb::ListApiKeysRequest => [project];
    pb::RevokeApiKeyRequest => [project, key];
    pb::WhoAmIRequest => [];
    pb::GetClusterRequest => [project, cluster];
    pb::ListClustersRequest => [project];
    pb::DeleteClusterRequest => [project, cluster];
    pb::RequestClusterUpgradeRequest => [project, cluster, kubernetes_version];
    pb::ExecuteClusterUpgradeRequest => [project, cluster];
    pb::ListKubernetesVersionsRequest => [];
    pb::ListRegionsRequest => [];
    pb::GetNodePoolRequest => [project, cluster, node_pool];
    pb::ListNodePoolsRequest => [project, cluster];
    pb::ScaleNodePoolRequest => [project, cluster, node_pool];
    pb::CycleNodePoolRequest => [project, cluster, node_pool, image_version];
    pb::DeleteNodePoolRequest => [project, cluster, node_pool];
    pb::RollbackNodePoolRequest => [project, cluster, node_pool];
    pb::ListInstanceTypesRequest => [];
    pb::ListImagesRequest => [driver_branch, channel];
    pb::ListNodesRequest => [project, cluster, node_pool];
    pb::GetNodeRequest => [project, cluster, node];
    pb::CordonNodeRequest => [project, cluster, node];
    pb::UncordonNodeRequest => [project, cluster, node];
    pb::GetRemediationRequest => [project, id];
}

impl Bounded for pb::ResolveRemediationRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "id", &self.id);
        limits::text(v, "reason", &self.reason, MAX_SHORT_TEXT_BYTES);
    }
}

/// Most remediations one `ListRemediations` returns.
pub const MAX_REMEDIATIONS_LIMIT: u32 = 1000;
/// What `limit: 0` of `ListRemediations` means.
pub const DEFAULT_REMEDIATIONS_LIMIT: u32 = 100;

/// The number of remediations a (bounded) `ListRemediations` asks for.
pub fn remediations_limit(limit: u32) -> usize {
    let limit = match limit {
        0 => DEFAULT_REMEDIATIONS_LIMIT,
        n => n.min(MAX_REMEDIATIONS_LIMIT),
    };
    usize::try_from(limit).unwrap_or(usize::MAX)
}

impl Bounded for pb::ListRemediationsRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "cluster", &self.cluster);
        reference(v, "state", &self.state);
        if self.limit > MAX_REMEDIATIONS_LIMIT {
            v.add(
                "limit",
                format!(
                    "must be at most {MAX_REMEDIATIONS_LIMIT} (0 = {DEFAULT_REMEDIATIONS_LIMIT})"
                ),
            );
        }
    }
}

impl Bounded for pb::GetKubeconfigRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "cluster", &self.cluster);
        let ttl = i64::from(self.client_certificate_ttl_seconds);
        let (min, max) = (
            MIN_CLIENT_CERT_TTL.whole_seconds(),
            CLIENT_CERT_TTL.whole_seconds(),
        );
        if ttl != 0 && !(min..=max).contains(&ttl) {
            v.add(
                "client_certificate_ttl_seconds",
                format!("must be at least {min} and at most {max} (0 = {max})"),
            );
        }
    }
}

impl Bounded for pb::CreateProjectRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "name", &self.name);
        label_map(v, "labels", &self.labels);
    }
}

impl Bounded for pb::CreateClusterRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "name", &self.name);
        label_map(v, "labels", &self.labels);
        if let Some(spec) = &self.spec {
            cluster_spec(v, spec);
        }
    }
}

impl Bounded for pb::UpdateClusterRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "cluster", &self.cluster);
        strings(v, "update_mask", &self.update_mask);
        label_map(v, "labels", &self.labels);
        if let Some(spec) = &self.spec {
            cluster_spec(v, spec);
        }
    }
}

impl Bounded for pb::CreateNodePoolRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "cluster", &self.cluster);
        reference(v, "name", &self.name);
        label_map(v, "labels", &self.labels);
        if let Some(spec) = &self.spec {
            pool_spec(v, spec);
        }
    }
}

impl Bounded for pb::UpdateNodePoolRequest {
    fn bounds(&self, v: &mut Violations) {
        reference(v, "project", &self.project);
        reference(v, "cluster", &self.cluster);
        reference(v, "node_pool", &self.node_pool);
        strings(v, "update_mask", &self.update_mask);
        label_map(v, "labels", &self.labels);
        if let Some(spec) = &self.spec {
            pool_spec(v, spec);
        }
    }
}
