//! Fault injection for crash tests, compiled only with the `failpoints` feature:
//! `ACCORD_FAILPOINT=abort-after-commit` aborts the process (like `kill -9`) right after the
//! first commit that carries events once start-up is done ([`arm`]), and the binary runs no
//! outbox relay ([`relay_disabled`]) — the window between commit and publish.

use std::sync::atomic::{AtomicBool, Ordering};

use accord_runtime::Engine;

use crate::change::Event;

static ARMED: AtomicBool = AtomicBool::new(false);

fn abort_after_commit() -> bool {
    match std::env::var("ACCORD_FAILPOINT").as_deref() {
        Ok("abort-after-commit") => true,
        Ok(other) => {
            tracing::warn!(failpoint = other, "unknown ACCORD_FAILPOINT ignored");
            false
        }
        Err(_) => false,
    }
}

/// Adds the abort observer when the failpoint is chosen.
pub fn install(engine: Engine<Event>) -> Engine<Event> {
    if !abort_after_commit() {
        return engine;
    }
    engine.with_observer(|_| {
        if ARMED.load(Ordering::SeqCst) {
            // The state and its outbox entries are durable; nothing was published.
            std::process::abort();
        }
    })
}

/// Arms the failpoint (after start-up work such as bootstrap is done).
pub fn arm() {
    ARMED.store(true, Ordering::SeqCst);
}

/// Whether the relay must not run (the failpoint keeps events in the outbox).
pub fn relay_disabled() -> bool {
    abort_after_commit()
}
