//! Message types callers see instead of async-nats'.
//!
//! [`BusMessage`] is a core NATS message (subscription item, request reply); [`StoredMessage`]
//! is a message read back from a JetStream stream, with its stream sequence. Headers are plain
//! `(name, value)` pairs sorted by name.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;

use crate::trace;

/// A core NATS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    /// The subject it was published on.
    pub subject: String,
    /// Where to reply, for requests.
    pub reply: Option<String>,
    /// The payload.
    pub payload: Bytes,
    /// Headers, sorted by name.
    pub headers: Vec<(String, String)>,
}

impl BusMessage {
    pub(crate) fn from_nats(message: async_nats::Message) -> Self {
        BusMessage {
            headers: trace::header_pairs(message.headers.as_ref()),
            subject: message.subject.to_string(),
            reply: message.reply.map(|reply| reply.to_string()),
            payload: message.payload,
        }
    }

    /// The last value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// A message stored in a JetStream stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// The stream it is stored in.
    pub stream: String,
    /// Its sequence in that stream.
    pub sequence: u64,
    /// The subject it was published on.
    pub subject: String,
    /// The payload.
    pub payload: Bytes,
    /// Headers, sorted by name.
    pub headers: Vec<(String, String)>,
}

impl StoredMessage {
    /// The last value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// A core NATS subscription: a stream of [`BusMessage`]s. Unsubscribes when dropped; the stream
/// ends when the connection is closed for good.
#[derive(Debug)]
pub struct Subscription {
    subscriber: async_nats::Subscriber,
}

impl Subscription {
    pub(crate) fn new(subscriber: async_nats::Subscriber) -> Self {
        Subscription { subscriber }
    }
}

impl Stream for Subscription {
    type Item = BusMessage;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.subscriber)
            .poll_next(cx)
            .map(|message| message.map(BusMessage::from_nats))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lookup_is_case_insensitive_and_takes_the_last_value() {
        let message = BusMessage {
            subject: "s".into(),
            reply: None,
            payload: Bytes::new(),
            headers: vec![
                ("A".into(), "1".into()),
                ("a".into(), "2".into()),
                ("b".into(), "3".into()),
            ],
        };
        assert_eq!(message.header("a"), Some("2"));
        assert_eq!(message.header("B"), Some("3"));
        assert_eq!(message.header("c"), None);
    }
}
