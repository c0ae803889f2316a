//! The sandbox against a policy that misbehaves on request. Every test ends by checking that
//! the host (and the same plugin) keeps serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use accord_core::remediation::RemediationAction;
use accord_plugin_host::{PluginError, PluginState, PolicyPlugin};

use crate::support::{HOSTILE_POLICY, NOOP_ADDON, captured_logs, context, finding, host, wasm};

/// A normal decision still comes back from `policy`.
async fn still_serves(policy: &PolicyPlugin) {
    let decision = policy.decide(&finding("n-ok"), &context()).await.unwrap();
    assert_eq!(decision.action, RemediationAction::NotifyCustomer);
    assert_eq!(decision.reason, "hostile-policy: ok n-ok");
}

async fn misbehave(node: &str) -> (PolicyPlugin, PluginError) {
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let err = policy.decide(&finding(node), &context()).await.unwrap_err();
    (policy, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_times_out_and_the_host_keeps_serving() {
    let host = host();
    let looping = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let other = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let addon = host.load_addon(&wasm(NOOP_ADDON)).unwrap();

    let err = looping
        .decide(&finding("loop"), &context())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::Timeout {
            after: host.config().epoch_deadline
        },
        "the epoch deadline, not the outer timeout, must stop it"
    );
    assert_eq!(looping.failures(), 1);

    still_serves(&looping).await;
    assert_eq!(looping.failures(), 0, "a success resets the count");
    still_serves(&other).await;
    assert!(addon.validate_config("{}").await.unwrap().is_empty());
}

/// On a single-threaded runtime, a ticking task keeps running while a plugin spins on the
/// runtime's only worker: the call yields at every epoch tick.
#[tokio::test(flavor = "current_thread")]
async fn a_spinning_plugin_does_not_block_the_runtime() {
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks);
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let err = policy
        .decide(&finding("loop"), &context())
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    assert!(
        ticks.load(Ordering::Relaxed) > 0,
        "the runtime's only worker was blocked during the call"
    );
    ticker.abort();
    still_serves(&policy).await;
}

/// With a generous epoch deadline, so that a slow (loaded) machine cannot turn the memory
/// bomb into a timeout: this test is about memory only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_bomb_hits_the_memory_limit() {
    let config = crate::support::config().with_epoch_deadline(Duration::from_secs(2));
    let host = accord_plugin_host::PluginHost::new(config).unwrap();
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let err = policy
        .decide(&finding("alloc"), &context())
        .await
        .unwrap_err();
    assert_eq!(err, PluginError::MemoryLimit);
    still_serves(&policy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_is_a_stack_overflow() {
    let (policy, err) = misbehave("recurse").await;
    assert_eq!(err, PluginError::StackOverflow);
    still_serves(&policy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_trap() {
    let (policy, err) = misbehave("trap").await;
    assert!(
        matches!(&err, PluginError::Trap(msg) if msg.contains("unreachable")),
        "{err}"
    );
    still_serves(&policy).await;
}

/// A WASI timer would park the call where no epoch tick can reach it; the host refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleeping_is_refused_instead_of_blocking_a_host_thread() {
    let (policy, err) = misbehave("sleep").await;
    assert!(
        matches!(&err, PluginError::Trap(msg) if msg.contains("monotonic-clock.subscribe")),
        "{err}"
    );
    still_serves(&policy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filesystem_is_not_there() {
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let decision = policy.decide(&finding("file"), &context()).await.unwrap();
    assert_eq!(decision.action, RemediationAction::None, "{decision:?}");
    assert!(
        decision.reason.starts_with("open failed"),
        "{}",
        decision.reason
    );
    still_serves(&policy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_is_not_there() {
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let decision = policy.decide(&finding("socket"), &context()).await.unwrap();
    assert_eq!(decision.action, RemediationAction::None, "{decision:?}");
    assert!(
        decision.reason.starts_with("connect failed"),
        "{}",
        decision.reason
    );
    still_serves(&policy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_logs_reach_tracing_with_the_plugin_name_and_are_truncated() {
    let logs = captured_logs();
    let policy = host().load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let decision = policy.decide(&finding("log"), &context()).await.unwrap();
    assert_eq!(decision.reason, "hostile-policy: logged");

    let lines = logs.lines();
    let ours: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains("accord_plugin") && line.contains("plugin=\"hostile-policy\""))
        .collect();
    for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] {
        let says = format!("hostile-policy says {}", level.to_lowercase());
        assert!(
            ours.iter()
                .any(|line| line.contains(level) && line.contains(&says)),
            "no {level} line saying {says:?} in {ours:#?}"
        );
    }
    let long = ours
        .iter()
        .find(|line| line.contains("xxxx"))
        .expect("the oversized line is logged");
    assert!(long.contains("bytes cut"), "{long}");
    assert!(
        long.len() < 2 * accord_plugin_host::MAX_MESSAGE_BYTES,
        "{long}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_on_clones_all_succeed() {
    let host =
        accord_plugin_host::PluginHost::new(crate::support::config().with_max_concurrent_calls(4))
            .unwrap();
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let calls = (0..32).map(|i| {
        let policy = policy.clone();
        tokio::spawn(async move { policy.decide(&finding(&format!("n-{i}")), &context()).await })
    });
    for (i, call) in calls.enumerate() {
        let decision = call.await.unwrap().unwrap();
        assert_eq!(decision.reason, format!("hostile-policy: ok n-{i}"));
    }
    assert_eq!(policy.state(), PluginState::Active);
}

/// The outer timeout is the backstop for what the epoch cannot stop in time: with the epoch
/// deadline set far beyond it, the caller still gets its answer at `call_timeout`, and the
/// host keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outer_timeout_answers_when_the_epoch_deadline_is_further_away() {
    let config = crate::support::config()
        .with_epoch_deadline(Duration::from_secs(1))
        .with_call_timeout(Duration::from_millis(200));
    let host = accord_plugin_host::PluginHost::new(config).unwrap();
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let err = policy
        .decide(&finding("loop"), &context())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PluginError::Timeout {
            after: Duration::from_millis(200)
        }
    );
    still_serves(&policy).await;
}

/// A call that times out is cancelled, not left running: with a single call slot and the
/// epoch deadline far away, the next call gets the slot at once instead of waiting for the
/// runaway wasm to reach its epoch deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_cancelled_and_frees_its_slot() {
    let config = crate::support::config()
        .with_epoch_deadline(Duration::from_secs(30))
        .with_call_timeout(Duration::from_millis(200))
        .with_max_concurrent_calls(1);
    let host = accord_plugin_host::PluginHost::new(config).unwrap();
    let policy = host.load_policy(&wasm(HOSTILE_POLICY)).unwrap();
    let err = policy
        .decide(&finding("loop"), &context())
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err}");
    // Were the loop still running, this would wait for the slot and fail with `Engine`.
    still_serves(&policy).await;

    // Dropping the caller's future cancels the call the same way.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        policy.decide(&finding("loop"), &context()),
    )
    .await;
    assert!(abandoned.is_err(), "the loop cannot have finished");
    still_serves(&policy).await;
}
