//! The loop every reconciler runs: a pass every interval, and at once when woken (a commit that
//! may have left work), until shutdown. A failed pass is logged and the next one tries again;
//! passes never overlap, and wake-ups during a pass fold into one more pass after it.

use std::{future::Future, time::Duration};

use accord_core::DomainError;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Runs `pass` every `interval` and whenever `kick` is notified, until `shutdown`. `what` names
/// the loop in the log line of a failed pass.
pub async fn run<F, Fut>(
    what: &'static str,
    interval: Duration,
    kick: &Notify,
    shutdown: CancellationToken,
    mut pass: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), DomainError>>,
{
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
            () = kick.notified() => {}
        }
        if let Err(e) = pass().await {
            tracing::warn!(loop_ = what, error = %e, "reconcile pass failed; retried next pass");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    // Paused clock: a kick runs a pass long before the (virtual) hour-long interval.
    #[tokio::test(start_paused = true)]
    async fn a_kick_runs_a_pass_a_failure_does_not_stop_the_loop_and_shutdown_ends_it() {
        let kick = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let passes = Arc::new(AtomicUsize::new(0));
        let (k, s, p) = (Arc::clone(&kick), shutdown.clone(), Arc::clone(&passes));
        let task = tokio::spawn(async move {
            run("test", Duration::from_secs(3600), &k, s, || {
                let n = p.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 1 {
                        Err(DomainError::internal("boom"))
                    } else {
                        Ok(())
                    }
                }
            })
            .await
        });
        // The first tick fires at once; then only kicks run passes.
        while passes.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        for want in 2..=3 {
            kick.notify_one();
            while passes.load(Ordering::SeqCst) < want {
                tokio::task::yield_now().await;
            }
        }
        shutdown.cancel();
        task.await.unwrap().unwrap();
        assert_eq!(passes.load(Ordering::SeqCst), 3);
    }
}
