//! Deadline polling: how tests wait for something asynchronous to become true.
//!
//! A test never sleeps "long enough" and hopes; it states the condition and a deadline, and the
//! helpers here re-check the condition every [`DEFAULT_POLL_INTERVAL`] until it holds or the
//! deadline passes. On failure the message carries the last observed value, so a red test says
//! what it saw, not only that it timed out.
//!
//! The deadline defaults to 10 s and can be raised for slow machines with the environment variable
//! `ACCORD_TEST_DEADLINE_SECS`.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is re-checked.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Deadline used when the caller gives none: 10 s, or `ACCORD_TEST_DEADLINE_SECS` when set.
pub fn default_deadline() -> Duration {
    std::env::var("ACCORD_TEST_DEADLINE_SECS")
        .ok()
        .and_then(|secs| secs.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_secs)
}

/// A condition did not hold before its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventuallyTimeout<D> {
    /// Time spent polling.
    pub elapsed: Duration,
    /// How many times the condition was checked.
    pub attempts: u32,
    /// What the last check observed.
    pub last: D,
}

impl<D: fmt::Debug> fmt::Display for EventuallyTimeout<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "condition not met after {:?} ({} attempts); last observed: {:?}",
            self.elapsed, self.attempts, self.last
        )
    }
}

impl<D: fmt::Debug> std::error::Error for EventuallyTimeout<D> {}

/// Polls `check` until it returns `Ok`, or until `deadline` has passed.
///
/// `check` returns `Ok(value)` when the condition holds and `Err(observed)` while it does not; the
/// last `observed` is reported in the error. The condition is always checked at least once, and
/// once more at the deadline.
pub async fn eventually<T, D, F, Fut>(
    deadline: Duration,
    poll_interval: Duration,
    mut check: F,
) -> Result<T, EventuallyTimeout<D>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, D>>,
{
    let start = Instant::now();
    let mut attempts: u32 = 0;
    loop {
        attempts = attempts.saturating_add(1);
        let observed = match check().await {
            Ok(value) => return Ok(value),
            Err(observed) => observed,
        };
        let elapsed = start.elapsed();
        if elapsed >= deadline {
            return Err(EventuallyTimeout {
                elapsed,
                attempts,
                last: observed,
            });
        }
        tokio::time::sleep(poll_interval.min(deadline.saturating_sub(elapsed))).await;
    }
}

/// [`eventually`] with [`default_deadline`] and [`DEFAULT_POLL_INTERVAL`].
pub async fn eventually_with_default_deadline<T, D, F, Fut>(
    check: F,
) -> Result<T, EventuallyTimeout<D>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, D>>,
{
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, check).await
}

/// Polls a boolean condition until it is true; fails the test if it is still false at the
/// deadline (default [`default_deadline`], or `within <Duration>,` first).
///
/// The condition is an expression evaluated in the caller's async context, so it may `.await`
/// and borrow mutably. An optional format string and arguments are appended to the failure.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let n = AtomicU32::new(0);
/// accord_testkit::assert_eventually!(n.fetch_add(1, Ordering::SeqCst) >= 3);
/// accord_testkit::assert_eventually!(
///     within std::time::Duration::from_secs(1),
///     n.load(Ordering::SeqCst) > 3,
///     "counter was {}", n.load(Ordering::SeqCst)
/// );
/// # }
/// ```
#[macro_export]
macro_rules! assert_eventually {
    (within $deadline:expr, $cond:expr $(,)?) => {
        $crate::assert_eventually!(within $deadline, $cond, "")
    };
    (within $deadline:expr, $cond:expr, $($msg:tt)+) => {{
        let __deadline: ::std::time::Duration = $deadline;
        let __start = $crate::__private::tokio::time::Instant::now();
        let mut __attempts: u32 = 0;
        loop {
            __attempts = __attempts.saturating_add(1);
            if $cond {
                break;
            }
            let __elapsed = __start.elapsed();
            if __elapsed >= __deadline {
                $crate::__private::fail(::std::format!(
                    "assert_eventually!({}) still false after {:?} ({} attempts) {}",
                    ::std::stringify!($cond),
                    __elapsed,
                    __attempts,
                    ::std::format!($($msg)+),
                ));
            }
            $crate::__private::tokio::time::sleep(
                $crate::DEFAULT_POLL_INTERVAL.min(__deadline.saturating_sub(__elapsed)),
            )
            .await;
        }
    }};
    ($cond:expr $(,)?) => {
        $crate::assert_eventually!(within $crate::default_deadline(), $cond, "")
    };
    ($cond:expr, $($msg:tt)+) => {
        $crate::assert_eventually!(within $crate::default_deadline(), $cond, $($msg)+)
    };
}

/// Polls `actual` until it equals `expected`; fails the test with the last observed value if it
/// does not by the deadline (default [`default_deadline`], or `within <Duration>,` first).
///
/// `actual` is re-evaluated on every poll (it may `.await`); `expected` is evaluated once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut polls = 0;
/// accord_testkit::assert_eventually_eq!({ polls += 1; polls.min(3) }, 3);
/// # }
/// ```
#[macro_export]
macro_rules! assert_eventually_eq {
    (within $deadline:expr, $actual:expr, $expected:expr $(,)?) => {
        $crate::assert_eventually_eq!(within $deadline, $actual, $expected, "")
    };
    (within $deadline:expr, $actual:expr, $expected:expr, $($msg:tt)+) => {{
        let __deadline: ::std::time::Duration = $deadline;
        let __expected = $expected;
        let __start = $crate::__private::tokio::time::Instant::now();
        let mut __attempts: u32 = 0;
        loop {
            __attempts = __attempts.saturating_add(1);
            let __actual = $actual;
            if __actual == __expected {
                break;
            }
            let __elapsed = __start.elapsed();
            if __elapsed >= __deadline {
                $crate::__private::fail(::std::format!(
                    "assert_eventually_eq!({}, {}) not equal after {:?} ({} attempts): \
                     last observed {:?}, expected {:?} {}",
                    ::std::stringify!($actual),
                    ::std::stringify!($expected),
                    __elapsed,
                    __attempts,
                    __actual,
                    __expected,
                    ::std::format!($($msg)+),
                ));
            }
            $crate::__private::tokio::time::sleep(
                $crate::DEFAULT_POLL_INTERVAL.min(__deadline.saturating_sub(__elapsed)),
            )
            .await;
        }
    }};
    ($actual:expr, $expected:expr $(,)?) => {
        $crate::assert_eventually_eq!(within $crate::default_deadline(), $actual, $expected, "")
    };
    ($actual:expr, $expected:expr, $($msg:tt)+) => {
        $crate::assert_eventually_eq!(
            within $crate::default_deadline(), $actual, $expected, $($msg)+
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_the_value_once_the_condition_holds() {
        let mut n = 0;
        let value = eventually(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            let current = n;
            async move {
                if current >= 3 {
                    Ok(current)
                } else {
                    Err(current)
                }
            }
        })
        .await;
        assert_eq!(value, Ok(3));
    }

    #[tokio::test]
    async fn eventually_reports_the_last_observation_on_timeout() {
        let mut n = 0;
        let err = eventually(Duration::from_millis(50), Duration::from_millis(5), || {
            n += 1;
            let current = n;
            async move { Err::<(), _>(current) }
        })
        .await
        .unwrap_err();
        assert!(err.attempts >= 2, "{err}");
        assert_eq!(err.last, n);
        assert!(err.to_string().contains("last observed"), "{err}");
    }

    #[tokio::test]
    async fn assert_eventually_accepts_awaiting_conditions() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            let _ = tx.send(true);
            // keep the sender alive until the receiver has seen the value
            tx.closed().await;
        });
        assert_eventually!(*rx.borrow());
        assert_eventually!(within Duration::from_secs(1), *rx.borrow(), "rx = {}", *rx.borrow());
    }

    #[tokio::test]
    #[should_panic(expected = "last observed 1, expected 2")]
    async fn assert_eventually_eq_fails_with_the_last_value() {
        assert_eventually_eq!(within Duration::from_millis(30), 1, 2);
    }

    #[tokio::test]
    #[should_panic(expected = "still false")]
    async fn assert_eventually_fails_at_the_deadline() {
        assert_eventually!(within Duration::from_millis(30), 1 + 1 == 3);
    }
}
