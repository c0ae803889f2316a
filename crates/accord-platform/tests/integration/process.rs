//! Process-level crash tests of the `accord-provisioner` binary against a real nats-server.
//!
//! The binary is started the way an operator would (environment configuration, a data
//! directory), its machine-readable start-up lines are read from stdout, and it is stopped with
//! SIGTERM, killed with SIGKILL, or made to abort between a commit and the publication of its
//! events (`ACCORD_FAILPOINT=abort-after-commit`). What must hold afterwards: every
//! acknowledged or committed change survives, and its event reaches `ACCORD_EVENTS` exactly once.
//!
//! Every child is killed and reaped when its guard drops, so a failing assertion leaves no
//! process behind; its stderr goes to a log file quoted in failure messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::process::ExitStatusExt as _;

use crate::support::*;
use accord_bus::Bus;
use accord_proto::provisioner::v1 as pb;
use accord_testkit::NatsServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_between_commit_and_publish_publishes_the_event_exactly_once_after_restart() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "process-test").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    // Run 1: an empty data dir mints credentials; SIGTERM stops it cleanly.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 1, false, true).await;
    let token = p.line("admin_token");
    assert!(token.starts_with("accord_"), "{token:?}");
    assert!(p.line("project").starts_with("prj-"), "{:?}", p.lines);
    let listed = p
        .clusters(&token)
        .await
        .list_clusters(pb::ListClustersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.clusters.is_empty());
    assert_eq!(published(&bus, "project.created", None).await, 1);
    p.sigterm();
    let status = p.exited().await;
    assert!(
        status.success(),
        "SIGTERM must stop run 1 cleanly: {status}; log:\n{}",
        p.log_text()
    );
    drop(p);

    // Run 2: the failpoint aborts right after the first commit that carries events.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 2, true, false).await;
    let reply = p
        .clusters(&token)
        .await
        .create_cluster(create("crash"))
        .await;
    assert!(
        reply.is_err(),
        "the process must abort before answering: {reply:?}"
    );
    let status = p.exited().await;
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "run 2 must die by SIGABRT, got {status}; log:\n{}",
        p.log_text()
    );
    drop(p);
    // Nobody runs now, so this is the final word on what run 2 published.
    assert_eq!(
        count(&bus, "cluster.created", None).await,
        0,
        "published before the abort"
    );
    assert_eq!(count(&bus, "project.created", None).await, 1);

    // Run 3: the committed cluster is there; its event is published once; its control plane,
    // never requested from the infrastructure before the crash, comes up.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 3, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let crashed = clusters
        .get_cluster(get("crash"))
        .await
        .unwrap()
        .into_inner();
    let id = crashed.metadata.unwrap().id;
    assert_eq!(published(&bus, "cluster.created", Some(&id)).await, 1);
    running(&mut clusters, &id).await;
    p.sigterm();
    let status = p.exited().await;
    assert!(status.success(), "run 3: {status}; log:\n{}", p.log_text());
    drop(p);

    // Run 4: a restart republishes nothing already published. The marker's event is behind any
    // leftover outbox entry, so once it is stored the relay has drained everything older.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 4, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let marker = clusters
        .create_cluster(create("marker"))
        .await
        .unwrap()
        .into_inner();
    let marker_id = marker.metadata.unwrap().id;
    assert_eq!(
        published(&bus, "cluster.created", Some(&marker_id)).await,
        1
    );
    assert_eq!(count(&bus, "cluster.created", Some(&id)).await, 1);
    assert_eq!(count(&bus, "project.created", None).await, 1);
    let events = stored_events(&bus).await;
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "an event id is stored twice");
    assert!(clusters.get_cluster(get(&id)).await.is_ok());
    p.sigterm();
    assert!(p.exited().await.success(), "run 4; log:\n{}", p.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_idle_loses_no_committed_cluster() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "process-test").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    let mut p = Proc::start(&nats, data.path(), logs.path(), 1, false, true).await;
    let token = p.line("admin_token");
    let mut clusters = p.clusters(&token).await;
    let created = clusters
        .create_cluster(create("sturdy"))
        .await
        .unwrap()
        .into_inner();
    let id = created.metadata.unwrap().id;
    let before = running(&mut clusters, &id).await;
    assert_eq!(published(&bus, "cluster.created", Some(&id)).await, 1);
    p.child.kill().unwrap();
    let status = p.exited().await;
    assert_eq!(status.signal(), Some(SIGKILL), "{status}");
    drop(p);

    let mut p = Proc::start(&nats, data.path(), logs.path(), 2, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let after = clusters
        .get_cluster(get("sturdy"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.metadata.as_ref().unwrap().id, id);
    assert_eq!(after.spec, before.spec);
    assert_eq!(running(&mut clusters, &id).await.metadata.unwrap().id, id);
    // The restarted service takes writes and publishes them; nothing was published twice.
    clusters
        .update_cluster(pb::UpdateClusterRequest {
            cluster: id.clone(),
            update_mask: vec!["labels".into()],
            labels: [("survived".to_owned(), "sigkill".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(published(&bus, "cluster.updated", Some(&id)).await, 1);
    assert_eq!(count(&bus, "cluster.created", Some(&id)).await, 1);
    p.sigterm();
    assert!(p.exited().await.success(), "log:\n{}", p.log_text());
}
