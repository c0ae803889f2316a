//! NATS restarts: connection state, publish retry with the same id, file storage survives,
//! durable consumers resume.

use std::time::Duration;

use accord_bus::{CancellationToken, CloudEvent, ConsumerSpec, EVENTS_STREAM, subjects};
use accord_testkit::{assert_eventually, assert_eventually_eq};

use crate::support::{self, env_with, fast_options};

#[tokio::test]
async fn restart_and_kill9_lose_nothing_and_the_bus_recovers() {
    // A short PubAck timeout: the publish attempted while NATS is down fails fast.
    let mut env = env_with(fast_options().with_request_timeout(Duration::from_millis(500))).await;
    let connected = env.bus.connected();
    assert!(*connected.borrow());
    assert!(env.bus.is_connected());

    let before: Vec<_> = (1..=2).map(support::entry).collect();
    for entry in &before {
        env.bus.publish_entry(entry).await.unwrap();
    }

    // A consumer running across the restarts.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn({
        let bus = env.bus.clone();
        let seen = seen.clone();
        let shutdown = shutdown.clone();
        async move {
            let spec = ConsumerSpec::new("restart-svc", vec![subjects::events_all()])
                .with_ack_wait(Duration::from_secs(2));
            bus.consume(
                spec,
                move |event: CloudEvent| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().push(event.id);
                        Ok(())
                    }
                },
                shutdown,
            )
            .await
        }
    });
    assert_eventually_eq!(seen.lock().unwrap().len(), 2);

    // Graceful stop: the bus notices at once.
    env.server.stop().await.unwrap();
    assert_eventually!(!*connected.borrow());
    let during = support::entry(3);
    let error = env.bus.publish_entry(&during).await.unwrap_err();
    assert!(
        error.is_unavailable(),
        "publishing while NATS is down: {error:?}"
    );

    env.server.restart().await.unwrap();
    assert_eventually!(*connected.borrow());
    // The caller retries with the same entry: stored once, whatever happened while down.
    assert_eventually!(env.bus.publish_entry(&during).await.is_ok());
    assert_eventually_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        3
    );
    let stored = support::read_stream(&env.bus, EVENTS_STREAM, &subjects::events_all(), 3).await;
    let ids: Vec<_> = stored
        .iter()
        .map(|m| m.header(accord_bus::MSG_ID_HEADER).unwrap().to_owned())
        .collect();
    assert_eq!(ids[..2], [before[0].id.clone(), before[1].id.clone()]);
    let distinct = |seen: &[String]| seen.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eventually_eq!(distinct(&seen.lock().unwrap()), 3, "the consumer resumed");

    // SIGKILL: file storage (fsync on every write) still has everything.
    env.server.kill9().await.unwrap();
    assert_eventually!(!*connected.borrow());
    env.server.restart().await.unwrap();
    assert_eventually!(*connected.borrow());
    assert_eventually_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        3
    );
    let after = support::entry(4);
    assert_eventually!(env.bus.publish_entry(&after).await.is_ok());
    // At least once: an ack cut by the SIGKILL may bring a message back (the consumer is
    // idempotent by event id), so what counts is that every event arrived, the new one too.
    assert_eventually_eq!(distinct(&seen.lock().unwrap()), 4);
    assert!(seen.lock().unwrap().contains(&after.id));

    shutdown.cancel();
    consumer.await.unwrap().unwrap();
}
