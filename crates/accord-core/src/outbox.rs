//! The transactional outbox contract shared by the store (which writes entries in the same atomic
//! batch as the state change) and the bus (whose relay publishes them).
//!
//! Invariant: an entry is removed only after the broker acknowledged it; a relay that restarts
//! republishes surviving entries with the same `id`, which the broker de-duplicates.

use serde::{Deserialize, Serialize};

/// One event waiting to be published. `id` is the CloudEvents id and the `Nats-Msg-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// ULID of the event; also the order key of the outbox (ULIDs sort by creation time).
    pub id: String,
    /// NATS subject the event is published on.
    pub subject: String,
    /// The encoded CloudEvents envelope (structured-mode JSON).
    pub payload: Vec<u8>,
    /// Extra headers (e.g. `traceparent`) captured when the change was committed.
    pub headers: Vec<(String, String)>,
}

/// Where a relay reads pending entries from and acknowledges them to.
pub trait OutboxSource: Send + Sync + 'static {
    /// The error type of the underlying store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Up to `limit` pending entries, oldest first.
    fn pending(&self, limit: usize) -> Result<Vec<OutboxEntry>, Self::Error>;

    /// Remove an entry after its publish was acknowledged. Removing an absent entry is not an error.
    fn remove(&self, id: &str) -> Result<(), Self::Error>;
}
