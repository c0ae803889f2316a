//! `accord up` never mistakes another NATS server for its own: a server it started is named
//! after its deployment; another Accord deployment's server is refused, a server Accord did not
//! start is used and reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_platform::Platform;
use accord_testkit::NatsServer;

use crate::support::free_url;

#[tokio::test]
async fn a_server_accord_did_not_start_is_used_and_reported() {
    let foreign = NatsServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let running = Platform::new(foreign.url())
        .start_nats_in(dir.path().join("nats"))
        .start()
        .await
        .unwrap();
    assert!(!running.nats_started);
    assert!(
        running.nats_foreign.is_some(),
        "a server this deployment did not start must be reported"
    );
}

#[tokio::test]
async fn another_deployments_server_is_refused_and_our_own_is_reused() {
    let url = free_url();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = Platform::new(&url)
        .start_nats_in(a.path().join("nats"))
        .start()
        .await
        .unwrap();
    assert!(first.nats_started);

    let err = Platform::new(&url)
        .start_nats_in(b.path().join("nats"))
        .start()
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("another Accord deployment"), "{msg}");

    let again = Platform::new(&url)
        .start_nats_in(a.path().join("nats"))
        .start()
        .await
        .unwrap();
    assert!(!again.nats_started);
    assert_eq!(again.nats_foreign, None, "our own server is not foreign");
    drop(again);
    first.shutdown.cancel();
    first.join(std::time::Duration::from_secs(5)).await.unwrap();
}
