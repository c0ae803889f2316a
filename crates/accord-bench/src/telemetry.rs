//! The telemetry service's benchmarks (`accord-bench --only telemetry` runs them alone).
//!
//! - **Ingest on one core**: samples of 8-GPU, 8-IB-port nodes (the simulated agents' shape,
//!   ~4 KiB of JSON each), pre-encoded, published over the bench's nats-server from the main
//!   runtime to one core subscription on a *dedicated thread with a current-thread runtime* —
//!   its own NATS connection, so reading the socket, parsing the protocol and handling each
//!   message all share that one thread (sled's background threads stay idle when no finding
//!   commits). Baseline: receive and drop. Measured: receive and [`Telemetry::ingest`] (bound,
//!   decode, admit, check, store the latest sample). Same messages, same count, timed from the
//!   first message received to the last one handled; the publisher keeps at most
//!   [`MAX_IN_FLIGHT`] messages ahead of the receiver so no buffer overflows; the receiver
//!   counts what never arrived (reported; more than 1% fails the run). Every node's first
//!   sample (its baseline) is ingested before the clock starts: this is the steady state. A
//!   second run has ~1% of the samples carry a new fatal XID, so findings are committed
//!   (flushed store commit, outbox event). Beside it, informational: the same ingest called in
//!   a loop without NATS, and JSON decoding alone.
//! - **Fatal XID → finding on the stream**: see [`finding_latency`].
//! - **Memory for 10,000 nodes**: the growth of the process's resident set (`VmRSS`) after two
//!   samples of each of 10,000 nodes went through [`Telemetry::ingest`] (each node's check state,
//!   its latest sample, its XID counters). Measured in a child process (`--only
//!   telemetry-memory`), so memory the other benchmarks freed does not hide the growth.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use accord_bus::{Bus, subjects};
use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    telemetry::{GpuSample, IbPortSample, IbPortState, SCHEMA_VERSION, TelemetrySample},
};
use accord_health::HealthConfig;
use accord_runtime::metrics::Metrics;
use accord_store::{Commit, Expect, Store};
use accord_telemetry::{
    Ingested, Telemetry,
    trees::{CLUSTERS, Findings as _},
    view::ClusterView,
};
use anyhow::{Context as _, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

/// Nodes in the ingest benchmark.
const INGEST_NODES: usize = 2_000;
/// Samples per node per measured run (one every 10 s of sample time).
const INGEST_ROUNDS: usize = 5;
/// Nodes per cluster (the read model holds one view per cluster).
const NODES_PER_CLUSTER: usize = 100;
/// Nodes in the memory benchmark.
const MEMORY_NODES: usize = 10_000;
/// Messages the publisher may be ahead of the receiver (~4 MiB of samples): well inside the
/// client's subscription buffer (65,536 messages) and the server's pending limit (64 MiB).
const MAX_IN_FLIGHT: usize = 1_000;
/// One in this many samples of the XID run carries a new fatal XID.
const XID_EVERY: usize = 100;
/// Findings timed in the latency benchmark (after [`LATENCY_WARMUP`]).
const LATENCY_FINDINGS: usize = 200;
const LATENCY_WARMUP: usize = 20;
/// How long one finding (or the cluster's arrival in the read model) may take.
const LATENCY_DEADLINE: Duration = Duration::from_secs(30);
/// Sample interval of the simulated agents, in ms.
const INTERVAL_MS: i64 = 10_000;

/// Results of the telemetry benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct TelemetryResults {
    pub nodes: usize,
    pub messages_per_run: usize,
    pub sample_bytes: usize,
    /// Receive and drop, messages/s.
    pub receive_per_s: f64,
    /// Receive and ingest (steady state, no findings), node samples/s.
    pub ingest_per_s: f64,
    pub ingest_ratio: f64,
    /// The same with ~1% of the samples carrying a new XID.
    pub xid_receive_per_s: f64,
    pub xid_ingest_per_s: f64,
    pub xid_ratio: f64,
    /// Where the time goes (informational, same thread, no NATS): [`Telemetry::ingest`] called
    /// in a loop over the next rounds' samples, and decoding the same samples alone.
    pub direct_ingest_per_s: f64,
    pub decode_per_s: f64,
    pub findings_committed: usize,
    /// Samples published but not received, over the four runs (core NATS may drop; the rates
    /// count what was received).
    pub lost: usize,
    pub memory: MemoryResults,
    pub finding_latency: FindingLatency,
}

/// A fatal-XID sample published → its `health.finding-raised` received, against a NATS
/// request/reply round trip of the same size measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct FindingLatency {
    pub findings: usize,
    pub finding: crate::Latency,
    pub round_trip: crate::Latency,
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

/// RSS growth for [`MEMORY_NODES`] nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryResults {
    pub nodes: usize,
    pub rss_before_mib: f64,
    pub rss_growth_mib: f64,
    pub bytes_per_node: f64,
}

/// A deterministic generator (xorshift64*): the bench has no `rand`, and a fixed stream keeps
/// runs comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// In `lo..lo + span`.
    fn range(&mut self, lo: u64, span: u64) -> u64 {
        lo + self.next() % span.max(1)
    }
}

/// The simulated fleet: nodes spread over clusters of [`NODES_PER_CLUSTER`].
struct Fleet {
    clusters: Vec<ClusterView>,
    nodes: Vec<Node>,
    rng: Rng,
}

struct Node {
    cluster: ClusterId,
    pool: NodePoolId,
    id: NodeId,
    name: String,
    subject: String,
    xid_total: u64,
}

impl Fleet {
    fn new(nodes: usize) -> anyhow::Result<Self> {
        let mut clusters = Vec::new();
        let mut out = Vec::with_capacity(nodes);
        for i in 0..nodes {
            if i % NODES_PER_CLUSTER == 0 {
                let pool = NodePoolId::generate();
                clusters.push(ClusterView {
                    id: ClusterId::generate(),
                    name: format!("bench-{}", clusters.len()),
                    project: ProjectId::generate(),
                    pools: [(pool, "gpu".to_owned())].into(),
                });
            }
            let c = clusters.last().context("a cluster")?;
            let pool = *c.pools.keys().next().context("a pool")?;
            let id = NodeId::generate();
            out.push(Node {
                cluster: c.id,
                pool,
                id,
                name: format!("gpu-{i:05}"),
                subject: subjects::telemetry(&c.id.to_string(), &id.to_string())?,
                xid_total: 0,
            });
        }
        Ok(Fleet {
            clusters,
            nodes: out,
            rng: Rng(0x5eed_a6e7_0000_0001),
        })
    }

    /// `nodes` nodes of the existing cluster `cluster` (pool `pool`), which the read model
    /// learns from the provisioner.
    fn in_cluster(cluster: ClusterId, pool: NodePoolId, nodes: usize) -> anyhow::Result<Self> {
        let nodes = (0..nodes)
            .map(|i| {
                let id = NodeId::generate();
                Ok(Node {
                    cluster,
                    pool,
                    id,
                    name: format!("gpu-{i:05}"),
                    subject: subjects::telemetry(&cluster.to_string(), &id.to_string())?,
                    xid_total: 0,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Fleet {
            clusters: Vec::new(),
            nodes,
            rng: Rng(0x5eed_a6e7_0000_0002),
        })
    }

    /// Writes the clusters into `store`'s read model (what the provisioner's events would).
    async fn register(&self, store: &Store) -> anyhow::Result<()> {
        let mut c = Commit::new();
        for v in &self.clusters {
            c.push_put_in(CLUSTERS, &v.id.to_string(), v, Expect::Any)?;
        }
        store.commit(c).await?;
        Ok(())
    }

    /// Node `i`'s sample at round `round`, encoded; with a new XID 79 on GPU 3 when `xid`.
    fn encode(&mut self, i: usize, round: usize, xid: bool) -> anyhow::Result<Vec<u8>> {
        let rng = &mut self.rng;
        let node = self.nodes.get_mut(i).context("node index")?;
        if xid {
            node.xid_total += 1;
        }
        let gpus = (0..8u32)
            .map(|index| {
                let util = rng.range(20, 76);
                GpuSample {
                    index,
                    uuid: format!("GPU-{i:08x}-0000-4000-8000-{index:012x}"),
                    model: "NVIDIA H100 80GB HBM3".to_owned(),
                    temp_c: 35 + (util as u32 * 40) / 100,
                    power_w: (70.0 + util as f64 * 6.3 + rng.range(0, 10) as f64).round(),
                    util_pct: util as u32,
                    fb_used_mib: 81_920 * util / 100,
                    xid_last: (index == 3 && node.xid_total > 0).then_some(79),
                    xid_total: if index == 3 { node.xid_total } else { 0 },
                    ecc_sbe_total: 2,
                    ecc_dbe_total: 0,
                    remapped_rows_uncorrectable: 0,
                    row_remap_failure: false,
                    nvlink_crc_errors: 11,
                    pcie_replay: 3,
                }
            })
            .collect();
        let ib_ports = (0..8u32)
            .map(|port| IbPortSample {
                port,
                name: None,
                state: IbPortState::Up,
                link_downed: 1,
                symbol_error: 4,
                excessive_buffer_overrun: 0,
                local_link_integrity_errors: 0,
            })
            .collect();
        let sample = TelemetrySample {
            schema_version: SCHEMA_VERSION,
            ts_ms: 1_800_000_000_000 + round as i64 * INTERVAL_MS,
            cluster: node.cluster,
            node: node.id,
            node_name: node.name.clone(),
            pool: node.pool,
            instance_type: "h100-80gb-sxm-ib.8x".to_owned(),
            ready: true,
            gpus,
            ib_ports,
            thermal_violation: false,
        };
        Ok(serde_json::to_vec(&sample)?)
    }

    /// Every node's sample of rounds `rounds`, in publication order (round by round).
    fn messages(
        &mut self,
        rounds: std::ops::Range<usize>,
        with_xids: bool,
    ) -> anyhow::Result<Vec<(String, Bytes)>> {
        let mut out = Vec::with_capacity(rounds.len() * self.nodes.len());
        for round in rounds {
            for i in 0..self.nodes.len() {
                let xid = with_xids && (i + round) % XID_EVERY == 0;
                let payload = self.encode(i, round, xid)?;
                out.push((self.nodes[i].subject.clone(), Bytes::from(payload)));
            }
        }
        Ok(out)
    }
}

fn telemetry(store: &Store) -> Arc<Telemetry> {
    Telemetry::new(
        store.clone(),
        HealthConfig::default(),
        &Metrics::new("telemetry"),
    )
}

/// What one receiving run saw.
#[derive(Debug, Default)]
struct Receipt {
    messages: usize,
    elapsed: Duration,
    checked: usize,
    raised: usize,
    dropped: usize,
    /// Published but never received.
    lost: usize,
}

impl Receipt {
    fn per_s(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Publishes `messages` from this runtime to one subscription on a dedicated current-thread
/// runtime, which ingests them into `telemetry` (or drops them when `None`).
async fn one_run(
    nats_url: &str,
    publisher: &Bus,
    messages: &[(String, Bytes)],
    telemetry: Option<Arc<Telemetry>>,
) -> anyhow::Result<Receipt> {
    let expected = messages.len();
    let received = Arc::new(AtomicUsize::new(0));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (url, seen) = (nats_url.to_owned(), Arc::clone(&received));
    let receiver = std::thread::Builder::new()
        .name("telemetry-ingest".into())
        .spawn(move || -> anyhow::Result<Receipt> {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(receive(url, expected, telemetry, seen, ready_tx))
        })?;
    ready_rx
        .await
        .context("the receiver stopped before subscribing")?;
    for (sent, (subject, payload)) in messages.iter().enumerate() {
        while sent.saturating_sub(received.load(Ordering::Acquire)) > MAX_IN_FLIGHT {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        publisher.publish_core(subject, payload.clone()).await?;
    }
    publisher.flush().await?;
    let r = tokio::task::spawn_blocking(move || receiver.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the receiving thread panicked"))??;
    // A lost sample is tolerated (and reported); more than 1% would skew the rate.
    if r.lost * 100 > expected {
        bail!("received {} of {expected} samples", r.messages);
    }
    Ok(r)
}

async fn receive(
    url: String,
    expected: usize,
    telemetry: Option<Arc<Telemetry>>,
    received: Arc<AtomicUsize>,
    ready: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<Receipt> {
    let bus = Bus::connect(&url, "accord-bench-telemetry").await?;
    let mut samples = bus.subscribe_core(&subjects::telemetry_all()).await?;
    let _ = ready.send(());
    let mut r = Receipt::default();
    let mut first = None;
    while r.messages < expected {
        let message = match tokio::time::timeout(Duration::from_secs(3), samples.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => bail!("the subscription ended"),
            // Nothing for a while: the rest was lost (counted; the caller decides).
            Err(_) => break,
        };
        let started = *first.get_or_insert_with(Instant::now);
        match &telemetry {
            Some(t) => match t.ingest(&message.subject, &message.payload).await {
                Ingested::Checked { raised, .. } => {
                    r.checked += 1;
                    r.raised += raised;
                }
                Ingested::Dropped(_) => r.dropped += 1,
            },
            None => {
                std::hint::black_box(&message);
            }
        }
        r.messages += 1;
        received.store(r.messages, Ordering::Release);
        r.elapsed = started.elapsed();
    }
    r.lost = expected - r.messages;
    Ok(r)
}

/// Runs the ingest benchmarks over the nats-server at `nats_url`, and the memory one in a child
/// process.
pub async fn bench(nats_url: &str) -> anyhow::Result<TelemetryResults> {
    let memory = memory_in_child().await?;
    let finding_latency = finding_latency(nats_url, LATENCY_FINDINGS).await?;
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let store = Store::open(dir.path().join("telemetry"))?;
    let mut fleet = Fleet::new(INGEST_NODES)?;
    fleet.register(&store).await?;
    let t = telemetry(&store);
    // Each node's baseline sample, before the clock starts.
    for (subject, payload) in fleet.messages(0..1, false)? {
        t.ingest(&subject, &payload).await;
    }
    let steady = fleet.messages(1..1 + INGEST_ROUNDS, false)?;
    let sample_bytes = steady.first().map_or(0, |(_, p)| p.len());
    let with_xids = fleet.messages(1 + INGEST_ROUNDS..1 + 2 * INGEST_ROUNDS, true)?;
    let publisher = Bus::connect(nats_url, "accord-bench-telemetry-agents").await?;
    eprintln!(
        "telemetry: {} samples of {INGEST_NODES} nodes per run ({sample_bytes} bytes each)…",
        steady.len()
    );
    let receive = one_run(nats_url, &publisher, &steady, None)
        .await
        .context("receive and drop")?;
    let ingest = one_run(nats_url, &publisher, &steady, Some(Arc::clone(&t)))
        .await
        .context("receive and ingest")?;
    if ingest.checked + ingest.lost != steady.len() {
        bail!(
            "{} of {} samples were dropped by the service",
            ingest.dropped,
            steady.len()
        );
    }
    let xid_receive = one_run(nats_url, &publisher, &with_xids, None)
        .await
        .context("receive and drop, with XIDs")?;
    let xid_ingest = one_run(nats_url, &publisher, &with_xids, Some(Arc::clone(&t)))
        .await
        .context("receive and ingest, with XIDs")?;
    if xid_ingest.checked + xid_ingest.lost != with_xids.len() || xid_ingest.raised == 0 {
        bail!(
            "the XID run checked {} of {} samples and raised {} findings",
            xid_ingest.checked,
            with_xids.len(),
            xid_ingest.raised
        );
    }
    // Where the time goes: the service's work without NATS, and JSON decoding alone.
    let direct = fleet.messages(1 + 2 * INGEST_ROUNDS..1 + 3 * INGEST_ROUNDS, false)?;
    let started = Instant::now();
    for (subject, payload) in &direct {
        std::hint::black_box(t.ingest(subject, payload).await);
    }
    let direct_ingest_per_s = direct.len() as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for (_, payload) in &direct {
        std::hint::black_box(accord_core::telemetry::decode(payload)?);
    }
    let decode_per_s = direct.len() as f64 / started.elapsed().as_secs_f64();
    Ok(TelemetryResults {
        direct_ingest_per_s,
        decode_per_s,
        nodes: INGEST_NODES,
        messages_per_run: steady.len(),
        sample_bytes,
        receive_per_s: receive.per_s(),
        ingest_per_s: ingest.per_s(),
        ingest_ratio: ingest.per_s() / receive.per_s(),
        xid_receive_per_s: xid_receive.per_s(),
        xid_ingest_per_s: xid_ingest.per_s(),
        xid_ratio: xid_ingest.per_s() / xid_receive.per_s(),
        findings_committed: xid_ingest.raised,
        lost: receive.lost + ingest.lost + xid_receive.lost + xid_ingest.lost,
        memory,
        finding_latency,
    })
}

/// Starts a provisioner and the telemetry service (with its outbox relay) through the
/// platform composer, creates a cluster through the provisioner's gRPC API, waits for the
/// telemetry service's read model to learn it, gives each of `findings` (+ warm-up) nodes a
/// baseline sample, then, one node at a time, publishes a sample with a new fatal XID and
/// waits for its `health.finding-raised` on `accord.evt.health.>` (the committed finding,
/// relayed from the outbox to JetStream). Baseline: NATS request/reply round trips of the
/// same payload size to a responder in this process.
async fn finding_latency(nats_url: &str, findings: usize) -> anyhow::Result<FindingLatency> {
    use accord_platform::{Platform, ProvisionerSettings, TelemetrySettings};
    use accord_proto::provisioner::v1 as pb;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let running = Platform::new(nats_url)
        .shutdown(shutdown.clone())
        .simulator(accord_sim::SimConfig::default().with_clock_factor(0.0))
        .provisioner(ProvisionerSettings {
            grpc_addr: "127.0.0.1:0".parse()?,
            resync_interval: Duration::from_secs(3600),
            store: None,
            autoclusters: None,
            replica_grace: Duration::from_secs(60),
        })
        .telemetry(TelemetrySettings {
            grpc_addr: "127.0.0.1:0".parse()?,
            health: HealthConfig::default(),
            cluster_metrics_addr: None,
            store: None,
        })
        .image_builder(crate::image_builder()?)
        .start()
        .await?;
    let grpc_addr = running
        .provisioner
        .as_ref()
        .map(|p| p.grpc_addr)
        .context("the provisioner did not start")?;
    let service = running
        .telemetry
        .as_ref()
        .map(|t| Arc::clone(&t.engine))
        .context("the telemetry service did not start")?;
    let token = running
        .bootstrap
        .as_ref()
        .map(|b| b.admin.token.clone())
        .context("bootstrap credentials")?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{grpc_addr}"))?
        .connect()
        .await?;
    let mut clusters = pb::clusters_client::ClustersClient::new(channel);
    let req = pb::CreateClusterRequest {
        name: "bench-telemetry".into(),
        spec: Some(pb::ClusterSpec {
            region: "eu-iceland1".into(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: "10.0.0.0/16".into(),
                pod_cidr: "10.244.0.0/16".into(),
                service_cidr: "10.96.0.0/12".into(),
                node_cidr_mask_size: 24,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = clusters
        .create_cluster(crate::authed(req, &token)?)
        .await?
        .into_inner();
    let cluster: ClusterId = created
        .metadata
        .map(|m| m.id)
        .context("the created cluster has no metadata")?
        .parse()?;
    let deadline = Instant::now() + LATENCY_DEADLINE;
    while service.reader().cluster(cluster)?.is_none() {
        if Instant::now() > deadline {
            bail!("the telemetry service did not learn cluster {cluster}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let total = LATENCY_WARMUP + findings;
    let mut fleet = Fleet::in_cluster(cluster, NodePoolId::generate(), total)?;
    let bus = Bus::connect(nats_url, "accord-bench-telemetry-latency").await?;
    let mut events = bus.subscribe_core(&subjects::events_of("health")?).await?;
    let accepted = service.metrics().accepted_total();
    for i in 0..total {
        let payload = fleet.encode(i, 0, false)?;
        bus.publish_core(&fleet.nodes[i].subject, payload.into())
            .await?;
    }
    while service.metrics().accepted_total() < accepted + total as u64 {
        if Instant::now() > deadline {
            bail!("the telemetry service did not take the baseline samples");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut times = Vec::with_capacity(findings);
    let mut sample_bytes = 0;
    for i in 0..total {
        let payload = fleet.encode(i, 1, true)?;
        sample_bytes = payload.len();
        let subject = fleet.nodes[i].subject.clone();
        let started = Instant::now();
        bus.publish_core(&subject, payload.into()).await?;
        loop {
            let event = tokio::time::timeout(LATENCY_DEADLINE, events.next())
                .await
                .context("no health.finding-raised for a fatal XID")?
                .context("the event subscription ended")?;
            if event.subject.contains("finding-raised") {
                break;
            }
        }
        if i >= LATENCY_WARMUP {
            times.push(started.elapsed());
        }
    }
    drop(events);
    // One finding per fatal-XID sample, or the waits above paired the wrong events.
    let stored = service.reader().finding_keys(cluster)?.len();
    if stored != total {
        bail!("{total} fatal-XID samples stored {stored} findings");
    }

    // The baseline: request/reply of the same size to a responder on this connection's server.
    let echo = "accord-bench.telemetry.echo";
    let mut requests = bus.subscribe_core(echo).await?;
    let responder = bus.clone();
    let echoing = tokio::spawn(async move {
        while let Some(m) = requests.next().await {
            if let Some(reply) = m.reply {
                let _ = responder.publish_core(&reply, m.payload).await;
            }
        }
    });
    let payload = Bytes::from(vec![b'x'; sample_bytes]);
    let mut round_trips = Vec::with_capacity(findings);
    for i in 0..total {
        let started = Instant::now();
        bus.request(echo, payload.clone(), LATENCY_DEADLINE).await?;
        if i >= LATENCY_WARMUP {
            round_trips.push(started.elapsed());
        }
    }
    echoing.abort();
    let (finding, round_trip) = (crate::summarize(times), crate::summarize(round_trips));
    Ok(FindingLatency {
        findings,
        ratio_p50: finding.p50_us / round_trip.p50_us,
        ratio_p99: finding.p99_us / round_trip.p99_us,
        finding,
        round_trip,
    })
}

/// Runs [`memory_probe`] in a fresh copy of this program and reads its JSON line.
async fn memory_in_child() -> anyhow::Result<MemoryResults> {
    let exe = std::env::current_exe().context("locating accord-bench")?;
    let out = tokio::process::Command::new(exe)
        .args(["--only", "telemetry-memory"])
        .output()
        .await
        .context("running the memory probe")?;
    if !out.status.success() {
        bail!(
            "the memory probe failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.trim()).context("reading the memory probe's result")
}

/// The resident set of this process, in bytes (`VmRSS` of `/proc/self/status`).
fn rss_bytes() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc/self")?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kib * 1024)
}

/// Feeds two samples of each of [`MEMORY_NODES`] nodes into a fresh [`Telemetry`] and prints
/// the RSS growth as one JSON line (what `--only telemetry-memory` runs).
pub async fn memory_probe() -> anyhow::Result<()> {
    let store = Store::temporary()?;
    let mut fleet = Fleet::new(MEMORY_NODES)?;
    fleet.register(&store).await?;
    let t = telemetry(&store);
    let before = rss_bytes()?;
    for round in 0..2 {
        for i in 0..MEMORY_NODES {
            let payload = fleet.encode(i, round, false)?;
            match t.ingest(&fleet.nodes[i].subject, &payload).await {
                Ingested::Checked { .. } => {}
                Ingested::Dropped(reason) => bail!("a sample was dropped: {reason:?}"),
            }
        }
    }
    let after = rss_bytes()?;
    let growth = after.saturating_sub(before) as f64;
    let r = MemoryResults {
        nodes: MEMORY_NODES,
        rss_before_mib: before as f64 / (1024.0 * 1024.0),
        rss_growth_mib: growth / (1024.0 * 1024.0),
        bytes_per_node: growth / MEMORY_NODES as f64,
    };
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

/// Runs the telemetry benchmarks alone, with their own nats-server.
pub async fn run_only(section: &str) -> anyhow::Result<()> {
    match section {
        "telemetry-memory" => memory_probe().await,
        "telemetry" => {
            // Logs only when asked for (`ACCORD_LOG=warn`): NATS events such as slow consumers.
            let _logs = match std::env::var_os("ACCORD_LOG") {
                Some(_) => Some(accord_runtime::telemetry::init(
                    "accord-bench",
                    accord_runtime::config::LogFormat::Text,
                )?),
                None => None,
            };
            let dir = tempfile::tempdir().context("creating a scratch directory")?;
            let nats_url = format!("nats://127.0.0.1:{}", crate::free_port()?);
            let mut nats =
                accord_platform::nats::start(&nats_url, &dir.path().join("nats"), None, None)
                    .await?;
            let res = bench(&nats_url).await;
            if res.is_err() {
                // What the server saw (slow consumers, disconnects) explains a lost message.
                let log =
                    std::fs::read_to_string(dir.path().join("nats/nats.log")).unwrap_or_default();
                for line in log
                    .lines()
                    .filter(|l| l.contains("[WRN]") || l.contains("[ERR]") || l.contains("Slow"))
                {
                    eprintln!("nats-server: {line}");
                }
            }
            let _ = nats.start_kill();
            let _ = nats.wait().await;
            print(&res?);
            Ok(())
        }
        other => bail!("unknown section {other:?} (known: telemetry, telemetry-memory)"),
    }
}

/// Prints the telemetry rows.
pub fn print(r: &TelemetryResults) {
    let mark = |ok: bool| if ok { "meets target" } else { "BELOW target" };
    println!(
        "telemetry ingest (one core, {} nodes × 8 GPUs × 8 IB ports, {} samples of {} B per run): {:.0} samples/s vs receive-and-drop {:.0}/s → ratio {:.2}   targets ≥ 15,000/s and ≥ 0.50: {}",
        r.nodes,
        r.messages_per_run,
        r.sample_bytes,
        r.ingest_per_s,
        r.receive_per_s,
        r.ingest_ratio,
        mark(r.ingest_per_s >= 15_000.0 && r.ingest_ratio >= 0.5)
    );
    println!(
        "telemetry ingest with 1% new XIDs ({} findings committed): {:.0} samples/s vs receive-and-drop {:.0}/s → ratio {:.2}; {} of {} samples lost over the four runs",
        r.findings_committed,
        r.xid_ingest_per_s,
        r.xid_receive_per_s,
        r.xid_ratio,
        r.lost,
        4 * r.messages_per_run
    );
    println!(
        "telemetry ingest without NATS (same thread, informational): {:.0} samples/s; decoding the JSON alone {:.0}/s",
        r.direct_ingest_per_s, r.decode_per_s
    );
    println!(
        "telemetry memory: {} nodes (two samples each) grow the resident set by {:.1} MiB = {:.0} bytes per node (from {:.1} MiB)",
        r.memory.nodes, r.memory.rss_growth_mib, r.memory.bytes_per_node, r.memory.rss_before_mib
    );
    let l = &r.finding_latency;
    println!(
        "fatal XID sample → health.finding-raised ({} findings): p50 {:.2} ms, p99 {:.2} ms vs NATS request/reply p50 {:.0} µs, p99 {:.0} µs → ratio {:.1} at p50, {:.1} at p99",
        l.findings,
        l.finding.p50_us / 1000.0,
        l.finding.p99_us / 1000.0,
        l.round_trip.p50_us,
        l.round_trip.p99_us,
        l.ratio_p50,
        l.ratio_p99
    );
}
