//! Every provisioner RPC × every variable-size field of its request: a value over its limit is
//! `INVALID_ARGUMENT` naming that field, in a message under 1 KiB that never repeats the value;
//! values at the limit pass. Pure: the requests are checked as they arrive, no store, no NATS.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};

use accord_core::{
    DomainError,
    limits::{MAX_ITEMS, MAX_LABELS, MAX_REF_BYTES, MAX_SHORT_TEXT_BYTES, MAX_TAINTS},
};
use accord_proto::provisioner::v1 as pb;
use accord_provisioner::{
    grpc::bounds::{self, Bounded},
    rules::RULES,
};

/// Far over every limit, so a message that echoed it could not stay under 1 KiB.
fn huge() -> String {
    "x".repeat(1 << 20)
}

fn labels(n: usize) -> HashMap<String, String> {
    (0..n).map(|i| (format!("k{i}"), "v".into())).collect()
}

fn huge_key() -> HashMap<String, String> {
    [(huge(), "v".to_owned())].into()
}

fn huge_value() -> HashMap<String, String> {
    [("k".to_owned(), huge())].into()
}

fn many(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("s{i}")).collect()
}

fn taint(key: String, value: String, effect: String) -> pb::Taint {
    pb::Taint { key, value, effect }
}

fn taints(n: usize) -> Vec<pb::Taint> {
    (0..n)
        .map(|i| taint(format!("t{i}"), "v".into(), "NoSchedule".into()))
        .collect()
}

fn cluster_spec(edit: impl FnOnce(&mut pb::ClusterSpec)) -> Option<pb::ClusterSpec> {
    let mut spec = pb::ClusterSpec {
        network: Some(pb::ClusterNetwork::default()),
        oidc: Some(pb::OidcConfig::default()),
        ..Default::default()
    };
    edit(&mut spec);
    Some(spec)
}

fn oidc(spec: &mut pb::ClusterSpec) -> &mut pb::OidcConfig {
    spec.oidc.as_mut().unwrap()
}

fn net(spec: &mut pb::ClusterSpec) -> &mut pb::ClusterNetwork {
    spec.network.as_mut().unwrap()
}

fn pool_spec(edit: impl FnOnce(&mut pb::NodePoolSpec)) -> Option<pb::NodePoolSpec> {
    let mut spec = pb::NodePoolSpec::default();
    edit(&mut spec);
    Some(spec)
}

/// One row: the RPC, a request with one field over its limit, the field the answer must name.
struct Row {
    rpc: &'static str,
    request: Box<dyn Bounded>,
    field: &'static str,
}

fn row(rpc: &'static str, field: &'static str, request: impl Bounded + 'static) -> Row {
    Row {
        rpc,
        request: Box::new(request),
        field,
    }
}

/// Rows for the RPCs whose requests are only references (`project`, `cluster`, …): each
/// reference over [`MAX_REF_BYTES`] in turn.
macro_rules! reference_rows {
    ($rows:ident; $($rpc:literal => $request:ident [$($field:ident),+];)*) => {$($(
        // Some of these requests have only the one field.
        #[allow(clippy::needless_update)]
        let request = pb::$request {
            $field: huge(),
            ..Default::default()
        };
        $rows.push(row($rpc, stringify!($field), request));
    )+)*};
}

fn rows() -> Vec<Row> {
    let mut rows = vec![
        row(
            "CreateProject",
            "name",
            pb::CreateProjectRequest {
                name: huge(),
                ..Default::default()
            },
        ),
        row(
            "CreateProject",
            "labels",
            pb::CreateProjectRequest {
                labels: labels(MAX_LABELS + 1),
                ..Default::default()
            },
        ),
        row(
            "CreateProject",
            "labels[0]",
            pb::CreateProjectRequest {
                labels: huge_key(),
                ..Default::default()
            },
        ),
        row(
            "CreateProject",
            "labels[0]",
            pb::CreateProjectRequest {
                labels: huge_value(),
                ..Default::default()
            },
        ),
    ];
    reference_rows! { rows;
        "GetProject" => GetProjectRequest [project];
        "SetProjectQuota" => SetProjectQuotaRequest [project];
        "AddMember" => AddMemberRequest [project, user];
        "RemoveMember" => RemoveMemberRequest [project, user];
        "ListMembers" => ListMembersRequest [project];
        "CreateApiKey" => CreateApiKeyRequest [project, name, user];
        "ListApiKeys" => ListApiKeysRequest [project];
        "RevokeApiKey" => RevokeApiKeyRequest [project, key];
        "CreateCluster" => CreateClusterRequest [project, name];
        "GetCluster" => GetClusterRequest [project, cluster];
        "ListClusters" => ListClustersRequest [project];
        "UpdateCluster" => UpdateClusterRequest [project, cluster];
        "DeleteCluster" => DeleteClusterRequest [project, cluster];
        "RequestClusterUpgrade" => RequestClusterUpgradeRequest [project, cluster, kubernetes_version];
        "ExecuteClusterUpgrade" => ExecuteClusterUpgradeRequest [project, cluster];
        "GetKubeconfig" => GetKubeconfigRequest [project, cluster];
        "CreateNodePool" => CreateNodePoolRequest [project, cluster, name];
        "GetNodePool" => GetNodePoolRequest [project, cluster, node_pool];
        "ListNodePools" => ListNodePoolsRequest [project, cluster];
        "UpdateNodePool" => UpdateNodePoolRequest [project, cluster, node_pool];
        "ScaleNodePool" => ScaleNodePoolRequest [project, cluster, node_pool];
        "CycleNodePool" => CycleNodePoolRequest [project, cluster, node_pool, image_version];
        "DeleteNodePool" => DeleteNodePoolRequest [project, cluster, node_pool];
        "RollbackNodePool" => RollbackNodePoolRequest [project, cluster, node_pool];
        "ListImages" => ListImagesRequest [driver_branch, channel];
        "ListNodes" => ListNodesRequest [project, cluster, node_pool];
        "GetNode" => GetNodeRequest [project, cluster, node];
        "CordonNode" => CordonNodeRequest [project, cluster, node];
        "UncordonNode" => UncordonNodeRequest [project, cluster, node];
        "ListRemediations" => ListRemediationsRequest [project, cluster, state];
        "GetRemediation" => GetRemediationRequest [project, id];
        "ApproveRemediation" => ResolveRemediationRequest [project, id];
        "RejectRemediation" => ResolveRemediationRequest [project, id];
    }
    for method in ["ApproveRemediation", "RejectRemediation"] {
        rows.push(row(
            method,
            "reason",
            pb::ResolveRemediationRequest {
                reason: "r".repeat(MAX_SHORT_TEXT_BYTES + 1),
                ..Default::default()
            },
        ));
    }
    rows.push(row(
        "ListRemediations",
        "limit",
        pb::ListRemediationsRequest {
            limit: bounds::MAX_REMEDIATIONS_LIMIT + 1,
            ..Default::default()
        },
    ));
    for ttl in [1, 299, 86_401, u32::MAX] {
        rows.push(row(
            "GetKubeconfig",
            "client_certificate_ttl_seconds",
            pb::GetKubeconfigRequest {
                client_certificate_ttl_seconds: ttl,
                ..Default::default()
            },
        ));
    }

    // Clusters: labels, and every field of the spec, on create and on update.
    type SpecEdit = fn(&mut pb::ClusterSpec);
    let specs: Vec<(&'static str, SpecEdit)> = vec![
        ("spec.kubernetes_version", |s| s.kubernetes_version = huge()),
        ("spec.region", |s| s.region = huge()),
        ("spec.network.vpc_subnet", |s| net(s).vpc_subnet = huge()),
        ("spec.network.pod_cidr", |s| net(s).pod_cidr = huge()),
        ("spec.network.service_cidr", |s| {
            net(s).service_cidr = huge()
        }),
        ("spec.oidc.issuer_url", |s| {
            oidc(s).issuer_url = "h".repeat(MAX_SHORT_TEXT_BYTES + 1)
        }),
        ("spec.oidc.client_id", |s| oidc(s).client_id = huge()),
        ("spec.oidc.username_claim", |s| {
            oidc(s).username_claim = huge()
        }),
        ("spec.oidc.groups_claim", |s| oidc(s).groups_claim = huge()),
        ("spec.oidc.required_claims", |s| {
            oidc(s).required_claims = labels(MAX_LABELS + 1)
        }),
        ("spec.oidc.required_claims[0]", |s| {
            oidc(s).required_claims = huge_key()
        }),
        ("spec.oidc.required_claims[0]", |s| {
            oidc(s).required_claims = huge_value()
        }),
        ("spec.addons", |s| s.addons = many(MAX_ITEMS + 1)),
        ("spec.addons[0]", |s| s.addons = vec![huge()]),
    ];
    for (field, edit) in specs {
        rows.push(row(
            "CreateCluster",
            field,
            pb::CreateClusterRequest {
                spec: cluster_spec(edit),
                ..Default::default()
            },
        ));
        rows.push(row(
            "UpdateCluster",
            field,
            pb::UpdateClusterRequest {
                spec: cluster_spec(edit),
                ..Default::default()
            },
        ));
    }
    for (field, map) in [
        ("labels", labels(MAX_LABELS + 1)),
        ("labels[0]", huge_key()),
        ("labels[0]", huge_value()),
    ] {
        rows.push(row(
            "CreateCluster",
            field,
            pb::CreateClusterRequest {
                labels: map.clone(),
                ..Default::default()
            },
        ));
        rows.push(row(
            "UpdateCluster",
            field,
            pb::UpdateClusterRequest {
                labels: map.clone(),
                ..Default::default()
            },
        ));
        rows.push(row(
            "CreateNodePool",
            field,
            pb::CreateNodePoolRequest {
                labels: map.clone(),
                ..Default::default()
            },
        ));
        rows.push(row(
            "UpdateNodePool",
            field,
            pb::UpdateNodePoolRequest {
                labels: map,
                ..Default::default()
            },
        ));
    }
    for (field, mask) in [
        ("update_mask", many(MAX_ITEMS + 1)),
        ("update_mask[0]", vec![huge()]),
    ] {
        rows.push(row(
            "UpdateCluster",
            field,
            pb::UpdateClusterRequest {
                update_mask: mask.clone(),
                ..Default::default()
            },
        ));
        rows.push(row(
            "UpdateNodePool",
            field,
            pb::UpdateNodePoolRequest {
                update_mask: mask,
                ..Default::default()
            },
        ));
    }

    // Node pools: every field of the spec, on create and on update.
    type PoolEdit = fn(&mut pb::NodePoolSpec);
    let pools: Vec<(&'static str, PoolEdit)> = vec![
        ("spec.cluster_id", |s| s.cluster_id = huge()),
        ("spec.instance_type", |s| s.instance_type = huge()),
        ("spec.image_version", |s| s.image_version = huge()),
        ("spec.node_labels", |s| {
            s.node_labels = labels(MAX_LABELS + 1)
        }),
        ("spec.node_labels[0]", |s| s.node_labels = huge_key()),
        ("spec.node_labels[0]", |s| s.node_labels = huge_value()),
        ("spec.taints", |s| s.taints = taints(MAX_TAINTS + 1)),
        ("spec.taints[0].key", |s| {
            s.taints = vec![taint(huge(), "v".into(), "NoSchedule".into())]
        }),
        ("spec.taints[0].value", |s| {
            s.taints = vec![taint("k".into(), huge(), "NoSchedule".into())]
        }),
        ("spec.taints[0].effect", |s| {
            s.taints = vec![taint("k".into(), "v".into(), huge())]
        }),
    ];
    for (field, edit) in pools {
        rows.push(row(
            "CreateNodePool",
            field,
            pb::CreateNodePoolRequest {
                spec: pool_spec(edit),
                ..Default::default()
            },
        ));
        rows.push(row(
            "UpdateNodePool",
            field,
            pb::UpdateNodePoolRequest {
                spec: pool_spec(edit),
                ..Default::default()
            },
        ));
    }
    rows
}

/// RPCs whose requests carry nothing of variable size.
fn without_fields() -> Vec<(&'static str, Box<dyn Bounded>)> {
    vec![
        ("ListProjects", Box::new(pb::ListProjectsRequest {})),
        ("WhoAmI", Box::new(pb::WhoAmIRequest {})),
        (
            "ListKubernetesVersions",
            Box::new(pb::ListKubernetesVersionsRequest {}),
        ),
        ("ListRegions", Box::new(pb::ListRegionsRequest {})),
        (
            "ListInstanceTypes",
            Box::new(pb::ListInstanceTypesRequest {}),
        ),
    ]
}

fn rpc_name(method: &str) -> &str {
    method.rsplit('/').next().unwrap()
}

#[test]
fn every_rpc_has_rows_or_has_no_variable_size_field() {
    let served: BTreeSet<&str> = RULES.iter().map(|r| rpc_name(r.method)).collect();
    let mut covered: BTreeSet<&str> = rows().iter().map(|r| r.rpc).collect();
    covered.extend(without_fields().iter().map(|(rpc, _)| *rpc));
    assert_eq!(covered, served, "every RPC of the rule table has rows");
    for (rpc, request) in without_fields() {
        bounds::check(request.as_ref()).unwrap_or_else(|e| panic!("{rpc}: {e}"));
    }
}

#[test]
fn every_field_over_its_limit_is_invalid_argument_naming_it_in_under_a_kib() {
    let mut failures = Vec::new();
    for Row {
        rpc,
        request,
        field,
    } in rows()
    {
        let err = match bounds::check(request.as_ref()) {
            Ok(()) => {
                failures.push(format!("{rpc} {field}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let DomainError::InvalidArgument(violations) = &err else {
            failures.push(format!("{rpc} {field}: {err:?}"));
            continue;
        };
        if !violations.iter().any(|v| v.field == field) {
            failures.push(format!("{rpc} {field}: names {err}"));
        }
        let message = err.to_string();
        if message.len() >= 1024 || message.contains("xxxxxxxx") {
            failures.push(format!(
                "{rpc} {field}: {} bytes, echoes the value: {}",
                message.len(),
                message.contains("xxxxxxxx")
            ));
        }
        if !message.contains("at most") {
            failures.push(format!(
                "{rpc} {field}: does not state the limit: {message}"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn values_at_their_limits_pass() {
    let at = |n: usize| "a".repeat(n);
    let full_map = |n: usize| -> HashMap<String, String> {
        (0..n)
            .map(|i| {
                let key = format!("{i:03}{}", at(MAX_REF_BYTES - 3));
                (key, at(MAX_REF_BYTES))
            })
            .collect()
    };
    let cluster = pb::CreateClusterRequest {
        project: at(MAX_REF_BYTES),
        name: at(MAX_REF_BYTES),
        labels: full_map(MAX_LABELS),
        spec: cluster_spec(|s| {
            s.region = at(MAX_REF_BYTES);
            s.addons = vec![at(MAX_REF_BYTES); MAX_ITEMS];
            let o = oidc(s);
            o.issuer_url = at(MAX_SHORT_TEXT_BYTES);
            o.client_id = at(MAX_REF_BYTES);
            o.required_claims = full_map(MAX_LABELS);
        }),
    };
    bounds::check(&cluster).unwrap();
    let pool = pb::UpdateNodePoolRequest {
        update_mask: vec![at(MAX_REF_BYTES); MAX_ITEMS],
        labels: full_map(MAX_LABELS),
        spec: pool_spec(|s| {
            s.node_labels = full_map(MAX_LABELS);
            s.taints = (0..MAX_TAINTS)
                .map(|_| taint(at(MAX_REF_BYTES), at(MAX_REF_BYTES), at(MAX_REF_BYTES)))
                .collect();
        }),
        ..Default::default()
    };
    bounds::check(&pool).unwrap();
    let remediations = pb::ListRemediationsRequest {
        project: at(MAX_REF_BYTES),
        cluster: at(MAX_REF_BYTES),
        state: at(MAX_REF_BYTES),
        limit: bounds::MAX_REMEDIATIONS_LIMIT,
    };
    bounds::check(&remediations).unwrap();
    for ttl in [0, 300, 86_400] {
        let kubeconfig = pb::GetKubeconfigRequest {
            project: at(MAX_REF_BYTES),
            cluster: at(MAX_REF_BYTES),
            client_certificate_ttl_seconds: ttl,
        };
        bounds::check(&kubeconfig).unwrap();
    }
    assert_eq!(bounds::remediations_limit(0), 100);
    assert_eq!(bounds::remediations_limit(7), 7);
    assert_eq!(bounds::remediations_limit(1000), 1000);
}

#[test]
fn every_field_over_its_limit_is_reported_at_once() {
    let request = pb::CreateNodePoolRequest {
        project: huge(),
        name: huge(),
        labels: labels(MAX_LABELS + 1),
        spec: pool_spec(|s| {
            s.instance_type = huge();
            s.taints = taints(MAX_TAINTS + 1);
        }),
        ..Default::default()
    };
    let DomainError::InvalidArgument(v) = bounds::check(&request).unwrap_err() else {
        panic!("not INVALID_ARGUMENT");
    };
    let fields: Vec<&str> = v.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "project",
            "name",
            "labels",
            "spec.instance_type",
            "spec.taints"
        ]
    );
}
