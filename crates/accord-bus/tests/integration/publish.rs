//! JetStream publish with `Nats-Msg-Id` de-duplication.

use accord_bus::{Bus, BusError, CloudEvent, EVENTS_STREAM, MSG_ID_HEADER, subjects};

use crate::support::{self, env};

#[tokio::test]
async fn same_entry_twice_is_stored_once() {
    let env = env().await;
    let entry = support::entry(1);

    let first = env.bus.publish_entry(&entry).await.unwrap();
    assert!(!first.duplicate);
    assert_eq!(first.stream, EVENTS_STREAM);
    let second = env.bus.publish_entry(&entry).await.unwrap();
    assert!(
        second.duplicate,
        "second publish must be reported as duplicate"
    );
    assert_eq!(second.sequence, first.sequence);

    assert_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        1
    );

    let stored = support::read_stream(&env.bus, EVENTS_STREAM, &subjects::events_all(), 1).await;
    assert_eq!(stored[0].subject, entry.subject);
    assert_eq!(stored[0].header(MSG_ID_HEADER), Some(entry.id.as_str()));
    assert_eq!(stored[0].payload.as_ref(), entry.payload.as_slice());
    let event = CloudEvent::from_json_bytes(&stored[0].payload).unwrap();
    assert_eq!(event.id, entry.id);
}

#[tokio::test]
async fn publish_without_a_stream_is_unavailable_not_a_hang() {
    let server = accord_testkit::NatsServer::start().await.unwrap();
    let bus = Bus::connect_with(&server.url(), "no-streams", support::fast_options())
        .await
        .unwrap();
    // No ensure_streams: nobody stores accord.evt.>.
    let error = bus.publish_entry(&support::entry(1)).await.unwrap_err();
    assert!(
        matches!(error, BusError::StreamNotFound { .. }),
        "unexpected error: {error:?}"
    );
    assert!(error.is_unavailable());
}

#[tokio::test]
async fn ensure_streams_is_idempotent() {
    let env = env().await;
    env.bus.ensure_streams().await.unwrap();
    env.bus.ensure_streams().await.unwrap();
    assert_eq!(
        env.bus.stream_state(EVENTS_STREAM).await.unwrap().messages,
        0
    );
    assert_eq!(
        env.bus
            .stream_state(accord_bus::DLQ_STREAM)
            .await
            .unwrap()
            .messages,
        0
    );
}

#[tokio::test]
async fn connect_accepts_a_server_list_and_rejects_garbage() {
    let server = accord_testkit::NatsServer::start().await.unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let urls = format!("nats://127.0.0.1:{dead}, {}", server.url());
    let bus = Bus::connect_with(&urls, "list", support::fast_options())
        .await
        .unwrap();
    assert!(bus.is_connected());

    for bad in ["", " , ", "nats://host:notaport"] {
        let error = Bus::connect_with(bad, "bad", support::fast_options())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                BusError::InvalidArgument(_) | BusError::Connect { .. }
            ),
            "{bad:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn connect_gives_up_after_its_deadline() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let error = Bus::connect_with(
        &format!("nats://127.0.0.1:{port}"),
        "nobody-home",
        support::fast_options().with_connect_timeout(std::time::Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, BusError::Connect { .. }), "{error:?}");
    assert!(error.is_unavailable());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}
