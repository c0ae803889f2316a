//! NATS goes away and comes back under a running provisioner: health and the ready gate follow
//! the bus, and nothing that was acknowledged is lost.

use std::collections::HashSet;

use accord_e2e::{Env, ServingStatus, cluster_id, cluster_request, is_running, kind, wait_for};
use accord_proto::provisioner::v1 as pb;
use tonic::Code;

const SERVICES: [&str; 2] = ["", "accord.provisioner.v1.Clusters"];

async fn wait_health(env: &Env, want: ServingStatus) {
    for service in SERVICES {
        wait_for(
            &format!("health of {service:?} to be {want:?}"),
            || async move {
                match env.health_status(service).await {
                    Ok(s) if s == want => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_outage_makes_the_service_unavailable_and_loses_no_acknowledged_event() {
    let mut env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let mut clusters = admin.clusters.clone();
    wait_health(&env, ServingStatus::Serving).await;

    // Before the outage: a cluster whose events are all published...
    let first = env.running_cluster(&admin, "before", "").await.unwrap();
    let first_id = cluster_id(&first).unwrap();
    env.wait_event("cluster.created of the first cluster", |e| {
        kind(e) == "cluster.created" && e.subject.as_deref() == Some(first_id.as_str())
    })
    .await
    .unwrap();
    let published: HashSet<String> = env
        .events()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert!(!published.is_empty());
    // ...and one acknowledged right before NATS stops, whose events may not be out yet.
    let last = clusters
        .create_cluster(cluster_request("last-before", ""))
        .await
        .unwrap()
        .into_inner();
    let last_id = cluster_id(&last).unwrap();

    // Outage.
    env.nats.stop().await.unwrap();
    wait_health(&env, ServingStatus::NotServing).await;
    let refused = clusters
        .create_cluster(cluster_request("during", ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    let read = clusters
        .get_cluster(pb::GetClusterRequest {
            project: String::new(),
            cluster: first_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(read.code(), Code::Unavailable, "{read:?}");

    // Back.
    env.nats.restart().await.unwrap();
    wait_health(&env, ServingStatus::Serving).await;
    let after = wait_for("a write to be accepted again", || {
        let mut clusters = clusters.clone();
        async move {
            clusters
                .create_cluster(cluster_request("after", ""))
                .await
                .map(|r| r.into_inner())
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
        }
    })
    .await
    .unwrap();
    let after_id = cluster_id(&after).unwrap();

    for (what, id) in [
        ("acknowledged before the outage", &last_id),
        ("written after it", &after_id),
    ] {
        env.wait_event(&format!("cluster.created of the cluster {what}"), |e| {
            kind(e) == "cluster.created" && e.subject.as_deref() == Some(id.as_str())
        })
        .await
        .unwrap();
    }
    let events = env.events().await.unwrap();
    let stored: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let lost: Vec<&String> = published
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "events lost across the NATS restart: {lost:?}"
    );
    assert_eq!(stored.len(), events.len(), "an event id is stored twice");
    for id in [&first_id, &last_id, &after_id] {
        let created = events
            .iter()
            .filter(|e| kind(e) == "cluster.created" && e.subject.as_deref() == Some(id.as_str()))
            .count();
        assert_eq!(created, 1, "cluster.created of {id} stored {created} times");
    }
    // The cluster acknowledged before the outage still comes up.
    env.wait_cluster(
        &admin,
        &last_id,
        "the last cluster before the outage running",
        is_running,
    )
    .await
    .unwrap();
    let names: Vec<String> = clusters
        .list_clusters(pb::ListClustersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .clusters
        .into_iter()
        .map(|c| c.metadata.unwrap().name)
        .collect();
    assert!(
        !names.contains(&"during".to_owned()),
        "a refused write was applied: {names:?}"
    );
}
