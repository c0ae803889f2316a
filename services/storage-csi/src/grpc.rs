//! storage-csi's gRPC edge (`accord.storage.v1.Storage`): bounds every request
//! ([`crate::bounds`]) before any work, resolves the project and cluster with the kit's one
//! scoping rule (another project's cluster, volume or migration is `NOT_FOUND`, word for word
//! like a missing one), checks the caller's role there, runs the service and renders the
//! result. Nothing here decides a storage rule.

use std::sync::Arc;

use accord_core::{DomainError, iam::Principal, ids::ProjectId};
use accord_proto::{
    convert::{provisioner::ts, status_from},
    storage::v1::{self as pb, storage_server::Storage},
};
use accord_runtime::grpc::caller;
use accord_storage::{
    ClassSpec, NfsGate, VolumeState, format_quantity, migration::MigrationState, provisioner,
    render_yaml,
};
use tonic::{Request, Response, Status};

use crate::{
    bounds::Bounded,
    handlers::{Ctx, migrations::PlanRequest, volumes::VolumeRequest},
    service::{MigrationView, StorageService},
    trees::{StoredClass, StoredSnapshot, StoredVolume},
    view::ClusterView,
};

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    s: Arc<StorageService>,
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

impl Api {
    pub fn new(s: Arc<StorageService>) -> Self {
        Self { s }
    }

    /// A request about a cluster: bounded first, then the cluster it names resolved with the
    /// kit's scoping rule (waiting briefly for the read model to learn a new one) and the
    /// caller's role there checked.
    async fn in_cluster<R: Bounded>(
        &self,
        req: Request<R>,
    ) -> Result<(Principal, R, ClusterView), Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        r.check().map_err(st)?;
        let reader = self.s.reader();
        let view = self
            .s
            .catch_up()
            .until_known(|| {
                reader.authorized_cluster(&caller.principal, &caller.rule, r.project(), r.cluster())
            })
            .await
            .map_err(st)?;
        Ok((caller.principal, r, view))
    }

    /// A project-wide request: bounded first, then its project resolved and the caller's role
    /// there checked.
    async fn in_project<R: Bounded>(
        &self,
        req: Request<R>,
    ) -> Result<(Principal, R, ProjectId), Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        r.check().map_err(st)?;
        let reader = self.s.reader();
        let project = self
            .s
            .catch_up()
            .until_known(|| reader.authorized_project(&caller.principal, &caller.rule, r.project()))
            .await
            .map_err(st)?;
        Ok((caller.principal, r, project))
    }
}

fn millis_ts(ms: Option<u64>) -> Option<prost_types::Timestamp> {
    let ms = ms?;
    Some(prost_types::Timestamp {
        seconds: i64::try_from(ms / 1000).ok()?,
        nanos: i32::try_from((ms % 1000) * 1_000_000).ok()?,
    })
}

fn gate(g: &NfsGate) -> pb::NfsGate {
    pb::NfsGate {
        project: g.project.clone(),
        enabled: g.is_enabled(),
        changed_by: g.changed_by.clone().unwrap_or_default(),
        reason: g.reason.clone().unwrap_or_default(),
        changed_at: millis_ts(g.changed_at_ms),
        mount: g.mount.as_str().into(),
    }
}

fn condition(kind: &str, status: bool, reason: &str, message: String) -> pb::Condition {
    pb::Condition {
        r#type: kind.into(),
        status: if status { "True" } else { "False" }.into(),
        reason: reason.into(),
        message,
    }
}

/// A volume as the API shows it.
pub fn volume(v: &StoredVolume, resource_version: u64, cluster: &ClusterView) -> pb::Volume {
    let vol = &v.volume;
    let resting = matches!(vol.state, VolumeState::Available | VolumeState::Attached);
    let mut conditions = vec![condition(
        "Ready",
        resting,
        if resting { "Ready" } else { vol.state.as_str() },
        if resting {
            String::new()
        } else {
            format!("the volume is {}", vol.state.as_str())
        },
    )];
    if let Some(failure) = &vol.last_failure {
        conditions.push(condition(
            "OperationFailed",
            true,
            "BackendError",
            failure.clone(),
        ));
    }
    let node_name = |id: &String| {
        id.parse()
            .ok()
            .and_then(|id| cluster.nodes.get(&id))
            .map_or_else(|| id.clone(), |n| n.name.clone())
    };
    pb::Volume {
        id: v.id.to_string(),
        name: vol.name.clone(),
        project: v.project.to_string(),
        cluster: cluster.name.clone(),
        region: vol.region.clone(),
        r#type: vol.kind.as_str().into(),
        size_bytes: vol.size_bytes,
        size: format_quantity(vol.size_bytes),
        mount: vol.mount.map(|m| m.as_str().to_owned()).unwrap_or_default(),
        source_snapshot: vol.source_snapshot.clone().unwrap_or_default(),
        state: vol.state.as_str().into(),
        attachments: vol.attachments.iter().map(node_name).collect(),
        conditions,
        last_failure: vol.last_failure.clone().unwrap_or_default(),
        resource_version,
        created_at: Some(ts(v.created_at)),
        created_by: v.created_by.clone(),
    }
}

fn snapshot(s: &StoredSnapshot, cluster: &ClusterView) -> pb::Snapshot {
    let state = if s.deleting {
        "deleting"
    } else {
        match s.snapshot.state {
            accord_storage::SnapshotState::Creating => "creating",
            accord_storage::SnapshotState::Ready => "ready",
            accord_storage::SnapshotState::Failed => "failed",
        }
    };
    pb::Snapshot {
        id: s.id.to_string(),
        name: s.snapshot.name.clone(),
        cluster: cluster.name.clone(),
        volume: s.snapshot.volume.clone(),
        r#type: s.snapshot.kind.as_str().into(),
        size_bytes: s.snapshot.size_bytes,
        size: format_quantity(s.snapshot.size_bytes),
        state: state.into(),
        failure: s.snapshot.failure.clone().unwrap_or_default(),
        created_at: Some(ts(s.created_at)),
    }
}

fn class(c: &StoredClass, cluster: &ClusterView) -> pb::StorageClass {
    let k = &c.class;
    pb::StorageClass {
        name: k.name.clone(),
        cluster: cluster.name.clone(),
        r#type: k.volume_type.as_str().into(),
        filesystem: k
            .filesystem
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default(),
        mount: k.mount.map(|m| m.as_str().to_owned()).unwrap_or_default(),
        reclaim_policy: k.reclaim_policy.as_str().into(),
        volume_binding_mode: k.binding_mode.as_str().into(),
        allow_volume_expansion: k.allow_volume_expansion,
        default_class: k.default_class,
        provisioner: provisioner(k.volume_type).into(),
        driver_installed: cluster.csi_driver_installed,
        manifest: render_yaml(std::slice::from_ref(k)).unwrap_or_default(),
        created_at: Some(ts(c.created_at)),
    }
}

/// A migration as the API shows it.
pub fn migration(v: &MigrationView) -> pb::Migration {
    let m = &v.migration;
    let mut by_state = std::collections::HashMap::new();
    let mut bytes_copied: u64 = 0;
    let mut current_batch: Option<usize> = None;
    let volumes = m
        .plan
        .volumes
        .iter()
        .map(|p| {
            let (state, failure) = v.states.get(&p.name).map_or_else(
                || (MigrationState::Pending, String::new()),
                |s| (s.state.clone(), s.failure.clone().unwrap_or_default()),
            );
            let copied = match &state {
                MigrationState::Copying { .. } => v.copying.get(&p.name).copied().unwrap_or(0),
                s => s.bytes_copied(),
            };
            bytes_copied = bytes_copied.saturating_add(copied);
            *by_state.entry(state.as_str().to_owned()).or_insert(0u32) += 1;
            if !state.is_terminal() && current_batch.is_none_or(|b| p.batch < b) {
                current_batch = Some(p.batch);
            }
            let (cluster, name) = p.name.split_once('/').unwrap_or(("", &p.name));
            pb::MigrationVolume {
                name: name.into(),
                cluster: cluster.into(),
                size_bytes: p.size_bytes,
                batch: u32::try_from(p.batch).unwrap_or(u32::MAX),
                state: state.as_str().into(),
                bytes_copied: copied,
                failure,
            }
        })
        .collect();
    let bytes_total = m.plan.volumes.iter().map(|p| p.size_bytes).sum();
    let e = &m.estimate;
    pb::Migration {
        id: if v.dry_run {
            String::new()
        } else {
            m.id.to_string()
        },
        name: m.plan.name.clone(),
        project: m.project.to_string(),
        state: if v.dry_run {
            "dry-run".into()
        } else {
            m.phase.as_str().into()
        },
        batch_size: u32::try_from(m.plan.batch_size).unwrap_or(u32::MAX),
        volumes,
        estimate: Some(pb::Estimate {
            volumes: u32::try_from(e.volumes).unwrap_or(u32::MAX),
            bytes: e.bytes,
            batches: u32::try_from(e.batches).unwrap_or(u32::MAX),
            duration_seconds: e.duration_seconds,
        }),
        bytes_copied,
        bytes_total,
        current_batch: current_batch.map_or(-1, |b| i32::try_from(b).unwrap_or(i32::MAX)),
        by_state,
        created_at: Some(ts(m.created_at)),
        created_by: m.created_by.clone(),
        dry_run: v.dry_run,
    }
}

fn ctx(principal: &Principal) -> Ctx {
    Ctx::new(principal.display_name())
}

fn ok<T>(t: T) -> Result<Response<T>, Status> {
    Ok(Response::new(t))
}

#[tonic::async_trait]
impl Storage for Api {
    async fn get_nfs(
        &self,
        req: Request<pb::GetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        let (_, _, project) = self.in_project(req).await?;
        ok(gate(&self.s.nfs(project).map_err(st)?))
    }

    async fn enable_nfs(
        &self,
        req: Request<pb::SetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        let (who, r, project) = self.in_project(req).await?;
        let mount = match r.mount.trim() {
            "" => None,
            m => Some(
                accord_storage::Mount::parse(m)
                    .map_err(|e| st(DomainError::invalid("mount", e)))?,
            ),
        };
        let g = self
            .s
            .enable_nfs(&ctx(&who), project, r.reason.trim(), mount)
            .await
            .map_err(st)?;
        ok(gate(&g))
    }

    async fn disable_nfs(
        &self,
        req: Request<pb::SetNfsRequest>,
    ) -> Result<Response<pb::NfsGate>, Status> {
        let (who, r, project) = self.in_project(req).await?;
        let g = self
            .s
            .disable_nfs(&ctx(&who), project, r.reason.trim())
            .await
            .map_err(st)?;
        ok(gate(&g))
    }

    async fn create_volume(
        &self,
        req: Request<pb::CreateVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (who, r, view) = self.in_cluster(req).await?;
        let request = VolumeRequest {
            name: r.name.trim().to_owned(),
            kind: r.r#type.trim().to_owned(),
            size: r.size.trim().to_owned(),
            mount: r.mount.trim().to_owned(),
            source_snapshot: r.source_snapshot.trim().to_owned(),
        };
        let v = self
            .s
            .create_volume(&ctx(&who), &view, &request)
            .await
            .map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn get_volume(
        &self,
        req: Request<pb::GetVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let v = self.s.volume(&view, r.name.trim()).map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn list_volumes(
        &self,
        req: Request<pb::ListVolumesRequest>,
    ) -> Result<Response<pb::ListVolumesResponse>, Status> {
        let (_, _, view) = self.in_cluster(req).await?;
        let volumes = self.s.volumes(&view).map_err(st)?;
        let (usage, quota) = self.s.usage(view.project).map_err(st)?;
        ok(pb::ListVolumesResponse {
            volumes: volumes
                .iter()
                .map(|v| volume(&v.value, v.version, &view))
                .collect(),
            usage: Some(pb::Usage {
                volumes: usage.volumes,
                total_gib: usage.total_bytes.div_ceil(1 << 30),
                max_volumes: quota.max_volumes,
                max_total_gib: quota.max_total_gib,
            }),
        })
    }

    async fn expand_volume(
        &self,
        req: Request<pb::ExpandVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let v = self
            .s
            .expand_volume(&view, r.name.trim(), r.size.trim(), r.resource_version)
            .await
            .map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn attach_volume(
        &self,
        req: Request<pb::AttachVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let v = self
            .s
            .attach_volume(&view, r.name.trim(), &r.node, r.resource_version)
            .await
            .map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn detach_volume(
        &self,
        req: Request<pb::DetachVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let v = self
            .s
            .detach_volume(&view, r.name.trim(), &r.node, r.resource_version)
            .await
            .map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn delete_volume(
        &self,
        req: Request<pb::DeleteVolumeRequest>,
    ) -> Result<Response<pb::Volume>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let v = self
            .s
            .delete_volume(&view, r.name.trim(), r.resource_version)
            .await
            .map_err(st)?;
        ok(volume(&v.value, v.version, &view))
    }

    async fn create_snapshot(
        &self,
        req: Request<pb::CreateSnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        let (who, r, view) = self.in_cluster(req).await?;
        let s = self
            .s
            .create_snapshot(&ctx(&who), &view, r.volume.trim(), r.name.trim())
            .await
            .map_err(st)?;
        ok(snapshot(&s, &view))
    }

    async fn list_snapshots(
        &self,
        req: Request<pb::ListSnapshotsRequest>,
    ) -> Result<Response<pb::ListSnapshotsResponse>, Status> {
        let (_, _, view) = self.in_cluster(req).await?;
        let snapshots = self.s.snapshots(&view).map_err(st)?;
        ok(pb::ListSnapshotsResponse {
            snapshots: snapshots.iter().map(|s| snapshot(s, &view)).collect(),
        })
    }

    async fn delete_snapshot(
        &self,
        req: Request<pb::DeleteSnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        let s = self
            .s
            .delete_snapshot(&view, r.name.trim())
            .await
            .map_err(st)?;
        ok(snapshot(&s, &view))
    }

    async fn create_storage_class(
        &self,
        req: Request<pb::CreateStorageClassRequest>,
    ) -> Result<Response<pb::StorageClass>, Status> {
        let (who, r, view) = self.in_cluster(req).await?;
        let spec = ClassSpec {
            name: r.name.trim().to_owned(),
            parameters: r.parameters.into_iter().collect(),
            reclaim_policy: r.reclaim_policy.trim().to_owned(),
            volume_binding_mode: r.volume_binding_mode.trim().to_owned(),
            allow_volume_expansion: r.allow_volume_expansion,
            default_class: r.default_class,
        };
        let (c, _) = self
            .s
            .create_class(&ctx(&who), &view, &spec)
            .await
            .map_err(st)?;
        ok(class(&c, &view))
    }

    async fn list_storage_classes(
        &self,
        req: Request<pb::ListStorageClassesRequest>,
    ) -> Result<Response<pb::ListStorageClassesResponse>, Status> {
        let (_, _, view) = self.in_cluster(req).await?;
        let classes = self.s.classes(&view).map_err(st)?;
        ok(pb::ListStorageClassesResponse {
            storage_classes: classes.iter().map(|c| class(c, &view)).collect(),
            driver_installed: view.csi_driver_installed,
        })
    }

    async fn delete_storage_class(
        &self,
        req: Request<pb::DeleteStorageClassRequest>,
    ) -> Result<Response<pb::DeleteStorageClassResponse>, Status> {
        let (_, r, view) = self.in_cluster(req).await?;
        self.s
            .delete_class(&view, r.name.trim())
            .await
            .map_err(st)?;
        ok(pb::DeleteStorageClassResponse {})
    }

    async fn plan_migration(
        &self,
        req: Request<pb::PlanMigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        let (who, r, project) = self.in_project(req).await?;
        let request = PlanRequest {
            name: r.name.trim().to_owned(),
            volumes: r.volumes,
            batch_size: (r.batch_size != 0)
                .then(|| usize::try_from(r.batch_size).unwrap_or(usize::MAX)),
            dry_run: r.dry_run,
        };
        let view = self
            .s
            .plan_migration(&ctx(&who), project, &request)
            .await
            .map_err(st)?;
        ok(migration(&view))
    }

    async fn run_migration(
        &self,
        req: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        let (_, r, project) = self.in_project(req).await?;
        let m = self
            .s
            .run_migration(project, &r.migration)
            .await
            .map_err(st)?;
        ok(migration(&self.s.migration_view(m).map_err(st)?))
    }

    async fn get_migration(
        &self,
        req: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        let (_, r, project) = self.in_project(req).await?;
        let m = self.s.find_migration(project, &r.migration).map_err(st)?;
        ok(migration(&self.s.migration_view(m.value).map_err(st)?))
    }

    async fn list_migrations(
        &self,
        req: Request<pb::ListMigrationsRequest>,
    ) -> Result<Response<pb::ListMigrationsResponse>, Status> {
        let (_, _, project) = self.in_project(req).await?;
        let mut migrations = Vec::new();
        for m in self.s.migrations(project).map_err(st)? {
            migrations.push(migration(&self.s.migration_view(m).map_err(st)?));
        }
        ok(pb::ListMigrationsResponse { migrations })
    }

    async fn rollback_migration(
        &self,
        req: Request<pb::MigrationRequest>,
    ) -> Result<Response<pb::Migration>, Status> {
        let (who, r, project) = self.in_project(req).await?;
        let m = self
            .s
            .rollback_migration(&ctx(&who), project, &r.migration)
            .await
            .map_err(st)?;
        ok(migration(&self.s.migration_view(m).map_err(st)?))
    }
}
