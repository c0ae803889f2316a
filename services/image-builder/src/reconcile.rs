//! The build reconciler (the kit's `periodic` loop, one writer): each pass moves every
//! unfinished build (the `active` tree) one step through its stages — resolve, install,
//! configure, sbom, scan, sign, publish (`handlers::stages`):
//!
//! - a queued build starts its first stage;
//! - a running stage this process did not start was left by a process that stopped mid-stage:
//!   it restarts from its beginning (its log says so), so a build killed anywhere finishes
//!   with its image published exactly once;
//! - a running stage whose simulated time (the stage duration) is up is finished: its work is
//!   done and the next stage starts in the same commit, or the build fails or publishes.
//!
//! Passes run every half stage duration (bounded to 10 ms – 250 ms) and when a build is
//! accepted. The work of a pass is bounded: at most four builds are unfinished, and a stage's
//! work is one manifest's SBOM at most.

use std::{sync::Arc, time::Duration};

use accord_core::DomainError;
use tokio_util::sync::CancellationToken;

use crate::{
    handlers::{
        Ctx,
        stages::{due, finish, resume, start},
    },
    service::{ImageBuilder, SERVICE},
    trees::BuildState,
};

const MIN_INTERVAL: Duration = Duration::from_millis(10);
const MAX_INTERVAL: Duration = Duration::from_millis(250);

impl ImageBuilder {
    /// Runs passes until shutdown.
    pub async fn run_builds(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let interval = (self.stage_duration / 2).clamp(MIN_INTERVAL, MAX_INTERVAL);
        let kick = Arc::clone(&self.kick);
        accord_runtime::periodic::run("image builds", interval, &kick, shutdown, || {
            self.advance_builds()
        })
        .await
    }

    /// One pass: every unfinished build one step on (see the module docs).
    pub async fn advance_builds(&self) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        for build in self.reader.active_builds()? {
            let ctx = Ctx::new(SERVICE);
            let id = build.value.id.clone();
            let here = self
                .running_here
                .lock()
                .map_err(|_| DomainError::internal("the running-stage table lock is poisoned"))?
                .get(&id)
                .copied();
            let change = match build.value.current() {
                None if build.value.state == BuildState::Queued => start(&build, &ctx)?,
                None => continue,
                Some(i) => {
                    let stage = build.value.stages[i].stage;
                    if here != Some(stage) {
                        tracing::info!(build = %id, stage = stage.as_str(), "resuming a stage a stopped process left running");
                        resume(&build, &ctx)?
                    } else if due(&build.value, ctx.now, self.stage_duration) {
                        let image = self.reader.image(&build.value.image)?.map(|v| v.value);
                        finish(&build, image.as_ref(), &self.farm(), &ctx)?
                    } else {
                        continue;
                    }
                }
            };
            w.commit(change).await?;
            let now = self.reader.build(&id)?.map(|b| b.value);
            let mut table = self
                .running_here
                .lock()
                .map_err(|_| DomainError::internal("the running-stage table lock is poisoned"))?;
            match now.as_ref().and_then(|b| b.current().map(|i| (b, i))) {
                Some((b, i)) if !b.state.finished() => {
                    table.insert(id, b.stages[i].stage);
                }
                _ => {
                    if let Some(b) = &now {
                        tracing::info!(build = %id, state = b.state.as_str(), error = ?b.error, "build finished");
                    }
                    table.remove(&id);
                }
            }
        }
        Ok(())
    }
}
