//! The bus's typed error, and the mapping from async-nats errors into it.
//!
//! Callers care about one distinction above all: is NATS (temporarily) unreachable — the gRPC
//! layer answers `UNAVAILABLE` and the caller retries — or is the request itself wrong? That is
//! [`BusError::is_unavailable`]. async-nats error types never escape this crate.

use std::time::Duration;

/// Any boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from the bus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A value cannot be used as a subject token (empty, `.`, `*`, `>`, whitespace, …).
    #[error("invalid subject token {token:?}: {reason}")]
    InvalidSubjectToken {
        /// The rejected token.
        token: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The initial connection could not be established before the deadline.
    #[error("connect to nats at {url}")]
    Connect {
        /// The server URL.
        url: String,
        /// The last connection error.
        #[source]
        source: BoxError,
    },

    /// The server refused the connection's credentials (wrong, revoked or missing).
    #[error("nats at {url} refused the connection's credentials")]
    NotAuthorized {
        /// The server URL.
        url: String,
    },

    /// NATS cannot be reached right now (disconnected, broken pipe, JetStream unavailable).
    #[error("nats is unavailable during {operation}")]
    Unavailable {
        /// What was attempted.
        operation: &'static str,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// No answer in time (PubAck, request reply, JetStream API call).
    #[error("{operation} timed out after {timeout:?}")]
    Timeout {
        /// What was attempted.
        operation: &'static str,
        /// The limit that passed.
        timeout: Duration,
    },

    /// A request found nobody listening on its subject.
    #[error("no responders on {subject}")]
    NoResponders {
        /// The request subject.
        subject: String,
    },

    /// A JetStream publish found no stream for its subject (streams not ensured, or JetStream
    /// still recovering after a restart).
    #[error("no stream stores subject {subject}")]
    StreamNotFound {
        /// The publish subject.
        subject: String,
    },

    /// A payload is larger than allowed.
    #[error("payload of {size} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// Size of the payload (plus headers where known).
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// Bytes that are not a valid Accord CloudEvent.
    #[error("invalid cloudevent: {0}")]
    InvalidEvent(String),

    /// An event's data could not be (de)serialized.
    #[error("event data {0}")]
    Data(#[source] serde_json::Error),

    /// A JetStream API call failed for another reason.
    #[error("jetstream {operation} failed")]
    JetStream {
        /// What was attempted.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A core NATS operation failed for another reason.
    #[error("nats {operation} failed")]
    Nats {
        /// What was attempted.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The outbox store failed (read pending entries or remove one).
    #[error("outbox store {operation} failed")]
    Outbox {
        /// What was attempted.
        operation: &'static str,
        /// The store's error.
        #[source]
        source: BoxError,
    },

    /// An argument outside what the bus accepts (e.g. an empty durable name).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl BusError {
    /// True when the failure means "NATS is not reachable or not answering right now": the gRPC
    /// layer maps it to `UNAVAILABLE`, and retrying later (with the same message id) is correct.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            BusError::Connect { .. }
                | BusError::Unavailable { .. }
                | BusError::Timeout { .. }
                | BusError::NoResponders { .. }
                | BusError::StreamNotFound { .. }
        )
    }

    pub(crate) fn unavailable(operation: &'static str, source: impl Into<BoxError>) -> Self {
        BusError::Unavailable {
            operation,
            source: Some(source.into()),
        }
    }

    pub(crate) fn jetstream(operation: &'static str, source: impl Into<BoxError>) -> Self {
        BusError::JetStream {
            operation,
            source: source.into(),
        }
    }

    pub(crate) fn nats(operation: &'static str, source: impl Into<BoxError>) -> Self {
        BusError::Nats {
            operation,
            source: source.into(),
        }
    }

    /// Maps a JetStream API error whose kind says "timed out" or "JetStream unavailable" to the
    /// retryable variants, anything else to [`BusError::JetStream`].
    pub(crate) fn from_api<K>(
        operation: &'static str,
        timeout: Duration,
        error: async_nats::error::Error<K>,
    ) -> Self
    where
        K: ApiErrorKind + Clone + std::fmt::Debug + std::fmt::Display + PartialEq,
        K: Send + Sync + 'static,
    {
        match error.kind().class() {
            ApiErrorClass::TimedOut => BusError::Timeout { operation, timeout },
            ApiErrorClass::Unavailable => BusError::unavailable(operation, error),
            ApiErrorClass::Other => BusError::jetstream(operation, error),
        }
    }
}

/// The renderable error chain (`outer: inner: innermost`), for log fields.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// How the bus treats one async-nats error kind.
pub(crate) enum ApiErrorClass {
    TimedOut,
    Unavailable,
    Other,
}

/// Classifies the error kinds of the async-nats JetStream API calls the bus makes.
pub(crate) trait ApiErrorKind {
    fn class(&self) -> ApiErrorClass;
}

impl ApiErrorKind for async_nats::jetstream::context::CreateStreamErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::context::CreateStreamErrorKind as K;
        match self {
            K::TimedOut => ApiErrorClass::TimedOut,
            K::JetStreamUnavailable => ApiErrorClass::Unavailable,
            _ => ApiErrorClass::Other,
        }
    }
}

impl ApiErrorKind for async_nats::jetstream::stream::ConsumerErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::stream::ConsumerErrorKind as K;
        match self {
            K::TimedOut => ApiErrorClass::TimedOut,
            K::Request => ApiErrorClass::Unavailable,
            _ => ApiErrorClass::Other,
        }
    }
}

impl ApiErrorKind for async_nats::jetstream::context::GetStreamErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::context::GetStreamErrorKind as K;
        match self {
            K::Request => ApiErrorClass::Unavailable,
            _ => ApiErrorClass::Other,
        }
    }
}

impl ApiErrorKind for async_nats::jetstream::context::RequestErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::context::RequestErrorKind as K;
        match self {
            K::TimedOut => ApiErrorClass::TimedOut,
            K::NoResponders => ApiErrorClass::Unavailable,
            _ => ApiErrorClass::Other,
        }
    }
}

impl ApiErrorKind for async_nats::jetstream::consumer::StreamErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::consumer::StreamErrorKind as K;
        match self {
            K::TimedOut => ApiErrorClass::TimedOut,
            K::Other => ApiErrorClass::Other,
        }
    }
}

impl ApiErrorKind for async_nats::jetstream::stream::DirectGetErrorKind {
    fn class(&self) -> ApiErrorClass {
        use async_nats::jetstream::stream::DirectGetErrorKind as K;
        match self {
            K::TimedOut => ApiErrorClass::TimedOut,
            K::Request => ApiErrorClass::Unavailable,
            _ => ApiErrorClass::Other,
        }
    }
}

/// Maps a JetStream publish error. `subject` and `timeout` only enrich the message.
pub(crate) fn from_publish(
    subject: &str,
    timeout: Duration,
    error: async_nats::jetstream::context::PublishError,
) -> BusError {
    use async_nats::jetstream::context::PublishErrorKind as K;
    match error.kind() {
        K::TimedOut => BusError::Timeout {
            operation: "publish (awaiting PubAck)",
            timeout,
        },
        K::BrokenPipe | K::MaxAckPending => BusError::unavailable("publish", error),
        K::StreamNotFound => BusError::StreamNotFound {
            subject: subject.to_owned(),
        },
        _ => BusError::jetstream("publish", error),
    }
}

/// Maps a core request error.
pub(crate) fn from_request(
    subject: &str,
    timeout: Duration,
    error: async_nats::RequestError,
) -> BusError {
    use async_nats::RequestErrorKind as K;
    match error.kind() {
        K::TimedOut => BusError::Timeout {
            operation: "request",
            timeout,
        },
        K::NoResponders => BusError::NoResponders {
            subject: subject.to_owned(),
        },
        _ => BusError::nats("request", error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_classification() {
        let unavailable = [
            BusError::Unavailable {
                operation: "x",
                source: None,
            },
            BusError::Timeout {
                operation: "x",
                timeout: Duration::from_secs(1),
            },
            BusError::NoResponders {
                subject: "s".into(),
            },
            BusError::StreamNotFound {
                subject: "s".into(),
            },
        ];
        assert!(unavailable.iter().all(BusError::is_unavailable));
        let not = [
            BusError::InvalidSubjectToken {
                token: "a.b".into(),
                reason: "contains '.'",
            },
            BusError::InvalidEvent("x".into()),
            BusError::PayloadTooLarge { size: 2, limit: 1 },
        ];
        assert!(!not.iter().any(BusError::is_unavailable));
    }

    #[test]
    fn chain_renders_sources() {
        let error = BusError::nats("flush", std::io::Error::other("socket closed"));
        assert_eq!(chain(&error), "nats flush failed: socket closed");
    }
}
