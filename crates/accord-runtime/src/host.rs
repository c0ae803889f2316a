//! [`ServiceHost`]: starts a service the one way every service starts — JetStream streams →
//! gRPC server (its rule table checked against what it serves) → outbox relay → event
//! consumers → the service's own tasks — and hands back one set of tasks to supervise.
//!
//! Critical tasks (the server, the relay, consumers, controllers) must run until shutdown: one
//! that ends, even with `Ok`, fails the service loudly (the supervisor stops everything and the
//! process exits non-zero). Best-effort tasks (watches that only improve freshness) are logged
//! when they end and the service goes on.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use accord_bus::Bus;
use accord_core::{DomainError, events::DomainEvent, responsibility::RpcRule};
use accord_store::Store;
use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    consume::{self, EventMeta, EventSink, Subscription},
    engine::Engine,
    grpc::{Authenticator, GrpcServer},
    metrics::Metrics,
};

/// What every service is started with (the composer provides it).
#[derive(Debug, Clone)]
pub struct Basics {
    /// Address the gRPC server binds (port 0 picks one).
    pub grpc_addr: SocketAddr,
    /// The service's own store (nobody else opens it).
    pub store: Store,
    /// A connected bus.
    pub bus: Bus,
    /// The metrics registry it records into.
    pub metrics: Metrics,
    /// Cancelled to stop everything.
    pub shutdown: CancellationToken,
    /// The gRPC server's TLS certificate and key (`None`: plaintext, for loopback binds).
    pub tls: Option<crate::tls::TlsIdentity>,
    /// Replicas of the JetStream streams it creates.
    pub stream_replicas: usize,
}

type Task = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

enum Kind {
    Critical,
    BestEffort,
}

/// A service being assembled (see the module docs).
pub struct ServiceHost {
    name: &'static str,
    grpc_addr: SocketAddr,
    bus: Bus,
    store: Store,
    metrics: Metrics,
    shutdown: CancellationToken,
    tls: Option<crate::tls::TlsIdentity>,
    stream_replicas: usize,
    grpc: Option<GrpcServer>,
    relay: bool,
    consumers: Vec<(&'static str, Task)>,
    tasks: Vec<(&'static str, Kind, Task)>,
}

/// A started service.
pub struct Started<T> {
    /// Where the gRPC server listens.
    pub grpc_addr: SocketAddr,
    /// The service's engine, for in-process callers and tests.
    pub engine: Arc<T>,
    /// Every task of the service; the first to end (critical ones only end on failure or
    /// shutdown) is the service's outcome.
    pub tasks: JoinSet<anyhow::Result<()>>,
}

impl ServiceHost {
    /// A host for service `name` on `basics`.
    pub fn new(name: &'static str, basics: &Basics) -> Self {
        Self {
            name,
            grpc_addr: basics.grpc_addr,
            bus: basics.bus.clone(),
            store: basics.store.clone(),
            metrics: basics.metrics.clone(),
            shutdown: basics.shutdown.clone(),
            tls: basics.tls.clone(),
            stream_replicas: basics.stream_replicas,
            grpc: None,
            relay: true,
            consumers: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// The service's gRPC API: `rules` enforced with `authenticator`, `UNAVAILABLE` while the
    /// bus is down, the gRPC metrics, reflection over the Accord descriptors; `services` adds
    /// the tonic services.
    pub fn api(
        mut self,
        rules: &'static [RpcRule],
        authenticator: impl Authenticator,
        services: impl FnOnce(GrpcServer) -> GrpcServer,
    ) -> Self {
        let server = GrpcServer::new(self.grpc_addr)
            .with_tls(self.tls.clone())
            .with_auth(rules, authenticator)
            .with_ready(self.bus.connected())
            .with_metrics(self.metrics.clone())
            .with_descriptor(accord_proto::FILE_DESCRIPTOR_SET);
        self.grpc = Some(services(server));
        self
    }

    /// Runs no outbox relay (crash tests keep events in the outbox on purpose).
    pub fn without_relay(mut self) -> Self {
        self.relay = false;
        self
    }

    /// A durable consumer of platform events (critical).
    pub fn consumer<I, H, Fut>(mut self, sub: Subscription<I>, handler: H) -> Self
    where
        I: Send + 'static,
        H: Fn(I, EventMeta) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), DomainError>> + Send + 'static,
    {
        let (bus, sd) = (self.bus.clone(), self.shutdown.clone());
        let durable = sub.durable;
        self.consumers.push((
            durable,
            Box::pin(async move {
                consume::run(bus, sub, handler, sd)
                    .await
                    .with_context(|| format!("the event consumer {durable}"))
            }),
        ));
        self
    }

    /// A durable consumer of platform events (critical) that also keeps the project
    /// directory, written through `engine` (see `consume::run_with_directory`).
    pub fn consumer_with_directory<I, E, H, Fut>(
        mut self,
        sub: Subscription<I>,
        engine: Arc<Engine<E>>,
        handler: H,
    ) -> Self
    where
        I: Send + 'static,
        E: DomainEvent,
        H: Fn(I, EventMeta) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), DomainError>> + Send + 'static,
    {
        let (bus, sd) = (self.bus.clone(), self.shutdown.clone());
        let durable = sub.durable;
        self.consumers.push((
            durable,
            Box::pin(async move {
                consume::run_with_directory(bus, sub, engine, handler, sd)
                    .await
                    .with_context(|| format!("the event consumer {durable}"))
            }),
        ));
        self
    }

    /// The service's platform events: `sub` decoded and handed to `sink` (its one dispatch
    /// point), with the project directory kept through the sink's engine.
    pub fn events<I, S>(self, sub: Subscription<I>, sink: Arc<S>) -> Self
    where
        I: Send + 'static,
        S: EventSink<I>,
    {
        let engine = Arc::clone(sink.engine());
        self.consumer_with_directory(sub, engine, move |input, meta| {
            let sink = Arc::clone(&sink);
            async move { sink.on_event(input, meta).await }
        })
    }

    /// A task that must run until shutdown.
    pub fn critical(
        mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.tasks.push((name, Kind::Critical, Box::pin(task)));
        self
    }

    /// A task whose end is logged, not fatal.
    pub fn best_effort(
        mut self,
        name: &'static str,
        task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Self {
        self.tasks.push((name, Kind::BestEffort, Box::pin(task)));
        self
    }

    /// Starts everything in order (see the module docs) for `engine`.
    pub async fn start<T>(self, engine: Arc<T>) -> anyhow::Result<Started<T>> {
        let service = self.name;
        let streams = accord_bus::StreamOptions {
            replicas: self.stream_replicas.max(1),
            ..Default::default()
        };
        self.bus
            .ensure_streams_with(&streams)
            .await
            .context("creating the JetStream streams")?;
        let mut tasks = JoinSet::new();
        let mut grpc_addr = self.grpc_addr;
        if let Some(server) = self.grpc {
            let (addr, server_task) = server
                .serve(self.shutdown.clone())
                .await
                .with_context(|| format!("starting the {service} gRPC server"))?;
            grpc_addr = addr;
            spawn_critical(
                &mut tasks,
                service,
                "gRPC server",
                &self.shutdown,
                async move {
                    server_task
                        .await
                        .context("the gRPC server task")?
                        .map_err(anyhow::Error::from)
                },
            );
        }
        if self.relay {
            let (bus, sd) = (self.bus.clone(), self.shutdown.clone());
            let notify = self.store.outbox_notify();
            let store = std::sync::Arc::new(self.store.clone());
            spawn_critical(
                &mut tasks,
                service,
                "outbox relay",
                &self.shutdown,
                async move {
                    accord_bus::OutboxRelay::run(bus, store, notify, sd).await;
                    Ok(())
                },
            );
        }
        for (name, task) in self.consumers {
            spawn_critical(&mut tasks, service, name, &self.shutdown, task);
        }
        for (name, kind, task) in self.tasks {
            match kind {
                Kind::Critical => spawn_critical(&mut tasks, service, name, &self.shutdown, task),
                Kind::BestEffort => {
                    let sd = self.shutdown.clone();
                    tasks.spawn(async move {
                        match task.await {
                            Ok(()) => tracing::info!(service, task = name, "task ended"),
                            Err(e) => tracing::warn!(service, task = name, error = %format!("{e:#}"), "best-effort task failed; the service goes on"),
                        }
                        sd.cancelled().await;
                        Ok(())
                    });
                }
            }
        }
        Ok(Started {
            grpc_addr,
            engine,
            tasks,
        })
    }
}

fn spawn_critical(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    service: &'static str,
    name: &'static str,
    shutdown: &CancellationToken,
    task: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) {
    let sd = shutdown.clone();
    tasks.spawn(async move {
        let outcome = task.await;
        if sd.is_cancelled() {
            return outcome.with_context(|| format!("{service}: {name}"));
        }
        let err = match outcome {
            Ok(()) => anyhow::anyhow!("{service}: {name} stopped before shutdown"),
            Err(e) => e.context(format!("{service}: {name} failed")),
        };
        tracing::error!(service, task = name, error = %format!("{err:#}"), "critical task ended; stopping the service");
        Err(err)
    });
}
