//! The storage-csi benchmarks (issue 13; `accord-bench --only storage` runs them alone):
//!
//! - **a volume's own latency** ([`lifecycle`]): `CreateVolume` → `available` and
//!   `AttachVolume` → `attached` over [`lifecycle::VOLUMES`] disks, one after the other, through
//!   the gRPC API as a customer would (polling `GetVolume`), on the platform `accord up` runs
//!   (simulator, provisioner, storage-csi, on a nats-server of its own). Each is reported in
//!   real time and in the back end's simulated time, and split into the back end's operation
//!   (watched in the simulated storage itself) and **the service's own share**: the real time
//!   minus the back end's operation converted to real time at the clock factor (the handler's
//!   commit, the reconciler's wake-up, its polling of the operation, the outcome's commit, the
//!   customer's poll);
//! - **migration planning for 1,000 volumes** ([`planning`]): `plan_migration` + `estimate` of
//!   1,000 shared VirtioFS volumes in process, against one pass that clones the same volumes
//!   (ratio = how many single passes over the volumes a plan costs); and the whole
//!   `PlanMigration` RPC with `dry_run` over 1,000 volumes created through the service, against
//!   `ListVolumes` of the same volumes ([`lifecycle`]).
//!
//! The issue sets no target: every figure is informational. A benchmark that fails is reported
//! in [`StorageResults::errors`] and fails the run after the other results are printed.

mod lifecycle;
mod planning;

use anyhow::bail;
use serde::Serialize;

/// The storage benchmarks; a part that failed is `None` and its error is in `errors`.
#[derive(Debug, Serialize)]
pub struct StorageResults {
    pub lifecycle: Option<lifecycle::LifecycleResults>,
    pub planning: Option<planning::PlanningResults>,
    pub errors: Vec<String>,
}

/// Runs the benchmarks: at least 200 (at most 5,000) timed plans after `warmup`.
pub async fn bench(iterations: usize, warmup: usize) -> StorageResults {
    let mut errors = Vec::new();
    let mut keep = |what: &str, e: anyhow::Error| errors.push(format!("{what}: {e:#}"));
    eprintln!("storage: migration planning of 1,000 volumes in process…");
    let runs = iterations.clamp(200, 5_000);
    let warmup = warmup.min(runs);
    let planning = match tokio::task::spawn_blocking(move || planning::bench(runs, warmup)).await {
        Ok(r) => r.map_err(|e| keep("migration planning", e)).ok(),
        Err(e) => {
            keep("migration planning", e.into());
            None
        }
    };
    eprintln!("storage: create → available, attach → attached, PlanMigration over 1,000 volumes…");
    let lifecycle = lifecycle::bench()
        .await
        .map_err(|e| keep("volume lifecycle", e))
        .ok();
    if let Some(e) = lifecycle.as_ref().and_then(|l| l.plan_rpc_error.clone()) {
        errors.push(format!("PlanMigration over 1,000 volumes: {e}"));
    }
    StorageResults {
        lifecycle,
        planning,
        errors,
    }
}

/// `accord-bench --only storage`.
pub async fn run_only(iterations: usize, warmup: usize) -> anyhow::Result<()> {
    let r = bench(iterations, warmup).await;
    print(&r);
    if !r.errors.is_empty() {
        bail!("the storage benchmarks failed:\n{}", r.errors.join("\n"));
    }
    Ok(())
}

/// Prints the storage rows.
pub fn print(r: &StorageResults) {
    if let Some(l) = &r.lifecycle {
        lifecycle::print(l);
    }
    if let Some(p) = &r.planning {
        planning::print(p);
    }
    for e in &r.errors {
        println!("storage FAILED: {e}");
    }
}

/// The median and the largest of `v` (0 when empty).
fn p50_max(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_unstable_by(f64::total_cmp);
    (
        v.get(v.len() / 2).copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0),
    )
}
