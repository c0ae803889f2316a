//! The HTTP delivery: one POST of one notification, with a deadline and a cap on what is read
//! back, answering a typed [`Outcome`] (never an error, never a panic).
//!
//! - The URL is checked against the [`UrlPolicy`] again before every attempt (the deployment's
//!   setting may have changed since the webhook was registered); a refused URL is permanent.
//! - Redirects are not followed (a public endpoint could send the request inward): a 3xx is a
//!   permanent failure naming the status. Proxies from the environment are not used.
//! - The whole exchange — connect, TLS, request, response headers and body — has
//!   [`DEFAULT_TIMEOUT`] (5 s); at most [`MAX_RESPONSE_BYTES`] of the response body is read
//!   (only its first bytes are kept, for the delivery's `last_error`).
//! - 2xx → [`Outcome::Delivered`]; 408, 429, 5xx, timeouts and connection failures →
//!   [`Outcome::Retryable`]; other 4xx and 3xx → [`Outcome::Permanent`].
//!
//! - Names are resolved by [`crate::resolve::PublicOnly`]: only public addresses are
//!   connected to (DNS rebinding cannot point a delivery inward).
//!
//! TLS is rustls with the platform's roots and webpki's (no OpenSSL).

use std::time::Duration;

use reqwest::{StatusCode, header};

use crate::{
    UrlPolicy,
    model::{MAX_ERROR_BYTES, cut},
    signature::{ID_HEADER, SIGNATURE_HEADER, header_value},
};

/// Deadline of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most of a response body read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Bytes of a refusal's response body quoted in its error.
const QUOTED_BODY_BYTES: usize = 200;

/// One notification to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The webhook's URL.
    pub url: &'a str,
    /// The webhook's signing secret.
    pub secret: &'a str,
    /// The notification's CloudEvents id (the `webhook-id` header).
    pub event_id: &'a str,
    /// The CloudEvents JSON document.
    pub body: &'a [u8],
    /// Now, in Unix seconds (the signature's `t`).
    pub now_unix: i64,
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Delivered { status: u16 },
    /// Try again later: timeout, connection failure, 408, 429, 5xx.
    Retryable { status: Option<u16>, error: String },
    /// Trying again would not help: 3xx, 4xx but 408/429, or a URL the policy refuses.
    Permanent { status: Option<u16>, error: String },
}

impl Outcome {
    /// The HTTP status the endpoint answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { status } => Some(*status),
            Outcome::Retryable { status, .. } | Outcome::Permanent { status, .. } => *status,
        }
    }
}

/// Building the HTTP client failed (TLS roots could not be loaded …).
#[derive(Debug, thiserror::Error)]
#[error("building the webhook HTTP client: {0}")]
pub struct ClientError(String);

/// The webhook sender (cheap to clone: one connection pool).
#[derive(Debug, Clone)]
pub struct Notifier {
    client: reqwest::Client,
    policy: UrlPolicy,
    timeout: Duration,
}

impl Notifier {
    /// A sender under `policy` with [`DEFAULT_TIMEOUT`].
    pub fn new(policy: UrlPolicy) -> Result<Self, ClientError> {
        Self::with_timeout(policy, DEFAULT_TIMEOUT)
    }

    /// A sender whose attempts have `timeout` (tests use a short one).
    pub fn with_timeout(policy: UrlPolicy, timeout: Duration) -> Result<Self, ClientError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(crate::resolve::PublicOnly::shared(policy.allow_loopback))
            .user_agent(concat!("accord-notify/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(1)
            .build()
            .map_err(|e| ClientError(e.without_url().to_string()))?;
        Ok(Self {
            client,
            policy,
            timeout,
        })
    }

    /// The URL policy it enforces.
    pub fn policy(&self) -> UrlPolicy {
        self.policy
    }

    /// One attempt (see the module docs).
    pub async fn deliver(&self, r: &Request<'_>) -> Outcome {
        let url = match self.policy.check(r.url) {
            Ok(u) => u,
            Err(e) => {
                return Outcome::Permanent {
                    status: None,
                    error: cut(&format!("url {e}"), MAX_ERROR_BYTES),
                };
            }
        };
        let sent = self
            .client
            .post(url)
            .header(header::CONTENT_TYPE, crate::body::CONTENT_TYPE)
            .header(ID_HEADER, r.event_id)
            .header(SIGNATURE_HEADER, header_value(r.secret, r.now_unix, r.body))
            .body(r.body.to_vec())
            .send()
            .await;
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(e) => {
                return Outcome::Retryable {
                    status: None,
                    error: self.describe(&e),
                };
            }
        };
        let status = resp.status();
        // Read (and mostly drop) the body, bounded, so the connection can be reused; keep the
        // first bytes for the error of a refusal.
        let mut quoted = Vec::new();
        let mut read = 0usize;
        while read < MAX_RESPONSE_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    read += chunk.len();
                    let room = QUOTED_BODY_BYTES.saturating_sub(quoted.len());
                    quoted.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                // A body that breaks off changes nothing: the status decides.
                Ok(None) | Err(_) => break,
            }
        }
        classify(status, &String::from_utf8_lossy(&quoted))
    }

    fn describe(&self, e: &reqwest::Error) -> String {
        let what = if e.is_timeout() {
            format!("timed out after {} ms", self.timeout.as_millis())
        } else if e.is_connect() {
            "could not connect".to_owned()
        } else {
            "request failed".to_owned()
        };
        // `without_url`: the error never repeats the URL (it may carry tokens in its query).
        let mut chain = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        cut(&format!("{what}{chain}"), MAX_ERROR_BYTES)
    }
}

/// The outcome of a response with `status` (the body's first bytes in `quoted`).
fn classify(status: StatusCode, quoted: &str) -> Outcome {
    let code = status.as_u16();
    let quoted = quoted.trim();
    let error = |what: &str| {
        let mut e = format!("{what}: HTTP {code}");
        if !quoted.is_empty() {
            e.push_str(": ");
            e.push_str(quoted);
        }
        cut(&e, MAX_ERROR_BYTES)
    };
    if status.is_success() {
        // A 2xx whose body broke off was still accepted by the endpoint.
        return Outcome::Delivered { status: code };
    }
    if status.is_redirection() {
        return Outcome::Permanent {
            status: Some(code),
            error: error("redirects are not followed"),
        };
    }
    if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
        || status.is_informational()
    {
        return Outcome::Retryable {
            status: Some(code),
            error: error("endpoint answered"),
        };
    }
    Outcome::Permanent {
        status: Some(code),
        error: error("endpoint refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let s = |c: u16| classify(StatusCode::from_u16(c).unwrap(), "");
        assert_eq!(s(200), Outcome::Delivered { status: 200 });
        assert_eq!(s(204), Outcome::Delivered { status: 204 });
        for c in [408, 429, 500, 502, 503] {
            assert!(matches!(s(c), Outcome::Retryable { .. }), "{c}");
        }
        for c in [301, 302, 400, 401, 403, 404, 410, 422] {
            assert!(matches!(s(c), Outcome::Permanent { .. }), "{c}");
        }
        let long = "x".repeat(5000);
        match classify(StatusCode::BAD_REQUEST, &long) {
            Outcome::Permanent { error, .. } => assert!(error.len() <= MAX_ERROR_BYTES),
            other => panic!("{other:?}"),
        }
    }
}
