//! storage-csi end to end: a shared volume is refused until the provider enables NFS for the
//! project; a disk is created, attached to a Ready node, expanded online, snapshotted and
//! restored, refused deletion while attached, detached and deleted; limits and stale versions
//! answer with the right codes; a hung back-end operation fails visibly after 5 minutes of
//! back-end time; a VirtioFS → NFS migration runs in batches to NFS, and a corrupted copy fails
//! its volume, which a rollback returns to its source.

use std::time::Duration;

use accord_e2e::{CPU_INSTANCE, Env, cluster_id, kind, pool_request, wait_for};
use accord_proto::storage::v1 as spb;
use serde_json::json;
use tonic::Code;

type Client = spb::storage_client::StorageClient<accord_e2e::AuthChannel>;

const INTERVAL: Duration = Duration::from_millis(100);

/// A running cluster `name` with one Ready CPU node; returns (cluster id, node name).
async fn cluster_with_node(env: &Env, name: &str) -> (String, String) {
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, name, "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "cpu", CPU_INSTANCE, 1, ""))
        .await
        .unwrap();
    let node = wait_for("a Ready node", || {
        let mut nodes = admin.nodes.clone();
        let id = id.clone();
        async move {
            let list = nodes
                .list_nodes(accord_proto::provisioner::v1::ListNodesRequest {
                    cluster: id,
                    ..Default::default()
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            list.nodes
                .iter()
                .find(|n| {
                    n.status
                        .as_ref()
                        .is_some_and(|s| s.state.eq_ignore_ascii_case("ready"))
                })
                .and_then(|n| n.metadata.as_ref().map(|m| m.name.clone()))
                .ok_or_else(|| format!("{} nodes, none Ready", list.nodes.len()))
        }
    })
    .await
    .unwrap();
    (id, node)
}

fn create(
    cluster: &str,
    name: &str,
    kind: &str,
    size: &str,
    mount: &str,
) -> spb::CreateVolumeRequest {
    spb::CreateVolumeRequest {
        cluster: cluster.into(),
        name: name.into(),
        r#type: kind.into(),
        size: size.into(),
        mount: mount.into(),
        ..Default::default()
    }
}

/// Waits until volume `name` is in `state`.
async fn volume_in(client: &Client, cluster: &str, name: &str, state: &str) -> spb::Volume {
    wait_for(&format!("volume {name} {state}"), || {
        let mut client = client.clone();
        let req = spb::GetVolumeRequest {
            cluster: cluster.into(),
            name: name.into(),
            ..Default::default()
        };
        let state = state.to_owned();
        async move {
            let v = client
                .get_volume(req)
                .await
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
                .into_inner();
            if v.state == state {
                Ok(v)
            } else {
                Err(format!("{} ({})", v.state, v.last_failure))
            }
        }
    })
    .await
    .unwrap()
}

fn code_and_message<T: std::fmt::Debug>(r: Result<T, tonic::Status>) -> (Code, String) {
    let s = r.unwrap_err();
    (s.code(), s.message().to_owned())
}

#[tokio::test]
async fn shared_volumes_wait_for_the_nfs_gate_and_a_disk_runs_its_whole_life() {
    let mut env = Env::start().await.unwrap();
    env.start_storage_csi(INTERVAL, None).await.unwrap();
    let (cluster, node) = cluster_with_node(&env, "storage").await;
    let mut customer = env.storage(&env.admin_token).unwrap();
    let mut operator = env.storage(&env.operator_token).unwrap();

    // Shared before the gate: FAILED_PRECONDITION saying to ask the provider.
    let (code, message) = code_and_message(
        customer
            .create_volume(create(&cluster, "data", "shared", "1Ti", ""))
            .await,
    );
    assert_eq!(code, Code::FailedPrecondition, "{message}");
    assert!(message.contains("ask the provider"), "{message}");
    // The gate is the provider's: a customer enabling it is PERMISSION_DENIED naming the layer.
    let (code, message) = code_and_message(
        customer
            .enable_nfs(spb::SetNfsRequest {
                project: String::new(),
                reason: "please".into(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied, "{message}");
    assert!(message.to_lowercase().contains("storage"), "{message}");
    let gate = operator
        .enable_nfs(spb::SetNfsRequest {
            project: env.project.clone(),
            reason: "ticket 1234".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(gate.enabled);
    assert_eq!(gate.reason, "ticket 1234");
    customer
        .create_volume(create(&cluster, "data", "shared", "1Ti", ""))
        .await
        .unwrap();
    let shared = volume_in(&customer, &cluster, "data", "available").await;
    assert_eq!(shared.mount, "nfs");
    // Disabling while a shared volume exists is refused, naming it.
    let (code, message) = code_and_message(
        operator
            .disable_nfs(spb::SetNfsRequest {
                project: env.project.clone(),
                reason: "cleanup".into(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(code, Code::FailedPrecondition, "{message}");
    assert!(message.contains("data"), "{message}");

    // Limits: off the step, too large, a name too long.
    for (size, name) in [("1.5Gi", "a"), ("11Ti", "b"), ("10Gi", &*"n".repeat(64))] {
        let (code, message) = code_and_message(
            customer
                .create_volume(create(&cluster, name, "disk", size, ""))
                .await,
        );
        assert_eq!(code, Code::InvalidArgument, "{size} {name}: {message}");
        assert!(message.contains("volume."), "{message}");
    }

    // A disk's whole life.
    customer
        .create_volume(create(&cluster, "scratch", "disk", "100Gi", ""))
        .await
        .unwrap();
    let disk = volume_in(&customer, &cluster, "scratch", "available").await;
    let (code, _) = code_and_message(
        customer
            .attach_volume(spb::AttachVolumeRequest {
                cluster: cluster.clone(),
                name: "scratch".into(),
                node: node.clone(),
                resource_version: disk.resource_version + 7,
                ..Default::default()
            })
            .await,
    );
    assert_eq!(code, Code::Aborted, "a stale resource_version");
    // storage-csi learns the node is Ready from the provisioner's events: retry until it has.
    wait_for("the attach accepted", || {
        let mut client = customer.clone();
        let req = spb::AttachVolumeRequest {
            cluster: cluster.clone(),
            name: "scratch".into(),
            node: node.clone(),
            resource_version: disk.resource_version,
            ..Default::default()
        };
        async move {
            client
                .attach_volume(req)
                .await
                .map(|_| ())
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
        }
    })
    .await
    .unwrap();
    let attached = volume_in(&customer, &cluster, "scratch", "attached").await;
    assert_eq!(attached.attachments, vec![node.clone()]);
    customer
        .expand_volume(spb::ExpandVolumeRequest {
            cluster: cluster.clone(),
            name: "scratch".into(),
            size: "200Gi".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let grown = volume_in(&customer, &cluster, "scratch", "attached").await;
    assert_eq!(grown.size, "200Gi", "expanded online, still attached");
    let (code, message) = code_and_message(
        customer
            .expand_volume(spb::ExpandVolumeRequest {
                cluster: cluster.clone(),
                name: "scratch".into(),
                size: "100Gi".into(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(code, Code::InvalidArgument, "{message}");
    assert!(message.contains("never shrink"), "{message}");
    customer
        .create_snapshot(spb::CreateSnapshotRequest {
            cluster: cluster.clone(),
            volume: "scratch".into(),
            name: "nightly".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for("snapshot nightly ready", || {
        let mut client = customer.clone();
        let cluster = cluster.clone();
        async move {
            let list = client
                .list_snapshots(spb::ListSnapshotsRequest {
                    cluster,
                    ..Default::default()
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            match list.snapshots.first() {
                Some(s) if s.state == "ready" => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap();
    let mut restore = create(&cluster, "restored", "disk", "200Gi", "");
    restore.source_snapshot = "nightly".into();
    customer.create_volume(restore).await.unwrap();
    let restored = volume_in(&customer, &cluster, "restored", "available").await;
    assert_eq!(restored.source_snapshot, "nightly");
    let (code, message) = code_and_message(
        customer
            .delete_volume(spb::DeleteVolumeRequest {
                cluster: cluster.clone(),
                name: "scratch".into(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(code, Code::FailedPrecondition, "{message}");
    assert!(message.contains("detach"), "{message}");
    customer
        .detach_volume(spb::DetachVolumeRequest {
            cluster: cluster.clone(),
            name: "scratch".into(),
            node: node.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    volume_in(&customer, &cluster, "scratch", "available").await;
    customer
        .delete_volume(spb::DeleteVolumeRequest {
            cluster: cluster.clone(),
            name: "scratch".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for("scratch gone", || {
        let mut client = customer.clone();
        let req = spb::GetVolumeRequest {
            cluster: cluster.clone(),
            name: "scratch".into(),
            ..Default::default()
        };
        async move {
            match client.get_volume(req).await {
                Err(s) if s.code() == Code::NotFound => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
    })
    .await
    .unwrap();
    let kinds: Vec<String> = env.events().await.unwrap().iter().map(kind).collect();
    for k in [
        "nfs.enabled",
        "volume.created",
        "volume.available",
        "volume.attached",
        "volume.expanded",
        "snapshot.ready",
        "volume.detached",
        "volume.deleted",
    ] {
        assert!(kinds.iter().any(|e| e == k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn a_hung_back_end_operation_fails_visibly_after_five_minutes_of_its_clock() {
    let mut env = Env::start().await.unwrap();
    env.start_storage_csi(INTERVAL, None).await.unwrap();
    let (cluster, _) = cluster_with_node(&env, "hang").await;
    let mut customer = env.storage(&env.admin_token).unwrap();
    env.fault(json!({"kind": "storage-hang-next", "count": 1, "operation": "create-volume"}))
        .await
        .unwrap();
    customer
        .create_volume(create(&cluster, "stuck", "disk", "10Gi", ""))
        .await
        .unwrap();
    let failed = volume_in(&customer, &cluster, "stuck", "failed").await;
    assert!(failed.last_failure.contains("5 minutes"), "{failed:?}");
    assert!(
        failed
            .conditions
            .iter()
            .any(|c| c.r#type == "OperationFailed" && c.status == "True"),
        "{failed:?}"
    );
    // A failed volume can still be deleted.
    customer
        .delete_volume(spb::DeleteVolumeRequest {
            cluster,
            name: "stuck".into(),
            ..Default::default()
        })
        .await
        .unwrap();
}

/// Waits until migration `name` is finished.
async fn finished(client: &Client, name: &str) -> spb::Migration {
    wait_for(&format!("migration {name} finished"), || {
        let mut client = client.clone();
        let name = name.to_owned();
        async move {
            let m = client
                .get_migration(spb::MigrationRequest {
                    migration: name,
                    ..Default::default()
                })
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            if m.state == "finished" {
                Ok(m)
            } else {
                Err(format!("{} {:?}", m.state, m.by_state))
            }
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_virtiofs_to_nfs_migration_runs_in_batches_and_a_bad_copy_rolls_back() {
    let mut env = Env::start().await.unwrap();
    env.start_storage_csi(INTERVAL, None).await.unwrap();
    let (cluster, _) = cluster_with_node(&env, "migrate").await;
    let mut customer = env.storage(&env.admin_token).unwrap();
    let mut operator = env.storage(&env.operator_token).unwrap();
    let set_mount = |mount: &str| spb::SetNfsRequest {
        project: env.project.clone(),
        reason: format!("shared filesystems over {mount}"),
        mount: mount.into(),
    };
    // A legacy project: the provider mounts its shared filesystems over VirtioFS.
    let gate = operator
        .enable_nfs(set_mount("virtiofs"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gate.mount, "virtiofs");
    for name in ["a", "b", "c"] {
        customer
            .create_volume(create(&cluster, name, "shared", "1Ti", ""))
            .await
            .unwrap();
    }
    for name in ["a", "b", "c"] {
        let v = volume_in(&customer, &cluster, name, "available").await;
        assert_eq!(v.mount, "virtiofs", "the project's mount");
    }
    let (code, message) = code_and_message(
        customer
            .create_volume(create(&cluster, "d", "shared", "1Ti", "nfs"))
            .await,
    );
    assert_eq!(code, Code::FailedPrecondition, "{message}");
    assert!(message.contains("provider's setting"), "{message}");
    // The provider switches the project to NFS: new volumes mount over NFS, the old ones
    // stay until migrated.
    operator.enable_nfs(set_mount("nfs")).await.unwrap();
    customer
        .create_volume(create(&cluster, "d", "shared", "1Ti", ""))
        .await
        .unwrap();
    assert_eq!(
        volume_in(&customer, &cluster, "d", "available").await.mount,
        "nfs"
    );
    let plan = |name: &str, volumes: Vec<String>, dry_run| spb::PlanMigrationRequest {
        name: name.into(),
        volumes,
        batch_size: 2,
        dry_run,
        ..Default::default()
    };
    let dry = customer
        .plan_migration(plan("first", vec![], true))
        .await
        .unwrap()
        .into_inner();
    assert!(dry.dry_run && dry.id.is_empty());
    let estimate = dry.estimate.unwrap();
    assert_eq!((estimate.volumes, estimate.batches), (3, 2));
    assert!(estimate.duration_seconds > 0);
    let listed = customer
        .list_migrations(spb::ListMigrationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.migrations.is_empty(), "a dry run stores nothing");

    let planned = customer
        .plan_migration(plan("first", vec!["a".into(), "b".into()], false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(planned.state, "planned");
    // The back end refuses one release: it is retried (under a new key) until it succeeds.
    env.fault(json!({"kind": "storage-fail-next", "count": 1, "operation": "release-source"}))
        .await
        .unwrap();
    customer
        .run_migration(spb::MigrationRequest {
            migration: planned.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let done = finished(&customer, "first").await;
    assert_eq!(done.by_state.get("done"), Some(&2), "{done:?}");
    assert_eq!(done.bytes_copied, done.bytes_total);
    for name in ["a", "b"] {
        let v = volume_in(&customer, &cluster, name, "available").await;
        assert_eq!(v.mount, "nfs", "{name} is on NFS now");
    }

    // A copy that does not match its source fails the volume and keeps the source; the
    // rollback discards the copy.
    env.fault(json!({"kind": "storage-corrupt-copy", "count": 3}))
        .await
        .unwrap();
    let second = customer
        .plan_migration(plan("second", vec![format!("migrate/c")], false))
        .await
        .unwrap()
        .into_inner();
    customer
        .run_migration(spb::MigrationRequest {
            migration: "second".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let failed = finished(&customer, "second").await;
    assert_eq!(failed.by_state.get("failed"), Some(&1), "{failed:?}");
    assert!(
        failed.volumes[0].failure.contains("checksum")
            || failed.volumes[0].failure.contains("match"),
        "the failure says the copy did not match: {failed:?}"
    );
    let c = volume_in(&customer, &cluster, "c", "available").await;
    assert_eq!(c.mount, "virtiofs", "the source stays in use");
    customer
        .rollback_migration(spb::MigrationRequest {
            migration: second.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rolled = finished(&customer, "second").await;
    assert_eq!(rolled.by_state.get("rolled-back"), Some(&1), "{rolled:?}");
    let kinds: Vec<String> = env.events().await.unwrap().iter().map(kind).collect();
    for k in [
        "migration.planned",
        "migration.started",
        "migration.volume-progressed",
        "migration.rollback-requested",
        "migration.finished",
    ] {
        assert!(kinds.iter().any(|e| e == k), "{k} missing");
    }
}
