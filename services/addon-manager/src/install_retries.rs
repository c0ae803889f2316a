//! The retry loop of failed automatic installs: at start and then every [`TICK`], each pending
//! install whose next attempt has come ([`crate::handlers::auto_install`] decides when) is
//! tried again through [`AddonManager::retry_install`], one at a time, at most
//! [`MAX_PER_PASS`] per pass (the rest are due at the next tick).
//!
//! The records are in the store, so a restart picks up where the previous process stopped: the
//! first pass runs as the service starts.
//!
//! Invariants:
//! - each retry takes the engine's write lock for one install's plugin work only (bounded by
//!   the plugin host's call timeout), so the API and the event consumer wait at most that long;
//! - a retry that fails on the store is logged and the pass goes on; the loop ends only at
//!   shutdown (it runs as a critical task: if it ever stopped, failed installs would silently
//!   stay failed).

use std::{sync::Arc, time::Duration};

use time::OffsetDateTime;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::service::AddonManager;

/// How often the loop looks for due records (the backoff's shortest wait is 30 s).
pub const TICK: Duration = Duration::from_secs(5);

/// Retries per pass at most.
pub const MAX_PER_PASS: usize = 32;

/// Runs the loop every `every` until `shutdown`.
pub async fn run(
    manager: Arc<AddonManager>,
    every: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        pass(&manager, OffsetDateTime::now_utc(), &shutdown).await;
    }
}

/// One pass at `now`; stops early at shutdown (between retries, never inside one).
async fn pass(manager: &AddonManager, now: OffsetDateTime, shutdown: &CancellationToken) {
    let due = match manager.due_installs(now, MAX_PER_PASS) {
        Ok(due) => due,
        Err(e) => {
            warn!(error = %e, "reading the pending automatic installs; trying again at the next tick");
            return;
        }
    };
    for (cluster, name) in due {
        if shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = manager.retry_install(cluster, &name, now).await {
            warn!(cluster = %cluster, addon = %name, error = %e, "retrying an automatic install; trying again at the next tick");
        }
    }
}
