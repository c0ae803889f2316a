//! The network-firewall benchmarks (issue 12; `accord-bench --only firewall` runs them alone):
//!
//! - **one packet against 10,000 customer rules on one core** ([`engine`]): p50/p99 through the
//!   index ([`accord_firewall::Firewall::evaluate`]) against the plain
//!   [`accord_firewall::linear_scan`] of the same rules and packets in the same run, checked to
//!   give the same decision for every packet (target: the index ≥ 10× faster at p50); the
//!   index build, informational;
//! - **the shadow analysis** of the same 10,000 rules ([`accord_firewall::analyze`]; target
//!   ≤ 100 ms, median of several runs), and as a ratio of one index build, informational;
//! - **`nodepool.created` → the updated rules applied in the simulated VPC** ([`apply`]), p50
//!   and max over a few pools; the issue sets no target: informational.
//!
//! A benchmark that fails is reported in [`FirewallResults::errors`] and fails the run after
//! the other results are printed.

mod apply;
mod engine;

use anyhow::bail;
use serde::Serialize;

/// Index vs linear scan at p50 (the target).
const TARGET_RATIO: f64 = 10.0;
/// The shadow analysis of 10,000 rules, ms (the target).
const TARGET_ANALYZE_MS: f64 = 100.0;

/// The firewall benchmarks; a part that failed is `None` and its error is in `errors`.
#[derive(Debug, Serialize)]
pub struct FirewallResults {
    pub engine: Option<engine::EngineResults>,
    pub apply: Option<apply::ApplyLatency>,
    pub errors: Vec<String>,
}

/// Runs the benchmarks: `iterations` timed packets (at least 5,000) after `warmup`.
pub async fn bench(iterations: usize, warmup: usize) -> FirewallResults {
    let mut errors = Vec::new();
    let mut keep = |what: &str, e: anyhow::Error| errors.push(format!("{what}: {e:#}"));
    eprintln!("firewall: packet evaluation and shadow analysis, 10,000 rules…");
    let packets = iterations.max(5_000);
    let engine = match tokio::task::spawn_blocking(move || engine::bench(packets, warmup)).await {
        Ok(r) => r.map_err(|e| keep("evaluation and analysis", e)).ok(),
        Err(e) => {
            keep("evaluation and analysis", e.into());
            None
        }
    };
    eprintln!("firewall: nodepool event → rules applied in the simulated VPC…");
    let apply = apply::bench()
        .await
        .map_err(|e| keep("nodepool → applied", e))
        .ok();
    FirewallResults {
        engine,
        apply,
        errors,
    }
}

/// `accord-bench --only firewall`.
pub async fn run_only(iterations: usize, warmup: usize) -> anyhow::Result<()> {
    let r = bench(iterations, warmup).await;
    print(&r);
    if !r.errors.is_empty() {
        bail!("the firewall benchmarks failed:\n{}", r.errors.join("\n"));
    }
    Ok(())
}

/// Prints the firewall rows.
pub fn print(r: &FirewallResults) {
    let mark = |ok: bool| if ok { "PASS" } else { "MISS" };
    if let Some(e) = &r.engine {
        println!(
            "firewall evaluation (one core, {} rules, {} packets: {} provider / {} customer / {} default; index = linear scan on every one): index p50 {:.2} µs (p99 {:.2} µs) vs linear scan p50 {:.1} µs (p99 {:.1} µs) → {:.0}× faster (p99 {:.0}×); index build {:.1} ms   target ≥ {TARGET_RATIO:.0}×: {}",
            e.rules,
            e.packets,
            e.decided_by_provider,
            e.decided_by_customer,
            e.decided_by_default,
            e.index.p50_us,
            e.index.p99_us,
            e.linear.p50_us,
            e.linear.p99_us,
            e.ratio_p50,
            e.ratio_p99,
            e.build_ms,
            mark(e.ratio_p50 >= TARGET_RATIO)
        );
        println!(
            "firewall shadow analysis ({} rules, {} warnings): median {:.1} ms (max {:.1} ms) = {:.1}× one index build   target ≤ {TARGET_ANALYZE_MS:.0} ms: {}",
            e.rules,
            e.warnings,
            e.analyze_ms,
            e.analyze_max_ms,
            e.analyze_to_build,
            mark(e.analyze_ms <= TARGET_ANALYZE_MS)
        );
    }
    if let Some(a) = &r.apply {
        println!(
            "firewall nodepool.created → rules applied ({} pools one after the other, reconcile interval {:.0} ms, sim clock ×{}): required-rules-updated p50 {:.0} ms (max {:.0}), in the simulated VPC p50 {:.0} ms (max {:.0}), firewall.applied p50 {:.0} ms (max {:.0})   no target in the issue: informational",
            a.pools,
            a.reconcile_interval_ms,
            a.clock_factor,
            a.to_required_p50_ms,
            a.to_required_max_ms,
            a.to_vpc_p50_ms,
            a.to_vpc_max_ms,
            a.to_applied_p50_ms,
            a.to_applied_max_ms
        );
    }
    for e in &r.errors {
        println!("firewall FAILED: {e}");
    }
}
