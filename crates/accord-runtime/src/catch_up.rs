//! Read-model catch-up: how a request naming a cluster or project a service does not know *yet*
//! gets a consistent answer.
//!
//! Services other than the provisioner learn clusters and projects from the provisioner's
//! events, so for a moment after `CreateCluster` returns, their read models may not know the
//! cluster: a request made right away used to get a false `NOT_FOUND`. The choice made here:
//! **wait briefly for the read model** rather than accept the request and resolve the cluster
//! later (support-triage classifies a ticket with its cluster's live context when it is filed;
//! storage-csi places a volume in its cluster's region).
//!
//! - A lookup that answers `NOT_FOUND` for a cluster or a project is retried until it succeeds
//!   or [`CATCH_UP_WAIT`] has passed since the request began; only then is `NOT_FOUND` the
//!   answer.
//! - It is retried when the service commits a platform event (cluster views change only then:
//!   [`CatchUp::advanced`], called by the service's engine observer) and at least every
//!   [`CATCH_UP_POLL`] (the kit's project directory is written without telling the service).
//! - Waiting is a timer on the request's own task: no write lock is held, no runtime worker is
//!   blocked, and each retry is one read of the store.
//! - A cluster of another project answers `NOT_FOUND` only after the same wait as a cluster that
//!   does not exist, so the time taken does not tell a customer that a foreign cluster exists
//!   (`accord_runtime::scope`: foreign and missing answer alike).
//!
//! The wait bounds the lag it hides: a read model more than [`CATCH_UP_WAIT`] behind (the bus
//! down, the consumer stopped) still answers `NOT_FOUND`.

use std::time::Duration;

use accord_core::DomainError;
use tokio::{sync::watch, time::Instant};

/// How long a request waits for the read model to learn a cluster or project it names.
pub const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// The longest pause between two lookups while waiting.
pub const CATCH_UP_POLL: Duration = Duration::from_millis(100);

/// Tells waiting requests that the read model moved, and makes them wait (see the module docs).
#[derive(Debug)]
pub struct CatchUp {
    advanced: watch::Sender<u64>,
    wait: Duration,
    poll: Duration,
}

impl Default for CatchUp {
    fn default() -> Self {
        Self::new(CATCH_UP_WAIT, CATCH_UP_POLL)
    }
}

impl CatchUp {
    /// Waiting at most `wait` per request, looking again at least every `poll`.
    pub fn new(wait: Duration, poll: Duration) -> Self {
        Self {
            advanced: watch::Sender::new(0),
            wait,
            poll,
        }
    }

    /// How long a request waits at most.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The read model changed: requests waiting for it look again now.
    pub fn advanced(&self) {
        self.advanced.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Runs `lookup` until it finds what it looks for, answers anything but a cluster or
    /// project `NOT_FOUND`, or the wait is over (then its last answer stands).
    pub async fn until_known<T>(
        &self,
        mut lookup: impl FnMut() -> Result<T, DomainError>,
    ) -> Result<T, DomainError> {
        let deadline = Instant::now() + self.wait;
        let mut advanced = self.advanced.subscribe();
        loop {
            // Mark the current state seen before looking, so a change that lands between the
            // lookup and the wait below still wakes it.
            advanced.borrow_and_update();
            let answer = lookup();
            if !not_known_yet(&answer) || Instant::now() >= deadline {
                return answer;
            }
            let next = (Instant::now() + self.poll).min(deadline);
            // Woken by a change, or by the poll tick (timed out): either way look again.
            let _woken = tokio::time::timeout_at(next, advanced.changed()).await;
        }
    }
}

/// A `NOT_FOUND` the read model may still catch up with.
fn not_known_yet<T>(answer: &Result<T, DomainError>) -> bool {
    matches!(
        answer,
        Err(DomainError::NotFound {
            kind: "cluster" | "project",
            ..
        })
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    };

    use super::*;

    fn missing() -> Result<u32, DomainError> {
        Err(DomainError::not_found("cluster", "ml"))
    }

    // Paused clocks: the times asserted are tokio's virtual time, not the machine's.
    #[tokio::test(start_paused = true)]
    async fn a_change_wakes_the_waiting_lookup_before_the_poll_tick() {
        // A poll interval longer than the wait: only the notification can wake the lookup.
        let c = Arc::new(CatchUp::new(
            Duration::from_secs(5),
            Duration::from_secs(60),
        ));
        let known = Arc::new(AtomicBool::new(false));
        let (c2, k2) = (Arc::clone(&c), Arc::clone(&known));
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            k2.store(true, Ordering::SeqCst);
            c2.advanced();
        });
        let started = Instant::now();
        let found = c
            .until_known(|| {
                if known.load(Ordering::SeqCst) {
                    Ok(7)
                } else {
                    missing()
                }
            })
            .await;
        assert_eq!(found, Ok(7));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn not_found_stands_after_the_bounded_wait_and_other_answers_come_at_once() {
        let c = CatchUp::new(Duration::from_millis(300), Duration::from_millis(20));
        let lookups = AtomicUsize::new(0);
        let started = Instant::now();
        let answer = c
            .until_known(|| {
                lookups.fetch_add(1, Ordering::SeqCst);
                missing()
            })
            .await;
        let took = started.elapsed();
        assert!(matches!(answer, Err(DomainError::NotFound { .. })));
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        let n = lookups.load(Ordering::SeqCst);
        assert!((2..=30).contains(&n), "polled {n} times");

        let started = Instant::now();
        for other in [
            DomainError::invalid("cluster", "is required"),
            DomainError::PermissionDenied("scoped".into()),
            DomainError::not_found("ticket", "tk-1"),
        ] {
            let answer: Result<u32, _> = c.until_known(|| Err(other.clone())).await;
            assert_eq!(answer, Err(other));
        }
        assert!(started.elapsed() < Duration::from_millis(100));
    }
}
