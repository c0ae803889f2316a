//! The controller: applies infrastructure events, reconciles pools and control planes, and asks
//! the driver for whatever the committed state implies.
//!
//! Work arrives as [`Kick`]s derived from committed events ([`kicks_of`], installed as an
//! engine observer): a pool event, or a node event naming its pool, plans that pool only;
//! cluster events and node events without a pool plan the whole cluster. A periodic resync
//! plans every cluster, and at start-up the committed state is brought in line with what the
//! infrastructure reports.
//!
//! Invariant: driver calls are derived from committed state, never from requests, and are
//! idempotent by id ([`DriverOp::key`]); a crash between a commit and a driver call is repaired
//! by the next reconcile.

use std::{collections::HashSet, sync::Arc, time::Duration};

use accord_core::{
    DomainError,
    cluster::ClusterPhase,
    events::DomainEvent as _,
    ids::{ClusterId, NodePoolId},
    infra::{ControlPlaneRequest, ImpactState, InfraEvent, NodeRequest, ReplicaState},
    node::{NodeEvent, NodeState},
    nodepool::NodePoolEvent,
    remediation::RemediationEvent,
};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use crate::{
    autoclusters::execute::{RepairReport, repair_request},
    change::Event,
    driver_ops::DriverOp,
    handlers::infra::on_infra_event,
    reconcile::{reconcile_cluster, reconcile_pool},
    service::Provisioner,
    trees::{CLUSTERS, NODEPOOLS, pool_key},
};

/// What the controller should reconcile next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kick {
    /// Every pool of the cluster and its control plane.
    Cluster(ClusterId),
    /// One pool (and the cluster-level operations, which are cheap).
    Pool(ClusterId, NodePoolId),
}

/// What committed events set in motion.
pub fn kicks_of(events: &[Event]) -> Vec<Kick> {
    let mut kicks = Vec::new();
    for ev in events {
        let kick = match ev {
            Event::Project(_) => None,
            Event::Cluster(e) => e.resource_id().parse().ok().map(Kick::Cluster),
            Event::NodePool(e) => match e {
                NodePoolEvent::Created { pool, .. } | NodePoolEvent::Updated { pool } => {
                    Some(Kick::Pool(pool.spec.cluster, pool.metadata.id))
                }
                NodePoolEvent::Scaled { pool, cluster, .. }
                | NodePoolEvent::CycleStarted { pool, cluster, .. }
                | NodePoolEvent::CycleCompleted { pool, cluster, .. }
                | NodePoolEvent::CycleStopped { pool, cluster, .. }
                | NodePoolEvent::RevisionDisabled { pool, cluster, .. }
                | NodePoolEvent::RollbackStarted { pool, cluster, .. }
                | NodePoolEvent::Ready { pool, cluster, .. }
                | NodePoolEvent::DeletionStarted { pool, cluster, .. }
                | NodePoolEvent::Deleted { pool, cluster, .. } => Some(Kick::Pool(*cluster, *pool)),
            },
            Event::Node(e) => match e {
                NodeEvent::Provisioning { cluster, pool, .. }
                | NodeEvent::Ready { cluster, pool, .. }
                | NodeEvent::NotReady { cluster, pool, .. }
                | NodeEvent::Drained { cluster, pool, .. }
                | NodeEvent::Terminated { cluster, pool, .. } => Some(Kick::Pool(*cluster, *pool)),
                NodeEvent::Cordoned { cluster, .. }
                | NodeEvent::Uncordoned { cluster, .. }
                | NodeEvent::Draining { cluster, .. }
                | NodeEvent::Failed { cluster, .. } => Some(Kick::Cluster(*cluster)),
            },
            // Remediations act across a cluster's pools (a replacement, the breaker).
            Event::Remediation(e) => match e {
                // A decision that ends where it starts (skipped, dry-run) leaves nothing to do.
                RemediationEvent::Decided { state, .. } if state.is_some_and(|s| s.is_final()) => {
                    None
                }
                RemediationEvent::Decided { finding, .. } => {
                    finding.cluster.parse().ok().map(Kick::Cluster)
                }
                RemediationEvent::Started { cluster, .. }
                | RemediationEvent::Step { cluster, .. }
                | RemediationEvent::Succeeded { cluster, .. }
                | RemediationEvent::Failed { cluster, .. }
                | RemediationEvent::Held { cluster, .. }
                | RemediationEvent::Released { cluster, .. } => Some(Kick::Cluster(*cluster)),
            },
        };
        if let Some(k) = kick
            && !kicks.contains(&k)
        {
            kicks.push(k);
        }
    }
    kicks
}

/// Receivers the controller runs on (returned by [`Provisioner::new`]).
pub struct ControllerInputs {
    pub(crate) infra_rx: mpsc::UnboundedReceiver<InfraEvent>,
    pub(crate) kick_rx: mpsc::UnboundedReceiver<Kick>,
}

impl Provisioner {
    /// Brings the committed state in line with what the infrastructure reports
    /// ([`crate::handlers::resync`]): at start-up (whatever happened while the provisioner was
    /// down) and at every periodic resync (events lost in a crash or a dropped channel).
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
        for ev in crate::handlers::resync::missed_impacts(&self.reader.clusters(None)?, &snapshot) {
            self.on_infra(ev).await;
        }
        let mut nodes = Vec::new();
        for pool in self.reader.all_pools()? {
            nodes.extend(self.reader.nodes(pool.metadata.id)?);
        }
        let missed = crate::handlers::resync::missed_events(&nodes, &snapshot);
        if !missed.is_empty() {
            info!(
                events = missed.len(),
                "resync: applying what the infrastructure reports"
            );
        }
        for ev in missed {
            self.on_infra(ev).await;
        }
        Ok(())
    }

    async fn on_infra(&self, ev: InfraEvent) {
        self.metrics
            .infra_events
            .get_or_create(&[("kind", infra_event_kind(&ev))])
            .inc();
        let res = self
            .engine
            .write(|| {
                let now = OffsetDateTime::now_utc();
                let change = match &ev {
                    InfraEvent::RepairProgress {
                        repair,
                        step,
                        detail,
                        ..
                    } => {
                        self.on_repair_report(repair, RepairReport::Progress { step, detail }, now)?
                    }
                    InfraEvent::RepairFinished {
                        repair, ok, detail, ..
                    } => self.on_repair_report(
                        repair,
                        RepairReport::Finished { ok: *ok, detail },
                        now,
                    )?,
                    _ => on_infra_event(&self.reader, now, &ev)?,
                };
                Ok((change, ()))
            })
            .await;
        if let Err(e) = res {
            warn!(error = %e, event = ?ev, "could not apply infrastructure event");
        }
    }

    async fn reconcile(&self, kick: Kick) {
        let scope = match kick {
            Kick::Cluster(_) => "cluster",
            Kick::Pool(..) => "pool",
        };
        self.metrics
            .reconciles
            .get_or_create(&[("scope", scope)])
            .inc();
        let res = async {
            let mut w = self.engine.lock().await;
            // The time is read under the write lock, like every handler's: a pass that waited
            // for the lock never stamps what it creates earlier than the commit it waited for
            // (a rollout counts the nodes created since it started).
            let now = OffsetDateTime::now_utc();
            let changes = match kick {
                Kick::Cluster(c) => reconcile_cluster(&self.reader, c, self.image_key(), now)?,
                Kick::Pool(c, p) => reconcile_pool(&self.reader, c, p, self.image_key(), now)?
                    .into_iter()
                    .collect(),
            };
            for change in changes {
                w.commit(change).await?;
            }
            let cluster = match kick {
                Kick::Cluster(c) | Kick::Pool(c, _) => c,
            };
            self.advance_remediations(&mut w, cluster).await?;
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
        let Some(cluster) = self.reader.get(CLUSTERS, &id.to_string())? else {
            return Ok(());
        };
        let pools = match kick {
            Kick::Cluster(_) => self.reader.pools(id)?,
            Kick::Pool(_, p) => self
                .reader
                .get(NODEPOOLS, &pool_key(id, p))?
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
                self.once(DriverOp::EnsureControlPlane(req), id);
            }
            ClusterPhase::Upgrading => {
                let version = cluster.spec.kubernetes_version;
                self.once(
                    DriverOp::UpgradeControlPlane {
                        cluster: id,
                        version,
                    },
                    id,
                );
            }
            ClusterPhase::Deleting if !self.reader.has_pools(id)? => {
                self.once(DriverOp::DeleteControlPlane(id), id);
            }
            _ => {}
        }
        let images = crate::images::all(&self.reader)?;
        for pool in &pools {
            for node in self.reader.nodes(pool.metadata.id)? {
                let nid = node.metadata.id;
                match node.status.state {
                    NodeState::Provisioning => {
                        // The signature is checked again right before the node boots: a
                        // record altered at rest never reaches the fleet (the planner fails
                        // such nodes).
                        let trusted = crate::images::resolve(
                            &images,
                            &node.spec.image_version,
                            &pool.spec.driver_branch,
                        )
                        .ok_or_else(|| "unknown image".to_owned())
                        .and_then(|i| crate::images::bootable(i, self.image_key()));
                        if let Err(reason) = trusted {
                            self.metrics
                                .image_refusals
                                .get_or_create(&[("reason", "unbootable")])
                                .inc();
                            warn!(node = %nid, %reason, "not booting a node: its image is refused");
                            continue;
                        }
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
                        self.once(DriverOp::ProvisionNode(Box::new(req)), id);
                    }
                    NodeState::Draining => {
                        self.once(DriverOp::DrainNode(nid), id);
                    }
                    NodeState::Terminating => {
                        self.once(DriverOp::TerminateNode(nid), id);
                    }
                    _ => {}
                }
            }
        }
        // The control plane heals itself (the provider's part, no opt-in): a replica down for
        // longer than the grace is rebuilt (the periodic resync notices the grace ending), one
        // at a time (none while another is being built), which never lowers the
        // number of running replicas. A replica running again may fail again later: its key is
        // forgotten so that the next failure is acted on.
        if cluster.status.phase != ClusterPhase::Deleting {
            let building = cluster
                .status
                .control_plane
                .iter()
                .any(|r| r.state == ReplicaState::Provisioning);
            for r in &cluster.status.control_plane {
                let op = DriverOp::ReplaceReplica {
                    cluster: id,
                    replica: r.name.clone(),
                };
                let grace =
                    time::Duration::try_from(self.replica_grace()).unwrap_or(time::Duration::MAX);
                let due = r
                    .down_since
                    .is_none_or(|since| OffsetDateTime::now_utc() - since >= grace);
                match r.state {
                    ReplicaState::Down if !building && due => self.once(op, id),
                    ReplicaState::Running => self.forget(&op),
                    _ => {}
                }
            }
            // A customer component degrading the control plane or the fabric: the provider's
            // least invasive action restores baseline health; the component stays the
            // customer's to fix.
            for i in &cluster.status.impacts {
                let op = DriverOp::Mitigate {
                    cluster: id,
                    component: i.component.clone(),
                    mitigation: i.mitigation,
                };
                match i.state {
                    ImpactState::Degrading => self.once(op, id),
                    _ => self.forget(&op),
                }
            }
        }
        // Repairs the cluster's running remediations wait for (re-issued after a restart: the
        // driver is idempotent by repair id and reports a finished one again).
        for rem in self.reader.open_remediations(id)? {
            if let Some(request) = repair_request(&rem) {
                self.once(
                    DriverOp::RepairNode {
                        remediation: rem.metadata.id,
                        attempt: rem.status.attempts,
                        request,
                    },
                    id,
                );
            }
        }
        Ok(())
    }

    /// Forgets that `op` was issued, so the state that asks for it again issues it again.
    fn forget(&self, op: &DriverOp) {
        if let Ok(mut issued) = self.issued.lock() {
            issued.remove(&op.key());
        }
    }

    /// Runs a driver operation once per process; a failed one is forgotten so a later pass
    /// retries it.
    fn once(&self, op: DriverOp, cluster: ClusterId) {
        let key = op.key();
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
        let operation = op.name();
        tokio::spawn(
            async move {
                let res = op.run(driver).await;
                let result = if res.is_ok() { "ok" } else { "error" };
                counter
                    .get_or_create(&[("operation", operation), ("result", result)])
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
                    // Events already queued are older than the snapshot: apply them first.
                    while let Ok(ev) = inputs.infra_rx.try_recv() {
                        self.on_infra(ev).await;
                    }
                    if let Err(e) = self.resync_with_infrastructure().await {
                        warn!(error = %e, "resync with the infrastructure failed");
                    }
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
        InfraEvent::RepairProgress { .. } => "repair-progress",
        InfraEvent::ComponentImpact { .. } => "component-impact",
        InfraEvent::RepairFinished { .. } => "repair-finished",
    }
}
