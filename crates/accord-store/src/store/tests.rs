//! Behaviour of [`Store`] against a real sled database: CAS, atomicity, outbox order and
//! signalling, durability across reopen, decode errors.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use accord_core::outbox::{OutboxEntry, OutboxSource};
use serde::{Deserialize, Serialize};

use super::*;
use crate::{Expect, OUTBOX_TREE};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cluster {
    name: String,
    replicas: u32,
}

fn cluster(name: &str, replicas: u32) -> Cluster {
    Cluster {
        name: name.to_owned(),
        replicas,
    }
}

fn event(id: &str) -> OutboxEntry {
    OutboxEntry {
        id: id.to_owned(),
        subject: format!("accord.evt.cluster.created.{id}"),
        payload: format!(r#"{{"id":"{id}"}}"#).into_bytes(),
        headers: vec![("traceparent".to_owned(), "00-1-2-01".to_owned())],
    }
}

fn pending_ids(store: &Store) -> Vec<String> {
    store
        .pending(100)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect()
}

/// True if the future is ready on its first poll (a stored `notify_one` permit is).
fn ready_now<F: Future>(f: F) -> bool {
    let mut f = pin!(f);
    matches!(
        f.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(_)
    )
}

#[tokio::test]
async fn put_get_and_versions_increment() {
    let store = Store::temporary().unwrap();
    assert!(store.get::<Cluster>("clusters", "c1").unwrap().is_none());

    let done = store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("a", 3), Expect::Absent)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.versions, vec![("clusters".into(), "c1".into(), 1)]);
    assert_eq!(done.version_of("clusters", "c1"), Some(1));

    let got = store.get::<Cluster>("clusters", "c1").unwrap().unwrap();
    assert_eq!(
        got,
        Versioned {
            version: 1,
            value: cluster("a", 3)
        }
    );

    let done = store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("a", 5), Expect::Version(1))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.version_of("clusters", "c1"), Some(2));
    let done = store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("a", 6), Expect::Any)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.version_of("clusters", "c1"), Some(3));
    let got = store.get::<Cluster>("clusters", "c1").unwrap().unwrap();
    assert_eq!((got.version, got.value.replicas), (3, 6));

    let done = store
        .commit(Commit::new().delete("clusters", "c1", Expect::Version(3)))
        .await
        .unwrap();
    assert_eq!(done.version_of("clusters", "c1"), Some(0));
    assert!(store.get::<Cluster>("clusters", "c1").unwrap().is_none());

    // Re-creating a deleted key starts over at version 1.
    let done = store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("b", 1), Expect::Absent)
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.version_of("clusters", "c1"), Some(1));
}

#[tokio::test]
async fn list_filters_by_prefix_in_key_order_and_pages() {
    let store = Store::temporary().unwrap();
    let mut c = Commit::new();
    for key in ["p2/c2", "p1/c3", "p1/c1", "p10/c1", "p1/c2", "q/c1"] {
        c.push_put("clusters", key, &cluster(key, 1), Expect::Absent)
            .unwrap();
    }
    c.push_put("nodepools", "p1/np1", &cluster("np", 1), Expect::Absent)
        .unwrap();
    store.commit(c).await.unwrap();

    let keys = |v: Vec<(String, Versioned<Cluster>)>| -> Vec<String> {
        v.into_iter().map(|(k, _)| k).collect()
    };
    assert_eq!(
        keys(store.list("clusters", "p1/").unwrap()),
        ["p1/c1", "p1/c2", "p1/c3"]
    );
    assert_eq!(
        keys(store.list("clusters", "p1").unwrap()),
        ["p1/c1", "p1/c2", "p1/c3", "p10/c1"]
    );
    assert_eq!(keys(store.list("clusters", "").unwrap()).len(), 6);
    assert!(store.list::<Cluster>("clusters", "zzz").unwrap().is_empty());
    assert!(store.list::<Cluster>("empty-tree", "").unwrap().is_empty());
    let all = store.list::<Cluster>("clusters", "p1/").unwrap();
    assert!(
        all.iter()
            .all(|(k, v)| v.version == 1 && v.value.name == *k)
    );

    assert_eq!(
        keys(store.list_page("clusters", "p1/", None, 2).unwrap()),
        ["p1/c1", "p1/c2"]
    );
    assert_eq!(
        keys(
            store
                .list_page("clusters", "p1/", Some("p1/c2"), 2)
                .unwrap()
        ),
        ["p1/c3"]
    );
    // A cursor before the prefix starts at the prefix; one after it yields nothing.
    assert_eq!(
        keys(store.list_page("clusters", "p1/", Some("a"), 10).unwrap()).len(),
        3
    );
    assert!(
        store
            .list_page::<Cluster>("clusters", "p1/", Some("p2"), 10)
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn failed_expectations_conflict_and_change_nothing() {
    let store = Store::temporary().unwrap();
    store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("a", 1), Expect::Absent)
                .unwrap()
                .put("nodepools", "np1", &cluster("np", 1), Expect::Absent)
                .unwrap()
                .event(event("01A")),
        )
        .await
        .unwrap();
    store.remove("01A").unwrap();

    let snapshot = |store: &Store| {
        (
            store.list::<Cluster>("clusters", "").unwrap(),
            store.list::<Cluster>("nodepools", "").unwrap(),
            store.list::<Cluster>("other", "").unwrap(),
            store.outbox_len().unwrap(),
        )
    };
    let before = snapshot(&store);

    // Each failing commit also carries writes that would succeed on their own, in several trees,
    // before and after the failing op, plus an outbox event.
    let cases: Vec<(Commit, &str, &str)> = vec![
        (
            Commit::new()
                .put("clusters", "c1", &cluster("x", 9), Expect::Version(2))
                .unwrap(),
            "version 2",
            "version 1",
        ),
        (
            Commit::new()
                .put("clusters", "c1", &cluster("x", 9), Expect::Absent)
                .unwrap(),
            "absent",
            "version 1",
        ),
        (
            Commit::new()
                .put("clusters", "c2", &cluster("x", 9), Expect::Present)
                .unwrap(),
            "present",
            "absent",
        ),
        (
            Commit::new()
                .put("clusters", "c2", &cluster("x", 9), Expect::Version(1))
                .unwrap(),
            "version 1",
            "absent",
        ),
        (
            Commit::new().delete("clusters", "c2", Expect::Present),
            "present",
            "absent",
        ),
        (
            Commit::new().delete("clusters", "c1", Expect::Version(7)),
            "version 7",
            "version 1",
        ),
    ];
    for (n, (failing, want_expected, want_actual)) in cases.into_iter().enumerate() {
        let mut c = Commit::new()
            .put("other", "k", &cluster("new", 1), Expect::Absent)
            .unwrap()
            .put("nodepools", "np1", &cluster("np", 2), Expect::Version(1))
            .unwrap();
        c.ops.extend(failing.ops);
        c.push_put("other", "k2", &cluster("later", 1), Expect::Any)
            .unwrap();
        c.push_event(event(&format!("01B{n}")));

        let err = store.commit(c).await.unwrap_err();
        assert!(err.is_conflict(), "case {n}: {err}");
        let StoreError::Conflict {
            tree,
            key,
            expected,
            actual,
        } = err
        else {
            unreachable!()
        };
        assert_eq!(tree, "clusters", "case {n}");
        assert!(key == "c1" || key == "c2", "case {n}");
        assert_eq!(
            (expected.as_str(), actual.as_str()),
            (want_expected, want_actual),
            "case {n}"
        );
        assert_eq!(snapshot(&store), before, "case {n}: state changed");
        assert!(pending_ids(&store).is_empty(), "case {n}: outbox changed");
    }

    let msg = StoreError::Conflict {
        tree: "clusters".into(),
        key: "c1".into(),
        expected: "version 3".into(),
        actual: "version 4".into(),
    }
    .to_string();
    assert_eq!(
        msg,
        "conflict on clusters/c1: expected version 3, found version 4"
    );
}

#[tokio::test]
async fn invalid_commits_are_rejected_before_writing() {
    let store = Store::temporary().unwrap();
    let dup = Commit::new()
        .put("t", "k", &1, Expect::Any)
        .unwrap()
        .put("t", "k", &2, Expect::Any)
        .unwrap()
        .event(event("01X"));
    assert!(matches!(
        store.commit(dup).await,
        Err(StoreError::Invalid(_))
    ));
    let reserved = Commit::new()
        .put(OUTBOX_TREE, "k", &1, Expect::Any)
        .unwrap();
    assert!(matches!(
        store.commit(reserved).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.get::<u32>(OUTBOX_TREE, "k"),
        Err(StoreError::Invalid(_))
    ));
    assert!(store.get::<u32>("t", "k").unwrap().is_none());
    assert_eq!(store.outbox_len().unwrap(), 0);
    assert_eq!(
        store.commit(Commit::new()).await.unwrap(),
        Committed::default()
    );
}

#[tokio::test]
async fn outbox_is_oldest_first_and_remove_is_idempotent() {
    let store = Store::temporary().unwrap();
    // Committed out of id order, in separate commits and within one commit.
    store
        .commit(Commit::new().event(event("01C")).event(event("01A")))
        .await
        .unwrap();
    store
        .commit(
            Commit::new()
                .put("t", "k", &1, Expect::Absent)
                .unwrap()
                .event(event("01B")),
        )
        .await
        .unwrap();
    assert_eq!(pending_ids(&store), ["01A", "01B", "01C"]);
    assert_eq!(store.outbox_len().unwrap(), 3);

    let first = store.pending(1).unwrap();
    assert_eq!(first, vec![event("01A")], "entries round-trip intact");
    assert!(store.pending(0).unwrap().is_empty());

    store.remove("01B").unwrap();
    assert_eq!(pending_ids(&store), ["01A", "01C"]);
    store.remove("01B").unwrap();
    store.remove("never-existed").unwrap();
    store.remove("01A").unwrap();
    store.remove("01C").unwrap();
    assert!(pending_ids(&store).is_empty());
    assert_eq!(store.outbox_len().unwrap(), 0);
}

#[tokio::test]
async fn notify_fires_only_for_commits_with_events() {
    let store = Store::temporary().unwrap();
    let notify = store.outbox_notify();

    store
        .commit(Commit::new().put("t", "k", &1, Expect::Any).unwrap())
        .await
        .unwrap();
    assert!(!ready_now(notify.notified()), "no events, no signal");

    // No relay is waiting yet: notify_one stores a permit, which the next wait consumes.
    store
        .commit(Commit::new().event(event("01A")))
        .await
        .unwrap();
    assert!(ready_now(notify.notified()));
    assert!(!ready_now(notify.notified()), "one permit, not two");
}

#[tokio::test]
async fn pending_stops_at_an_entry_whose_commit_is_not_durable() {
    let store = Store::temporary().unwrap();
    store
        .commit(Commit::new().event(event("01A")).event(event("01C")))
        .await
        .unwrap();
    // Simulate a concurrent commit whose transaction applied but whose flush has not finished.
    let in_flight = vec!["01B".to_owned()];
    store.gate().hold(&in_flight).unwrap();
    store
        .put_raw(
            OUTBOX_TREE,
            "01B",
            &codec::encode_outbox(&event("01B")).unwrap(),
        )
        .unwrap();
    store.gate().mark_applied(&in_flight);
    assert_eq!(pending_ids(&store), ["01A"], "stops before the held entry");

    let notify = store.outbox_notify();
    let _ = ready_now(notify.notified()); // drain the commit's permit
    store.flush().await.unwrap();
    assert!(
        ready_now(notify.notified()),
        "releasing entries wakes the relay"
    );
    assert_eq!(pending_ids(&store), ["01A", "01B", "01C"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cas_has_exactly_one_winner() {
    let store = Store::temporary().unwrap();
    store
        .commit(Commit::new().put("t", "k", &0u32, Expect::Absent).unwrap())
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let c = Commit::new()
                .put("t", "k", &i, Expect::Version(1))
                .unwrap()
                .event(event(&format!("01E{i:02}")));
            store.commit(c).await
        }));
    }
    let mut winners = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(c) => {
                winners += 1;
                assert_eq!(c.version_of("t", "k"), Some(2));
            }
            Err(e) => assert!(e.is_conflict(), "{e}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(store.get::<u32>("t", "k").unwrap().unwrap().version, 2);
    assert_eq!(
        store.pending(100).unwrap().len(),
        1,
        "only the winner's event"
    );
}

#[tokio::test]
async fn data_and_outbox_survive_reopen() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("nested/store");
    {
        let store = Store::open(&path).unwrap();
        store
            .commit(
                Commit::new()
                    .put("clusters", "c1", &cluster("a", 3), Expect::Absent)
                    .unwrap()
                    .event(event("01A"))
                    .event(event("01B")),
            )
            .await
            .unwrap();
        store.remove("01A").unwrap();
        store.flush().await.unwrap();
    }
    let store = Store::open(&path).unwrap();
    let got = store.get::<Cluster>("clusters", "c1").unwrap().unwrap();
    assert_eq!(
        got,
        Versioned {
            version: 1,
            value: cluster("a", 3)
        }
    );
    assert_eq!(store.pending(10).unwrap(), vec![event("01B")]);
    // Versions continue from what was persisted.
    let done = store
        .commit(
            Commit::new()
                .put("clusters", "c1", &cluster("a", 4), Expect::Version(1))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(done.version_of("clusters", "c1"), Some(2));
}

#[tokio::test]
async fn reopen_right_after_drop_waits_for_sleds_lock() {
    let dir = tempfile::TempDir::new().unwrap();
    for i in 0..30u32 {
        let store = Store::open(dir.path()).unwrap();
        let expect = if i == 0 {
            Expect::Absent
        } else {
            Expect::Version(u64::from(i))
        };
        store
            .commit(Commit::new().put("t", "k", &i, expect).unwrap())
            .await
            .unwrap();
        drop(store);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.get::<u32>("t", "k").unwrap().unwrap().version, 30);
}

#[test]
fn a_store_open_elsewhere_is_refused_after_the_wait() {
    let dir = tempfile::TempDir::new().unwrap();
    let _held = Store::open(dir.path()).unwrap();
    let start = Instant::now();
    let err = Store::open_waiting(dir.path(), std::time::Duration::from_millis(100)).unwrap_err();
    assert!(
        matches!(err, StoreError::Sled(ref e) if is_lock_contention(e)),
        "{err}"
    );
    assert!(start.elapsed() >= std::time::Duration::from_millis(100));
}

#[tokio::test]
async fn garbage_surfaces_as_decode_errors_naming_tree_and_key() {
    let store = Store::temporary().unwrap();
    store.put_raw("clusters", "short", &[1, 2, 3]).unwrap();
    store
        .put_raw("clusters", "notjson", b"\0\0\0\0\0\0\0\x01{nope")
        .unwrap();
    store
        .commit(
            Commit::new()
                .put("clusters", "wrongtype", &"a string", Expect::Absent)
                .unwrap(),
        )
        .await
        .unwrap();

    let is_decode =
        |r: Result<Option<Versioned<Cluster>>, StoreError>, want_key: &str, short: bool| match r {
            Err(StoreError::Decode { tree, key, source }) => {
                assert_eq!((tree.as_str(), key.as_str()), ("clusters", want_key));
                assert_eq!(
                    matches!(source, DecodeError::Truncated { len: 3 }),
                    short,
                    "{source}"
                );
            }
            other => panic!("expected a decode error for {want_key}, got {other:?}"),
        };
    is_decode(store.get("clusters", "short"), "short", true);
    is_decode(store.get("clusters", "notjson"), "notjson", false);
    is_decode(store.get("clusters", "wrongtype"), "wrongtype", false);
    assert!(matches!(
        store.list::<Cluster>("clusters", ""),
        Err(StoreError::Decode { .. })
    ));
    let msg = store
        .get::<Cluster>("clusters", "short")
        .unwrap_err()
        .to_string();
    assert_eq!(msg, "cannot decode clusters/short");

    // CAS on a value without a valid header aborts the commit instead of guessing a version.
    let err = store
        .commit(
            Commit::new()
                .put("clusters", "short", &cluster("a", 1), Expect::Any)
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Decode { ref key, .. } if key == "short"),
        "{err}"
    );

    store.put_raw(OUTBOX_TREE, "01Z", b"garbage").unwrap();
    match store.pending(10) {
        Err(StoreError::Decode { tree, key, .. }) => {
            assert_eq!((tree.as_str(), key.as_str()), (OUTBOX_TREE, "01Z"));
        }
        other => panic!("expected an outbox decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn abandoned_in_flight_commit_is_released_by_a_background_flush() {
    let store = Store::temporary().unwrap();
    let notify = store.outbox_notify();
    // Exactly the state a commit future is in when dropped mid-flush: ids held, transaction
    // applied, flush not finished.
    let mut guard = InFlight::hold(store.clone(), vec!["01A".to_owned()]).unwrap();
    store
        .put_raw(
            OUTBOX_TREE,
            "01A",
            &codec::encode_outbox(&event("01A")).unwrap(),
        )
        .unwrap();
    guard.mark_applied();
    guard.stage = Stage::Applied;
    assert!(
        pending_ids(&store).is_empty(),
        "applied but not durable: hidden"
    );
    drop(guard);
    // notify_one keeps a permit, so the release cannot be missed between drop and wait.
    tokio::time::timeout(std::time::Duration::from_secs(10), notify.notified())
        .await
        .expect("abandoned commit never became publishable");
    assert_eq!(pending_ids(&store), ["01A"]);
}

#[tokio::test]
async fn dropping_a_commit_future_never_strands_its_events() {
    let store = Store::temporary().unwrap();
    let notify = store.outbox_notify();
    {
        let fut = store.commit(Commit::new().event(event("01A")));
        let mut fut = pin!(fut);
        // The first poll runs the transaction and starts the flush; whether the flush is done by
        // then depends on sled's thread pool, and either way the event must come out.
        let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), notify.notified())
        .await
        .expect("dropped commit never became publishable");
    assert_eq!(pending_ids(&store), ["01A"]);
}
