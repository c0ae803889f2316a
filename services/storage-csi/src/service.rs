//! The storage engine of the service: runs handlers and commits what they decided with their
//! storage events (transactional outbox) under one write lock. Reads that decide a write are
//! taken under the lock; the back ends are only ever called by the reconciler
//! ([`crate::reconcile`]), outside it.
//!
//! Invariants: storage-csi is the single writer of volumes, snapshots, StorageClasses, NFS gates
//! and migrations; a request answers with the record as committed (the operation it started is
//! in flight, not done); every commit that starts an operation wakes the reconciler (through the
//! engine's observer when it carries events, explicitly when it does not).

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
};

use accord_core::{
    DomainError,
    addon::AddonEvent,
    cluster::ClusterEvent,
    error::echo,
    ids::{ClusterId, MigrationId, ProjectId},
    node::NodeEvent,
    storage::StorageEvent,
};
use accord_runtime::{
    Engine,
    catch_up::CatchUp,
    consume::{EventMeta, EventSink},
    metrics::Metrics,
};
use accord_storage::{ClassSpec, NfsGate, Quota, driver::StorageDriver};
use accord_store::{Store, Versioned};
use tokio::sync::Notify;

use crate::{
    handlers::{
        Ctx, classes, cluster_view, migrations,
        migrations::{PlanRequest, Planned},
        nfs, snapshots,
        volumes::{self, AttachTarget, CreateInput, VolumeRequest},
    },
    trees::{
        MigrationVolume, Reader, Records as _, StoredClass, StoredMigration, StoredSnapshot,
        StoredVolume, key,
    },
    view::ClusterView,
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "storage-csi";

/// A platform event storage-csi acts on.
#[derive(Debug, Clone)]
pub enum Input {
    Cluster(ClusterEvent),
    Node(NodeEvent),
    Addon(AddonEvent),
}

/// Settings of the engine.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Every project's quota.
    pub quota: Quota,
    /// The throughput a migration's dry run assumes (bytes per second).
    pub migration_throughput: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            quota: Quota::default(),
            migration_throughput: 1 << 30,
        }
    }
}

/// The engine.
pub struct StorageService {
    pub(crate) reader: Reader,
    pub(crate) engine: Arc<Engine<StorageEvent>>,
    pub(crate) driver: Arc<dyn StorageDriver>,
    pub(crate) settings: Settings,
    /// Woken when a commit may have started work for the back ends.
    pub(crate) kick: Arc<Notify>,
    /// Bytes copied so far by copies in flight (`<migration>/<planned>` → done, total), as
    /// the back end last said: progress between checkpoints, not stored.
    pub(crate) copying: Mutex<HashMap<String, (u64, u64)>>,
    pub(crate) counters: crate::reconcile::Counters,
    /// Wakes requests waiting for the read model to learn a cluster or project.
    catch_up: Arc<CatchUp>,
}

/// A migration with its volumes' states, as the API shows it.
pub struct MigrationView {
    pub migration: StoredMigration,
    pub states: BTreeMap<String, MigrationVolume>,
    /// Bytes copied by copies in flight, by planned name.
    pub copying: BTreeMap<String, u64>,
    pub dry_run: bool,
}

impl StorageService {
    pub fn new(
        store: Store,
        driver: Arc<dyn StorageDriver>,
        settings: Settings,
        metrics: &Metrics,
    ) -> Arc<Self> {
        let kick = Arc::new(Notify::new());
        let catch_up = Arc::new(CatchUp::default());
        let (woken, advanced) = (Arc::clone(&kick), Arc::clone(&catch_up));
        let engine = Engine::new(SERVICE, store.clone(), metrics).with_observer(
            move |_: &[StorageEvent]| {
                woken.notify_one();
                advanced.advanced();
            },
        );
        Arc::new(Self {
            reader: crate::trees::reader(store),
            engine: Arc::new(engine),
            driver,
            settings,
            kick,
            copying: Mutex::new(HashMap::new()),
            counters: crate::reconcile::Counters::new(metrics),
            catch_up,
        })
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    pub fn engine(&self) -> &Arc<Engine<StorageEvent>> {
        &self.engine
    }

    /// Requests waiting for the read model (see `accord_runtime::catch_up`).
    pub fn catch_up(&self) -> &CatchUp {
        &self.catch_up
    }

    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// Applies a platform event to the read model.
    pub async fn on_input(&self, input: Input) -> Result<(), DomainError> {
        let cluster = match &input {
            Input::Cluster(ClusterEvent::Created { cluster }) => cluster.metadata.id,
            Input::Cluster(ClusterEvent::Deleted { cluster, .. }) => *cluster,
            Input::Cluster(_) => return Ok(()),
            Input::Node(ev) => node_cluster(ev),
            Input::Addon(ev) => match ev {
                AddonEvent::Installed { installation } => installation.cluster,
                AddonEvent::Uninstalled { cluster, .. } => *cluster,
                _ => return Ok(()),
            },
        };
        let mut w = self.engine.lock().await;
        let stored = self.reader.cluster(cluster)?;
        let change = match &input {
            Input::Cluster(ev) => cluster_view::on_cluster(stored.as_ref(), ev),
            Input::Node(ev) => cluster_view::on_node(stored.as_ref(), ev),
            Input::Addon(ev) => cluster_view::on_addon(stored.as_ref(), ev),
        };
        if let Some(ch) = change {
            w.commit(ch).await?;
        }
        Ok(())
    }

    // --- NFS gate -------------------------------------------------------------------------

    pub fn nfs(&self, project: ProjectId) -> Result<NfsGate, DomainError> {
        Ok(self.reader.nfs(project)?.value)
    }

    pub async fn enable_nfs(
        &self,
        ctx: &Ctx,
        project: ProjectId,
        reason: &str,
        mount: Option<accord_storage::Mount>,
    ) -> Result<NfsGate, DomainError> {
        let mut w = self.engine.lock().await;
        let gate = self.reader.nfs(project)?;
        let (ch, gate) = nfs::enable(ctx, project, &gate, reason, mount)?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
        }
        Ok(gate)
    }

    pub async fn disable_nfs(
        &self,
        ctx: &Ctx,
        project: ProjectId,
        reason: &str,
    ) -> Result<NfsGate, DomainError> {
        let mut w = self.engine.lock().await;
        let gate = self.reader.nfs(project)?;
        let users = nfs::users(
            &self.reader.project_volumes(project)?,
            &self.reader.project_classes(project)?,
        );
        let (ch, gate) = nfs::disable(ctx, project, &gate, reason, &users)?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
        }
        Ok(gate)
    }

    // --- volumes --------------------------------------------------------------------------

    fn volume_in(
        &self,
        view: &ClusterView,
        name: &str,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        self.reader
            .volume(view.project, view.id, name)?
            .ok_or_else(|| DomainError::not_found("volume", echo(name)))
    }

    pub fn volume(
        &self,
        view: &ClusterView,
        name: &str,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        self.volume_in(view, name)
    }

    pub fn volumes(&self, view: &ClusterView) -> Result<Vec<Versioned<StoredVolume>>, DomainError> {
        self.reader.cluster_volumes(view.project, view.id)
    }

    /// The project's usage and quota.
    pub fn usage(&self, project: ProjectId) -> Result<(accord_storage::Usage, Quota), DomainError> {
        let volumes = self.reader.project_volumes(project)?;
        Ok((volumes::usage(&volumes), self.settings.quota))
    }

    pub async fn create_volume(
        &self,
        ctx: &Ctx,
        view: &ClusterView,
        req: &VolumeRequest,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        let mut w = self.engine.lock().await;
        let gate = self.reader.nfs(view.project)?;
        let project_volumes = self.reader.project_volumes(view.project)?;
        let snapshot = match req.source_snapshot.trim() {
            "" => None,
            name => self
                .reader
                .snapshot(view.project, view.id, name)?
                .map(|s| s.value),
        };
        let existing = accord_storage::volume::check_name(&req.name).is_ok()
            && self
                .reader
                .volume(view.project, view.id, &req.name)?
                .is_some();
        let input = CreateInput {
            view,
            gate: &gate.value,
            project_volumes: &project_volumes,
            existing,
            snapshot: snapshot.as_ref(),
            quota: self.settings.quota,
            now_ms: self.driver.now_ms(),
        };
        let (ch, stored) = volumes::create(ctx, &input, req)?;
        w.commit(ch).await?;
        drop(w);
        self.volume_in(view, &stored.volume.name)
    }

    async fn change_volume(
        &self,
        view: &ClusterView,
        name: &str,
        f: impl FnOnce(
            &Versioned<StoredVolume>,
            u64,
        ) -> Result<(Option<volumes_change::Change>, StoredVolume), DomainError>,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        let mut w = self.engine.lock().await;
        let stored = self.volume_in(view, name)?;
        let (ch, _) = f(&stored, self.driver.now_ms())?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
            // Starting an attach, detach, expand or delete publishes nothing (the outcome
            // does), so the engine's observers are not told: wake the reconciler here.
            self.kick.notify_one();
        }
        drop(w);
        self.volume_in(view, name)
    }

    pub async fn expand_volume(
        &self,
        view: &ClusterView,
        name: &str,
        size: &str,
        resource_version: u64,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        let quota = self.settings.quota;
        self.change_volume(view, name, |stored, now| {
            // Read under the lock: two expands at once both count.
            let project_volumes = self.reader.project_volumes(view.project)?;
            volumes::expand(stored, resource_version, size, quota, &project_volumes, now)
        })
        .await
    }

    /// Refuses attaching or detaching while the volume's migration is cutting it over: the
    /// operation would name the back end the cut-over is moving away from.
    fn not_cutting_over(
        &self,
        view: &ClusterView,
        stored: &StoredVolume,
    ) -> Result<(), DomainError> {
        let Some(m) = stored.migration else {
            return Ok(());
        };
        let planned = migrations::planned_name(&view.name, &stored.volume.name);
        let state = crate::trees::MIGRATION_VOLUMES.get(
            self.reader.store(),
            &crate::trees::migration_volume_key(m, &planned),
        )?;
        if state.is_some_and(|s| {
            matches!(
                s.value.state,
                accord_storage::migration::MigrationState::CuttingOver { .. }
            )
        }) {
            return Err(DomainError::precondition(format!(
                "volume {} is being cut over to NFS by migration {m}: retry in a moment",
                stored.volume.name
            )));
        }
        Ok(())
    }

    /// Attaches `name` to `node` (a name or id of a node of this cluster, or the id of a node
    /// of another cluster of the project).
    pub async fn attach_volume(
        &self,
        view: &ClusterView,
        name: &str,
        node: &str,
        resource_version: u64,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        let node = node.trim();
        let (node_cluster, node_id, node_view) = self.find_node(view, node)?;
        self.change_volume(view, name, |stored, now| {
            self.not_cutting_over(view, &stored.value)?;
            // What the node holds, counted over the project's volumes (a node may hold volumes
            // of several clusters of the project) and read under the lock.
            let project_volumes = self.reader.project_volumes(view.project)?;
            let target = AttachTarget {
                node: node_id,
                node_name: &node_view.name,
                ready: node_view.ready,
                cluster: &node_cluster,
                cluster_volumes: &project_volumes,
            };
            volumes::attach(stored, resource_version, &target, now)
        })
        .await
    }

    fn find_node(
        &self,
        view: &ClusterView,
        node: &str,
    ) -> Result<(ClusterView, accord_core::ids::NodeId, crate::view::NodeView), DomainError> {
        if let Some((id, n)) = view.node(node) {
            return Ok((view.clone(), id, n.clone()));
        }
        if let Ok(id) = node.parse::<accord_core::ids::NodeId>() {
            for other in self.reader.clusters()? {
                if other.project == view.project
                    && let Some(n) = other.nodes.get(&id)
                {
                    let n = n.clone();
                    return Ok((other, id, n));
                }
            }
        }
        Err(DomainError::not_found("node", echo(node)))
    }

    pub async fn detach_volume(
        &self,
        view: &ClusterView,
        name: &str,
        node: &str,
        resource_version: u64,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        let node = node.trim();
        // A node that is gone can still be detached from (by id).
        let node_id = match view.node(node) {
            Some((id, _)) => id.to_string(),
            None => node.to_owned(),
        };
        self.change_volume(view, name, |stored, now| {
            self.not_cutting_over(view, &stored.value)?;
            volumes::detach(stored, resource_version, &node_id, now)
        })
        .await
    }

    pub async fn delete_volume(
        &self,
        view: &ClusterView,
        name: &str,
        resource_version: u64,
    ) -> Result<Versioned<StoredVolume>, DomainError> {
        self.change_volume(view, name, |stored, now| {
            volumes::delete(stored, resource_version, now)
        })
        .await
    }

    // --- snapshots ------------------------------------------------------------------------

    pub async fn create_snapshot(
        &self,
        ctx: &Ctx,
        view: &ClusterView,
        volume: &str,
        name: &str,
    ) -> Result<StoredSnapshot, DomainError> {
        let mut w = self.engine.lock().await;
        let source = self.volume_in(view, volume)?;
        let exists = accord_storage::volume::check_name(name).is_ok()
            && self.reader.snapshot(view.project, view.id, name)?.is_some();
        let (ch, stored) =
            snapshots::create(ctx, &source.value, name, exists, self.driver.now_ms())?;
        w.commit(ch).await?;
        Ok(stored)
    }

    pub fn snapshots(&self, view: &ClusterView) -> Result<Vec<StoredSnapshot>, DomainError> {
        self.reader.cluster_snapshots(view.project, view.id)
    }

    pub async fn delete_snapshot(
        &self,
        view: &ClusterView,
        name: &str,
    ) -> Result<StoredSnapshot, DomainError> {
        let mut w = self.engine.lock().await;
        let stored = self
            .reader
            .snapshot(view.project, view.id, name)?
            .ok_or_else(|| DomainError::not_found("snapshot", echo(name)))?;
        let restoring = self
            .reader
            .cluster_volumes(view.project, view.id)?
            .into_iter()
            .find(|v| {
                v.value.source_snapshot_id == Some(stored.value.id)
                    && v.value.volume.state == accord_storage::VolumeState::Creating
            })
            .map(|v| v.value.volume.name);
        let (ch, snapshot) =
            snapshots::delete(&stored, restoring.as_deref(), self.driver.now_ms())?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
            self.kick.notify_one();
        }
        Ok(snapshot)
    }

    // --- StorageClasses -------------------------------------------------------------------

    pub async fn create_class(
        &self,
        ctx: &Ctx,
        view: &ClusterView,
        spec: &ClassSpec,
    ) -> Result<(StoredClass, bool), DomainError> {
        let mut w = self.engine.lock().await;
        let gate = self.reader.nfs(view.project)?;
        let existing = self.reader.cluster_classes(view.project, view.id)?;
        let (ch, stored, installed) = classes::create(ctx, view, &gate.value, &existing, spec)?;
        w.commit(ch).await?;
        Ok((stored, installed))
    }

    pub fn classes(&self, view: &ClusterView) -> Result<Vec<StoredClass>, DomainError> {
        Ok(self
            .reader
            .cluster_classes(view.project, view.id)?
            .into_iter()
            .map(|c| c.value)
            .collect())
    }

    pub async fn delete_class(&self, view: &ClusterView, name: &str) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let stored = self
            .reader
            .class(view.project, view.id, name)?
            .ok_or_else(|| DomainError::not_found("storageclass", echo(name)))?;
        w.commit(classes::delete(&stored)?).await?;
        Ok(())
    }

    // --- migrations -----------------------------------------------------------------------

    pub async fn plan_migration(
        &self,
        ctx: &Ctx,
        project: ProjectId,
        req: &PlanRequest,
    ) -> Result<MigrationView, DomainError> {
        // A dry run stores nothing: it plans without the write lock.
        let writer = if req.dry_run {
            None
        } else {
            Some(self.engine.lock().await)
        };
        let clusters: HashMap<ClusterId, String> = self
            .reader
            .clusters()?
            .into_iter()
            .filter(|c| c.project == project)
            .map(|c| (c.id, c.name))
            .collect();
        let volumes = self.reader.project_volumes(project)?;
        let gate = self.reader.nfs(project)?;
        let existing = self.reader.project_migrations(project)?;
        let open = existing
            .iter()
            .filter(|m| m.phase != crate::trees::MigrationPhase::Finished)
            .count();
        let names: Vec<String> = existing.into_iter().map(|m| m.plan.name).collect();
        let (ch, Planned { migration, states }) = migrations::plan(
            ctx,
            project,
            &clusters,
            &volumes,
            &gate.value,
            &names,
            open,
            req,
            self.settings.migration_throughput,
        )?;
        if let (Some(ch), Some(mut w)) = (ch, writer) {
            w.commit(ch).await?;
        }
        Ok(MigrationView {
            migration,
            states,
            copying: BTreeMap::new(),
            dry_run: req.dry_run,
        })
    }

    /// The migration `requested` (an id or a name) of `project`.
    pub fn find_migration(
        &self,
        project: ProjectId,
        requested: &str,
    ) -> Result<Versioned<StoredMigration>, DomainError> {
        let requested = requested.trim();
        let found = match requested.parse::<MigrationId>() {
            Ok(id) => self.reader.migration(project, id)?,
            Err(_) => {
                let id = self
                    .reader
                    .project_migrations(project)?
                    .into_iter()
                    .find(|m| m.plan.name == requested)
                    .map(|m| m.id);
                match id {
                    Some(id) => self.reader.migration(project, id)?,
                    None => None,
                }
            }
        };
        found.ok_or_else(|| DomainError::not_found("migration", echo(requested)))
    }

    pub fn migration_view(&self, migration: StoredMigration) -> Result<MigrationView, DomainError> {
        let states = self
            .reader
            .migration_volumes(migration.id)?
            .into_iter()
            .map(|(k, v)| (k, v.value))
            .collect();
        let prefix = format!("{}/", migration.id);
        let copying = self
            .copying
            .lock()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, (done, _))| {
                        k.strip_prefix(&prefix).map(|p| (p.to_owned(), *done))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(MigrationView {
            migration,
            states,
            copying,
            dry_run: false,
        })
    }

    pub fn migrations(&self, project: ProjectId) -> Result<Vec<StoredMigration>, DomainError> {
        self.reader.project_migrations(project)
    }

    /// The planned volumes' records as stored now, by planned name.
    pub(crate) fn planned_volumes(
        &self,
        m: &StoredMigration,
    ) -> Result<BTreeMap<String, Versioned<StoredVolume>>, DomainError> {
        let mut out = BTreeMap::new();
        for (planned, r) in &m.refs {
            if let Some(v) = self.reader.volume(m.project, r.cluster, &r.name)?
                && v.value.id == r.volume
            {
                out.insert(planned.clone(), v);
            }
        }
        Ok(out)
    }

    pub async fn run_migration(
        &self,
        project: ProjectId,
        requested: &str,
    ) -> Result<StoredMigration, DomainError> {
        let mut w = self.engine.lock().await;
        let stored = self.find_migration(project, requested)?;
        let volumes = self.planned_volumes(&stored.value)?;
        let (ch, m) = migrations::run(&stored, &volumes)?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
        }
        Ok(m)
    }

    pub async fn rollback_migration(
        &self,
        ctx: &Ctx,
        project: ProjectId,
        requested: &str,
    ) -> Result<StoredMigration, DomainError> {
        let mut w = self.engine.lock().await;
        let stored = self.find_migration(project, requested)?;
        let states = self.reader.migration_volumes(stored.value.id)?;
        let (ch, m) = migrations::rollback(ctx, &stored, &states)?;
        if let Some(ch) = ch {
            w.commit(ch).await?;
        }
        Ok(m)
    }
}

/// The cluster a node event is about.
fn node_cluster(ev: &NodeEvent) -> ClusterId {
    match ev {
        NodeEvent::Provisioning { cluster, .. }
        | NodeEvent::Ready { cluster, .. }
        | NodeEvent::NotReady { cluster, .. }
        | NodeEvent::Cordoned { cluster, .. }
        | NodeEvent::Uncordoned { cluster, .. }
        | NodeEvent::Draining { cluster, .. }
        | NodeEvent::Drained { cluster, .. }
        | NodeEvent::Terminated { cluster, .. }
        | NodeEvent::Failed { cluster, .. } => *cluster,
    }
}

/// The change type handlers return (for [`StorageService::change_volume`]'s signature).
mod volumes_change {
    pub use crate::handlers::Change;
}

impl EventSink<Input> for StorageService {
    type Event = StorageEvent;

    fn engine(&self) -> &Arc<Engine<StorageEvent>> {
        &self.engine
    }

    async fn on_event(&self, input: Input, _meta: EventMeta) -> Result<(), DomainError> {
        self.on_input(input).await
    }
}

/// The key of a volume record (re-exported for the reconciler and tests).
pub fn volume_key(v: &StoredVolume) -> String {
    key(v.project, v.cluster, &v.volume.name)
}
