//! `kill -9` of the `accord-storage-csi` binary in the middle of a migration batch. The
//! provisioner binary runs beside it (API keys, the cluster); storage-csi runs its simulated
//! storage back ends in its own process, their state in its data directory, so the kill takes
//! the service and the back ends' memory down together, as a machine failure would.
//!
//! What must hold after the restart: the migration finishes with every volume on NFS; each
//! volume's copy was asked of the back end under one key only (nothing copied twice); and no
//! volume's source was released before its copy was verified (the events of each volume show
//! `verified` before `releasing`).

use std::{collections::HashMap, path::Path};

use crate::support::{Bearer, Proc, ServiceProc, create, stored_events};
use accord_bus::Bus;
use accord_proto::storage::v1::{self as spb, storage_client::StorageClient};
use accord_sim::storage::{SimStorage, StorageSimConfig};
use accord_testkit::{DEFAULT_POLL_INTERVAL, NatsServer, default_deadline, eventually};
use tonic::{service::interceptor::InterceptedService, transport::Channel};

const BIN: &str = env!("CARGO_BIN_EXE_accord-storage-csi");

type Storage = StorageClient<InterceptedService<Channel, Bearer>>;

/// `accord-storage-csi` on `data` (its simulated storage beside), run `run`.
fn start_storage(nats: &NatsServer, data: &Path, logs: &Path, run: usize) -> ServiceProc {
    ServiceProc::spawn(
        BIN,
        "ACCORD_STORAGE_CSI",
        nats,
        data,
        logs,
        &format!("storage-{run}"),
        &[
            ("SIM_CLOCK_FACTOR", "0.001".to_owned()),
            ("RECONCILE_INTERVAL", "50ms".to_owned()),
        ],
    )
}

async fn storage_client(p: &ServiceProc, token: &str) -> Storage {
    StorageClient::with_interceptor(p.channel().await, Bearer::new(token))
}

async fn until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, check)
        .await
        .unwrap_or_else(|e| panic!("waiting for {what}: {e}"))
}

async fn migration(client: &Storage, name: &str) -> Result<spb::Migration, String> {
    client
        .clone()
        .get_migration(spb::MigrationRequest {
            migration: name.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| s.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_batch_resumes_without_copying_twice_or_releasing_a_source_early() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "storage-crash").await.unwrap();
    let (pdata, sdata, logs) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let provisioner = Proc::start(&nats, pdata.path(), logs.path(), 1, false, true).await;
    let (admin, operator, project) = (
        provisioner.line("admin_token"),
        provisioner.line("operator_token"),
        provisioner.line("project"),
    );
    provisioner
        .clusters(&admin)
        .await
        .create_cluster(create("crash"))
        .await
        .unwrap();

    let s = start_storage(&nats, sdata.path(), logs.path(), 1);
    let customer = storage_client(&s, &admin).await;
    // storage-csi learns the project from the provisioner's events.
    let op = storage_client(&s, &operator).await;
    until("NFS enabled for the project", || {
        let mut op = op.clone();
        let project = project.clone();
        async move {
            op.enable_nfs(spb::SetNfsRequest {
                project,
                reason: "a VirtioFS project".into(),
                mount: "virtiofs".into(),
            })
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
        }
    })
    .await;
    let names = ["v1", "v2", "v3", "v4"];
    for name in names {
        // storage-csi learns the cluster from the provisioner's events.
        until(&format!("volume {name} accepted"), || {
            let mut c = customer.clone();
            async move {
                c.create_volume(spb::CreateVolumeRequest {
                    cluster: "crash".into(),
                    name: name.into(),
                    r#type: "shared".into(),
                    size: "1Ti".into(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
        })
        .await;
    }
    until("every volume available", || {
        let mut c = customer.clone();
        async move {
            let list = c
                .list_volumes(spb::ListVolumesRequest {
                    cluster: "crash".into(),
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            let states: Vec<String> = list.volumes.iter().map(|v| v.state.clone()).collect();
            if states.len() == 4 && states.iter().all(|s| s == "available") {
                Ok(())
            } else {
                Err(format!("{states:?}"))
            }
        }
    })
    .await;
    customer
        .clone()
        .plan_migration(spb::PlanMigrationRequest {
            name: "to-nfs".into(),
            batch_size: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    customer
        .clone()
        .run_migration(spb::MigrationRequest {
            migration: "to-nfs".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Kill it while the first batch is copying (a 1 TiB copy takes about a second here).
    until("a copy under way", || {
        let c = customer.clone();
        async move {
            let m = migration(&c, "to-nfs").await?;
            if m.volumes
                .iter()
                .any(|v| v.state == "copying" && v.bytes_copied > 0)
            {
                Ok(())
            } else {
                Err(format!("{:?}", m.by_state))
            }
        }
    })
    .await;
    let mut s = s;
    let _ = s.child.kill();
    let status = s.child.wait().unwrap();
    assert!(!status.success(), "killed: {status}");
    drop(s);

    let s = start_storage(&nats, sdata.path(), logs.path(), 2);
    let customer = storage_client(&s, &admin).await;
    let done = until("the migration finished after the restart", || {
        let c = customer.clone();
        async move {
            let m = migration(&c, "to-nfs").await?;
            if m.state == "finished" {
                Ok(m)
            } else {
                Err(format!("{} {:?}", m.state, m.by_state))
            }
        }
    })
    .await;
    assert_eq!(done.by_state.get("done"), Some(&4), "{done:?}");
    drop(s);

    // The back ends' own record: one copy key per volume.
    let sim = SimStorage::new(
        StorageSimConfig::default()
            .with_clock_factor(0.001)
            .with_state_file(sdata.path().join("sim").join("storage.json")),
    )
    .unwrap();
    assert_eq!(sim.submitted("copy"), 4, "a volume was copied twice");
    assert_eq!(sim.submitted("release-source"), 4);

    // Each volume's states, in the order they were committed.
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for e in stored_events(&bus).await {
        if e.r#type == "accord.migration.volume-progressed.v1" {
            let data: serde_json::Value = e.decode_data().unwrap();
            seen.entry(data["volume"].as_str().unwrap().to_owned())
                .or_default()
                .push(data["state"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    for (volume, states) in &seen {
        let verified = states.iter().position(|s| s == "verified");
        let releasing = states.iter().position(|s| s == "releasing");
        assert!(
            matches!((verified, releasing), (Some(v), Some(r)) if v < r),
            "{volume}: the source was released before its copy was verified: {states:?}"
        );
        assert_eq!(
            states.iter().filter(|s| *s == "copying").count(),
            1,
            "{volume} started copying twice: {states:?}"
        );
    }
}
