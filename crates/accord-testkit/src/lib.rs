//! Dev-only helpers shared by every crate's tests.
//!
//! - [`NatsServer`]: a real `nats-server` (JetStream on, `sync_interval: always`) on a random
//!   127.0.0.1 port with its own temporary store, killed and cleaned up on `Drop`. It can be
//!   stopped, restarted on the same port and store, or killed with SIGKILL, for fault tests.
//! - [`eventually`], [`assert_eventually!`] and [`assert_eventually_eq!`]: poll a condition until
//!   it holds or a deadline passes. This is how tests wait; they never sleep to synchronise.
//! - [`temp_dir`]: a temporary directory removed on `Drop`.
//! - [`http`]: a hyper-based `GET` for HTTP endpoints (chunked and gzip bodies read as a scraper
//!   reads them).
//! - [`promtool`] / [`promtool_check_metrics`]: Prometheus' `promtool check metrics` over a text
//!   exposition (`$ACCORD_PROMTOOL`; unset fails the test).
//!
//! Invariant: this crate is a dependency of tests only (`[dev-dependencies]`). It still follows the
//! production rules (no `unwrap`/`expect`/`panic`), except in the assertion helpers whose job is to
//! fail the test.

mod eventually;
pub mod http;
mod nats;
mod promtool;
mod temp;

pub use eventually::{
    DEFAULT_POLL_INTERVAL, EventuallyTimeout, default_deadline, eventually,
    eventually_with_default_deadline,
};
pub use nats::{NatsServer, nats_server_binary};
pub use promtool::{PROMTOOL_VAR, PromtoolCheck, promtool, promtool_check_metrics};
pub use temp::{TempDir, temp_dir};

/// Items the exported macros refer to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;

    /// Fails the calling test. The assertion macros call this instead of `panic!` so the lint
    /// exception lives in one place.
    #[allow(clippy::panic)] // the assertion macros exist to fail the test
    #[track_caller]
    pub fn fail(message: String) -> ! {
        panic!("{message}")
    }
}
