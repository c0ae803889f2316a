//! Quarantine after consecutive failures.

use accord_plugin_host::{PluginError, PluginState};

use crate::support::{HOSTILE_POLICY, context, finding, host, wasm};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_failures_quarantine_the_plugin() {
    let host = host();
    let threshold = host.config().quarantine_after;
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();

    // Failures of different kinds count alike; a success in between resets the count.
    for node in ["trap", "alloc"] {
        policy.decide(&finding(node), &context()).await.unwrap_err();
    }
    assert_eq!(policy.failures(), 2);
    policy.decide(&finding("n-1"), &context()).await.unwrap();
    assert_eq!(policy.failures(), 0);

    for n in 1..=threshold {
        let err = policy
            .decide(&finding("trap"), &context())
            .await
            .unwrap_err();
        assert!(matches!(err, PluginError::Trap(_)), "{err}");
        assert_eq!(policy.failures(), n);
    }
    let PluginState::Quarantined { reason } = policy.state() else {
        panic!("expected quarantine, got {:?}", policy.state());
    };
    assert!(reason.contains("consecutive"), "{reason}");

    // Even a call that would succeed now fails fast, on every clone.
    let clone = policy.clone();
    let err = clone.decide(&finding("n-2"), &context()).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::Quarantined { name, .. } if name == "hostile-policy"),
        "{err}"
    );

    // Loading the component again gives a fresh plugin.
    let fresh = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    assert_eq!(fresh.state(), PluginState::Active);
    fresh.decide(&finding("n-3"), &context()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_count_towards_quarantine() {
    let host =
        accord_plugin_host::PluginHost::new(crate::support::config().with_quarantine_after(2))
            .unwrap();
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    for _ in 0..2 {
        let err = policy
            .decide(&finding("loop"), &context())
            .await
            .unwrap_err();
        assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    }
    assert!(matches!(policy.state(), PluginState::Quarantined { .. }));
}
