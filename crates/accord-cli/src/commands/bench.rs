//! `accord bench`: Accord's benchmarks, each reported as a ratio against a baseline measured in
//! the same process and run (these machines are noisy: absolute times drift, ratios hold).
//!
//! - **write RPC vs no-op RPC**: `CreateNodePool` (auth, validation, quota and capacity checks,
//!   sled commit with its outbox event, flush) against a gRPC health `Check` on the same server.
//!   Ratio = no-op p50 / write p50 (1.0 = a write costs no more than a no-op call). Pools are
//!   spread over clusters ([`POOLS_PER_CLUSTER`] each) as in real use; `UpdateNodePool` on one
//!   pool is reported beside it as the steady-state write.
//! - **outbox relay vs raw JetStream publish**: events drained from the store's outbox by the
//!   relay (publish, wait for the PubAck, remove) against `publish_entry` of the same events
//!   straight from memory. Ratio = relay throughput / raw throughput.
//!
//! Everything runs on this machine: a private nats-server (JetStream, `sync_interval: always`)
//! on a free port, a provisioner with the simulated fleet at clock factor 0, stores on disk.

use std::{
    net::TcpListener,
    sync::Arc,
    time::{Duration, Instant},
};

use accord_bus::{Bus, OutboxRelay};
use accord_core::outbox::OutboxEntry;
use accord_proto::provisioner::v1 as pb;
use accord_runtime::metrics::Metrics;
use accord_sim::{SimConfig, SimFleet};
use accord_store::{Commit, Store};
use anyhow::{Context, bail};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use crate::{cli::BenchArgs, config::Settings};

/// Latency summary of one benchmark, in microseconds.
#[derive(Debug, Clone, Serialize)]
struct Latency {
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
}

fn summarize(mut samples: Vec<Duration>) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Latency {
        p50_us: at(0.50),
        p90_us: at(0.90),
        p99_us: at(0.99),
        max_us: at(1.0),
    }
}

#[derive(Debug, Serialize)]
struct Results {
    iterations: usize,
    noop_health_check: Latency,
    authenticated_read_whoami: Latency,
    write_create_node_pool: Latency,
    write_update_node_pool: Latency,
    store_commit_flushed: Latency,
    write_ratio_p50: f64,
    raw_jetstream_publish_per_s: f64,
    outbox_relay_publish_per_s: f64,
    outbox_ratio: f64,
}

/// Pools created per cluster in the CreateNodePool benchmark (a realistic upper range).
const POOLS_PER_CLUSTER: usize = 20;

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn authed<T>(msg: T, token: &str) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}"))?,
    );
    Ok(r)
}

async fn time_calls<F, Fut>(warmup: usize, n: usize, mut call: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for i in 0..warmup {
        call(i).await?;
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        call(warmup + i).await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

fn entries(prefix: &str, n: usize) -> Vec<OutboxEntry> {
    (0..n)
        .map(|i| OutboxEntry {
            id: accord_bus::envelope::new_event_id(),
            subject: format!("accord.evt.bench.{prefix}.e{i}"),
            payload: format!(
                r#"{{"specversion":"1.0","bench":"{prefix}","i":{i},"pad":"{}"}}"#,
                "x".repeat(256)
            )
            .into_bytes(),
            headers: Vec::new(),
        })
        .collect()
}

/// Runs every benchmark and prints the table.
pub async fn run(args: BenchArgs, _settings: &Settings) -> anyhow::Result<()> {
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let dir = tempfile::tempdir().context("creating a scratch directory")?;
    let nats_url = format!("nats://127.0.0.1:{}", free_port()?);
    let mut nats = super::up::start_nats(&nats_url, &dir.path().join("nats")).await?;
    let res = run_all(&args, &nats_url, dir.path()).await;
    let _ = nats.start_kill();
    let _ = nats.wait().await;
    let results = res?;
    print_results(&results);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&results)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", path.display());
    }
    Ok(())
}

async fn run_all(
    args: &BenchArgs,
    nats_url: &str,
    dir: &std::path::Path,
) -> anyhow::Result<Results> {
    let (n, warmup) = (args.iterations, args.warmup);
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let bus = Bus::connect(nats_url, "accord-bench").await?;
    bus.ensure_streams().await?;

    // --- gRPC: a provisioner on a free port.
    let fleet = Arc::new(SimFleet::new(SimConfig::default().with_clock_factor(0.0))?);
    let running = accord_provisioner::start(accord_provisioner::StartOptions {
        grpc_addr: "127.0.0.1:0".parse()?,
        store: Store::open(dir.join("provisioner"))?,
        bus: bus.clone(),
        driver: fleet,
        metrics: Metrics::new("bench"),
        resync_interval: Duration::from_secs(3600),
        shutdown: shutdown.clone(),
    })
    .await?;
    let token = running
        .bootstrap
        .as_ref()
        .map(|b| b.admin.token.clone())
        .context("bootstrap credentials")?;
    let channel = Channel::from_shared(format!("http://{}", running.grpc_addr))?
        .connect()
        .await?;
    let health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let projects = pb::projects_client::ProjectsClient::new(channel.clone());
    let mut clusters = pb::clusters_client::ClustersClient::new(channel.clone());
    let pools = pb::node_pools_client::NodePoolsClient::new(channel);

    let spec = pb::ClusterSpec {
        region: "eu-iceland1".into(),
        network: Some(pb::ClusterNetwork {
            vpc_subnet: "10.0.0.0/16".into(),
            pod_cidr: "10.244.0.0/16".into(),
            service_cidr: "10.96.0.0/12".into(),
            node_cidr_mask_size: 24,
        }),
        ..Default::default()
    };
    let total = warmup + n;
    let cluster_count = total.div_ceil(POOLS_PER_CLUSTER) + 1;
    eprintln!("creating {cluster_count} clusters…");
    for c in 0..cluster_count {
        let req = pb::CreateClusterRequest {
            name: format!("bench-{c}"),
            spec: Some(spec.clone()),
            ..Default::default()
        };
        clusters.create_cluster(authed(req, &token)?).await?;
    }
    eprintln!("measuring {n} calls each (after {warmup} warm-up calls)…");
    let noop = time_calls(warmup, n, |_| {
        let mut h = health.clone();
        async move {
            h.check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await?;
            Ok(())
        }
    })
    .await?;
    let read = time_calls(warmup, n, |_| {
        let (mut p, t) = (projects.clone(), token.clone());
        async move {
            p.who_am_i(authed(pb::WhoAmIRequest {}, &t)?).await?;
            Ok(())
        }
    })
    .await?;
    // CPU-only pools of count 0: the full write path without provisioning machines.
    let write = time_calls(warmup, n, |i| {
        let (mut p, t) = (pools.clone(), token.clone());
        async move {
            let req = pb::CreateNodePoolRequest {
                cluster: format!("bench-{}", i / POOLS_PER_CLUSTER),
                name: format!("p{i}"),
                spec: Some(pb::NodePoolSpec {
                    instance_type: "c1a.16x".into(),
                    count: 0,
                    ..Default::default()
                }),
                ..Default::default()
            };
            p.create_node_pool(authed(req, &t)?).await?;
            Ok(())
        }
    })
    .await?;
    // Steady state: relabel one pool of the last cluster (same path, no growth).
    let last = format!("bench-{}", cluster_count - 1);
    let mut pool = pools.clone();
    let req = pb::CreateNodePoolRequest {
        cluster: last.clone(),
        name: "steady".into(),
        spec: Some(pb::NodePoolSpec {
            instance_type: "c1a.16x".into(),
            count: 0,
            ..Default::default()
        }),
        ..Default::default()
    };
    pool.create_node_pool(authed(req, &token)?).await?;
    let update = time_calls(warmup, n, |i| {
        let (mut p, t, c) = (pools.clone(), token.clone(), last.clone());
        async move {
            let req = pb::UpdateNodePoolRequest {
                cluster: c,
                node_pool: "steady".into(),
                update_mask: vec!["labels".into()],
                labels: [("bench".to_owned(), format!("v{i}"))]
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            p.update_node_pool(authed(req, &t)?).await?;
            Ok(())
        }
    })
    .await?;
    shutdown.cancel();

    // --- Publishing: raw JetStream vs the outbox relay, same events, same stream.
    let raw = entries("raw", n);
    let t = Instant::now();
    for e in &raw {
        bus.publish_entry(e).await?;
    }
    let raw_rate = n as f64 / t.elapsed().as_secs_f64();

    let store = Store::open(dir.join("outbox"))?;
    for chunk in entries("outbox", n).chunks(256) {
        let mut c = Commit::new();
        for e in chunk {
            c.push_event(e.clone());
        }
        store.commit(c).await?;
    }
    let t = Instant::now();
    let mut published = 0;
    while published < n {
        let k = OutboxRelay::relay_once(&bus, &store).await?;
        if k == 0 {
            bail!("the relay stopped after {published} of {n} events");
        }
        published += k;
    }
    let outbox_rate = n as f64 / t.elapsed().as_secs_f64();

    // The floor under every write: one put plus one outbox event, committed and flushed.
    let floor_store = Store::open(dir.join("floor"))?;
    let commit = time_calls(warmup, n, |i| {
        let st = floor_store.clone();
        async move {
            let mut c = Commit::new();
            c.push_put(
                "bench",
                &format!("k{}", i % 64),
                &i,
                accord_store::Expect::Any,
            )?;
            c.push_event(entries("floor", 1).remove(0));
            st.commit(c).await?;
            Ok(())
        }
    })
    .await?;

    let (noop, read, write, update) = (
        summarize(noop),
        summarize(read),
        summarize(write),
        summarize(update),
    );
    Ok(Results {
        iterations: n,
        write_ratio_p50: noop.p50_us / write.p50_us,
        noop_health_check: noop,
        authenticated_read_whoami: read,
        write_create_node_pool: write,
        write_update_node_pool: update,
        store_commit_flushed: summarize(commit),
        raw_jetstream_publish_per_s: raw_rate,
        outbox_relay_publish_per_s: outbox_rate,
        outbox_ratio: outbox_rate / raw_rate,
    })
}

fn print_results(r: &Results) {
    let row = |name: &str, l: &Latency| {
        println!(
            "  {name:<34} {:>9.0} {:>9.0} {:>9.0} {:>9.0}",
            l.p50_us, l.p90_us, l.p99_us, l.max_us
        );
    };
    println!(
        "\nlatency (µs, {} calls each)            p50       p90       p99       max",
        r.iterations
    );
    row("no-op gRPC (health Check)", &r.noop_health_check);
    row("authenticated read (WhoAmI)", &r.authenticated_read_whoami);
    row("write (CreateNodePool)", &r.write_create_node_pool);
    row("write (UpdateNodePool labels)", &r.write_update_node_pool);
    row("store commit + flush (no gRPC)", &r.store_commit_flushed);
    let mark = |ok: bool| if ok { "meets target" } else { "BELOW target" };
    println!(
        "\nwrite RPC ratio (no-op p50 / write p50): {:.2}   target ≥ 0.40: {}",
        r.write_ratio_p50,
        mark(r.write_ratio_p50 >= 0.4)
    );
    println!(
        "write RPC p99: {:.2} ms   target ≤ 10 ms: {}",
        r.write_create_node_pool.p99_us / 1000.0,
        mark(r.write_create_node_pool.p99_us <= 10_000.0)
    );
    println!(
        "outbox relay: {:.0} events/s vs raw JetStream publish {:.0}/s → ratio {:.2}   target ≥ 0.60: {}",
        r.outbox_relay_publish_per_s,
        r.raw_jetstream_publish_per_s,
        r.outbox_ratio,
        mark(r.outbox_ratio >= 0.6)
    );
}
