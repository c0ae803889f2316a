//! The gRPC server kit: one way to serve, authenticate, gate and measure every Accord RPC.
//!
//! - [`GrpcServer`]: builder that serves a service's tonic services together with
//!   `grpc.health.v1` and reflection (v1 and v1alpha) on a `tokio` listener.
//! - [`AuthLayer`]: authenticates the bearer API key and enforces the responsibility matrix
//!   (the RPC's declared [`RpcRule`]) before a handler runs; the handler reads the result with
//!   [`caller`].
//! - [`BusAuthenticator`]: the [`Authenticator`] of services that do not own API keys (asks
//!   the provisioner over NATS on every call).
//! - [`ReadyGate`]: refuses RPCs with `UNAVAILABLE` while the event bus is unreachable.
//! - [`MetricsLayer`]: records `accord_grpc_requests_total` and
//!   `accord_grpc_request_duration_seconds`.
//!
//! Layer order, outermost first: metrics → ready gate → auth → service, so refusals are counted
//! and a caller learns that the service is unavailable before being asked for credentials.
//!
//! Invariants:
//! - Health (`/grpc.health.v1.Health/*`) and reflection (`/grpc.reflection.*`) are the only
//!   paths that need neither a credential nor a ready bus.
//! - Every other method must be declared in the service's RPC rule table, and the table must
//!   declare exactly the served methods (checked at start-up); a call to anything else answers
//!   `UNIMPLEMENTED` without asking for credentials.
//! - Refusals are gRPC statuses (a trailers-only HTTP 200 response), never transport errors.

mod auth;
mod bus_auth;
mod metrics_layer;
mod ready;
mod server;
mod too_large;
mod trace;

use accord_core::{DomainError, iam::Principal, responsibility::RpcRule};
use futures::future::BoxFuture;
use std::sync::Arc;

pub use auth::{AuthLayer, AuthService, EXPECTED_AUTHORIZATION, bearer_token};
pub use bus_auth::BusAuthenticator;
pub use metrics_layer::{MetricsLayer, MetricsService, OTHER_METHOD};
pub use ready::{BUS_UNREACHABLE, ReadyGate, ReadyGateService};
pub use server::{GrpcServer, GrpcServerError};
pub use trace::inject_trace_context;

/// Path prefix of the gRPC health service.
pub const HEALTH_PATH_PREFIX: &str = "/grpc.health.v1.Health/";
/// Path prefix of the gRPC reflection services (v1 and v1alpha).
pub const REFLECTION_PATH_PREFIX: &str = "/grpc.reflection.";

/// Whether `path` is health or reflection, which need no credential and no ready bus.
pub fn is_open_path(path: &str) -> bool {
    path.starts_with(HEALTH_PATH_PREFIX) || path.starts_with(REFLECTION_PATH_PREFIX)
}

/// Who is calling and what the called RPC declared, as established by [`AuthLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The authenticated principal.
    pub principal: Principal,
    /// The rule of the called method (its action, component and actor).
    pub rule: RpcRule,
}

/// The [`Caller`] of a request that went through [`AuthLayer`].
///
/// A missing caller is a wiring bug (the service was served without the auth layer), not bad
/// input, hence `INTERNAL`.
pub fn caller<T>(req: &tonic::Request<T>) -> Result<&Caller, tonic::Status> {
    req.extensions()
        .get::<Caller>()
        .ok_or_else(|| tonic::Status::internal("auth layer missing"))
}

/// Turns a raw bearer token into a principal (e.g. by looking up the API key's digest).
///
/// Bad, unknown or revoked credentials must be [`DomainError::Unauthenticated`]; an unreachable
/// key store is [`DomainError::Unavailable`]. The error is mapped to a gRPC status with
/// `accord_proto::convert::status::status_from`.
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates `token`, the text after `Bearer ` (`accord_<id>_<secret>`).
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>>;
}

impl<A: Authenticator + ?Sized> Authenticator for Arc<A> {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        (**self).authenticate(token)
    }
}

impl<A: Authenticator + ?Sized> Authenticator for Box<A> {
    fn authenticate<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Principal, DomainError>> {
        (**self).authenticate(token)
    }
}

/// The trailers-only response carrying `status`.
fn refusal<B: Default>(status: tonic::Status) -> http::Response<B> {
    status.into_http()
}
