//! Authentication and the responsibility-matrix check, as a tower layer over HTTP requests.
//!
//! For every path except health and reflection, in this order:
//!
//! 1. the method must be declared in the rule table; the server checked at start-up that the
//!    table declares exactly the served methods, so anything else is not served here
//!    (`UNIMPLEMENTED`, before any credential is asked for);
//! 2. the `authorization` metadata must be `Bearer <token>` (`UNAUTHENTICATED` otherwise);
//! 3. the [`Authenticator`] turns the token into a principal (its error maps through
//!    `status_from`);
//! 4. [`RpcRule::authorize`] checks the principal's party against the matrix
//!    (`PERMISSION_DENIED` naming the layer and its owner);
//! 5. a [`Caller`] is inserted into the request extensions and the request goes on.
//!
//! Project-scoped role checks need the target project from the request body, so handlers do
//! them with `caller.rule.authorize_in_project(&caller.principal, project)`.

use std::{
    collections::HashMap,
    fmt,
    sync::Arc,
    task::{Context, Poll},
};

use accord_core::responsibility::RpcRule;
use accord_proto::convert::status::status_from;
use futures::future::BoxFuture;
use http::{HeaderMap, header::AUTHORIZATION};
use tonic::Status;
use tower::{Layer, Service};

use super::{Authenticator, Caller, is_open_path, refusal};

/// What the `authorization` metadata must look like, quoted in `UNAUTHENTICATED` messages.
pub const EXPECTED_AUTHORIZATION: &str = r#"expected "authorization: Bearer accord_<id>_<secret>""#;

/// Layer that authenticates callers and enforces each RPC's declared [`RpcRule`].
#[derive(Clone)]
pub struct AuthLayer {
    rules: Arc<HashMap<&'static str, RpcRule>>,
    authenticator: Arc<dyn Authenticator>,
}

impl fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("methods", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// A layer enforcing `rules` (one per RPC method, keyed by full path) with `authenticator`.
    /// Validate the table with `accord_core::responsibility::check_rules` (the
    /// [`GrpcServer`](super::GrpcServer) does).
    pub fn new(rules: &'static [RpcRule], authenticator: Arc<dyn Authenticator>) -> Self {
        Self {
            rules: Arc::new(rules.iter().map(|r| (r.method, *r)).collect()),
            authenticator,
        }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            rules: self.rules.clone(),
            authenticator: self.authenticator.clone(),
        }
    }
}

/// The service produced by [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    rules: Arc<HashMap<&'static str, RpcRule>>,
    authenticator: Arc<dyn Authenticator>,
}

impl<S> fmt::Debug for AuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("methods", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        if is_open_path(path) {
            return Box::pin(self.inner.call(req));
        }
        let Some(rule) = self.rules.get(path).copied() else {
            let shown = accord_core::error::echo(path);
            tracing::debug!(method = %shown, "call to a method this server does not serve");
            let status = Status::unimplemented(format!("method {shown} is not served here"));
            return Box::pin(std::future::ready(Ok(refusal(status))));
        };
        let token = match bearer_token(req.headers()) {
            Ok(token) => token.to_owned(),
            Err(status) => {
                tracing::debug!(
                    method = path,
                    reason = status.message(),
                    "unauthenticated request"
                );
                return Box::pin(std::future::ready(Ok(refusal(status))));
            }
        };

        // The clone takes the place of the service that was driven to readiness; the ready one
        // serves this request (tower's documented pattern for services used in futures).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let principal = match authenticator.authenticate(&token).await {
                Ok(principal) => principal,
                Err(err) => {
                    tracing::debug!(method = rule.method, error = %err, "authentication failed");
                    return Ok(refusal(status_from(&err)));
                }
            };
            if let Err(err) = rule.authorize(&principal) {
                tracing::info!(
                    method = rule.method,
                    principal = principal.display_name(),
                    error = %err,
                    "refused by the responsibility matrix"
                );
                return Ok(refusal(status_from(&err)));
            }
            tracing::Span::current().record("principal", principal.display_name());
            req.extensions_mut().insert(Caller { principal, rule });
            inner.call(req).await
        })
    }
}

/// The token of `authorization: Bearer <token>` (gRPC metadata or an HTTP header alike);
/// `UNAUTHENTICATED` saying what was expected otherwise.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, Status> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(Status::unauthenticated(format!(
            "no API key in the request: {EXPECTED_AUTHORIZATION}"
        )));
    };
    let value = value.to_str().map_err(|_| {
        Status::unauthenticated(format!(
            "authorization metadata is not text: {EXPECTED_AUTHORIZATION}"
        ))
    })?;
    match value.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Status::unauthenticated(format!(
            "authorization metadata is not a bearer token: {EXPECTED_AUTHORIZATION}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(value: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        h
    }

    #[test]
    fn bearer_token_parsing() {
        assert_eq!(
            bearer_token(&headers(b"Bearer accord_x_y")).unwrap(),
            "accord_x_y"
        );
        assert_eq!(
            bearer_token(&headers(b"bearer  accord_x_y ")).unwrap(),
            "accord_x_y"
        );
        for bad in [
            &b"accord_x_y"[..],
            b"Basic abc",
            b"Bearer ",
            b"Bearer",
            b"\xff\xfe",
        ] {
            let status = bearer_token(&headers(bad)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
            assert!(
                status.message().contains(EXPECTED_AUTHORIZATION),
                "{}",
                status.message()
            );
        }
        let status = bearer_token(&HeaderMap::new()).unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
        assert!(
            status.message().contains("no API key"),
            "{}",
            status.message()
        );
    }
}
