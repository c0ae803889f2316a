//! A cluster's whole life through gRPC only, and the events it leaves on `ACCORD_EVENTS`.

use std::collections::HashSet;

use accord_e2e::{
    CPU_INSTANCE, Env, REGION, cluster_id, cluster_request, is_running, kind, pool_request, summary,
};
use accord_proto::provisioner::v1 as pb;
use tonic::Code;

/// The nodes of a pool, as the API lists them.
async fn nodes(api: &accord_e2e::Api, cluster: &str, pool: &str) -> Vec<pb::Node> {
    api.nodes
        .clone()
        .list_nodes(pb::ListNodesRequest {
            project: String::new(),
            cluster: cluster.to_owned(),
            node_pool: pool.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
}

fn image_of(n: &pb::Node) -> &str {
    n.spec.as_ref().map_or("", |s| s.image_version.as_str())
}

fn state_of(n: &pb::Node) -> &str {
    n.status.as_ref().map_or("", |s| s.state.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_to_ready_pool_cycle_scale_and_deletion_over_grpc_leaves_ordered_unique_events() {
    let env = Env::start().await.unwrap();
    let api = env.admin().unwrap();
    let (mut clusters, mut pools) = (api.clusters.clone(), api.node_pools.clone());

    // What the provider offers: the base release, one stable image per driver branch.
    let images = pools
        .list_images(pb::ListImagesRequest {
            driver_branch: "production".into(),
            channel: "stable".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let oldest = images.images.first().unwrap().version.clone();
    let regions = clusters
        .list_regions(pb::ListRegionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .regions;
    let region = regions.iter().find(|r| r.name == REGION).unwrap();

    // 1. Cluster → ControlPlaneReady, three replicas in three distinct failure domains.
    let created = clusters
        .create_cluster(cluster_request("life", ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.status.as_ref().unwrap().phase, "provisioning");
    let id = cluster_id(&created).unwrap();
    let cluster = env
        .wait_cluster(&api, &id, "control plane ready", is_running)
        .await
        .unwrap();
    let status = cluster.status.as_ref().unwrap();
    assert_eq!(status.control_plane.len(), 3, "{}", summary(&cluster));
    let domains: HashSet<&str> = status
        .control_plane
        .iter()
        .map(|r| r.failure_domain.as_str())
        .collect();
    assert_eq!(
        domains.len(),
        3,
        "replicas share a failure domain: {}",
        summary(&cluster)
    );
    for r in &status.control_plane {
        assert_eq!(r.state, "running", "{}", summary(&cluster));
        assert!(
            region.failure_domains.contains(&r.failure_domain),
            "{} is not a failure domain of {REGION}",
            r.failure_domain
        );
    }
    assert_eq!(
        status.current_version,
        cluster.spec.as_ref().unwrap().kubernetes_version
    );

    // 2. A node pool on the oldest image → Ready nodes.
    let pool = pools
        .create_node_pool(pool_request(&id, "workers", CPU_INSTANCE, 2, &oldest))
        .await
        .unwrap()
        .into_inner();
    let pool_id = pool.metadata.as_ref().unwrap().id.clone();
    let ready = env
        .wait_pool(&api, &id, &pool_id, "2 ready nodes", |p| {
            p.status
                .as_ref()
                .is_some_and(|s| s.phase == "ready" && s.ready_nodes == 2)
        })
        .await
        .unwrap();
    // Nothing newer is published yet.
    assert!(!ready.status.as_ref().unwrap().update_available);
    let before = nodes(&api, &id, &pool_id).await;
    assert_eq!(before.len(), 2);
    assert!(
        before
            .iter()
            .all(|n| image_of(n) == oldest && state_of(n) == "ready")
    );

    // The operator builds the next release (the quick try: the base resolved against the
    // package archive) and promotes it; the pool offers it as an update.
    let built = env
        .build_image_and_wait(accord_proto::images::v1::BuildImageRequest::default())
        .await
        .unwrap();
    let latest = built.version.clone();
    assert_ne!(latest, oldest);
    env.promote_image(&built.image).await.unwrap();
    let offered = env
        .wait_pool(&api, &id, &pool_id, "update available", |p| {
            p.status.as_ref().is_some_and(|s| s.update_available)
        })
        .await
        .unwrap();
    assert_eq!(
        offered.status.as_ref().unwrap().update_available_version,
        latest
    );

    // 3. Cycle to the latest image: every node is replaced and ends on it.
    let cycling = pools
        .cycle_node_pool(pb::CycleNodePoolRequest {
            cluster: id.clone(),
            node_pool: pool_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let cycle = cycling.status.as_ref().unwrap().cycle.clone().unwrap();
    assert!(cycle.in_progress);
    assert_eq!(cycle.target_image_version, latest);
    assert_eq!(cycle.nodes_total, 2);
    let cycled = env
        .wait_pool(&api, &id, &pool_id, "cycle completed", |p| {
            p.status.as_ref().is_some_and(|s| {
                s.cycle.is_none() && s.phase == "ready" && s.ready_nodes == 2 && s.total_nodes == 2
            })
        })
        .await
        .unwrap();
    assert_eq!(cycled.spec.as_ref().unwrap().image_version, latest);
    assert!(!cycled.status.as_ref().unwrap().update_available);
    let after = nodes(&api, &id, &pool_id).await;
    assert_eq!(after.len(), 2);
    for n in &after {
        assert_eq!(image_of(n), latest, "{n:?}");
        assert_eq!(state_of(n), "ready", "{n:?}");
        let nid = &n.metadata.as_ref().unwrap().id;
        assert!(
            !before
                .iter()
                .any(|b| &b.metadata.as_ref().unwrap().id == nid),
            "node {nid} was not replaced"
        );
    }

    // 4. Scale up, then down.
    pools
        .scale_node_pool(pb::ScaleNodePoolRequest {
            cluster: id.clone(),
            node_pool: pool_id.clone(),
            count: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    env.wait_pool(&api, &id, &pool_id, "3 ready nodes", |p| {
        p.status
            .as_ref()
            .is_some_and(|s| s.phase == "ready" && s.ready_nodes == 3 && s.total_nodes == 3)
    })
    .await
    .unwrap();
    let three = nodes(&api, &id, &pool_id).await;
    assert_eq!(three.len(), 3);
    assert!(
        three
            .iter()
            .all(|n| image_of(n) == latest && state_of(n) == "ready")
    );
    pools
        .scale_node_pool(pb::ScaleNodePoolRequest {
            cluster: id.clone(),
            node_pool: pool_id.clone(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    env.wait_pool(&api, &id, &pool_id, "1 node left", |p| {
        p.status
            .as_ref()
            .is_some_and(|s| s.phase == "ready" && s.ready_nodes == 1 && s.total_nodes == 1)
    })
    .await
    .unwrap();
    accord_e2e::wait_for("the terminated nodes to disappear", || {
        let api = api.clone();
        let (id, pool_id) = (id.clone(), pool_id.clone());
        async move {
            let n = nodes(&api, &id, &pool_id).await;
            if n.len() == 1 {
                Ok(())
            } else {
                Err(format!("{} nodes", n.len()))
            }
        }
    })
    .await
    .unwrap();

    // 5. Delete the pool, then the cluster.
    pools
        .delete_node_pool(pb::DeleteNodePoolRequest {
            cluster: id.clone(),
            node_pool: pool_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    accord_e2e::wait_for("the pool to be gone", || {
        let mut pools = pools.clone();
        let (cluster, node_pool) = (id.clone(), pool_id.clone());
        async move {
            match pools
                .get_node_pool(pb::GetNodePoolRequest {
                    project: String::new(),
                    cluster,
                    node_pool,
                })
                .await
            {
                Err(s) if s.code() == Code::NotFound => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap();
    assert!(nodes(&api, &id, "").await.is_empty());
    clusters
        .delete_cluster(pb::DeleteClusterRequest {
            cluster: id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    accord_e2e::wait_for("the cluster to be gone", || {
        let mut clusters = clusters.clone();
        let cluster = id.clone();
        async move {
            match clusters
                .get_cluster(pb::GetClusterRequest {
                    project: String::new(),
                    cluster,
                })
                .await
            {
                Err(s) if s.code() == Code::NotFound => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap();
    let listed = clusters
        .list_clusters(pb::ListClustersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.clusters.is_empty(), "{listed:?}");

    // 6. The events, in order, each id unique.
    env.wait_event("cluster.deleted", |e| {
        kind(e) == "cluster.deleted" && e.subject.as_deref() == Some(id.as_str())
    })
    .await
    .unwrap();
    let events = env.events().await.unwrap();
    let mut ids = HashSet::new();
    for e in &events {
        assert!(ids.insert(e.id.clone()), "event id {} appears twice", e.id);
    }
    let about_us: Vec<String> = events
        .iter()
        .filter(|e| {
            let s = e.subject.as_deref().unwrap_or("");
            s == id || s == pool_id
        })
        .map(kind)
        .collect();
    let expected = [
        "cluster.created",
        "cluster.condition-changed",
        "nodepool.created",
        "nodepool.ready",
        "nodepool.cycle-started",
        "nodepool.cycle-completed",
        "nodepool.scaled",
        "nodepool.scaled",
        "nodepool.deletion-started",
        "nodepool.deleted",
        "cluster.deletion-started",
        "cluster.deleted",
    ];
    let mut next = 0;
    for k in &about_us {
        if next < expected.len() && k == expected[next] {
            next += 1;
        }
    }
    assert_eq!(
        next,
        expected.len(),
        "expected {expected:?} in this order; missing from {:?} on; the cluster's and pool's events were {about_us:?}",
        expected.get(next)
    );
    assert_eq!(
        about_us.iter().filter(|k| *k == "cluster.created").count(),
        1,
        "{about_us:?}"
    );
    assert_eq!(about_us.last().map(String::as_str), Some("cluster.deleted"));
    assert!(
        events.iter().any(|e| kind(e) == "node.ready"),
        "nodes never reported ready on the bus"
    );

    // The same work shows in the provisioner's metrics.
    let text = env.metrics.encode().unwrap();
    for series in [
        r#"accord_provisioner_infra_operations_total{operation="provision-node",result="ok"}"#,
        r#"accord_provisioner_infra_operations_total{operation="terminate-node",result="ok"}"#,
        r#"accord_provisioner_infra_events_total{kind="node-readiness"}"#,
        r#"accord_grpc_requests_total{service="provisioner",method="/accord.provisioner.v1.NodePools/CycleNodePool",code="OK"}"#,
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
}
