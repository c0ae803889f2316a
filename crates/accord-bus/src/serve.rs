//! Request/reply command servers (`accord.cmd.<service>.<resource>.<verb>`).
//!
//! [`Bus::serve`] queue-subscribes (one queue group per service, so replicas share the load) and
//! answers each request from a spawned task, at most [`MAX_IN_FLIGHT`] at a time. Each request
//! gets one `bus.serve` span parented to the caller's `traceparent`.
//!
//! Lifecycle: the server runs until [`ServeHandle::stop`] is awaited, its cancellation token is
//! cancelled, or the handle is dropped (drop = cancel; in-flight requests still get their reply).

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::chain;
use crate::{Bus, BusError, trace};

/// Requests one server handles concurrently.
pub const MAX_IN_FLIGHT: usize = 256;

/// A running request/reply server. Dropping it stops the server.
#[derive(Debug)]
#[must_use = "dropping the handle stops the server"]
pub struct ServeHandle {
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl ServeHandle {
    /// The token that stops this server; cancel it from a shutdown path.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Stops accepting requests (unsubscribes) and waits for the serving loop to end.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServeHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Bus {
    /// Serves requests on `subject` in `queue_group`: each payload goes to `handler`, whose output
    /// is the reply. Returns once the subscription is registered with the server.
    pub async fn serve<H, Fut>(
        &self,
        subject: &str,
        queue_group: &str,
        handler: H,
    ) -> Result<ServeHandle, BusError>
    where
        H: Fn(Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Bytes> + Send + 'static,
    {
        let mut subscription = self.subscribe_core_queue(subject, queue_group).await?;
        let cancel = CancellationToken::new();
        let handler = Arc::new(handler);
        let limit = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let bus = self.clone();
        let stop = cancel.clone();
        let subject = subject.to_owned();
        let task = tokio::spawn(async move {
            loop {
                let message = tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    message = subscription.next() => match message {
                        Some(message) => message,
                        None => break,
                    },
                };
                let Some(reply) = message.reply.clone() else {
                    tracing::debug!(subject = %message.subject, "ignoring a message without reply subject");
                    continue;
                };
                let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                    break;
                };
                let handler = Arc::clone(&handler);
                let bus = bus.clone();
                let span = tracing::info_span!("bus.serve", subject = %message.subject);
                trace::set_parent_from_pairs(&span, &message.headers);
                tokio::spawn(
                    async move {
                        let response = handler(message.payload).await;
                        if let Err(error) = bus.publish_core(&reply, response).await {
                            tracing::warn!(error = %chain(&error), "could not send the reply");
                        }
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
            tracing::debug!(%subject, "request server stopped");
        });
        Ok(ServeHandle {
            cancel,
            task: Some(task),
        })
    }
}
