//! The outbox relay: order, removal after PubAck, crash-safe republish.

use std::sync::Arc;

use accord_bus::{CancellationToken, EVENTS_STREAM, MSG_ID_HEADER, OutboxRelay, subjects};
use accord_testkit::assert_eventually_eq;
use tokio::sync::Notify;

use crate::support::{self, MemOutbox, env};

#[tokio::test]
async fn publishes_in_order_removes_and_survives_a_crash_before_remove() {
    let env = env().await;
    let entries: Vec<_> = (1..=3).map(support::entry).collect();
    let outbox = MemOutbox::with(entries.clone());

    assert_eq!(OutboxRelay::relay_once(&env.bus, &outbox).await.unwrap(), 3);
    assert_eq!(outbox.len(), 0, "published entries are removed");

    let stored = support::read_stream(&env.bus, EVENTS_STREAM, &subjects::events_all(), 3).await;
    let stored_ids: Vec<_> = stored
        .iter()
        .map(|m| m.header(MSG_ID_HEADER).unwrap())
        .collect();
    let entry_ids: Vec<_> = entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(stored_ids, entry_ids, "published in outbox order");

    // "Crash after publish, before remove": the same entries are pending again.
    for entry in &entries {
        outbox.push(entry.clone());
    }
    for entry in &entries {
        assert!(env.bus.publish_entry(entry).await.unwrap().duplicate);
    }
    assert_eq!(OutboxRelay::relay_once(&env.bus, &outbox).await.unwrap(), 3);
    assert_eq!(outbox.len(), 0);
    assert_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        3,
        "republished entries are de-duplicated"
    );
}

#[tokio::test]
async fn running_relay_publishes_on_notify_and_stops_on_shutdown() {
    let env = env().await;
    let outbox = Arc::new(MemOutbox::default());
    let notify = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(OutboxRelay::run(
        env.bus.clone(),
        Arc::clone(&outbox),
        Arc::clone(&notify),
        shutdown.clone(),
    ));

    for n in 1..=5 {
        outbox.push(support::entry(n));
        notify.notify_one();
    }
    assert_eventually_eq!(outbox.len(), 0);
    assert_eventually_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        5
    );

    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(5), relay)
        .await
        .expect("relay stops promptly on shutdown")
        .unwrap();
}

#[tokio::test]
async fn relay_keeps_entries_while_nats_is_down_and_delivers_after() {
    let mut env = env().await;
    let outbox = Arc::new(MemOutbox::default());
    let notify = Arc::new(Notify::new());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(OutboxRelay::run(
        env.bus.clone(),
        Arc::clone(&outbox),
        Arc::clone(&notify),
        shutdown.clone(),
    ));

    env.server.stop().await.unwrap();
    outbox.push(support::entry(1));
    outbox.push(support::entry(2));
    notify.notify_one();
    env.server.restart().await.unwrap();

    assert_eventually_eq!(outbox.len(), 0);
    assert_eventually_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        2
    );
    shutdown.cancel();
    relay.await.unwrap();
}
