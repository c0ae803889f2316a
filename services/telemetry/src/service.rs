//! The telemetry engine: checks each sample against its node's state (in memory) and commits
//! the findings it raises with their `health.finding-raised` events (transactional outbox);
//! keeps the read model of clusters from the provisioner's events ([`EventSink`]).
//!
//! Invariants:
//! - the [`Fleet`] lock is a `std::sync::Mutex` taken only for bounded, synchronous work (one
//!   sample's checks, one cluster's listing) and never held across an `await`;
//! - findings are committed under the engine's write lock after re-reading the cluster and the
//!   cluster's stored finding keys, so the same finding never commits twice and a deleted
//!   cluster gets none;
//! - a sample is size-bounded before it is decoded ([`MAX_SAMPLE_BYTES`]).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock},
};

use accord_bus::subjects;
use accord_core::{
    DomainError,
    ids::ClusterId,
    limits::MAX_REF_BYTES,
    remediation::HealthEvent,
    telemetry::{self, TelemetryError, TelemetrySample},
};
use accord_health::{HealthConfig, HealthFinding, Observation};
use accord_runtime::{
    Engine,
    consume::{EventMeta, EventSink},
    metrics::Metrics,
};
use accord_store::Store;

use crate::{
    fleet::{Fleet, NodeHealth},
    handlers::{
        cluster_view::{self, Input, Target},
        findings::{Stored, raise},
    },
    metrics::{DropReason, TelemetryMetrics},
    trees::{Findings as _, Reader},
    view::ClusterView,
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "telemetry";

/// The largest sample accepted, in bytes (an 8-GPU, 8-port sample is about 4 KiB).
pub const MAX_SAMPLE_BYTES: usize = 64 * 1024;

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    /// Not checked (counted by reason).
    Dropped(DropReason),
    /// Checked; `raised` new findings committed.
    Checked {
        /// The node's first sample since the service started (its baseline).
        first: bool,
        raised: usize,
    },
}

/// The engine (see the module docs).
pub struct Telemetry {
    reader: Reader,
    engine: Arc<Engine<HealthEvent>>,
    fleet: Mutex<Fleet>,
    /// The stored cluster views, in memory: every sample is admitted against its cluster, and
    /// reading it from the store each time cost as much as checking the sample. Filled on
    /// first use, kept in step by [`Telemetry::on_input`] (the views' one writer) under the
    /// engine's lock; clusters that do not exist are not cached (the map stays as large as the
    /// store's `clusters`).
    views: RwLock<HashMap<ClusterId, Arc<ClusterView>>>,
    metrics: TelemetryMetrics,
    /// Where the customer metrics endpoint listens, once bound ([`crate::http`]).
    cluster_metrics: OnceLock<SocketAddr>,
}

impl Telemetry {
    /// A telemetry engine over `store`, checking with `config`, counting into `metrics`.
    pub fn new(store: Store, config: HealthConfig, metrics: &Metrics) -> Arc<Self> {
        Arc::new(Self {
            reader: crate::trees::reader(store.clone()),
            engine: Arc::new(Engine::new(SERVICE, store, metrics)),
            fleet: Mutex::new(Fleet::new(config)),
            views: RwLock::new(HashMap::new()),
            metrics: TelemetryMetrics::register(metrics),
            cluster_metrics: OnceLock::new(),
        })
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Where the customer metrics endpoint listens (`None` when it is not served).
    pub fn cluster_metrics_addr(&self) -> Option<SocketAddr> {
        self.cluster_metrics.get().copied()
    }

    /// Records where the customer metrics endpoint listens (set once, at start).
    pub(crate) fn set_cluster_metrics_addr(&self, addr: SocketAddr) {
        let _ = self.cluster_metrics.set(addr);
    }

    /// The sample counters.
    pub fn metrics(&self) -> &TelemetryMetrics {
        &self.metrics
    }

    /// The fleet's state; held only for synchronous, bounded work.
    fn fleet(&self) -> MutexGuard<'_, Fleet> {
        // The fleet holds no invariant a panicking holder could break half-way that a later
        // sample does not repair (each node's state is replaced sample by sample).
        self.fleet.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Handles one message published on `subject` (see [`crate::ingest`]).
    pub async fn ingest(&self, subject: &str, payload: &[u8]) -> Ingested {
        let (sample, view) = match self.admit(subject, payload) {
            Ok(admitted) => admitted,
            Err(reason) => return self.dropped(reason),
        };
        let mut findings = Vec::new();
        let observation = self.fleet().observe(&sample, &mut findings);
        match observation {
            Observation::Duplicate => return self.dropped(DropReason::Duplicate),
            Observation::OutOfOrder => return self.dropped(DropReason::OutOfOrder),
            Observation::First | Observation::Accepted => self.metrics.accepted(),
        }
        let first = observation == Observation::First;
        if findings.is_empty() {
            return Ingested::Checked { first, raised: 0 };
        }
        match self
            .commit_findings(view.id, &sample.node_name, &findings)
            .await
        {
            Ok(raised) => Ingested::Checked { first, raised },
            Err(error) => {
                tracing::error!(cluster = %view.id, node = %sample.node, error = %error, "the findings of a sample could not be committed");
                self.dropped(DropReason::StoreError)
            }
        }
    }

    /// The sample in `payload` and its cluster, if it may be checked.
    fn admit(
        &self,
        subject: &str,
        payload: &[u8],
    ) -> Result<(TelemetrySample, Arc<ClusterView>), DropReason> {
        if payload.len() > MAX_SAMPLE_BYTES {
            return Err(DropReason::Oversized);
        }
        let sample = telemetry::decode(payload).map_err(|e| match e {
            TelemetryError::UnsupportedVersion { .. } => DropReason::UnsupportedVersion,
            TelemetryError::Malformed(_) => DropReason::Malformed,
        })?;
        if sample.node_name.len() > MAX_REF_BYTES || sample.instance_type.len() > MAX_REF_BYTES {
            return Err(DropReason::Malformed);
        }
        let expected = subjects::telemetry(&sample.cluster.to_string(), &sample.node.to_string());
        if expected.ok().as_deref() != Some(subject) {
            return Err(DropReason::SubjectMismatch);
        }
        match self.view(sample.cluster) {
            Ok(Some(view)) => Ok((sample, view)),
            Ok(None) => Err(DropReason::UnknownCluster),
            Err(error) => {
                tracing::error!(error = %error, "reading a cluster for a sample");
                Err(DropReason::StoreError)
            }
        }
    }

    /// The view of `cluster`, from memory when it has been read before.
    fn view(&self, cluster: ClusterId) -> Result<Option<Arc<ClusterView>>, DomainError> {
        let cached = self
            .views
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&cluster)
            .cloned();
        if cached.is_some() {
            return Ok(cached);
        }
        let Some(stored) = self.reader.cluster(cluster)? else {
            return Ok(None);
        };
        let view = Arc::new(stored.value);
        self.views
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(cluster, Arc::clone(&view));
        Ok(Some(view))
    }

    fn dropped(&self, reason: DropReason) -> Ingested {
        self.metrics.dropped(reason);
        Ingested::Dropped(reason)
    }

    /// Commits what `findings` (of one sample of `node_name`) add; returns how many were new.
    async fn commit_findings(
        &self,
        cluster: ClusterId,
        node_name: &str,
        findings: &[HealthFinding],
    ) -> Result<usize, DomainError> {
        let mut w = self.engine.lock().await;
        let Some(view) = self.reader.cluster(cluster)? else {
            return Ok(0);
        };
        let keys = self.reader.finding_keys(cluster)?;
        let (change, raised) = raise(&view.value, node_name, &Stored { keys: &keys }, findings)?;
        w.commit(change).await?;
        Ok(raised)
    }

    /// The health of every node of `cluster` that reported since the service started.
    pub fn node_health(&self, cluster: ClusterId) -> Vec<NodeHealth> {
        self.fleet().cluster_health(cluster)
    }

    /// Each node's latest sample of `cluster` and its XID counters (see
    /// [`Fleet::metrics_snapshot`]).
    pub fn metrics_snapshot(
        &self,
        cluster: ClusterId,
    ) -> (Vec<TelemetrySample>, accord_health::exposition::XidCounters) {
        self.fleet().metrics_snapshot(cluster)
    }

    /// The latest sample of `node` (id or hostname) of `cluster`.
    pub fn latest_sample(&self, cluster: ClusterId, node: &str) -> Option<TelemetrySample> {
        self.fleet().latest(cluster, node)
    }

    /// Forgets the nodes that stopped reporting (see [`Fleet::forget_silent`]); returns how
    /// many.
    pub fn forget_silent(&self) -> usize {
        self.fleet().forget_silent()
    }

    /// Applies a provisioner event to the read model; a deleted cluster's nodes are forgotten.
    pub async fn on_input(&self, input: Input) -> Result<(), DomainError> {
        let Some(target) = cluster_view::target(&input) else {
            return Ok(());
        };
        let (cluster, deleted) = (target.cluster(), matches!(target, Target::Deleted(_)));
        let mut w = self.engine.lock().await;
        let stored = self.reader.cluster(cluster)?;
        let keys = if deleted {
            self.reader.finding_keys(cluster)?
        } else {
            Vec::new()
        };
        if let Some(change) = cluster_view::apply(stored.as_ref(), &keys, &input)? {
            w.commit(change).await?;
        }
        // The cached view follows the store, still under the engine's lock (so two updates
        // cannot land in the other order).
        let now = self.reader.cluster(cluster)?;
        {
            let mut views = self.views.write().unwrap_or_else(PoisonError::into_inner);
            match now {
                Some(view) => views.insert(cluster, Arc::new(view.value)),
                None => views.remove(&cluster),
            };
        }
        drop(w);
        if deleted {
            self.fleet().forget_cluster(cluster);
        }
        Ok(())
    }
}

impl EventSink<Input> for Telemetry {
    type Event = HealthEvent;

    fn engine(&self) -> &Arc<Engine<HealthEvent>> {
        &self.engine
    }

    async fn on_event(&self, input: Input, _meta: EventMeta) -> Result<(), DomainError> {
        self.on_input(input).await
    }
}
