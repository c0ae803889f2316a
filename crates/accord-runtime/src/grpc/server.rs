//! [`GrpcServer`]: a service's tonic services plus health, reflection and the layers, on one
//! listener.
//!
//! Health (`grpc.health.v1`): every added service name and the empty name `""` (the whole
//! server) report `SERVING` while the ready channel says `true` and `NOT_SERVING` while it says
//! `false`, updated live; all of them turn `NOT_SERVING` when shutdown begins, so load balancers
//! drain the server before it goes away.
//!
//! Reflection: `grpc.reflection.v1` (grpcurl) and `grpc.reflection.v1alpha` (grpcio-reflection)
//! over the registered descriptor sets plus the health proto's, listing only the services this
//! port serves (plus health and reflection).
//!
//! Invariants:
//! - a server either enforces an RPC rule table ([`GrpcServer::with_auth`]) or says
//!   explicitly that it does not ([`GrpcServer::without_auth`]); serving with neither is an
//!   error, so a forgotten `with_auth` cannot expose a service unauthenticated;
//! - with a rule table, the server starts only if the table and the served services agree
//!   exactly: every method of every added service (read from the registered descriptor sets)
//!   has a rule, and every rule names a served method ([`GrpcServerError::RulesDisagree`]).

use std::{fmt, net::SocketAddr, sync::Arc};

use accord_core::responsibility::{RpcRule, check_rules};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tonic::{
    body::Body,
    server::NamedService,
    service::RoutesBuilder,
    transport::{Identity, Server, ServerTlsConfig, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::{
    Service,
    util::{MapResponseLayer, option_layer},
};

use super::{AuthLayer, Authenticator, MetricsLayer, ReadyGate, trace::request_span};
use crate::{metrics::Metrics, tls::TlsIdentity};

/// Methods of the health and reflection services, for metric labels.
const OPEN_METHODS: [&str; 4] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// Why a gRPC server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum GrpcServerError {
    /// Neither [`GrpcServer::with_auth`] nor [`GrpcServer::without_auth`] was called.
    #[error(
        "the gRPC server has no authentication configured: call with_auth(rules, authenticator), or without_auth() for tools and tests"
    )]
    AuthNotConfigured,
    /// The RPC rule table contradicts the responsibility matrix or declares a method twice.
    #[error("invalid RPC rule table: {0}")]
    InvalidRules(String),
    /// The rule table and the served services' methods differ.
    #[error("the RPC rule table does not match the served services: {0}")]
    RulesDisagree(String),
    /// A registered descriptor set does not decode.
    #[error("cannot build the reflection service from the registered descriptor sets")]
    Reflection(#[source] tonic_reflection::server::Error),
    /// The listen address could not be bound.
    #[error("cannot bind the gRPC server to {addr}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with a transport error.
    #[error("the gRPC server failed")]
    Transport(#[source] tonic::transport::Error),
}

enum AuthMode {
    Unset,
    Disabled,
    Enabled {
        rules: &'static [RpcRule],
        authenticator: Arc<dyn Authenticator>,
    },
}

/// Builder for a service's gRPC server. See the module docs.
pub struct GrpcServer {
    addr: SocketAddr,
    routes: RoutesBuilder,
    service_names: Vec<&'static str>,
    auth: AuthMode,
    ready: Option<watch::Receiver<bool>>,
    metrics: Option<Metrics>,
    descriptors: Vec<&'static [u8]>,
    tls: Option<TlsIdentity>,
}

impl fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcServer")
            .field("addr", &self.addr)
            .field("services", &self.service_names)
            .field(
                "auth",
                &match &self.auth {
                    AuthMode::Unset => "unset",
                    AuthMode::Disabled => "disabled",
                    AuthMode::Enabled { .. } => "enabled",
                },
            )
            .field("ready_gate", &self.ready.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// A server that will listen on `addr` (port 0 picks a free port).
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            routes: RoutesBuilder::default(),
            service_names: Vec::new(),
            auth: AuthMode::Unset,
            ready: None,
            metrics: None,
            descriptors: Vec::new(),
            tls: None,
        }
    }

    /// Serves TLS only, presenting `identity` (`None`: plaintext, for loopback binds).
    pub fn with_tls(mut self, identity: Option<TlsIdentity>) -> Self {
        self.tls = identity;
        self
    }

    /// Authenticates every call with `authenticator` and enforces `rules` (see
    /// [`AuthLayer`]). The table is checked against the matrix when serving.
    pub fn with_auth(
        mut self,
        rules: &'static [RpcRule],
        authenticator: impl Authenticator,
    ) -> Self {
        self.auth = AuthMode::Enabled {
            rules,
            authenticator: Arc::new(authenticator),
        };
        self
    }

    /// Serves without authentication: handlers see no [`Caller`](super::Caller). For internal
    /// tools and tests only.
    pub fn without_auth(mut self) -> Self {
        self.auth = AuthMode::Disabled;
        self
    }

    /// Refuses RPCs with `UNAVAILABLE` and reports `NOT_SERVING` while `ready` is `false`.
    pub fn with_ready(mut self, ready: watch::Receiver<bool>) -> Self {
        self.ready = Some(ready);
        self
    }

    /// Records the built-in gRPC metrics into `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Registers an encoded `FileDescriptorSet` for reflection (may be called several times).
    pub fn with_descriptor(mut self, file_descriptor_set: &'static [u8]) -> Self {
        self.descriptors.push(file_descriptor_set);
        self
    }

    /// Adds a tonic service (a generated `…Server<T>`); its name is reported by health.
    pub fn add_service<S>(mut self, svc: S) -> Self
    where
        S: Service<http::Request<Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(svc);
        self.service_names.push(S::NAME);
        self
    }

    /// Binds the listener and serves until `shutdown` is cancelled, then drains in-flight calls.
    /// Returns the bound address and the server task.
    pub async fn serve(
        self,
        shutdown: CancellationToken,
    ) -> Result<(SocketAddr, JoinHandle<Result<(), GrpcServerError>>), GrpcServerError> {
        let Self {
            addr,
            mut routes,
            service_names,
            auth,
            ready,
            metrics,
            descriptors,
            tls,
        } = self;

        let auth_layer = match auth {
            AuthMode::Unset => return Err(GrpcServerError::AuthNotConfigured),
            AuthMode::Disabled => {
                tracing::warn!(%addr, "gRPC server runs without authentication");
                None
            }
            AuthMode::Enabled {
                rules,
                authenticator,
            } => {
                check_rules(rules).map_err(GrpcServerError::InvalidRules)?;
                check_served(rules, &service_names, &descriptors)?;
                Some((rules, AuthLayer::new(rules, authenticator)))
            }
        };

        // Health and reflection.
        let (reporter, health) = tonic_health::server::health_reporter();
        let initially_ready = ready.as_ref().is_none_or(|r| *r.borrow());
        set_all(&reporter, &service_names, serving_status(initially_ready)).await;
        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for fds in &descriptors {
            reflection_v1 = reflection_v1.register_encoded_file_descriptor_set(fds);
            reflection_v1alpha = reflection_v1alpha.register_encoded_file_descriptor_set(fds);
        }
        // List only what this port serves (the descriptor sets describe every Accord service).
        for name in service_names.iter().copied().chain(REFLECTED_BUILTINS) {
            reflection_v1 = reflection_v1.with_service_name(name);
            reflection_v1alpha = reflection_v1alpha.with_service_name(name);
        }
        routes
            .add_service(health)
            .add_service(
                reflection_v1
                    .build_v1()
                    .map_err(GrpcServerError::Reflection)?,
            )
            .add_service(
                reflection_v1alpha
                    .build_v1alpha()
                    .map_err(GrpcServerError::Reflection)?,
            );

        // Layers, outermost first: metrics → ready gate → auth → service.
        let metrics_layer = metrics.map(|m| match &auth_layer {
            Some((rules, _)) => MetricsLayer::new(m).with_known(
                rules.iter().map(|r| r.method).chain(OPEN_METHODS),
                std::iter::empty::<String>(),
            ),
            None => MetricsLayer::new(m).with_known(OPEN_METHODS, service_names.iter().copied()),
        });
        let mut builder = Server::builder();
        if let Some(identity) = &tls {
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(
                    identity.cert_pem.as_bytes(),
                    identity.key_pem.as_bytes(),
                )))
                .map_err(GrpcServerError::Transport)?;
        }
        let router = builder
            .trace_fn(request_span)
            .layer(MapResponseLayer::new(
                super::too_large::too_large_is_resource_exhausted::<Body>,
            ))
            .layer(option_layer(metrics_layer))
            .layer(option_layer(ready.clone().map(ReadyGate::new)))
            .layer(option_layer(auth_layer.map(|(_, layer)| layer)))
            .add_routes(routes.routes());

        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| GrpcServerError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| GrpcServerError::Bind { addr, source })?;
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));

        let health_task = tokio::spawn(track_health(
            reporter,
            service_names.clone(),
            ready,
            shutdown.clone(),
        ));
        let task = tokio::spawn(async move {
            let result = router
                .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
                .await
                .map_err(GrpcServerError::Transport);
            health_task.abort();
            tracing::info!(addr = %bound, "gRPC server stopped");
            result
        });
        tracing::info!(addr = %bound, services = ?service_names, tls = tls.is_some(), "gRPC server listening");
        Ok((bound, task))
    }
}

/// Services every server serves besides its own, as reflection lists them.
const REFLECTED_BUILTINS: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Checks that `rules` declare exactly the methods of the served services.
fn check_served(
    rules: &[RpcRule],
    services: &[&'static str],
    descriptors: &[&'static [u8]],
) -> Result<(), GrpcServerError> {
    let mut served = std::collections::BTreeSet::new();
    for service in services {
        let mut methods = None;
        for fds in descriptors {
            if let Some(m) = accord_proto::service_methods(fds, service).map_err(|e| {
                GrpcServerError::RulesDisagree(format!("a descriptor set does not decode: {e}"))
            })? {
                methods = Some(m);
                break;
            }
        }
        let methods = methods.ok_or_else(|| {
            GrpcServerError::RulesDisagree(format!(
                "no registered descriptor set describes {service} (call with_descriptor)"
            ))
        })?;
        served.extend(methods);
    }
    let ruled: std::collections::BTreeSet<String> =
        rules.iter().map(|r| r.method.to_owned()).collect();
    let unruled: Vec<_> = served.difference(&ruled).cloned().collect();
    let unserved: Vec<_> = ruled.difference(&served).cloned().collect();
    if unruled.is_empty() && unserved.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    if !unruled.is_empty() {
        problems.push(format!("methods without a rule: {}", unruled.join(", ")));
    }
    if !unserved.is_empty() {
        problems.push(format!(
            "rules for methods this server does not serve: {}",
            unserved.join(", ")
        ));
    }
    Err(GrpcServerError::RulesDisagree(problems.join("; ")))
}

fn serving_status(ready: bool) -> ServingStatus {
    if ready {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    }
}

/// Sets the status of the whole server (`""`) and of every service.
async fn set_all(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(name, status).await;
    }
}

/// Mirrors the ready channel into health until shutdown, then reports `NOT_SERVING`.
async fn track_health(
    reporter: HealthReporter,
    names: Vec<&'static str>,
    ready: Option<watch::Receiver<bool>>,
    shutdown: CancellationToken,
) {
    if let Some(mut ready) = ready {
        loop {
            let is_ready = *ready.borrow_and_update();
            set_all(&reporter, &names, serving_status(is_ready)).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                changed = ready.changed() => if changed.is_err() {
                    // The sender is gone: the status stays as last reported.
                    shutdown.cancelled().await;
                    break;
                },
            }
        }
    } else {
        shutdown.cancelled().await;
    }
    set_all(&reporter, &names, ServingStatus::NotServing).await;
}
