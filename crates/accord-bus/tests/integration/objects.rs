//! The plugin bucket against a real nats-server: put/get/list, watch, overwrite.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use accord_bus::objects::check_object_name;
use accord_bus::{Bus, ConnectOptions, PluginMeta};
use accord_testkit::NatsServer;
use futures::StreamExt;

async fn bus(server: &NatsServer) -> Bus {
    let options = ConnectOptions::default()
        .with_connect_timeout(Duration::from_secs(10))
        .with_request_timeout(Duration::from_secs(5));
    Bus::connect_with(&server.url(), "accord-bus-objects-test", options)
        .await
        .unwrap()
}

fn meta(version: &str, digest: &str) -> PluginMeta {
    PluginMeta {
        kind: "remediation-policy".to_owned(),
        version: version.to_owned(),
        digest: digest.to_owned(),
    }
}

#[tokio::test]
async fn put_get_list_and_missing() {
    let server = NatsServer::start().await.unwrap();
    let bus = bus(&server).await;
    // Readers that must not create the bucket see none yet.
    assert!(bus.existing_plugin_store().await.unwrap().is_none());
    let store = bus.plugin_store().await.unwrap();
    assert!(bus.existing_plugin_store().await.unwrap().is_some());
    // Get-or-create: a second handle finds the same bucket.
    let again = bus.plugin_store().await.unwrap();

    assert_eq!(store.get("policy.none").await.unwrap(), None);
    assert_eq!(store.info("policy.none").await.unwrap(), None);
    assert!(store.list().await.unwrap().is_empty());

    // Larger than one 128 KiB chunk.
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let put = store
        .put("policy.gpu-remediation", big.clone(), &meta("1.0.0", "aa"))
        .await
        .unwrap();
    assert_eq!(put.name, "policy.gpu-remediation");
    assert_eq!(put.size, big.len());
    assert_eq!(put.kind(), Some("remediation-policy"));
    assert_eq!(put.version(), Some("1.0.0"));
    assert_eq!(put.digest(), Some("aa"));
    store
        .put("addon.cilium", b"addon".to_vec(), &meta("0.1.0", "bb"))
        .await
        .unwrap();

    assert_eq!(
        again.get("policy.gpu-remediation").await.unwrap(),
        Some(big)
    );
    let listed = again.list().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["addon.cilium", "policy.gpu-remediation"]);
    assert_eq!(listed[1].digest(), Some("aa"));
    assert!(listed[1].modified.is_some());
    assert!(listed[1].nats_digest.is_some());

    store.delete("addon.cilium").await.unwrap();
    assert_eq!(store.get("addon.cilium").await.unwrap(), None);
    assert_eq!(store.list().await.unwrap().len(), 1);

    assert!(
        store
            .put("bad name", vec![1], &meta("1", "x"))
            .await
            .is_err()
    );
    assert!(check_object_name(".hidden").is_err());
}

#[tokio::test]
async fn overwrite_replaces_and_emits_a_change() {
    let server = NatsServer::start().await.unwrap();
    let bus = bus(&server).await;
    let store = bus.plugin_store().await.unwrap();
    let mut changes = store.watch().await.unwrap();

    store
        .put("policy.p", b"one".to_vec(), &meta("1", "d1"))
        .await
        .unwrap();
    store
        .put("policy.p", b"two".to_vec(), &meta("2", "d2"))
        .await
        .unwrap();
    store.delete("policy.p").await.unwrap();

    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(10), changes.next())
            .await
            .expect("a change within 10 s")
            .expect("the watch is open")
            .unwrap()
    };
    let first = next().await;
    assert_eq!(
        (first.name.as_str(), first.deleted, first.digest.as_deref()),
        ("policy.p", false, Some("d1"))
    );
    let second = next().await;
    assert_eq!(
        (
            second.name.as_str(),
            second.deleted,
            second.digest.as_deref()
        ),
        ("policy.p", false, Some("d2"))
    );
    let third = next().await;
    assert_eq!((third.name.as_str(), third.deleted), ("policy.p", true));
}

#[tokio::test]
async fn overwrite_is_seen_by_get_and_list() {
    let server = NatsServer::start().await.unwrap();
    let bus = bus(&server).await;
    let store = bus.plugin_store().await.unwrap();
    store
        .put("addon.x", b"one".to_vec(), &meta("1", "d1"))
        .await
        .unwrap();
    store
        .put("addon.x", b"second".to_vec(), &meta("2", "d2"))
        .await
        .unwrap();
    assert_eq!(
        store.get("addon.x").await.unwrap().as_deref(),
        Some(&b"second"[..])
    );
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].version(), Some("2"));
    assert_eq!(listed[0].size, 6);
}
