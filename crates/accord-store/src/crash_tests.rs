//! The store-level half of "kill -9 between commit and publish loses no event": a child process
//! commits, reports each acknowledged commit on stdout, and aborts without running destructors;
//! the parent reopens the same directory and finds every acknowledged write and outbox entry.
//!
//! The child is this very test binary, re-run with [`CHILD_DIR_ENV`] set and filtered to
//! [`crash_child`], which is ignored in normal runs.

use std::io::Write;
use std::process::Command;

use accord_core::outbox::{OutboxEntry, OutboxSource};

use crate::{Commit, Expect, Store};

const CHILD_DIR_ENV: &str = "ACCORD_STORE_CRASH_CHILD_DIR";
const COMMITS: usize = 20;

fn entry(i: usize) -> OutboxEntry {
    OutboxEntry {
        id: format!("01CRASH{i:04}"),
        subject: format!("accord.evt.cluster.created.c{i}"),
        payload: format!(r#"{{"cluster":"c{i}"}}"#).into_bytes(),
        headers: vec![("traceparent".to_owned(), format!("00-{i}-1-01"))],
    }
}

/// Child side: commit, acknowledge on stdout, abort. A no-op unless run by the parent.
#[tokio::test]
#[ignore = "helper process for kill_after_commit_loses_nothing"]
async fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_ENV) else {
        return;
    };
    let store = Store::open(&dir).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0..COMMITS {
        let commit = Commit::new()
            .put("clusters", &format!("c{i}"), &i, Expect::Absent)
            .unwrap()
            .event(entry(i));
        store.commit(commit).await.unwrap();
        writeln!(out, "committed {i}").unwrap();
        out.flush().unwrap();
    }
    // Die like kill -9 would leave us: no destructors, no sled shutdown flush.
    std::process::abort();
}

#[test]
fn kill_after_commit_loses_nothing() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("store");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_tests::crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR_ENV, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !output.status.success(),
        "child must die by abort, got {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let acknowledged: Vec<usize> = stdout
        .lines()
        // libtest prints "test crash_tests::crash_child ... " without a newline before our output.
        .filter_map(|l| l.split_once("committed ").map(|(_, n)| n))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(
        acknowledged,
        (0..COMMITS).collect::<Vec<_>>(),
        "child did not get through its commits; stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let store = Store::open(&path).unwrap();
    for &i in &acknowledged {
        let got = store.get::<usize>("clusters", &format!("c{i}")).unwrap();
        assert_eq!(
            got.map(|v| (v.version, v.value)),
            Some((1, i)),
            "write {i} lost"
        );
    }
    let pending = store.pending(usize::MAX).unwrap();
    assert_eq!(
        pending,
        acknowledged.iter().map(|&i| entry(i)).collect::<Vec<_>>(),
        "outbox entries lost or reordered"
    );
}
