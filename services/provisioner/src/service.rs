//! The provisioner engine: commits handler changes through the outbox, runs the controller
//! that applies infrastructure events and reconciles pools, and asks the infrastructure driver
//! for whatever the committed state implies.
//!
//! Invariants:
//! - every write (gRPC handler or controller) happens under one write lock, so handlers see a
//!   consistent state and the store's version checks never fail under our own feet;
//! - state and its events are committed in one store batch and flushed before the caller is
//!   answered; the outbox relay publishes them afterwards (at least once, de-duplicated by id);
//! - driver calls are derived from committed state, never from a request, so a crash between a
//!   commit and a driver call is repaired by the next reconcile (driver calls are idempotent).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex as StdMutex},
    time::Duration,
};

use accord_core::{
    DomainError,
    cluster::{Cluster, ClusterPhase},
    iam::Principal,
    ids::{ClusterId, NodePoolId},
    infra::{Catalog, ControlPlaneRequest, InfraDriver, InfraEvent, NodeRequest},
    node::NodeState,
};
use accord_store::Store;
use time::OffsetDateTime;
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::{
    change::Change,
    handlers::{Ctx, infra::on_infra_event},
    metrics::{KindLabels, OperationLabels, ProvisionerMetrics, ScopeLabels},
    reconcile::{reconcile_cluster, reconcile_pool},
    trees::{CLUSTERS, Reader},
};

/// What the controller should reconcile next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kick {
    /// Every pool of the cluster and its control plane.
    Cluster(ClusterId),
    /// One pool (and the cluster-level operations, which are cheap).
    Pool(ClusterId, NodePoolId),
}

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "provisioner";

/// Fault-injection hooks for crash tests, chosen with `ACCORD_FAILPOINT` at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// `abort-after-commit`: no outbox relay runs, and the process aborts (like `kill -9`) right
    /// after the first commit that carries events — the window between commit and publish.
    AbortAfterCommit,
}

impl Failpoint {
    /// Reads `ACCORD_FAILPOINT`; unknown values are ignored with a warning.
    pub fn from_env() -> Option<Self> {
        match std::env::var("ACCORD_FAILPOINT").ok()?.as_str() {
            "abort-after-commit" => Some(Failpoint::AbortAfterCommit),
            other => {
                warn!(failpoint = other, "unknown ACCORD_FAILPOINT ignored");
                None
            }
        }
    }
}

/// The provisioner's state and its collaborators.
pub struct Provisioner {
    reader: Reader,
    driver: Arc<dyn InfraDriver>,
    catalog: Catalog,
    write: Mutex<()>,
    kick_tx: mpsc::UnboundedSender<Kick>,
    source: String,
    issued: Arc<StdMutex<HashSet<String>>>,
    failpoint: Option<Failpoint>,
    failpoint_armed: std::sync::atomic::AtomicBool,
    metrics: ProvisionerMetrics,
}

/// Receivers the controller runs on (returned by [`Provisioner::new`]).
pub struct ControllerInputs {
    infra_rx: mpsc::UnboundedReceiver<InfraEvent>,
    kick_rx: mpsc::UnboundedReceiver<Kick>,
}

impl Provisioner {
    /// Wires a provisioner to its store and driver; subscribes to the driver's events.
    pub fn new(
        store: Store,
        driver: Arc<dyn InfraDriver>,
        metrics: ProvisionerMetrics,
    ) -> (Arc<Self>, ControllerInputs) {
        let (infra_tx, infra_rx) = mpsc::unbounded_channel();
        let (kick_tx, kick_rx) = mpsc::unbounded_channel();
        driver.subscribe(Arc::new(move |ev| {
            // The receiver lives as long as the controller; after shutdown events are moot.
            let _ = infra_tx.send(ev);
        }));
        let catalog = driver.catalog();
        let p = Arc::new(Self {
            reader: Reader::new(store),
            driver,
            catalog,
            write: Mutex::new(()),
            kick_tx,
            source: accord_bus::service_source(SERVICE),
            issued: Arc::new(StdMutex::new(HashSet::new())),
            failpoint: Failpoint::from_env(),
            failpoint_armed: std::sync::atomic::AtomicBool::new(false),
            metrics,
        });
        (p, ControllerInputs { infra_rx, kick_rx })
    }

    /// Arms the failpoint (after start-up work such as bootstrap is done).
    pub fn arm_failpoint(&self) {
        self.failpoint_armed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// The active failpoint, if any.
    pub fn failpoint(&self) -> Option<Failpoint> {
        self.failpoint
    }

    /// Typed reads.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The infrastructure catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Commits a change: its writes and its events (as outbox entries) in one durable batch.
    pub async fn apply(&self, mut change: Change) -> Result<(), DomainError> {
        if change.is_empty() {
            return Ok(());
        }
        for ev in &change.events {
            change.commit.push_event(ev.to_outbox(&self.source)?);
        }
        let names = change.event_names();
        self.reader
            .store()
            .commit(change.commit)
            .await
            .map_err(crate::trees::internal)?;
        self.metrics.commits.inc();
        self.metrics.events_committed.inc_by(names.len() as u64);
        if !names.is_empty() {
            debug!(events = ?names, "committed");
            if self.failpoint == Some(Failpoint::AbortAfterCommit)
                && self
                    .failpoint_armed
                    .load(std::sync::atomic::Ordering::SeqCst)
            {
                // Crash tests: the state and its outbox entries are durable, nothing is published.
                std::process::abort();
            }
        }
        Ok(())
    }

    /// Runs a handler under the write lock and commits what it decided. Callers kick the
    /// controller afterwards for whatever the change should set in motion.
    pub async fn write<T>(
        &self,
        principal: &Principal,
        f: impl FnOnce(&Ctx<'_>) -> Result<(Change, T), DomainError>,
    ) -> Result<T, DomainError> {
        let _guard = self.write.lock().await;
        let (change, out) = f(&self.ctx(principal))?;
        self.apply(change).await?;
        Ok(out)
    }

    /// Asks the controller to reconcile a cluster.
    pub fn kick(&self, cluster: ClusterId) {
        self.kick_with(Kick::Cluster(cluster));
    }

    /// Asks the controller to reconcile one pool.
    pub fn kick_pool(&self, cluster: ClusterId, pool: NodePoolId) {
        self.kick_with(Kick::Pool(cluster, pool));
    }

    fn kick_with(&self, kick: Kick) {
        // The receiver lives as long as the controller; after shutdown kicks are moot.
        let _ = self.kick_tx.send(kick);
    }

    /// A handler context at the current time.
    pub fn ctx<'a>(&'a self, principal: &'a Principal) -> Ctx<'a> {
        Ctx {
            reader: &self.reader,
            catalog: &self.catalog,
            now: OffsetDateTime::now_utc(),
            principal,
        }
    }

    /// Applies what changed in the infrastructure while the provisioner was not running:
    /// replica states are re-applied (idempotent), nodes whose instance disappeared are treated
    /// as terminated, and node readiness is brought in line.
    async fn resync_with_infrastructure(&self) -> Result<(), DomainError> {
        let snapshot = self.driver.snapshot();
        for (cluster, replica, failure_domain, state, version) in snapshot.replicas.clone() {
            self.on_infra(InfraEvent::ReplicaChanged {
                cluster,
                replica,
                failure_domain,
                state,
                version,
            })
            .await;
        }
        let known: HashSet<_> = snapshot.nodes.iter().map(|(id, _)| *id).collect();
        for pool in self.reader.all_pools()? {
            for node in self.reader.nodes(pool.metadata.id)? {
                if !node.status.instance_id.is_empty() && !known.contains(&node.metadata.id) {
                    warn!(node = %node.metadata.id, "instance vanished while the provisioner was down");
                    self.on_infra(InfraEvent::NodeTerminated {
                        node: node.metadata.id,
                    })
                    .await;
                }
            }
        }
        for (node, ready) in snapshot.nodes {
            if let Some(n) = self.reader.node(node)? {
                let is_ready = n.status.state == NodeState::Ready;
                if n.status.state != NodeState::Provisioning && is_ready != ready {
                    self.on_infra(InfraEvent::NodeReadiness {
                        node,
                        ready,
                        reason: "Resync".into(),
                    })
                    .await;
                }
            }
        }
        Ok(())
    }

    async fn on_infra(&self, ev: InfraEvent) {
        self.metrics
            .infra_events
            .get_or_create(&KindLabels {
                kind: infra_event_kind(&ev),
            })
            .inc();
        let res = {
            let _guard = self.write.lock().await;
            match on_infra_event(&self.reader, OffsetDateTime::now_utc(), &ev) {
                Ok((change, kick)) => self.apply(change).await.map(|()| kick),
                Err(e) => Err(e),
            }
        };
        match res {
            Ok(Some(k)) => self.kick_with(k),
            Ok(None) => {}
            Err(e) => warn!(error = %e, event = ?ev, "could not apply infrastructure event"),
        }
    }

    async fn reconcile(&self, kick: Kick) {
        let scope = match kick {
            Kick::Cluster(_) => "cluster",
            Kick::Pool(..) => "pool",
        };
        self.metrics
            .reconciles
            .get_or_create(&ScopeLabels { scope })
            .inc();
        let now = OffsetDateTime::now_utc();
        let res = async {
            let _guard = self.write.lock().await;
            let changes = match kick {
                Kick::Cluster(c) => reconcile_cluster(&self.reader, c, now)?,
                Kick::Pool(c, p) => reconcile_pool(&self.reader, c, p, now)?
                    .into_iter()
                    .collect(),
            };
            for change in changes {
                self.apply(change).await?;
            }
            Ok::<_, DomainError>(())
        }
        .await;
        if let Err(e) = res {
            warn!(?kick, error = %e, "reconcile failed; retrying on the next pass");
        }
        if let Err(e) = self.issue_driver_ops(kick) {
            warn!(?kick, error = %e, "could not derive infrastructure operations");
        }
    }

    /// Issues every infrastructure operation the committed state of `cluster` implies and that
    /// this process has not issued yet.
    fn issue_driver_ops(&self, kick: Kick) -> Result<(), DomainError> {
        let id = match kick {
            Kick::Cluster(c) | Kick::Pool(c, _) => c,
        };
        let Some(cluster) = self.reader.get::<Cluster>(CLUSTERS, &id.to_string())? else {
            return Ok(());
        };
        let pools = match kick {
            Kick::Cluster(_) => self.reader.pools(id)?,
            Kick::Pool(_, p) => self
                .reader
                .get(crate::trees::NODEPOOLS, &crate::trees::pool_key(id, p))?
                .into_iter()
                .collect(),
        };
        match cluster.status.phase {
            ClusterPhase::Provisioning => {
                let req = ControlPlaneRequest {
                    cluster: id,
                    region: cluster.spec.region.clone(),
                    version: cluster.spec.kubernetes_version,
                };
                self.once(format!("cp-ensure/{id}"), id, move |d| {
                    Box::pin(async move { d.ensure_control_plane(req).await })
                });
            }
            ClusterPhase::Upgrading => {
                let v = cluster.spec.kubernetes_version;
                self.once(format!("cp-upgrade/{id}/{v}"), id, move |d| {
                    Box::pin(async move { d.upgrade_control_plane(id, v).await })
                });
            }
            ClusterPhase::Deleting if !self.reader.has_pools(id)? => {
                self.once(format!("cp-delete/{id}"), id, move |d| {
                    Box::pin(async move { d.delete_control_plane(id).await })
                });
            }
            _ => {}
        }
        for pool in &pools {
            for node in self.reader.nodes(pool.metadata.id)? {
                let nid = node.metadata.id;
                match node.status.state {
                    NodeState::Provisioning => {
                        let req = NodeRequest {
                            node: nid,
                            name: node.metadata.name.clone(),
                            project: node.metadata.project,
                            cluster: id,
                            pool: pool.metadata.id,
                            region: cluster.spec.region.clone(),
                            vpc_subnet: cluster.spec.network.vpc_subnet,
                            instance_type: node.spec.instance_type.clone(),
                            image_version: node.spec.image_version.clone(),
                            kubelet_version: node.spec.kubelet_version,
                        };
                        self.once(format!("node-provision/{nid}"), id, move |d| {
                            Box::pin(async move { d.provision_node(req).await })
                        });
                    }
                    NodeState::Draining => {
                        self.once(format!("node-drain/{nid}"), id, move |d| {
                            Box::pin(async move { d.drain_node(nid).await })
                        });
                    }
                    NodeState::Terminating => {
                        self.once(format!("node-terminate/{nid}"), id, move |d| {
                            Box::pin(async move { d.terminate_node(nid).await })
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Runs a driver operation once per process; a failed one is forgotten so a later pass
    /// retries it.
    fn once(
        &self,
        key: String,
        cluster: ClusterId,
        op: impl FnOnce(Arc<dyn InfraDriver>) -> accord_core::infra::InfraFuture<'static, ()>
        + Send
        + 'static,
    ) {
        {
            let Ok(mut issued) = self.issued.lock() else {
                return;
            };
            if !issued.insert(key.clone()) {
                return;
            }
        }
        let driver = self.driver.clone();
        let kick = self.kick_tx.clone();
        let issued = self.issued.clone();
        let counter = self.metrics.infra_operations.clone();
        let operation = operation_name(&key);
        tokio::spawn(
            async move {
                let res = op(driver).await;
                let result = if res.is_ok() { "ok" } else { "error" };
                counter
                    .get_or_create(&OperationLabels { operation, result })
                    .inc();
                if let Err(e) = res {
                    warn!(error = %e, operation, "infrastructure operation failed; will retry");
                    if let Ok(mut set) = issued.lock() {
                        set.remove(&key);
                    }
                    let _ = kick.send(Kick::Cluster(cluster));
                }
            }
            .instrument(info_span!("infra.op", %cluster)),
        );
    }

    /// Runs the controller until `shutdown`: infrastructure events, kicks and a periodic
    /// resync of every cluster.
    pub async fn run_controller(
        self: Arc<Self>,
        mut inputs: ControllerInputs,
        resync: Duration,
        shutdown: CancellationToken,
    ) {
        if let Err(e) = self.resync_with_infrastructure().await {
            warn!(error = %e, "initial resync failed");
        }
        let mut tick = tokio::time::interval(resync);
        loop {
            let mut kicks: HashSet<Kick> = HashSet::new();
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(ev) = inputs.infra_rx.recv() => {
                    self.on_infra(ev).await;
                }
                Some(k) = inputs.kick_rx.recv() => { kicks.insert(k); }
                _ = tick.tick() => {
                    match self.reader.clusters(None) {
                        Ok(cs) => kicks.extend(cs.iter().map(|c| Kick::Cluster(c.metadata.id))),
                        Err(e) => warn!(error = %e, "resync listing failed"),
                    }
                }
            }
            while let Ok(k) = inputs.kick_rx.try_recv() {
                kicks.insert(k);
            }
            for k in kicks {
                self.reconcile(k).await;
            }
        }
        info!("controller stopped");
    }
}

/// The metric label of an operation key (`node-provision/<id>` → `provision-node`).
fn operation_name(key: &str) -> &'static str {
    match key.split('/').next() {
        Some("cp-ensure") => "ensure-control-plane",
        Some("cp-upgrade") => "upgrade-control-plane",
        Some("cp-delete") => "delete-control-plane",
        Some("node-provision") => "provision-node",
        Some("node-drain") => "drain-node",
        Some("node-terminate") => "terminate-node",
        _ => "other",
    }
}

/// The metric label of an infrastructure event.
fn infra_event_kind(ev: &InfraEvent) -> &'static str {
    match ev {
        InfraEvent::ReplicaChanged { .. } => "replica-changed",
        InfraEvent::ControlPlaneDeleted { .. } => "control-plane-deleted",
        InfraEvent::NodeProvisioned { .. } => "node-provisioned",
        InfraEvent::NodeReadiness { .. } => "node-readiness",
        InfraEvent::NodeDrained { .. } => "node-drained",
        InfraEvent::NodeTerminated { .. } => "node-terminated",
        InfraEvent::NodeFailed { .. } => "node-failed",
    }
}
