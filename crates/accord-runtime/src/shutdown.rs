//! Graceful shutdown: one cancellation token per process, and a bounded drain of tasks.
//!
//! [`signal_token`] returns a [`CancellationToken`] cancelled on Ctrl-C (SIGINT) or SIGTERM.
//! Every long-running part of a service (gRPC server, metrics endpoint, consumers, relays)
//! takes a child of it and stops accepting new work when it fires; [`join_with_grace`] then
//! gives the tasks the configured grace period to finish in-flight work and aborts the rest.
//!
//! Invariant: shutdown never waits unboundedly — after the grace period every task left is
//! aborted and counted, so a stuck handler cannot keep the process alive.

use std::time::Duration;

use tokio::task::{JoinError, JoinSet};
use tokio_util::sync::CancellationToken;

/// A token cancelled when the process receives Ctrl-C or SIGTERM. Must be called inside a
/// Tokio runtime (it spawns the signal listener).
pub fn signal_token() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            signal = wait_for_signal() => {
                tracing::info!(%signal, "shutdown requested");
                cancel.cancel();
            }
            // Someone else cancelled (e.g. a fatal task error): stop listening.
            () = cancel.cancelled() => {}
        }
    });
    token
}

/// Resolves with the name of the first termination signal received.
async fn wait_for_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; only Ctrl-C stops the process");
                ctrl_c().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c().await
    }
}

async fn ctrl_c() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "SIGINT",
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C; waiting forever");
            std::future::pending().await
        }
    }
}

/// What happened to the tasks of a [`join_with_grace`].
#[derive(Debug)]
pub struct Drained<T> {
    /// Tasks that ended on their own within the grace period (their output, or their panic).
    pub finished: Vec<Result<T, JoinError>>,
    /// Tasks still running when the grace period ended, which were aborted.
    pub aborted: usize,
}

impl<T> Drained<T> {
    /// True when every task ended on its own and none panicked.
    pub fn is_clean(&self) -> bool {
        self.aborted == 0 && self.finished.iter().all(Result::is_ok)
    }
}

/// Waits up to `grace` for every task in `tasks`, then aborts the rest and waits for the
/// aborts to land.
pub async fn join_with_grace<T: 'static>(mut tasks: JoinSet<T>, grace: Duration) -> Drained<T> {
    let mut finished = Vec::new();
    let deadline = tokio::time::Instant::now() + grace;
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(result)) => finished.push(result),
            Ok(None) => {
                return Drained {
                    finished,
                    aborted: 0,
                };
            }
            Err(_elapsed) => break,
        }
    }
    tracing::warn!(
        remaining = tasks.len(),
        ?grace,
        "shutdown grace period over; aborting the remaining tasks"
    );
    tasks.abort_all();
    let mut aborted = 0;
    while let Some(result) = tasks.join_next().await {
        match result {
            Err(err) if err.is_cancelled() => aborted += 1,
            // It finished between the deadline and the abort: keep its result.
            other => finished.push(other),
        }
    }
    Drained { finished, aborted }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drains_tasks_that_finish_in_time() {
        let mut tasks = JoinSet::new();
        for i in 0..3 {
            tasks.spawn(async move { i });
        }
        let drained = join_with_grace(tasks, Duration::from_secs(5)).await;
        assert!(drained.is_clean(), "{drained:?}");
        let mut out: Vec<_> = drained.finished.into_iter().map(Result::unwrap).collect();
        out.sort();
        assert_eq!(out, vec![0, 1, 2]);
    }

    #[tokio::test]
    async fn aborts_tasks_that_overrun_the_grace_period() {
        let mut tasks = JoinSet::new();
        tasks.spawn(async { 1 });
        tasks.spawn(std::future::pending::<i32>());
        let drained = join_with_grace(tasks, Duration::from_millis(50)).await;
        assert_eq!(drained.aborted, 1, "{drained:?}");
        assert_eq!(drained.finished.len(), 1);
        assert!(!drained.is_clean());
    }

    #[tokio::test]
    async fn signal_token_is_live_until_cancelled() {
        let token = signal_token();
        assert!(!token.is_cancelled());
        token.cancel();
        assert!(token.is_cancelled());
    }
}
