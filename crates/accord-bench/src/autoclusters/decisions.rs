//! Decisions recorded per second on one core: the AutoClusters loop (finding consumed →
//! context → policy → remediation committed with its events) against a consumer that only
//! acknowledges the same findings.
//!
//! Setup, all through public interfaces: a provisioner started by [`Platform`] (data under one
//! directory, the simulated fleet's state in a file) makes a cluster with AutoClusters on and a
//! ready pool of [`NODES`] GPU nodes over gRPC, and stops. Then `n` `health.finding-raised`
//! events (CloudEvents, as the telemetry service publishes them, each with its own finding id)
//! are published to the stream: XID 92 (high single-bit ECC rate) on the pool's nodes, which
//! the shipped policy answers `none` — recorded as a `skipped` remediation with its
//! `remediation.decided` event, without touching a node, so neither the breaker nor the
//! in-flight limit and no repair is involved.
//!
//! - Baseline: a durable pull consumer on the same stream and filter, with the kit's settings
//!   (explicit double-acks, 8 messages prefetched), whose handler does nothing; on a dedicated
//!   thread with a current-thread runtime.
//! - Measured: the provisioner restarted on the same data with AutoClusters on, on a dedicated
//!   thread with a current-thread runtime (its `spawn_blocking` work and sled's flusher run on
//!   their own threads). Its durable consumer starts at the head of the stream and works the
//!   backlog; `remediation.decided` events are counted as they reach the stream.
//!
//! Both are timed from the first message handled (or decision seen) to the `n`-th:
//! rate = (n − 1) / elapsed, so start-up (compiling the policy, binding the consumer) is not
//! counted. Each decision reads the cluster's remediations (a cost the ARCHITECTURE names),
//! so the rate falls as the backlog of recorded remediations grows; `n` stays ≤ 1000 (the
//! per-cluster retention).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use accord_bus::{Bus, CloudEvent, ConsumerSpec, subjects};
use accord_core::{
    ids::ProjectId,
    remediation::{Finding, FindingKind, HealthEvent, RemediationEvent},
};
use accord_platform::{AutoClustersOptions, HostConfig, Platform, ProvisionerSettings};
use accord_sim::SimConfig;
use anyhow::{Context as _, bail};
use futures::StreamExt as _;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// Most findings per run (the provisioner keeps 1000 remediations per cluster).
pub const MAX_FINDINGS: usize = 1000;
/// GPU nodes the findings are spread over.
const NODES: u32 = 8;
/// Longest wait for the backlog to be worked.
const DEADLINE: Duration = Duration::from_secs(300);

/// Decisions per second against ack-only.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRate {
    pub findings: usize,
    pub nodes: u32,
    /// What was decided, e.g. `none → skipped`.
    pub decided_as: String,
    pub decisions_per_s: f64,
    /// Over the first and the second half of the backlog (each decision reads the cluster's
    /// remediations recorded so far).
    pub first_half_per_s: f64,
    pub second_half_per_s: f64,
    pub ack_only_per_s: f64,
    /// Decisions / acks (target ≥ 0.3).
    pub ratio: f64,
}

/// First and latest moments something was counted, and how many.
#[derive(Debug, Default)]
struct Clock {
    count: usize,
    first: Option<Instant>,
    last: Option<Instant>,
    /// When the `half`-th was counted.
    half: usize,
    at_half: Option<Instant>,
}

impl Clock {
    fn tick(&mut self) -> usize {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.count += 1;
        if self.count == self.half {
            self.at_half = Some(now);
        }
        self.count
    }

    /// Rates over the first and the second half.
    fn halves(&self) -> (f64, f64) {
        let rate = |n: usize, a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) if b > a => n as f64 / (b - a).as_secs_f64(),
            _ => 0.0,
        };
        (
            rate(self.half.saturating_sub(1), self.first, self.at_half),
            rate(self.count - self.half, self.at_half, self.last),
        )
    }

    fn rate(&self) -> anyhow::Result<f64> {
        let (Some(first), Some(last)) = (self.first, self.last) else {
            bail!("nothing was counted");
        };
        let secs = (last - first).as_secs_f64();
        if self.count < 2 || secs <= 0.0 {
            bail!("{} counted: too few to time", self.count);
        }
        Ok((self.count - 1) as f64 / secs)
    }
}

/// Runs `work` on a new thread with a current-thread runtime (one core for it and its tasks).
fn on_one_core<F, Fut, T>(work: F) -> std::thread::JoinHandle<anyhow::Result<T>>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
    T: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("a current-thread runtime")?
            .block_on(work())
    })
}

/// Waits for a thread without blocking the caller's runtime.
async fn join<T: Send + 'static>(
    handle: std::thread::JoinHandle<anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("a benchmark thread panicked"))?
    })
    .await?
}

fn provisioner(autoclusters: Option<AutoClustersOptions>) -> anyhow::Result<ProvisionerSettings> {
    Ok(ProvisionerSettings {
        grpc_addr: "127.0.0.1:0".parse()?,
        resync_interval: Duration::from_secs(3600),
        store: None,
        autoclusters,
        replica_grace: Duration::from_secs(60),
    })
}

/// See the module docs.
pub async fn bench(n: usize) -> anyhow::Result<DecisionRate> {
    let n = n.clamp(2, MAX_FINDINGS);
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let nats = super::Nats::start(dir.path()).await?;
    let data = dir.path().join("platform");

    // 1. The cluster and its pool, made by a provisioner without AutoClusters, then stopped.
    let shutdown = CancellationToken::new();
    let running = Platform::new(&nats.url)
        .data_dir(&data)
        .shutdown(shutdown.clone())
        .simulator(SimConfig::default().with_clock_factor(0.0))
        .provisioner(provisioner(None)?)
        .image_builder(crate::image_builder()?)
        .start()
        .await?;
    let bootstrap = running
        .bootstrap
        .as_ref()
        .context("bootstrap credentials")?;
    let (token, project): (String, ProjectId) =
        (bootstrap.admin.token.clone(), bootstrap.project.metadata.id);
    let cluster = super::gpu_cluster(&running, &token, "bench-decisions", NODES, 1).await?;
    shutdown.cancel();
    running.join(Duration::from_secs(10)).await?;

    // 2. The backlog: n findings on the stream.
    let bus = Bus::connect(&nats.url, "accord-bench-findings").await?;
    let source = accord_bus::envelope::service_source("telemetry");
    for i in 0..n {
        let (node, name) = &cluster.nodes[i % cluster.nodes.len()];
        let gpu = (i / cluster.nodes.len() % 8) as u32;
        let event = HealthEvent::FindingRaised {
            finding: Finding {
                kind: FindingKind::GpuXid,
                cluster: cluster.id.to_string(),
                node: node.to_string(),
                xid: Some(92),
                gpu: Some(gpu),
                port: None,
                state: None,
                minutes: None,
                temp_c: None,
                signal: None,
                severity: None,
            },
            project,
            evidence: vec![format!(
                "{name}: GPU {gpu} reported XID 92 (bench finding {i})"
            )],
            finding_id: format!("hf-bench-{i:06}"),
        };
        let scope = accord_core::events::Scope::Project(project);
        bus.publish_entry(&CloudEvent::new(source.clone(), scope, &event)?.outbox_entry()?)
            .await?;
    }

    // 3. Baseline: ack only.
    let url = nats.url.clone();
    let acks = join(on_one_core(move || async move {
        let bus = Bus::connect(&url, "accord-bench-ack-only").await?;
        let clock = Arc::new(Mutex::new(Clock::default()));
        let done = CancellationToken::new();
        let spec = ConsumerSpec::new("bench-ack-only", vec![subjects::events_of("health")?]);
        let (c, d) = (Arc::clone(&clock), done.clone());
        let consuming = bus.consume(
            spec,
            move |_event| {
                let (c, d) = (Arc::clone(&c), d.clone());
                async move {
                    let count = c.lock().map(|mut c| c.tick()).unwrap_or(0);
                    if count >= n {
                        d.cancel();
                    }
                    Ok(())
                }
            },
            done.clone(),
        );
        tokio::time::timeout(DEADLINE, consuming)
            .await
            .context("the ack-only consumer did not take the backlog in time")??;
        let clock = clock
            .lock()
            .map_err(|_| anyhow::anyhow!("clock lock poisoned"))?;
        clock.rate()
    }))
    .await?;

    // 4. Measured: the provisioner with AutoClusters on, restarted on the same data.
    let mut decided = bus
        .subscribe_core(&subjects::events_named("remediation", "decided")?)
        .await?;
    let stop = CancellationToken::new();
    let (url, data_dir, stopping) = (nats.url.clone(), data.clone(), stop.clone());
    let options = AutoClustersOptions {
        plugin_dir: super::plugin_dir()?,
        host_config: HostConfig::default(),
        timeouts: accord_platform::RemediationTimeouts::default(),
    };
    let platform = on_one_core(move || async move {
        let running = Platform::new(&url)
            .data_dir(&data_dir)
            .shutdown(stopping.clone())
            .simulator(SimConfig::default().with_clock_factor(0.0))
            .provisioner(provisioner(Some(options))?)
            .image_builder(crate::image_builder()?)
            .start()
            .await?;
        stopping.cancelled().await;
        running.join(Duration::from_secs(10)).await
    });
    let mut clock = Clock {
        half: n / 2,
        ..Clock::default()
    };
    let mut kinds = BTreeMap::<String, usize>::new();
    let counted = tokio::time::timeout(DEADLINE, async {
        while clock.count < n {
            let Some(message) = decided.next().await else {
                bail!("the event subscription ended");
            };
            clock.tick();
            let event = CloudEvent::from_json_bytes(&message.payload)?;
            if let RemediationEvent::Decided {
                decision, state, ..
            } = event.decode_data::<RemediationEvent>()?
            {
                let state = state.map_or("?", |s| s.as_str());
                *kinds
                    .entry(format!("{} → {state}", decision.action.as_str()))
                    .or_default() += 1;
            }
        }
        Ok(())
    })
    .await;
    stop.cancel();
    join(platform).await?;
    counted
        .with_context(|| format!("{} of {n} findings decided in {DEADLINE:?}", clock.count))??;
    let decisions = clock.rate()?;
    let (first_half_per_s, second_half_per_s) = clock.halves();
    let decided_as = kinds
        .iter()
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(DecisionRate {
        findings: n,
        nodes: NODES,
        decided_as,
        decisions_per_s: decisions,
        first_half_per_s,
        second_half_per_s,
        ack_only_per_s: acks,
        ratio: decisions / acks,
    })
}
