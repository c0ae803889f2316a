//! Every refusal reaches the wire with the gRPC code the API promises, a message that says
//! why, and never `INTERNAL` or `UNKNOWN`.

use std::{fmt::Debug, future::Future, pin::Pin};

use accord_e2e::{
    CPU_INSTANCE, Env, GPU_INSTANCE, cluster_id, cluster_request, is_running, pool_request, summary,
};
use accord_proto::provisioner::v1 as pb;
use tonic::{Code, Response, Status};

/// A lazy call on a clone of `client` (tonic methods borrow the client mutably).
macro_rules! call {
    ($client:expr, $method:ident, $request:expr) => {{
        let mut client = $client.clone();
        let request = $request;
        async move { client.$method(request).await }
    }};
}

type Call = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

/// One row of the table: what is sent, the code it must get, words the message must contain.
struct Case {
    name: &'static str,
    want: Code,
    contains: Vec<String>,
    call: Call,
}

fn case<T: Debug + Send + 'static>(
    name: &'static str,
    want: Code,
    contains: &[&str],
    call: impl Future<Output = Result<Response<T>, Status>> + Send + 'static,
) -> Case {
    Case {
        name,
        want,
        contains: contains.iter().map(|s| (*s).to_owned()).collect(),
        call: Box::pin(async move { call.await.map(|_| ()) }),
    }
}

/// Runs every case; returns one line per mismatch.
async fn run(cases: Vec<Case>) -> Vec<String> {
    let mut failures = Vec::new();
    for c in cases {
        match c.call.await {
            Ok(()) => failures.push(format!("{}: succeeded; wanted {:?}", c.name, c.want)),
            Err(s) => {
                if matches!(s.code(), Code::Internal | Code::Unknown) {
                    failures.push(format!(
                        "{}: bad input yielded {:?}: {}",
                        c.name,
                        s.code(),
                        s.message()
                    ));
                } else if s.code() != c.want {
                    failures.push(format!(
                        "{}: got {:?} ({}); wanted {:?}",
                        c.name,
                        s.code(),
                        s.message(),
                        c.want
                    ));
                }
                for word in &c.contains {
                    if !s.message().contains(word.as_str()) {
                        failures.push(format!(
                            "{}: message {:?} does not mention {word:?}",
                            c.name,
                            s.message()
                        ));
                    }
                }
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_reaches_the_wire_with_its_code_and_none_is_internal() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let operator = env.operator().unwrap();
    let reader = env
        .api(
            &env.mint_key("rita@example.com", pb::Role::Reader)
                .await
                .unwrap()
                .token,
        )
        .unwrap();
    let editor = env
        .api(
            &env.mint_key("ed@example.com", pb::Role::Editor)
                .await
                .unwrap()
                .token,
        )
        .unwrap();

    // A running cluster on 1.31 with one pool, created through the API.
    let created = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("codes", "1.31"))
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    let created_rv = created.metadata.as_ref().unwrap().resource_version;
    let running = env
        .wait_cluster(&admin, &id, "cluster codes running", is_running)
        .await
        .unwrap();
    assert!(
        running.metadata.as_ref().unwrap().resource_version > created_rv,
        "the cluster must have changed since creation for the stale-version case"
    );
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "keep", CPU_INSTANCE, 1, ""))
        .await
        .unwrap();

    let mut bad_cidr = cluster_request("bad-net", "");
    bad_cidr
        .spec
        .as_mut()
        .unwrap()
        .network
        .as_mut()
        .unwrap()
        .pod_cidr = "10.244.0.0/33".into();
    let mut everything_wrong = cluster_request("Not_A_Name", "0.9");
    {
        let spec = everything_wrong.spec.as_mut().unwrap();
        spec.region = "atlantis".into();
        spec.addons = vec!["flux-capacitor".into()];
        let net = spec.network.as_mut().unwrap();
        net.vpc_subnet = "8.8.8.0/24".into();
        net.service_cidr = "banana".into();
        net.node_cidr_mask_size = 99;
    }
    // Over a limit: a label map of 2,000 entries (accepted, and stored, before the limits).
    let mut many_labels = cluster_request("labelled", "");
    many_labels.labels = (0..2_000)
        .map(|i| (format!("k{i}"), "v".to_owned()))
        .collect();
    let mut many_taints = pool_request(&id, "tainted", CPU_INSTANCE, 1, "");
    many_taints.spec.as_mut().unwrap().taints = (0..40)
        .map(|i| pb::Taint {
            key: format!("t{i}"),
            value: "v".into(),
            effect: "NoSchedule".into(),
        })
        .collect();
    // OIDC settings that would add a flag to the API server's command line.
    let oidc = |edit: fn(&mut pb::OidcConfig)| {
        let mut request = cluster_request("oidc", "");
        let mut config = pb::OidcConfig {
            issuer_url: "https://issuer.example.com".into(),
            client_id: "kubernetes".into(),
            ..Default::default()
        };
        edit(&mut config);
        request.spec.as_mut().unwrap().oidc = Some(config);
        request
    };
    let injected_client = oidc(|o| o.client_id = "k8s\n--anonymous-auth=true".into());
    let path_claim = oidc(|o| {
        o.required_claims = [("../x".to_owned(), "y".to_owned())].into();
    });
    let bidi_issuer = oidc(|o| o.issuer_url = "https://example.com/\u{202E}lmth.xe".into());
    let create_project = |name: &str| pb::CreateProjectRequest {
        name: name.to_owned(),
        labels: Default::default(),
    };
    let garbage = env.api("accord_not-a-key_at-all").unwrap();
    let (a, o, r, e) = (&admin, &operator, &reader, &editor);
    let get = |cluster: &str| pb::GetClusterRequest {
        project: String::new(),
        cluster: cluster.to_owned(),
    };

    let cases = vec![
        case(
            "reader creates a cluster",
            Code::PermissionDenied,
            &["reader"],
            call!(r.clusters, create_cluster, cluster_request("by-reader", "")),
        ),
        case(
            "editor adds a member",
            Code::PermissionDenied,
            &["AddMember"],
            call!(
                e.projects,
                add_member,
                pb::AddMemberRequest {
                    project: String::new(),
                    user: "mallory@example.com".into(),
                    role: pb::Role::Admin as i32,
                }
            ),
        ),
        case(
            "customer executes an upgrade",
            Code::PermissionDenied,
            &["Control Plane", "owned by the provider"],
            call!(
                a.clusters,
                execute_cluster_upgrade,
                pb::ExecuteClusterUpgradeRequest {
                    cluster: id.clone(),
                    ..Default::default()
                }
            ),
        ),
        case(
            "upgrade skipping a minor",
            Code::FailedPrecondition,
            &["1.32"],
            call!(
                a.clusters,
                request_cluster_upgrade,
                pb::RequestClusterUpgradeRequest {
                    cluster: id.clone(),
                    kubernetes_version: "1.33".into(),
                    ..Default::default()
                }
            ),
        ),
        case(
            "delete a cluster with node pools",
            Code::FailedPrecondition,
            &["keep"],
            call!(
                a.clusters,
                delete_cluster,
                pb::DeleteClusterRequest {
                    cluster: id.clone(),
                    ..Default::default()
                }
            ),
        ),
        case(
            "stale resource_version",
            Code::Aborted,
            &[],
            call!(
                a.clusters,
                update_cluster,
                pb::UpdateClusterRequest {
                    cluster: id.clone(),
                    resource_version: created_rv,
                    update_mask: vec!["labels".into()],
                    labels: [("team".to_owned(), "ml".to_owned())].into(),
                    ..Default::default()
                }
            ),
        ),
        case(
            "bad pod CIDR",
            Code::InvalidArgument,
            &["spec.network.pod_cidr"],
            call!(a.clusters, create_cluster, bad_cidr),
        ),
        case(
            "every field wrong at once",
            Code::InvalidArgument,
            &[
                "name",
                "spec.kubernetes_version",
                "spec.region",
                "spec.addons[0]",
                "spec.network.vpc_subnet",
                "spec.network.service_cidr",
                "spec.network.node_cidr_mask_size",
            ],
            call!(a.clusters, create_cluster, everything_wrong),
        ),
        case(
            "over the GPU quota",
            Code::ResourceExhausted,
            &["quota"],
            call!(
                a.node_pools,
                create_node_pool,
                pool_request(&id, "too-big", GPU_INSTANCE, 9, "")
            ),
        ),
        case(
            "immutable region",
            Code::InvalidArgument,
            &["spec.region", "field is immutable"],
            call!(
                a.clusters,
                update_cluster,
                pb::UpdateClusterRequest {
                    cluster: id.clone(),
                    update_mask: vec!["spec.region".into()],
                    ..Default::default()
                }
            ),
        ),
        case(
            "immutable pod CIDR",
            Code::InvalidArgument,
            &["spec.network.pod_cidr", "field is immutable"],
            call!(
                a.clusters,
                update_cluster,
                pb::UpdateClusterRequest {
                    cluster: id.clone(),
                    update_mask: vec!["spec.network.pod_cidr".into()],
                    ..Default::default()
                }
            ),
        ),
        case(
            "garbage token",
            Code::Unauthenticated,
            &[],
            call!(garbage.clusters, get_cluster, get(&id)),
        ),
        case(
            "no token",
            Code::Unauthenticated,
            &["authorization"],
            call!(env.anonymous_clusters(), get_cluster, get(&id)),
        ),
        case(
            "unknown cluster",
            Code::NotFound,
            &["no-such-cluster"],
            call!(a.clusters, get_cluster, get("no-such-cluster")),
        ),
        case(
            "duplicate cluster name",
            Code::AlreadyExists,
            &["codes"],
            call!(a.clusters, create_cluster, cluster_request("codes", "")),
        ),
        case(
            "operator creates a cluster",
            Code::PermissionDenied,
            &["customer"],
            call!(
                o.clusters,
                create_cluster,
                pb::CreateClusterRequest {
                    project: env.project.clone(),
                    ..cluster_request("by-operator", "")
                }
            ),
        ),
        case(
            "operator names no project",
            Code::InvalidArgument,
            &["project"],
            call!(o.clusters, get_cluster, get(&id)),
        ),
        case(
            "empty create request",
            Code::InvalidArgument,
            &["name", "spec.region"],
            call!(
                a.clusters,
                create_cluster,
                pb::CreateClusterRequest::default()
            ),
        ),
        case(
            "upgrade to a version that is not one",
            Code::InvalidArgument,
            &["kubernetes_version"],
            call!(
                a.clusters,
                request_cluster_upgrade,
                pb::RequestClusterUpgradeRequest {
                    cluster: id.clone(),
                    kubernetes_version: "banana".into(),
                    ..Default::default()
                }
            ),
        ),
        case(
            "update with an unknown mask path",
            Code::InvalidArgument,
            &["update_mask"],
            call!(
                a.clusters,
                update_cluster,
                pb::UpdateClusterRequest {
                    cluster: id.clone(),
                    update_mask: vec!["status.phase".into()],
                    ..Default::default()
                }
            ),
        ),
        case(
            "pool with an unknown instance type and no nodes to replace",
            Code::InvalidArgument,
            &["spec.instance_type", "spec.rolling_update"],
            call!(
                a.node_pools,
                create_node_pool,
                pb::CreateNodePoolRequest {
                    cluster: id.clone(),
                    name: "odd".into(),
                    spec: Some(pb::NodePoolSpec {
                        instance_type: "quantum-9000".into(),
                        count: 1,
                        rolling_update: Some(pb::RollingUpdate {
                            max_surge: 0,
                            max_unavailable: 0,
                        }),
                        remediation_enabled: None,
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            ),
        ),
        case(
            "scale beyond the largest pool",
            Code::InvalidArgument,
            &["spec.count"],
            call!(
                a.node_pools,
                scale_node_pool,
                pb::ScaleNodePoolRequest {
                    cluster: id.clone(),
                    node_pool: "keep".into(),
                    count: 1_000_000,
                    ..Default::default()
                }
            ),
        ),
        case(
            "revoke a key id that is not an id",
            Code::InvalidArgument,
            &["key"],
            call!(
                a.projects,
                revoke_api_key,
                pb::RevokeApiKeyRequest {
                    project: String::new(),
                    key: "../../etc/passwd".into(),
                }
            ),
        ),
        case(
            "cordon a node that does not exist",
            Code::NotFound,
            &[],
            call!(
                a.nodes,
                cordon_node,
                pb::CordonNodeRequest {
                    project: String::new(),
                    cluster: id.clone(),
                    node: "node-nope".into(),
                }
            ),
        ),
        case(
            "2,000 labels",
            Code::InvalidArgument,
            &["labels", "at most 64"],
            call!(a.clusters, create_cluster, many_labels),
        ),
        case(
            "40 taints",
            Code::InvalidArgument,
            &["spec.taints", "at most 32"],
            call!(a.node_pools, create_node_pool, many_taints),
        ),
        case(
            "a reference over its limit, before the project is looked up",
            Code::InvalidArgument,
            &["project", "at most 253"],
            call!(
                a.clusters,
                list_clusters,
                pb::ListClustersRequest {
                    project: "p".repeat(100_000),
                }
            ),
        ),
        case(
            "newline in the OIDC client id",
            Code::InvalidArgument,
            &["spec.oidc.client_id", "U+000A"],
            call!(a.clusters, create_cluster, injected_client),
        ),
        case(
            "a path as a required OIDC claim",
            Code::InvalidArgument,
            &["spec.oidc.required_claims[../x]"],
            call!(a.clusters, create_cluster, path_claim),
        ),
        case(
            "bidi override in the OIDC issuer",
            Code::InvalidArgument,
            &["spec.oidc.issuer_url", "U+202E"],
            call!(a.clusters, create_cluster, bidi_issuer),
        ),
        case(
            "reader creates a project",
            Code::PermissionDenied,
            &["CreateProject", "admin", "reader"],
            call!(r.projects, create_project, create_project("by-reader")),
        ),
        case(
            "editor creates a project",
            Code::PermissionDenied,
            &["CreateProject", "admin", "editor"],
            call!(e.projects, create_project, create_project("by-editor")),
        ),
        case(
            "operator creates a project",
            Code::PermissionDenied,
            &["customer"],
            call!(o.projects, create_project, create_project("by-operator")),
        ),
        case(
            "a customer key names another project",
            Code::PermissionDenied,
            &["scoped"],
            call!(
                a.clusters,
                list_clusters,
                pb::ListClustersRequest {
                    project: "someone-elses".into(),
                }
            ),
        ),
    ];
    let failures = run(cases).await;
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // A key for a user outside the project: the same answer whether the user exists (nora was
    // a member until just now) or not (ghost never was).
    env.mint_key("nora@example.com", pb::Role::Reader)
        .await
        .unwrap();
    admin
        .projects
        .clone()
        .remove_member(pb::RemoveMemberRequest {
            project: String::new(),
            user: "nora@example.com".into(),
        })
        .await
        .unwrap();
    let mut answers = Vec::new();
    for user in ["nora@example.com", "ghost@example.com"] {
        let err = admin
            .projects
            .clone()
            .create_api_key(pb::CreateApiKeyRequest {
                project: String::new(),
                name: "probe".into(),
                user: user.to_owned(),
            })
            .await
            .unwrap_err();
        answers.push((err.code(), err.message().replace(user, "<user>")));
    }
    assert_eq!(
        answers[0], answers[1],
        "CreateApiKey tells whether a user exists"
    );
    assert_eq!(answers[0].0, Code::NotFound, "{answers:?}");

    // A revoked key is refused on the very next call.
    let doomed = env
        .mint_key("dora@example.com", pb::Role::Editor)
        .await
        .unwrap();
    let dora = env.api(&doomed.token).unwrap();
    call!(dora.clusters, get_cluster, get(&id)).await.unwrap();
    admin
        .projects
        .clone()
        .revoke_api_key(pb::RevokeApiKeyRequest {
            project: String::new(),
            key: doomed.id.clone(),
        })
        .await
        .unwrap();
    let failures = run(vec![case(
        "revoked key",
        Code::Unauthenticated,
        &["revoked"],
        call!(dora.clusters, get_cluster, get(&id)),
    )])
    .await;
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // The upgrade the customer asks for is carried out by the operator.
    admin
        .clusters
        .clone()
        .request_cluster_upgrade(pb::RequestClusterUpgradeRequest {
            cluster: id.clone(),
            kubernetes_version: "1.32".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let failures = run(vec![case(
        "customer executes their own requested upgrade",
        Code::PermissionDenied,
        &["Control Plane", "owned by the provider"],
        call!(
            admin.clusters,
            execute_cluster_upgrade,
            pb::ExecuteClusterUpgradeRequest {
                cluster: id.clone(),
                ..Default::default()
            }
        ),
    )])
    .await;
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    let started = operator
        .clusters
        .clone()
        .execute_cluster_upgrade(pb::ExecuteClusterUpgradeRequest {
            project: env.project.clone(),
            cluster: id.clone(),
            resource_version: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.spec.as_ref().unwrap().kubernetes_version, "1.32");
    let upgraded = env
        .wait_cluster(&admin, &id, "cluster on 1.32", |c| {
            is_running(c)
                && c.status.as_ref().is_some_and(|s| {
                    s.current_version == "1.32"
                        && s.requested_version.is_empty()
                        && s.control_plane.iter().all(|r| r.version == "1.32")
                })
        })
        .await
        .unwrap();
    assert_eq!(
        upgraded.status.as_ref().unwrap().control_plane.len(),
        3,
        "{}",
        summary(&upgraded)
    );
}
