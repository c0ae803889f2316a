//! The readiness gate: no RPC runs while the event bus is unreachable.
//!
//! A service cannot keep its promises without the bus (state changes publish events through the
//! outbox, commands go over NATS), so while the `watch` channel it is given says `false` every
//! RPC except health and reflection is refused with `UNAVAILABLE` — a status clients retry.
//! The same channel drives the health service's `NOT_SERVING` (see
//! [`GrpcServer`](super::GrpcServer)).

use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use tokio::sync::watch;
use tonic::Status;
use tower::{Layer, Service};

use super::{is_open_path, refusal};

/// Message of the `UNAVAILABLE` status returned while the bus is down.
pub const BUS_UNREACHABLE: &str = "the event bus is unreachable; retry shortly";

/// Layer refusing RPCs while `ready` is `false`.
#[derive(Debug, Clone)]
pub struct ReadyGate {
    ready: watch::Receiver<bool>,
}

impl ReadyGate {
    /// A gate following `ready` (`true`: the bus is connected).
    pub fn new(ready: watch::Receiver<bool>) -> Self {
        Self { ready }
    }
}

impl<S> Layer<S> for ReadyGate {
    type Service = ReadyGateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReadyGateService {
            inner,
            ready: self.ready.clone(),
        }
    }
}

/// The service produced by [`ReadyGate`].
#[derive(Debug, Clone)]
pub struct ReadyGateService<S> {
    inner: S,
    ready: watch::Receiver<bool>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ReadyGateService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Default,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, Self::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        if !*self.ready.borrow() && !is_open_path(req.uri().path()) {
            return Either::Left(ready(Ok(refusal(Status::unavailable(BUS_UNREACHABLE)))));
        }
        Either::Right(self.inner.call(req))
    }
}
