//! Core NATS: telemetry publish/subscribe and request/reply commands.

use std::time::Duration;

use accord_bus::{BusError, subjects};
use bytes::Bytes;
use futures::StreamExt;

use crate::support::env;

#[tokio::test]
async fn telemetry_publish_subscribe() {
    let env = env().await;
    let mut samples = env
        .bus
        .subscribe_core(&subjects::telemetry_of("c1").unwrap())
        .await
        .unwrap();
    for node in ["n1", "n2"] {
        env.bus
            .publish_core(&subjects::telemetry("c1", node).unwrap(), Bytes::from(node))
            .await
            .unwrap();
    }
    // Another cluster's telemetry is not ours.
    env.bus
        .publish_core(&subjects::telemetry("c2", "n9").unwrap(), Bytes::from("x"))
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(Duration::from_secs(5), samples.next())
            .await
            .unwrap()
            .unwrap();
        got.push((message.subject, message.payload));
    }
    assert_eq!(
        got,
        vec![
            ("accord.tel.c1.n1".to_owned(), Bytes::from("n1")),
            ("accord.tel.c1.n2".to_owned(), Bytes::from("n2")),
        ]
    );
}

#[tokio::test]
async fn request_reply_with_a_queue_group() {
    let env = env().await;
    let subject = subjects::command("provisioner", "node", "reboot").unwrap();

    let error = env
        .bus
        .request(&subject, Bytes::from("n1"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(error, BusError::NoResponders { .. }), "{error:?}");
    assert!(error.is_unavailable());

    let server = env
        .bus
        .serve(&subject, "provisioner", |payload: Bytes| async move {
            let mut reply = b"rebooting ".to_vec();
            reply.extend_from_slice(&payload);
            Bytes::from(reply)
        })
        .await
        .unwrap();
    let reply = env
        .bus
        .request(&subject, Bytes::from("n1"), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(reply, Bytes::from("rebooting n1"));

    // Many concurrent requests are all answered.
    let replies = futures::future::join_all((0..50).map(|i| {
        let bus = env.bus.clone();
        let subject = subject.clone();
        async move {
            bus.request(
                &subject,
                Bytes::from(format!("n{i}")),
                Duration::from_secs(5),
            )
            .await
            .unwrap()
        }
    }))
    .await;
    assert_eq!(replies.len(), 50);
    assert_eq!(replies[49], Bytes::from("rebooting n49"));

    server.stop().await;
    let error = env
        .bus
        .request(&subject, Bytes::from("n1"), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(error, BusError::NoResponders { .. }), "{error:?}");
}

#[tokio::test]
async fn request_timeout_is_reported() {
    let env = env().await;
    let subject = subjects::command("slow", "thing", "do").unwrap();
    let _server = env
        .bus
        .serve(&subject, "slow", |_payload: Bytes| async {
            std::future::pending::<()>().await;
            Bytes::new()
        })
        .await
        .unwrap();
    let error = env
        .bus
        .request(&subject, Bytes::new(), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(error, BusError::Timeout { .. }), "{error:?}");
}
