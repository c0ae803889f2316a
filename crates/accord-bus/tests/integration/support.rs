//! Shared fixtures: a nats-server + connected bus per test, a test event, an in-memory outbox.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use accord_bus::{Bus, CloudEvent, ConnectOptions, StartAt, StoredMessage};
use accord_core::events::DomainEvent;
use accord_core::outbox::{OutboxEntry, OutboxSource};
use accord_testkit::NatsServer;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// Options with short delays so fault tests finish in seconds.
pub fn fast_options() -> ConnectOptions {
    ConnectOptions::default()
        .with_connect_timeout(Duration::from_secs(10))
        .with_max_reconnect_delay(Duration::from_millis(100))
        .with_request_timeout(Duration::from_secs(2))
}

pub struct Env {
    pub server: NatsServer,
    pub bus: Bus,
}

/// A fresh server, a connected bus, and the streams.
pub async fn env() -> Env {
    env_with(fast_options()).await
}

/// [`env`] with other connect options.
pub async fn env_with(options: ConnectOptions) -> Env {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect_with(&server.url(), "accord-bus-test", options)
        .await
        .unwrap();
    bus.ensure_streams().await.unwrap();
    Env { server, bus }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WidgetChanged {
    pub widget_id: String,
    pub n: u32,
}

impl DomainEvent for WidgetChanged {
    fn resource(&self) -> &'static str {
        "widget"
    }
    fn event(&self) -> &'static str {
        "changed"
    }
    fn resource_id(&self) -> String {
        self.widget_id.clone()
    }
}

pub fn event(n: u32) -> CloudEvent {
    CloudEvent::new(
        "/accord/test",
        accord_core::events::Scope::Platform,
        &WidgetChanged {
            widget_id: format!("w{n}"),
            n,
        },
    )
    .unwrap()
}

pub fn entry(n: u32) -> OutboxEntry {
    event(n).outbox_entry().unwrap()
}

/// A raw (possibly invalid) message on an event subject.
pub fn raw_entry(id: &str, payload: Vec<u8>) -> OutboxEntry {
    OutboxEntry {
        id: id.to_owned(),
        subject: accord_bus::subjects::event("prj-test", "widget", "changed", id).unwrap(),
        payload,
        headers: Vec::new(),
    }
}

/// The first `n` messages of `stream` (all subjects), read back in order.
pub async fn read_stream(bus: &Bus, stream: &str, filter: &str, n: usize) -> Vec<StoredMessage> {
    let messages = bus
        .stream_messages(stream, filter, StartAt::All)
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        messages.take(n).collect::<Vec<_>>(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(Result::unwrap)
    .collect()
}

/// An in-memory outbox ordered by id (ULIDs sort by creation time).
#[derive(Default)]
pub struct MemOutbox {
    entries: Mutex<BTreeMap<String, OutboxEntry>>,
}

impl MemOutbox {
    pub fn with(entries: impl IntoIterator<Item = OutboxEntry>) -> Self {
        let outbox = MemOutbox::default();
        for entry in entries {
            outbox.push(entry);
        }
        outbox
    }

    pub fn push(&self, entry: OutboxEntry) {
        self.entries.lock().unwrap().insert(entry.id.clone(), entry);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

impl OutboxSource for MemOutbox {
    type Error = std::io::Error;

    fn pending(&self, limit: usize) -> Result<Vec<OutboxEntry>, Self::Error> {
        Ok(self
            .entries
            .lock()
            .unwrap()
            .values()
            .take(limit)
            .cloned()
            .collect())
    }

    fn remove(&self, id: &str) -> Result<(), Self::Error> {
        self.entries.lock().unwrap().remove(id);
        Ok(())
    }
}
