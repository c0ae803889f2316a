//! [`Engine`]: the write side every service shares. One write lock per service; the capability
//! to commit lives inside that lock ([`Writer`]), so nothing can be committed without holding
//! it, and every commit turns the change's events into outbox entries and writes both in one
//! flushed store batch (transactional outbox).
//!
//! Every engine counts its commits and its committed events (`accord_<service>_commits_total`,
//! `accord_<service>_events_committed_total{event}`) and tells its observers what it committed:
//! controllers kick from committed events, not from whoever committed.
//!
//! Invariants:
//! - a change's writes and its events commit atomically, or not at all; an event that could
//!   not be published (too large, bad subject token) fails before anything is written;
//! - [`Writer::commit`] returns after the batch is on disk;
//! - observers run after the commit, with the lock still held, and must not block (they send
//!   on channels or bump counters).

use std::sync::Arc;

use accord_core::{DomainError, events::DomainEvent};
use accord_store::Store;
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};
use tokio::sync::{Mutex, MutexGuard};

use crate::{change::Change, metrics::Metrics};

/// Label of the committed-events counter: `<resource>.<event>`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub event: String,
}

/// What an observer is told after each commit that carried events.
pub type Observer<E> = Arc<dyn Fn(&[E]) + Send + Sync>;

/// A service's write side (see the module docs).
pub struct Engine<E> {
    store: Store,
    source: String,
    lock: Mutex<()>,
    commits: Counter,
    events: Family<EventLabels, Counter>,
    observers: Vec<Observer<E>>,
}

impl<E> std::fmt::Debug for Engine<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("source", &self.source)
            .field("commits", &self.commits.get())
            .finish_non_exhaustive()
    }
}

/// The write capability: exists only while the engine's lock is held.
pub struct Writer<'a, E> {
    engine: &'a Engine<E>,
    _guard: MutexGuard<'a, ()>,
}

impl<E: DomainEvent> Engine<E> {
    /// An engine committing to `store` as `service` (the events' CloudEvents source), with its
    /// counters registered in `metrics`.
    pub fn new(service: &str, store: Store, metrics: &Metrics) -> Self {
        let engine = Self {
            store,
            source: accord_bus::service_source(service),
            lock: Mutex::new(()),
            commits: Counter::default(),
            events: Family::default(),
            observers: Vec::new(),
        };
        let prefix = format!("accord_{}", service.replace('-', "_"));
        metrics.register(
            format!("{prefix}_commits"),
            format!("Store commits of the {service}"),
            engine.commits.clone(),
        );
        metrics.register(
            format!("{prefix}_events_committed"),
            format!("Events committed through the {service}'s outbox, by event"),
            engine.events.clone(),
        );
        engine
    }

    /// Adds an observer of committed events (builder-lite; before the engine is shared).
    pub fn with_observer(mut self, observer: impl Fn(&[E]) + Send + Sync + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// The store (for reads; writes go through [`Engine::lock`]).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Commits so far.
    pub fn commits(&self) -> u64 {
        self.commits.get()
    }

    /// Takes the write lock.
    pub async fn lock(&self) -> Writer<'_, E> {
        Writer {
            engine: self,
            _guard: self.lock.lock().await,
        }
    }

    /// Runs `decide` under the write lock and commits what it decided.
    pub async fn write<T>(
        &self,
        decide: impl FnOnce() -> Result<(Change<E>, T), DomainError>,
    ) -> Result<T, DomainError> {
        let mut w = self.lock().await;
        let (change, out) = decide()?;
        w.commit(change).await?;
        Ok(out)
    }
}

impl<E: DomainEvent> Writer<'_, E> {
    /// Commits `change`: its writes and its events (as outbox entries) in one durable batch.
    pub async fn commit(&mut self, change: Change<E>) -> Result<(), DomainError> {
        if change.is_empty() {
            return Ok(());
        }
        let e = self.engine;
        let entries = change.outbox(&e.source)?;
        let names = change.event_names();
        let Change {
            mut commit, events, ..
        } = change;
        for entry in entries {
            commit.push_event(entry);
        }
        e.store.commit(commit).await?;
        e.commits.inc();
        for name in &names {
            e.events
                .get_or_create(&EventLabels {
                    event: name.clone(),
                })
                .inc();
        }
        if !events.is_empty() {
            tracing::debug!(events = ?names, "committed");
            for observer in &e.observers {
                observer(&events);
            }
        }
        Ok(())
    }

    /// The store, for reads made under the lock.
    pub fn store(&self) -> &Store {
        &self.engine.store
    }
}
