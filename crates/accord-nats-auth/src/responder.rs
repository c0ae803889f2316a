//! The auth-callout responder: answers the server's `$SYS.REQ.USER.AUTH` requests on a
//! connection of the auth-callout user, with a verdict the caller supplies (the provisioner's
//! API-key check).
//!
//! Invariants:
//! - At most [`ResponderOptions::max_concurrency`] requests are worked on at once; a request
//!   waits for a slot and for its verdict together for at most
//!   [`ResponderOptions::verdict_timeout`], then is refused ("verification timed out"). Keep the
//!   timeout below the server's `authorization { timeout }` (default 2 s for plain connections),
//!   or the server gives up first and refuses anyway.
//! - A request that is not a valid server request ([`crate::callout::decode_request`]) gets no
//!   answer (the server then refuses the client when its auth timeout passes); the reason is
//!   logged at `warn`.
//! - Oversized, empty or missing tokens are refused without calling the verdict; tokens are never
//!   logged.
//! - [`ResponderHandle::stop`] ends the loop; requests in flight are still answered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::callout::{
    AUTH_CALLOUT_SUBJECT, ApiToken, AuthRequest, Denied, Grant, Issuer, decode_request,
    extract_token, redact,
};
use crate::error::AuthError;
use crate::jwt::unix_now;

/// A boxed verdict future.
pub type VerdictFuture = Pin<Box<dyn Future<Output = Result<Grant, Denied>> + Send + 'static>>;

/// Decides who a token is. Implemented for every `Fn(ApiToken) -> impl Future<Output =
/// Result<Grant, Denied>>`.
pub trait Verdict: Send + Sync + 'static {
    /// The verdict for `token`.
    fn verify(&self, token: ApiToken) -> VerdictFuture;
}

impl<F, Fut> Verdict for F
where
    F: Fn(ApiToken) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Grant, Denied>> + Send + 'static,
{
    fn verify(&self, token: ApiToken) -> VerdictFuture {
        Box::pin(self(token))
    }
}

/// Limits of the responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponderOptions {
    /// Requests worked on at once.
    pub max_concurrency: usize,
    /// Budget of one request: waiting for a slot plus the verdict.
    pub verdict_timeout: Duration,
}

impl Default for ResponderOptions {
    fn default() -> Self {
        ResponderOptions {
            max_concurrency: 64,
            verdict_timeout: Duration::from_millis(1500),
        }
    }
}

/// The running responder.
#[derive(Debug)]
pub struct ResponderHandle {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl ResponderHandle {
    /// Stops answering and waits for the loop to end.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    /// Cancelling this token stops the responder too.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Connects as the auth-callout user (`seed` is its nkey seed) to `url`, verifying the
/// server's TLS certificate against `tls_ca_file` when given.
#[allow(clippy::disallowed_methods)] // see the crate docs: the callout user's own connection
pub async fn connect_callout_user(
    url: &str,
    seed: String,
    tls_ca_file: Option<&std::path::Path>,
) -> Result<async_nats::Client, AuthError> {
    let mut options = async_nats::ConnectOptions::with_nkey(seed);
    if let Some(ca) = tls_ca_file {
        options = options
            .add_root_certificates(ca.to_owned())
            .require_tls(true);
    }
    options
        .name("accord-auth-callout")
        .retry_on_initial_connect()
        .connect(url)
        .await
        .map_err(|error| AuthError::Nats(error.to_string()))
}

/// Subscribes to [`AUTH_CALLOUT_SUBJECT`] on `client` and answers every request with `verdict`
/// until the handle is stopped or the subscription ends.
pub async fn spawn_responder<V: Verdict>(
    client: async_nats::Client,
    issuer: Issuer,
    verdict: V,
    options: ResponderOptions,
) -> Result<ResponderHandle, AuthError> {
    let mut subscription = client
        .subscribe(AUTH_CALLOUT_SUBJECT)
        .await
        .map_err(|error| AuthError::Nats(error.to_string()))?;
    // The subscription must be registered before callers rely on it.
    client
        .flush()
        .await
        .map_err(|error| AuthError::Nats(error.to_string()))?;
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let verdict: Arc<dyn Verdict> = Arc::new(verdict);
    let slots = Arc::new(Semaphore::new(options.max_concurrency.max(1)));
    // Requests in flight (decoding, waiting for a verdict slot, answering): bounded, so a
    // flood of connections cannot grow the responder's tasks without limit; beyond it a
    // request gets no answer and the server refuses that connection at its auth timeout.
    let in_flight = Arc::new(Semaphore::new(options.max_concurrency.max(1) * 4));
    let issuer = Arc::new(issuer);
    let task = tokio::spawn(async move {
        loop {
            let message = tokio::select! {
                () = token.cancelled() => break,
                message = subscription.next() => match message {
                    Some(message) => message,
                    None => break,
                },
            };
            let Some(reply) = message.reply.clone() else {
                tracing::warn!("auth callout request without a reply subject: ignored");
                continue;
            };
            let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
                tracing::warn!("auth callout: too many requests in flight; one is dropped");
                continue;
            };
            let client = client.clone();
            let verdict = Arc::clone(&verdict);
            let slots = Arc::clone(&slots);
            let issuer = Arc::clone(&issuer);
            let budget = options.verdict_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                let Some(answer) =
                    answer(&issuer, verdict.as_ref(), &slots, budget, &message.payload).await
                else {
                    return;
                };
                if let Err(error) = client.publish(reply, answer.into()).await {
                    tracing::warn!(error = %error, "auth callout: reply not sent");
                }
            });
        }
        let _ = subscription.unsubscribe().await;
    });
    Ok(ResponderHandle { shutdown, task })
}

/// The signed answer to one request payload, or `None` when it must not be answered.
async fn answer(
    issuer: &Issuer,
    verdict: &dyn Verdict,
    slots: &Semaphore,
    budget: Duration,
    payload: &[u8],
) -> Option<String> {
    let request = match decode_request(payload, &issuer.public_key(), unix_now()) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(error = %error, "auth callout: request ignored");
            return None;
        }
    };
    let outcome = decide(verdict, slots, budget, &request).await;
    log_outcome(&request, &outcome);
    match issuer.respond(&request, outcome, unix_now()) {
        Ok(answer) => Some(answer),
        Err(error) => {
            tracing::error!(error = %error, "auth callout: cannot sign the answer");
            None
        }
    }
}

async fn decide(
    verdict: &dyn Verdict,
    slots: &Semaphore,
    budget: Duration,
    request: &AuthRequest,
) -> Result<Grant, Denied> {
    let token = extract_token(request)?;
    let run = async {
        let _slot = slots
            .acquire()
            .await
            .map_err(|_| Denied::new("responder shutting down"))?;
        verdict.verify(token).await
    };
    match tokio::time::timeout(budget, run).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Denied::new("verification timed out")),
    }
}

fn log_outcome(request: &AuthRequest, outcome: &Result<Grant, Denied>) {
    match outcome {
        Ok(grant) => tracing::info!(
            principal = %grant.principal,
            project = grant.project.as_deref().unwrap_or("<all: operator>"),
            ttl_s = grant.ttl.as_secs(),
            client_host = %request.client.host,
            client_id = request.client.id,
            "auth callout: admitted"
        ),
        Err(denied) => tracing::info!(
            reason = %redact(&denied.message, request),
            client_host = %request.client.host,
            client_id = request.client.id,
            "auth callout: refused"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn grant() -> Grant {
        Grant {
            principal: "k".into(),
            project: Some("p".into()),
            ttl: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_slow_verdict_is_a_refusal() {
        let hang = |_token: ApiToken| futures::future::pending::<Result<Grant, Denied>>();
        let slots = Semaphore::new(1);
        let request = AuthRequest::for_test(Some("acc_token_123456"));
        let outcome = decide(&hang, &slots, Duration::from_millis(50), &request).await;
        assert_eq!(outcome, Err(Denied::new("verification timed out")));
    }

    #[tokio::test]
    async fn a_full_responder_refuses_without_calling_the_verdict() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let verdict = move |_token: ApiToken| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(grant()) }
        };
        let slots = Semaphore::new(1);
        let held = slots.acquire().await.unwrap();
        let request = AuthRequest::for_test(Some("acc_token_123456"));
        let outcome = decide(&verdict, &slots, Duration::from_millis(50), &request).await;
        assert_eq!(outcome, Err(Denied::new("verification timed out")));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        drop(held);
        let outcome = decide(&verdict, &slots, Duration::from_secs(5), &request).await;
        assert_eq!(outcome, Ok(grant()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn missing_and_oversized_tokens_skip_the_verdict() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let verdict = move |_token: ApiToken| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok(grant()) }
        };
        let slots = Semaphore::new(4);
        let long = "k".repeat(crate::callout::MAX_TOKEN_LEN + 1);
        for token in [None, Some(long.as_str())] {
            let request = AuthRequest::for_test(token);
            let outcome = decide(&verdict, &slots, Duration::from_secs(5), &request).await;
            assert!(outcome.is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
