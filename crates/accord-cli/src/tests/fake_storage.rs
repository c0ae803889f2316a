//! Whole storage commands against an in-process fake of storage-csi's `Storage` service on a
//! random port: request building, the bearer header, tables and JSON / YAML shapes, `--wait`
//! polling (the fake advances a volume, snapshot or migration one step per read) and error
//! rendering, including the hint when the endpoint does not serve `accord.storage.v1`.
//!
//! The fake is deliberately small: it knows nothing of quantities (expanding doubles a volume)
//! or quotas (the usage is fixed); the real service is tested by its own crate and the e2e
//! suite.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use accord_proto::storage::v1 as pb;
use accord_proto::storage::v1::storage_server::{Storage, StorageServer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use super::fake_api::TOKEN;
use crate::cli::Cli;
use crate::commands::{self, Context};
use crate::config::Settings;
use crate::output::{Captured, Printer};
use crate::render_error;

const GIB: u64 = 1 << 30;

#[derive(Default)]
struct State {
    volumes: Vec<pb::Volume>,
    snapshots: Vec<pb::Snapshot>,
    classes: Vec<pb::StorageClass>,
    migrations: Vec<pb::Migration>,
    gate: pb::NfsGate,
    created: Vec<pb::CreateVolumeRequest>,
    planned: Vec<pb::PlanMigrationRequest>,
}

#[derive(Clone, Default)]
struct Fake {
    state: Arc<Mutex<State>>,
}

impl Fake {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

fn authorize<T>(request: &Request<T>) -> Result<(), Status> {
    let header = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if header == Some(&format!("Bearer {TOKEN}")) {
        Ok(())
    } else {
        Err(Status::unauthenticated("unknown API key"))
    }
}

fn not_found(what: &str, name: &str) -> Status {
    Status::not_found(format!("{what} {name} not found"))
}

fn volume_mut<'a>(state: &'a mut State, name: &str) -> Result<&'a mut pb::Volume, Status> {
    state
        .volumes
        .iter_mut()
        .find(|v| v.name == name)
        .ok_or_else(|| not_found("volume", name))
}

/// One step of a volume's life, as a read sees it. A volume named `broken-…` fails.
fn advance(volume: &mut pb::Volume) {
    let next = match volume.state.as_str() {
        "creating" if volume.name.starts_with("broken") => {
            volume.last_failure = "create: back end out of capacity in eu-iceland1".into();
            "failed"
        }
        "creating" | "detaching" => "available",
        "attaching" => "attached",
        "expanding" if volume.attachments.is_empty() => "available",
        "expanding" => "attached",
        other => other,
    };
    volume.state = next.to_owned();
    volume.resource_version += 1;
}

fn migration_volume(name: &str, batch: u32) -> pb::MigrationVolume {
    pb::MigrationVolume {
        name: name.into(),
        cluster: "demo".into(),
        size_bytes: 4 * GIB,
        batch,
        state: "pending".into(),
        bytes_copied: 0,
        failure: String::new(),
    }
}

fn recount(m: &mut pb::Migration) {
    m.by_state.clear();
    for v in &m.volumes {
        *m.by_state.entry(v.state.clone()).or_default() += 1;
    }
    m.bytes_copied = m.volumes.iter().map(|v| v.bytes_copied).sum();
    m.bytes_total = m.volumes.iter().map(|v| v.size_bytes).sum();
}

/// One step of a running migration: the current batch copies, then is done (a volume named
/// `bad` fails verifying), then the next batch starts; no batch left: finished.
fn advance_migration(m: &mut pb::Migration) {
    if m.state != "running" && m.state != "rolling-back" {
        return;
    }
    if m.state == "rolling-back" {
        for v in m.volumes.iter_mut().filter(|v| v.state != "done") {
            v.state = "rolled-back".into();
        }
        m.state = "finished".into();
        m.current_batch = -1;
        recount(m);
        return;
    }
    let batch = u32::try_from(m.current_batch).unwrap_or(0);
    let mut any = false;
    for v in m.volumes.iter_mut().filter(|v| v.batch == batch) {
        any = true;
        match v.state.as_str() {
            "pending" => {
                v.state = "copying".into();
                v.bytes_copied = v.size_bytes / 2;
            }
            "copying" if v.name == "bad" => {
                v.state = "failed".into();
                v.failure = "verify: checksum mismatch".into();
            }
            "copying" => {
                v.state = "done".into();
                v.bytes_copied = v.size_bytes;
            }
            _ => {}
        }
    }
    let batch_over = m
        .volumes
        .iter()
        .filter(|v| v.batch == batch)
        .all(|v| v.state == "done" || v.state == "failed");
    if !any || batch_over {
        let last = m.volumes.iter().map(|v| v.batch).max().unwrap_or(0);
        if batch >= last {
            m.state = "finished".into();
            m.current_batch = -1;
        } else {
            m.current_batch += 1;
        }
    }
    recount(m);
}

#[tonic::async_trait]
impl Storage for Fake {
    async fn get_nfs(
        &self,
        request: Request<pb::GetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        authorize(&request)?;
        let mut gate = self.lock().gate.clone();
        gate.project = request.into_inner().project;
        Ok(Response::new(gate))
    }

    async fn enable_nfs(
        &self,
        request: Request<pb::SetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        state.gate = pb::NfsGate {
            mount: "nfs".into(),
            project: request.project,
            enabled: true,
            changed_by: "op@provider.example".into(),
            reason: request.reason,
            changed_at: None,
        };
        Ok(Response::new(state.gate.clone()))
    }

    async fn disable_nfs(
        &self,
        request: Request<pb::SetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        authorize(&request)?;
        let state = self.lock();
        let shared: Vec<&str> = state
            .volumes
            .iter()
            .filter(|v| v.r#type == "shared")
            .map(|v| v.name.as_str())
            .collect();
        Err(Status::failed_precondition(format!(
            "NFS is still used by shared volumes: {}",
            shared.join(", ")
        )))
    }

    async fn create_volume(
        &self,
        request: Request<pb::CreateVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        if request.size == "lots" {
            return Err(Status::invalid_argument(
                "size: \"lots\" is not a Kubernetes quantity (e.g. 100Gi, 1Ti)",
            ));
        }
        let volume = pb::Volume {
            id: format!("vol-{}", request.name),
            name: request.name.clone(),
            project: "acme".into(),
            cluster: request.cluster.clone(),
            region: "eu-iceland1".into(),
            r#type: request.r#type.clone(),
            size_bytes: 100 * GIB,
            size: request.size.clone(),
            mount: request.mount.clone(),
            source_snapshot: request.source_snapshot.clone(),
            state: "creating".into(),
            resource_version: 1,
            ..pb::Volume::default()
        };
        let mut state = self.lock();
        state.created.push(request);
        state.volumes.push(volume.clone());
        Ok(Response::new(volume))
    }

    async fn get_volume(
        &self,
        request: Request<pb::GetVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let name = request.into_inner().name;
        let mut state = self.lock();
        if let Some(i) = state
            .volumes
            .iter()
            .position(|v| v.name == name && v.state == "deleting")
        {
            state.volumes.remove(i);
        }
        let volume = volume_mut(&mut state, &name)?;
        advance(volume);
        Ok(Response::new(volume.clone()))
    }

    async fn list_volumes(
        &self,
        request: Request<pb::ListVolumesRequest>,
    ) -> Result<Response<pb::ListVolumesResponse>, Status> {
        authorize(&request)?;
        let state = self.lock();
        Ok(Response::new(pb::ListVolumesResponse {
            volumes: state.volumes.clone(),
            usage: Some(pb::Usage {
                volumes: state.volumes.len() as u64,
                total_gib: state.volumes.iter().map(|v| v.size_bytes / GIB).sum(),
                max_volumes: 50,
                max_total_gib: 20480,
            }),
        }))
    }

    async fn expand_volume(
        &self,
        request: Request<pb::ExpandVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        let volume = volume_mut(&mut state, &request.name)?;
        volume.state = "expanding".into();
        volume.size_bytes *= 2;
        volume.size = request.size;
        Ok(Response::new(volume.clone()))
    }

    async fn attach_volume(
        &self,
        request: Request<pb::AttachVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        let volume = volume_mut(&mut state, &request.name)?;
        volume.state = "attaching".into();
        volume.attachments.push(request.node);
        Ok(Response::new(volume.clone()))
    }

    async fn detach_volume(
        &self,
        request: Request<pb::DetachVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        let volume = volume_mut(&mut state, &request.name)?;
        volume.state = "detaching".into();
        volume.attachments.retain(|n| *n != request.node);
        Ok(Response::new(volume.clone()))
    }

    async fn delete_volume(
        &self,
        request: Request<pb::DeleteVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        let volume = volume_mut(&mut state, &request.name)?;
        if !volume.attachments.is_empty() {
            return Err(Status::failed_precondition(format!(
                "volume {} is attached to {}: detach it first",
                volume.name,
                volume.attachments.join(", ")
            )));
        }
        volume.state = "deleting".into();
        Ok(Response::new(volume.clone()))
    }

    async fn create_snapshot(
        &self,
        request: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        let volume = volume_mut(&mut state, &request.volume)?.clone();
        let snapshot = pb::Snapshot {
            id: format!("snap-{}", request.name),
            name: request.name,
            cluster: request.cluster,
            volume: volume.name,
            r#type: volume.r#type,
            size_bytes: volume.size_bytes,
            size: volume.size,
            state: "creating".into(),
            ..pb::Snapshot::default()
        };
        state.snapshots.push(snapshot.clone());
        Ok(Response::new(snapshot))
    }

    async fn list_snapshots(
        &self,
        request: Request<pb::ListSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        authorize(&request)?;
        let mut state = self.lock();
        for s in state.snapshots.iter_mut() {
            if s.state == "creating" {
                s.state = "ready".into();
            }
        }
        Ok(Response::new(pb::ListSnapshotsResponse {
            snapshots: state.snapshots.clone(),
        }))
    }

    async fn delete_snapshot(
        &self,
        request: Request<pb::DeleteSnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        authorize(&request)?;
        let name = request.into_inner().name;
        let mut state = self.lock();
        let i = state
            .snapshots
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| not_found("snapshot", &name))?;
        let mut snapshot = state.snapshots.remove(i);
        snapshot.state = "deleted".into();
        Ok(Response::new(snapshot))
    }

    async fn create_storage_class(
        &self,
        request: Request<pb::CreateStorageClassRequest>,
    ) -> Result<Response<pb::StorageClass>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let param = |key: &str| request.parameters.get(key).cloned().unwrap_or_default();
        let class = pb::StorageClass {
            name: request.name.clone(),
            cluster: request.cluster.clone(),
            r#type: param("type"),
            filesystem: param("filesystem"),
            mount: param("mount"),
            reclaim_policy: if request.reclaim_policy.is_empty() {
                "Delete".into()
            } else {
                request.reclaim_policy.clone()
            },
            volume_binding_mode: "WaitForFirstConsumer".into(),
            allow_volume_expansion: request.allow_volume_expansion.unwrap_or(true),
            default_class: request.default_class,
            provisioner: "disk.csi.accord.example".into(),
            driver_installed: false,
            manifest: format!(
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: {}\n",
                request.name
            ),
            created_at: None,
        };
        self.lock().classes.push(class.clone());
        Ok(Response::new(class))
    }

    async fn list_storage_classes(
        &self,
        request: Request<pb::ListStorageClassesRequest>,
    ) -> Result<Response<pb::ListStorageClassesResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::ListStorageClassesResponse {
            storage_classes: self.lock().classes.clone(),
            driver_installed: false,
        }))
    }

    async fn delete_storage_class(
        &self,
        request: Request<pb::DeleteStorageClassRequest>,
    ) -> Result<Response<pb::DeleteStorageClassResponse>, Status> {
        authorize(&request)?;
        let name = request.into_inner().name;
        let mut state = self.lock();
        let before = state.classes.len();
        state.classes.retain(|c| c.name != name);
        if state.classes.len() == before {
            return Err(not_found("StorageClass", &name));
        }
        Ok(Response::new(pb::DeleteStorageClassResponse {}))
    }

    async fn plan_migration(
        &self,
        request: Request<pb::PlanMigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let names: Vec<String> = if request.volumes.is_empty() {
            vec!["a".into(), "bad".into(), "c".into()]
        } else {
            request
                .volumes
                .iter()
                .map(|v| v.rsplit('/').next().unwrap_or(v).to_owned())
                .collect()
        };
        let batch_size = if request.batch_size == 0 {
            10
        } else {
            request.batch_size
        };
        let volumes: Vec<pb::MigrationVolume> = names
            .iter()
            .enumerate()
            .map(|(i, name)| migration_volume(name, i as u32 / batch_size))
            .collect();
        let batches = volumes.iter().map(|v| v.batch + 1).max().unwrap_or(0);
        let mut m = pb::Migration {
            id: if request.dry_run {
                String::new()
            } else {
                format!("mig-{}", request.name)
            },
            name: request.name.clone(),
            project: "acme".into(),
            state: "planned".into(),
            batch_size,
            estimate: Some(pb::Estimate {
                volumes: volumes.len() as u32,
                bytes: volumes.iter().map(|v| v.size_bytes).sum(),
                batches,
                duration_seconds: 3 * 3600 + 20 * 60,
            }),
            volumes,
            current_batch: -1,
            by_state: HashMap::new(),
            dry_run: request.dry_run,
            ..pb::Migration::default()
        };
        recount(&mut m);
        let mut state = self.lock();
        if !request.dry_run {
            state.migrations.push(m.clone());
        }
        state.planned.push(request);
        Ok(Response::new(m))
    }

    async fn run_migration(
        &self,
        request: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        authorize(&request)?;
        let key = request.into_inner().migration;
        let mut state = self.lock();
        let m = find_migration(&mut state, &key)?;
        m.state = "running".into();
        m.current_batch = 0;
        Ok(Response::new(m.clone()))
    }

    async fn get_migration(
        &self,
        request: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        authorize(&request)?;
        let key = request.into_inner().migration;
        let mut state = self.lock();
        let m = find_migration(&mut state, &key)?;
        advance_migration(m);
        Ok(Response::new(m.clone()))
    }

    async fn list_migrations(
        &self,
        request: Request<pb::ListMigrationsRequest>,
    ) -> Result<Response<pb::ListMigrationsResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::ListMigrationsResponse {
            migrations: self.lock().migrations.clone(),
        }))
    }

    async fn rollback_migration(
        &self,
        request: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        authorize(&request)?;
        let key = request.into_inner().migration;
        let mut state = self.lock();
        let m = find_migration(&mut state, &key)?;
        m.state = "rolling-back".into();
        Ok(Response::new(m.clone()))
    }
}

fn find_migration<'a>(state: &'a mut State, key: &str) -> Result<&'a mut pb::Migration, Status> {
    state
        .migrations
        .iter_mut()
        .find(|m| m.id == key || m.name == key)
        .ok_or_else(|| not_found("migration", key))
}

/// The fake on a random port.
struct Server {
    endpoint: String,
    fake: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let fake = Fake::default();
    let router = tonic::transport::Server::builder().add_service(StorageServer::new(fake.clone()));
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    Server {
        endpoint,
        fake,
        task,
    }
}

/// Runs `accord <args>` with the storage package at `endpoint` (the main endpoint is closed);
/// returns the outcome, stdout and stderr.
async fn accord(endpoint: &str, args: &[&str]) -> (Result<(), String>, Captured) {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_with_sources(argv).unwrap();
    let (printer, captured) = Printer::capture();
    let mut settings = Settings::new("http://127.0.0.1:1", Some(TOKEN.to_owned()));
    settings.endpoints.insert(
        crate::config::STORAGE_PACKAGE.to_owned(),
        endpoint.to_owned(),
    );
    let ctx = Context {
        settings,
        format: cli.global.output,
        printer,
    };
    let result = commands::run(&ctx, cli.command)
        .await
        .map_err(|error| render_error(&error));
    let captured = captured.lock().unwrap().clone();
    (result, captured)
}

#[tokio::test]
async fn volume_lifecycle_with_wait() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &[
            "create",
            "volume",
            "data",
            "--cluster",
            "demo",
            "--type",
            "disk",
            "--size",
            "100Gi",
            "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "volume/data created\nvolume/data is available (100Gi)\n"
    );
    assert_eq!(server.fake.lock().created[0].r#type, "disk");

    let (result, out) = accord(
        &server.endpoint,
        &[
            "attach", "volume", "data", "-c", "demo", "--node", "gpu-a-x1", "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "volume/data attaching to gpu-a-x1\nvolume/data is attached to gpu-a-x1\n"
    );

    let (result, out) = accord(
        &server.endpoint,
        &[
            "expand", "volume", "data", "-c", "demo", "--size", "200Gi", "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(out.out.ends_with("volume/data is now 200Gi\n"), "{out:?}");

    let (result, out) = accord(&server.endpoint, &["get", "volumes", "-c", "demo"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert!(
        lines[0].starts_with("NAME   TYPE   SIZE    MOUNT   STATE      ATTACHED-TO   AGE"),
        "{out:?}"
    );
    assert!(
        lines[1].starts_with("data   disk   200Gi   -       attached   gpu-a-x1"),
        "{out:?}"
    );
    assert_eq!(lines[3], "quota: 1/50 volumes, 200/20480 GiB");

    // Refused while attached, as the server words it.
    let (result, _) = accord(
        &server.endpoint,
        &["delete", "volume", "data", "-c", "demo"],
    )
    .await;
    assert_eq!(
        result,
        Err("FAILED_PRECONDITION: volume data is attached to gpu-a-x1: detach it first".into())
    );
    let (result, out) = accord(
        &server.endpoint,
        &[
            "detach", "volume", "data", "-c", "demo", "--node", "gpu-a-x1", "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(
        out.out.ends_with("volume/data is detached from gpu-a-x1\n"),
        "{out:?}"
    );
    let (result, out) = accord(
        &server.endpoint,
        &["delete", "volume", "data", "-c", "demo", "--wait"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "volume/data deleting\nvolume/data deleted\n");
}

#[tokio::test]
async fn create_wait_fails_with_the_last_failure_and_json_is_one_document() {
    let server = start().await;
    let (result, _) = accord(
        &server.endpoint,
        &[
            "create", "volume", "broken", "-c", "demo", "--type", "disk", "--size", "1Gi", "--wait",
        ],
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with(
            "volume broken failed: create: back end out of capacity in eu-iceland1 (while waiting"
        ),
        "{error}"
    );
    let (result, out) = accord(
        &server.endpoint,
        &[
            "create", "volume", "ok", "-c", "demo", "--type", "shared", "--size", "1Ti", "--mount",
            "nfs", "--wait", "-o", "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(value["state"], "available");
    assert_eq!(value["mount"], "nfs");
    let (result, _) = accord(
        &server.endpoint,
        &[
            "create", "volume", "x", "-c", "demo", "--type", "disk", "--size", "lots",
        ],
    )
    .await;
    assert_eq!(
        result,
        Err(
            "INVALID_ARGUMENT: size: \"lots\" is not a Kubernetes quantity (e.g. 100Gi, 1Ti)"
                .into()
        )
    );
}

#[tokio::test]
async fn snapshots_and_storage_classes() {
    let server = start().await;
    accord(
        &server.endpoint,
        &[
            "create", "volume", "data", "-c", "demo", "--type", "disk", "--size", "100Gi",
        ],
    )
    .await
    .0
    .unwrap();
    let (result, out) = accord(
        &server.endpoint,
        &[
            "snapshot",
            "create",
            "data-0412",
            "-c",
            "demo",
            "--volume",
            "data",
            "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "snapshot/data-0412 created\nsnapshot/data-0412 is ready (100Gi of volume data)\n"
    );
    let (result, out) = accord(
        &server.endpoint,
        &["get", "snapshots", "-c", "demo", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(value["kind"], "List");
    assert_eq!(value["items"][0]["volume"], "data");
    let (result, out) = accord(
        &server.endpoint,
        &["snapshot", "delete", "data-0412", "-c", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "snapshot/data-0412 deleted\n");

    for name in ["fast", "slow"] {
        let (result, out) = accord(
            &server.endpoint,
            &[
                "create",
                "storageclass",
                name,
                "-c",
                "demo",
                "--type",
                "disk",
                "--filesystem",
                "xfs",
            ],
        )
        .await;
        assert_eq!(result, Ok(()), "{out:?}");
        assert!(out.err.contains("CSI driver is not installed"), "{out:?}");
    }
    let (result, out) = accord(&server.endpoint, &["get", "sc", "-c", "demo", "-o", "yaml"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: fast\n\
         ---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: slow\n"
    );
    assert_eq!(out.err, "", "no warning interleaved with the manifests");
    let (result, out) = accord(&server.endpoint, &["get", "storageclasses", "-c", "demo"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(out.out.starts_with("NAME   TYPE   PROVISIONER"), "{out:?}");
    let (result, out) = accord(&server.endpoint, &["delete", "sc", "fast", "-c", "demo"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "storageclass/fast deleted\n");
}

#[tokio::test]
async fn nfs_gate() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &[
            "nfs",
            "enable",
            "acme",
            "--reason",
            "ticket T-1234",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(value["enabled"], true);
    assert_eq!(value["reason"], "ticket T-1234");
    let (result, out) = accord(&server.endpoint, &["nfs", "status", "acme"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(out.out.contains("enabled"), "{out:?}");
    let (result, _) = accord(
        &server.endpoint,
        &["nfs", "disable", "acme", "--reason", "done"],
    )
    .await;
    assert!(
        result
            .unwrap_err()
            .starts_with("FAILED_PRECONDITION: NFS is still used")
    );
}

#[tokio::test]
async fn migration_wait_follows_progress_and_fails_on_a_failed_volume() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        &[
            "migration",
            "plan",
            "to-nfs",
            "--batch-size",
            "2",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(
        out.out
            .starts_with("migration/to-nfs (dry run: nothing stored)\n"),
        "{out:?}"
    );
    assert!(
        out.out
            .contains("Estimate: 3 volumes, 12.0 GiB in 2 batches of up to 2, about 3h 20m"),
        "{out:?}"
    );
    assert!(server.fake.lock().migrations.is_empty());

    let (result, out) = accord(
        &server.endpoint,
        &["migration", "plan", "to-nfs", "--batch-size", "2"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let (result, out) = accord(&server.endpoint, &["migration", "run", "to-nfs", "--wait"]).await;
    let error = result.unwrap_err();
    assert_eq!(
        error,
        "migration to-nfs: 1 of 3 volumes failed: demo/bad (verify: checksum mismatch)"
    );
    assert!(
        out.out
            .starts_with("migration/to-nfs running\nmigration/to-nfs finished: done 2, failed 1\n"),
        "{out:?}"
    );
    assert!(out.out.contains("verify: checksum mismatch"), "{out:?}");
    // Plain progress lines on stderr (not a terminal): bytes, batch and counts.
    assert!(
        out.err.contains("waiting for migration to-nfs to finish: 4.0 GiB/12.0 GiB (33%), running, batch 1/2: pending 1, copying 2"),
        "{}",
        out.err
    );

    let (result, out) = accord(&server.endpoint, &["describe", "migration", "mig-to-nfs"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(out.out.contains("finished"), "{out:?}");
    let (result, out) = accord(&server.endpoint, &["get", "migrations", "-o", "json"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    let value: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(value["items"][0]["by_state"]["failed"], 1);
    assert_eq!(server.fake.lock().planned[1].batch_size, 2);
}

#[tokio::test]
async fn an_endpoint_without_the_storage_api_says_how_to_point_at_it() {
    // The provisioner's fake serves other packages only.
    let other = super::fake_api::start().await;
    let (result, _) = accord(&other.endpoint, &["get", "volumes", "-c", "demo"]).await;
    assert_eq!(
        result,
        Err(format!(
            "UNIMPLEMENTED\nhint: {} does not serve the storage API (accord.storage.v1): set \
             ACCORD_STORAGE_ENDPOINT, or endpoints.\"accord.storage.v1\" in the profile",
            other.endpoint
        ))
    );
}
