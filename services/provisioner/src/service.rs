//! The provisioner engine: the kit's [`Engine`] over the provisioner's events, the handler
//! context, and the fault-injection hook of crash tests. The controller that reconciles the
//! committed state with the infrastructure is in [`crate::controller`].
//!
//! Invariants:
//! - every write (gRPC handler or controller) happens under the engine's one write lock, so
//!   handlers see a consistent state and the store's version checks never fail under our feet;
//! - state and its events are committed in one store batch and flushed before the caller is
//!   answered; the outbox relay publishes them afterwards (at least once, de-duplicated by id);
//! - the controller learns what to reconcile from committed events (an engine observer), so
//!   any writer — gRPC, controller, bus — sets the right work in motion.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex as StdMutex, OnceLock},
};

use accord_core::{DomainError, iam::Principal, infra::Catalog, infra::InfraDriver};
use accord_runtime::{Engine, Writer, metrics::Metrics};
use accord_store::Store;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::{
    autoclusters::AutoClusters,
    change::{Change, Event},
    controller::{ControllerInputs, Kick, kicks_of},
    driver_ops::OpKey,
    handlers::Ctx,
    metrics::ProvisionerMetrics,
    trees::Reader,
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "provisioner";

/// The provisioner's state and its collaborators.
pub struct Provisioner {
    pub(crate) reader: Reader,
    pub(crate) engine: Engine<Event>,
    pub(crate) driver: Arc<dyn InfraDriver>,
    pub(crate) catalog: Catalog,
    pub(crate) kick_tx: mpsc::UnboundedSender<Kick>,
    pub(crate) issued: Arc<StdMutex<HashSet<OpKey>>>,
    pub(crate) metrics: ProvisionerMetrics,
    /// AutoClusters, when this provisioner runs it (set once at start).
    pub(crate) autoclusters: OnceLock<AutoClusters>,
    /// How long a replica stays down before it is rebuilt (set once at start; default 60 s).
    pub(crate) replica_grace: OnceLock<std::time::Duration>,
    /// The provider's image-signing public key (set once at start; none: no image is trusted).
    pub(crate) image_key: OnceLock<accord_image::VerifyingKey>,
}

impl Provisioner {
    /// Wires a provisioner to its store and driver; subscribes to the driver's events.
    pub fn new(
        store: Store,
        driver: Arc<dyn InfraDriver>,
        metrics: &Metrics,
    ) -> (Arc<Self>, ControllerInputs) {
        let (infra_tx, infra_rx) = mpsc::unbounded_channel();
        let (kick_tx, kick_rx) = mpsc::unbounded_channel();
        driver.subscribe(Arc::new(move |ev| {
            // The receiver lives as long as the controller; after shutdown events are moot.
            let _ = infra_tx.send(ev);
        }));
        let kicks = kick_tx.clone();
        let engine = Engine::new(SERVICE, store.clone(), metrics).with_observer(move |events| {
            for kick in kicks_of(events) {
                // The receiver lives as long as the controller; after shutdown kicks are moot.
                let _ = kicks.send(kick);
            }
        });
        #[cfg(feature = "failpoints")]
        let engine = crate::failpoint::install(engine);
        let catalog = driver.catalog();
        let p = Arc::new(Self {
            reader: Reader::new(store),
            engine,
            driver,
            catalog,
            kick_tx,
            issued: Arc::new(StdMutex::new(HashSet::new())),
            metrics: ProvisionerMetrics::register(metrics),
            autoclusters: OnceLock::new(),
            replica_grace: OnceLock::new(),
            image_key: OnceLock::new(),
        });
        (p, ControllerInputs { infra_rx, kick_rx })
    }

    /// Turns AutoClusters on (once; later calls change nothing and return false).
    pub fn enable_autoclusters(&self, ac: AutoClusters) -> bool {
        self.autoclusters.set(ac).is_ok()
    }

    /// Sets how long a replica stays down before it is rebuilt (once; later calls change
    /// nothing).
    pub fn set_replica_grace(&self, grace: std::time::Duration) {
        let _ = self.replica_grace.set(grace);
    }

    /// Trusts `key` for image signatures (once; later calls change nothing).
    pub fn set_image_key(&self, key: accord_image::VerifyingKey) {
        let _ = self.image_key.set(key);
    }

    /// The trusted image-signing key.
    pub fn image_key(&self) -> Option<&accord_image::VerifyingKey> {
        self.image_key.get()
    }

    /// How long a replica stays down before it is rebuilt.
    pub fn replica_grace(&self) -> std::time::Duration {
        self.replica_grace
            .get()
            .copied()
            .unwrap_or(std::time::Duration::from_secs(60))
    }

    /// Typed reads.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// Store commits so far (handlers' and the controller's).
    pub fn commits(&self) -> u64 {
        self.engine.commits()
    }

    /// The infrastructure catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Takes the write lock (for several commits in one critical section).
    pub async fn lock(&self) -> Writer<'_, Event> {
        self.engine.lock().await
    }

    /// Commits a change on its own.
    pub async fn apply(&self, change: Change) -> Result<(), DomainError> {
        self.engine.lock().await.commit(change).await
    }

    /// Runs a handler under the write lock and commits what it decided; the controller is
    /// kicked by the committed events.
    pub async fn write<T>(
        &self,
        principal: &Principal,
        f: impl FnOnce(&Ctx<'_>) -> Result<(Change, T), DomainError>,
    ) -> Result<T, DomainError> {
        self.engine.write(|| f(&self.ctx(principal))).await
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
}
