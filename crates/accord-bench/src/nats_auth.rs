//! The NATS authentication benchmarks (`accord-bench --only nats-auth`): a deployment as
//! `accord up` runs it with authentication on — nats-server started by the platform with the
//! deployment's nkeys, every service its own nkey user, the provisioner answering the server's
//! auth callout for customers (their Accord API key as the connection's token).
//!
//! - **connection cost**: connect until the client is connected — async-nats sends CONNECT +
//!   PING and waits for the PONG, which the server sends once it has authenticated the client —
//!   and its buffer flushed, with a customer API key (the server's auth callout → the
//!   provisioner's key check → a short-lived user JWT) against static credentials (a service's
//!   nkey user, checked by the server alone), interleaved (the order alternates every round).
//!   Ratio = key / static at p50 and p99. Beside it, one Ed25519 signature and verification in
//!   this build (the callout verifies the server's request and signs two JWTs: in an
//!   unoptimised build the verification alone is most of the difference).
//! - **event delivery**: per-message latency (the publish instant, in the payload → received)
//!   of a customer's subscriber (token) on `accord.evt.<project>.>` against the operator tool's
//!   nkey user subscribed to the same subject, both connected, the events published by the
//!   provisioner's user, one per millisecond (a latency, not a throughput, measurement), in
//!   two halves with the order of the two subscriptions swapped (the server's fan-out order).
//!   Whether that nkey user may subscribe to events is probed first; if it may not, the
//!   baseline falls back to its telemetry subscription (`accord.tel.<cluster>.*`) fed the same
//!   payloads by the simulator's user, each round publishing one of each in alternating order.
//!   Ratio = customer / service at p50 and p99 (expected ≈ 1: permissions are checked when
//!   subscribing, not per message).
//!
//! The issue sets no target: the figures are informational.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use accord_bus::{Bus, BusAuth, CancellationToken, ConnectOptions, Subscription, subjects};
use accord_nats_auth::ServiceUser;
use accord_platform::{NatsAuth, Platform, ProvisionerSettings, Running};
use accord_sim::SimConfig;
use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::Serialize;

use crate::{Latency, summarize};

/// Connections measured per kind (interleaved), at most.
const CONNECTIONS: usize = 200;
/// Connections per kind before measuring.
const CONNECT_WARMUP: usize = 10;
/// Events per subscriber before measuring (half in each of the two delivery phases).
const EVENT_WARMUP: usize = 100;
/// The pause between two rounds of publications.
const PACE: Duration = Duration::from_millis(1);
/// The simulated cluster the baseline's telemetry subjects name.
const BENCH_CLUSTER: &str = "bench-nats-auth";

/// The NATS authentication benchmarks' results.
#[derive(Debug, Default, Serialize)]
pub struct NatsAuthResults {
    pub connect: Option<ConnectResult>,
    /// One Ed25519 signature and one verification with a deployment key in this build (the
    /// callout signs the user JWT and its response, and verifies the server's request): the
    /// share of the connection cost that depends on how the binary was optimised.
    pub ed25519_sign_us: f64,
    pub ed25519_verify_us: f64,
    pub delivery: Option<DeliveryResult>,
    pub errors: Vec<String>,
}

/// Connection establishment (connect + flush), interleaved.
#[derive(Debug, Serialize)]
pub struct ConnectResult {
    /// Measured connections per kind.
    pub samples: usize,
    /// With a customer's API key (auth callout through the provisioner).
    pub api_key: Latency,
    /// With a service's nkey user (static credentials).
    pub static_nkey: Latency,
    /// `api_key / static_nkey`.
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

/// Per-message delivery latency, publish → receive.
#[derive(Debug, Serialize)]
pub struct DeliveryResult {
    /// Measured messages per subscriber.
    pub samples: usize,
    /// Payload size in bytes (the customer's; the baseline's differs by a few bytes).
    pub payload_bytes: usize,
    /// Whether the operator tool's nkey user, subscribed to `accord.evt.<project>.>`, receives
    /// the project's events (the baseline then shares the customer's subject).
    pub service_receives_events: bool,
    /// The baseline subscriber's subject.
    pub baseline_subject: &'static str,
    /// Probe events (one each 50 ms) published until the customer's fresh subscription
    /// received one (1 unless its SUB reached the server after the first).
    pub probe_publishes: usize,
    /// Warm-up messages (the first after subscribing, [`EVENT_WARMUP`] over both phases) the
    /// customer's and the service's subscriber never received.
    pub warmup_lost_customer: usize,
    pub warmup_lost_service: usize,
    /// The customer's subscriber (token) on `accord.evt.<project>.>`.
    pub customer_token: Latency,
    /// The operator tool's nkey subscriber on [`Self::baseline_subject`].
    pub service_nkey: Latency,
    /// `customer_token / service_nkey`.
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

/// A secured deployment: nats-server with authentication, the simulator and the provisioner.
struct Deployment {
    nats_url: String,
    keys: Arc<accord_nats_auth::KeyRing>,
    project: String,
    customer_key: String,
    shutdown: CancellationToken,
    running: Option<Running>,
    // Kept last: the server's files go when the platform has stopped.
    _dir: tempfile::TempDir,
}

impl Deployment {
    async fn start() -> anyhow::Result<Deployment> {
        let dir = tempfile::tempdir().context("creating a scratch directory")?;
        let nats_url = format!("nats://127.0.0.1:{}", crate::free_port()?);
        let auth = NatsAuth::in_dir(&dir.path().join("keys"))?;
        let keys = Arc::clone(&auth.keys);
        let shutdown = CancellationToken::new();
        let mut running = Platform::new(&nats_url)
            .start_nats_in(dir.path().join("nats"))
            .nats_auth(auth)
            .bus_options(options(None))
            .shutdown(shutdown.clone())
            .simulator(SimConfig::default().with_clock_factor(0.0))
            .provisioner(ProvisionerSettings {
                grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
                resync_interval: Duration::from_secs(3600),
                store: None,
                autoclusters: None,
                replica_grace: Duration::from_secs(60),
            })
            .start()
            .await
            .context("starting the platform with NATS authentication")?;
        let bootstrap = running
            .bootstrap
            .take()
            .ok_or_else(|| anyhow!("an empty store must mint bootstrap credentials"))?;
        Ok(Deployment {
            nats_url,
            keys,
            project: bootstrap.project.metadata.id.to_string(),
            customer_key: bootstrap.admin.token,
            shutdown,
            running: Some(running),
            _dir: dir,
        })
    }

    fn nkey(&self, user: ServiceUser) -> anyhow::Result<BusAuth> {
        let seed = self
            .keys
            .service(user)
            .seed()
            .map_err(|e| anyhow!("the seed of {user}: {e}"))?;
        Ok(BusAuth::Nkey(seed))
    }

    fn token(&self) -> BusAuth {
        BusAuth::Token(self.customer_key.clone())
    }

    /// Connects with `auth` (CONNECT + PING → PONG: authenticated) and flushes its buffer.
    async fn connect(&self, name: &str, auth: BusAuth) -> anyhow::Result<Bus> {
        let bus = Bus::connect_with(&self.nats_url, name, options(Some(auth)))
            .await
            .with_context(|| format!("connecting as {name}"))?;
        bus.flush()
            .await
            .with_context(|| format!("flushing {name}'s connection"))?;
        Ok(bus)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        self.shutdown.cancel();
        // Dropping the platform aborts its tasks and kills the nats-server it started.
        self.running.take();
    }
}

fn options(auth: Option<BusAuth>) -> ConnectOptions {
    ConnectOptions::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_max_reconnect_delay(Duration::from_millis(100))
        .with_request_timeout(Duration::from_secs(5))
        .with_auth(auth)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// p50 of one Ed25519 signature and one verification of a JWT-sized input with the issuer key.
fn bench_ed25519(env: &Deployment) -> anyhow::Result<(f64, f64)> {
    let key = env.keys.issuer();
    let input = vec![0x42u8; 600];
    let (mut sign, mut verify) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let t = Instant::now();
        let sig = key.sign(&input).map_err(|e| anyhow!("signing: {e}"))?;
        sign.push(t.elapsed());
        let t = Instant::now();
        key.verify(&input, &sig)
            .map_err(|e| anyhow!("verifying: {e}"))?;
        verify.push(t.elapsed());
    }
    Ok((summarize(sign).p50_us, summarize(verify).p50_us))
}

/// Connect + flush, `n` of each kind after a warm-up, interleaved.
async fn bench_connect(env: &Deployment, n: usize) -> anyhow::Result<ConnectResult> {
    let static_auth = env.nkey(ServiceUser::CliOperator)?;
    let (mut key, mut nkey) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..CONNECT_WARMUP + n {
        for turn in 0..2 {
            // Alternate which kind goes first, so neither always follows the other's close.
            let with_key = (i + turn) % 2 == 0;
            let (name, auth) = if with_key {
                ("bench-customer", env.token())
            } else {
                ("bench-static", static_auth.clone())
            };
            let t = Instant::now();
            let bus = env.connect(name, auth).await?;
            let took = t.elapsed();
            drop(bus);
            if i >= CONNECT_WARMUP {
                if with_key { &mut key } else { &mut nkey }.push(took);
            }
        }
    }
    let (api_key, static_nkey) = (summarize(key), summarize(nkey));
    Ok(ConnectResult {
        samples: n,
        ratio_p50: ratio(api_key.p50_us, static_nkey.p50_us),
        ratio_p99: ratio(api_key.p99_us, static_nkey.p99_us),
        api_key,
        static_nkey,
    })
}

/// A CloudEvent-shaped payload carrying its sequence number and publish instant (nanoseconds
/// since `base`).
fn payload(kind: &str, subject: &str, seq: usize, sent_ns: u128) -> Bytes {
    let event = serde_json::json!({
        "specversion": "1.0",
        "id": format!("bench-{kind}-{seq:08}"),
        "source": "accord-bench",
        "type": "accord.cluster.created.v1",
        "subject": subject,
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "seq": seq,
            "sent_ns": u64::try_from(sent_ns).unwrap_or(u64::MAX),
            "region": "eu-iceland1",
            "name": format!("bench-cluster-{seq}"),
        },
    });
    Bytes::from(event.to_string())
}

/// Reads `(seq, sent_ns)` out of [`payload`]'s JSON.
fn stamp(body: &[u8]) -> Option<(usize, u128)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = v.get("data")?;
    let seq = usize::try_from(data.get("seq")?.as_u64()?).ok()?;
    let sent = u128::from(data.get("sent_ns")?.as_u64()?);
    Some((seq, sent))
}

/// Receives `expected` messages (or stops after `idle` without one): each one's latency, by
/// sequence number.
fn collect(
    mut sub: Subscription,
    base: Instant,
    expected: usize,
    idle: Duration,
) -> tokio::task::JoinHandle<Vec<Option<Duration>>> {
    tokio::spawn(async move {
        let mut out = vec![None; expected];
        let mut got = 0;
        while got < expected {
            let Ok(Some(msg)) = tokio::time::timeout(idle, sub.next()).await else {
                break;
            };
            let recv_ns = base.elapsed().as_nanos();
            if let Some((seq, sent_ns)) = stamp(&msg.payload)
                && let Some(slot) = out.get_mut(seq)
                && slot.is_none()
            {
                *slot = Some(Duration::from_nanos(
                    u64::try_from(recv_ns.saturating_sub(sent_ns)).unwrap_or(u64::MAX),
                ));
                got += 1;
            }
        }
        out
    })
}

/// Whether an nkey service user's subscription to the project's events receives one, and how
/// many probe events (one each 50 ms) were published until the customer's subscription
/// received one.
async fn service_receives_events(
    env: &Deployment,
    publisher: &Bus,
) -> anyhow::Result<(bool, usize)> {
    let service = env
        .connect("bench-service-probe", env.nkey(ServiceUser::CliOperator)?)
        .await?;
    let customer = env.connect("bench-customer-probe", env.token()).await?;
    let scope = subjects::events_in(&env.project)?;
    // The server answers a forbidden SUB with an asynchronous -ERR: the subscribe "succeeds".
    let mut forbidden = service.subscribe_core(&scope).await?;
    let mut allowed = customer.subscribe_core(&scope).await?;
    let subject = subjects::event(&env.project, "cluster", "created", "probe")?;
    // `subscribe_core` returns once the SUB has left the client (async-nats' flush is no
    // server round trip): the first probe may reach the server before the SUB does.
    let mut probes = 0;
    loop {
        if probes == 100 {
            bail!("the customer's subscriber received none of {probes} probe events");
        }
        publisher
            .publish_core(&subject, payload("probe", &subject, probes, 0))
            .await?;
        probes += 1;
        match tokio::time::timeout(Duration::from_millis(50), allowed.next()).await {
            Ok(Some(_)) => break,
            Ok(None) => bail!("the customer's subscription ended"),
            Err(_) => {}
        }
    }
    let service_got = tokio::time::timeout(Duration::from_millis(500), forbidden.next())
        .await
        .ok()
        .flatten()
        .is_some();
    Ok((service_got, probes))
}

/// What one delivery phase measured.
struct PhaseOut {
    customer: Vec<Duration>,
    service: Vec<Duration>,
    payload_bytes: usize,
    /// Warm-up messages (the first after subscribing) each subscriber did not receive.
    warmup_lost: (usize, usize),
}

/// One delivery phase on fresh connections: `count` rounds after a warm-up of
/// [`EVENT_WARMUP`] / 2, the two subscriptions made in the given order (the server's fan-out
/// order may follow it: the two phases swap it). With `tel_pub` the baseline subscriber is on
/// telemetry and each round publishes one message of each kind, in alternating order;
/// without, it is on the customer's subject and each event reaches both.
async fn delivery_phase(
    env: &Deployment,
    evt_pub: &Bus,
    tel_pub: Option<&Bus>,
    customer_first: bool,
    count: usize,
) -> anyhow::Result<PhaseOut> {
    let warmup = EVENT_WARMUP / 2;
    let customer = env.connect("bench-customer", env.token()).await?;
    let service = env
        .connect("bench-service", env.nkey(ServiceUser::CliOperator)?)
        .await?;
    let customer_subject = subjects::events_in(&env.project)?;
    let service_subject = match tel_pub {
        Some(_) => subjects::telemetry_of(BENCH_CLUSTER)?,
        None => customer_subject.clone(),
    };
    let (customer_sub, service_sub) = if customer_first {
        let c = customer.subscribe_core(&customer_subject).await?;
        (c, service.subscribe_core(&service_subject).await?)
    } else {
        let s = service.subscribe_core(&service_subject).await?;
        (customer.subscribe_core(&customer_subject).await?, s)
    };
    let total = warmup + count;
    let base = Instant::now();
    let idle = Duration::from_secs(5);
    let customer_rx = collect(customer_sub, base, total, idle);
    let service_rx = collect(service_sub, base, total, idle);

    let mut payload_bytes = 0;
    for seq in 0..total {
        let evt_subject =
            subjects::event(&env.project, "cluster", "created", &format!("c{seq:08}"))?;
        match tel_pub {
            None => {
                let body = payload("evt", &evt_subject, seq, base.elapsed().as_nanos());
                payload_bytes = body.len();
                evt_pub.publish_core(&evt_subject, body).await?;
            }
            Some(tel_pub) => {
                let tel_subject = subjects::telemetry(BENCH_CLUSTER, &format!("n{seq:08}"))?;
                for turn in 0..2 {
                    let event_first = (seq + turn) % 2 == 0;
                    let (bus, kind, subject) = if event_first {
                        (evt_pub, "evt", &evt_subject)
                    } else {
                        (tel_pub, "tel", &tel_subject)
                    };
                    let body = payload(kind, subject, seq, base.elapsed().as_nanos());
                    if event_first {
                        payload_bytes = body.len();
                    }
                    bus.publish_core(subject, body).await?;
                }
            }
        }
        tokio::time::sleep(PACE).await;
    }
    let (customer_got, service_got) = (customer_rx.await?, service_rx.await?);
    // A lost warm-up message is counted (the first ones race the SUB); a lost measured one
    // fails the run.
    let measured =
        |got: Vec<Option<Duration>>, who: &str| -> anyhow::Result<(Vec<Duration>, usize)> {
            let lost: Vec<usize> = (warmup..got.len()).filter(|&i| got[i].is_none()).collect();
            if !lost.is_empty() {
                bail!(
                    "the {who} subscriber missed {} of {count} measured messages (numbers {:?})",
                    lost.len(),
                    &lost[..lost.len().min(10)]
                );
            }
            let warmup_lost = got[..warmup].iter().filter(|d| d.is_none()).count();
            Ok((
                got.into_iter().skip(warmup).flatten().collect(),
                warmup_lost,
            ))
        };
    let (customer, customer_lost) = measured(customer_got, "customer's")?;
    let (service, service_lost) = measured(service_got, "service's")?;
    Ok(PhaseOut {
        customer,
        service,
        payload_bytes,
        warmup_lost: (customer_lost, service_lost),
    })
}

/// Per-message delivery latency: customer (token) on the project's events vs the operator
/// tool's nkey user on the same subject (or, when that user may not subscribe to events, on
/// telemetry), `n` messages each in two phases with the subscription order swapped.
async fn bench_delivery(env: &Deployment, n: usize) -> anyhow::Result<DeliveryResult> {
    let evt_pub = env
        .connect("bench-provisioner", env.nkey(ServiceUser::Provisioner)?)
        .await?;
    let (service_receives_events, probe_publishes) = service_receives_events(env, &evt_pub).await?;
    let tel_pub = if service_receives_events {
        None
    } else {
        Some(
            env.connect("bench-sim", env.nkey(ServiceUser::Sim)?)
                .await?,
        )
    };
    let first = n / 2;
    let a = delivery_phase(env, &evt_pub, tel_pub.as_ref(), true, first).await?;
    let b = delivery_phase(env, &evt_pub, tel_pub.as_ref(), false, n - first).await?;
    let (customer_token, service_nkey) = (
        summarize([a.customer, b.customer].concat()),
        summarize([a.service, b.service].concat()),
    );
    Ok(DeliveryResult {
        samples: n,
        payload_bytes: a.payload_bytes,
        probe_publishes,
        warmup_lost_customer: a.warmup_lost.0 + b.warmup_lost.0,
        warmup_lost_service: a.warmup_lost.1 + b.warmup_lost.1,
        service_receives_events,
        baseline_subject: if service_receives_events {
            "the project's events (evt)"
        } else {
            "the cluster's telemetry (tel)"
        },
        ratio_p50: ratio(customer_token.p50_us, service_nkey.p50_us),
        ratio_p99: ratio(customer_token.p99_us, service_nkey.p99_us),
        customer_token,
        service_nkey,
    })
}

/// Runs both benchmarks on one secured deployment (`events` messages per subscriber).
pub async fn bench(events: usize) -> NatsAuthResults {
    let mut r = NatsAuthResults::default();
    let env = match Deployment::start().await {
        Ok(env) => env,
        Err(e) => {
            r.errors.push(format!("deployment: {e:#}"));
            return r;
        }
    };
    match bench_connect(&env, CONNECTIONS.min(events.max(1))).await {
        Ok(c) => r.connect = Some(c),
        Err(e) => r.errors.push(format!("connection cost: {e:#}")),
    }
    match bench_ed25519(&env) {
        Ok((sign, verify)) => (r.ed25519_sign_us, r.ed25519_verify_us) = (sign, verify),
        Err(e) => r.errors.push(format!("ed25519: {e:#}")),
    }
    match bench_delivery(&env, events.max(1)).await {
        Ok(d) => r.delivery = Some(d),
        Err(e) => r.errors.push(format!("event delivery: {e:#}")),
    }
    drop(env);
    r
}

/// `accord-bench --only nats-auth`: the NATS authentication benchmarks alone (`json`: also
/// write the results there).
pub async fn run_only(iterations: usize, json: Option<&std::path::Path>) -> anyhow::Result<()> {
    let r = bench(iterations).await;
    print(&r);
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_vec_pretty(&r)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nwrote {}", path.display());
    }
    if !r.errors.is_empty() {
        bail!(
            "the NATS authentication benchmarks failed:\n{}",
            r.errors.join("\n")
        );
    }
    Ok(())
}

/// Prints the NATS authentication rows.
pub fn print(r: &NatsAuthResults) {
    println!("\nNATS authentication (informational: the issue sets no target)");
    if let Some(c) = &r.connect {
        println!(
            "  connect + flush, {} each, interleaved      p50 (ms)  p99 (ms)",
            c.samples
        );
        println!(
            "    customer API key (auth callout)          {:>8.2}  {:>8.2}",
            c.api_key.p50_us / 1000.0,
            c.api_key.p99_us / 1000.0
        );
        println!(
            "    service nkey (static credentials)        {:>8.2}  {:>8.2}",
            c.static_nkey.p50_us / 1000.0,
            c.static_nkey.p99_us / 1000.0
        );
        println!(
            "    ratio key / static                       {:>8.2}  {:>8.2}",
            c.ratio_p50, c.ratio_p99
        );
        println!(
            "    (this build: one Ed25519 signature {:.0} µs, one verification {:.0} µs; the \
             callout verifies the server's request and signs two JWTs per key connection)",
            r.ed25519_sign_us, r.ed25519_verify_us
        );
    }
    if let Some(d) = &r.delivery {
        println!(
            "  delivery publish → receive, {} messages of {} B each   p50 (ms)  p99 (ms)",
            d.samples, d.payload_bytes
        );
        println!(
            "    customer (token) on accord.evt.<project>.>          {:>8.3}  {:>8.3}",
            d.customer_token.p50_us / 1000.0,
            d.customer_token.p99_us / 1000.0
        );
        println!(
            "    service (nkey) on {:<33} {:>8.3}  {:>8.3}",
            d.baseline_subject,
            d.service_nkey.p50_us / 1000.0,
            d.service_nkey.p99_us / 1000.0
        );
        println!(
            "    ratio customer / service                            {:>8.2}  {:>8.2}",
            d.ratio_p50, d.ratio_p99
        );
        println!(
            "    the operator tool's nkey user receives accord.evt.<project>.>: {}",
            if d.service_receives_events {
                "yes (baseline on the same subject: every event reaches both)"
            } else {
                "no (baseline on telemetry, the same payloads published by the sim's user)"
            }
        );
        if d.probe_publishes > 1 || d.warmup_lost_customer + d.warmup_lost_service > 0 {
            println!(
                "    first messages after subscribing lost: customer {}, service {} of {} \
                 warm-up each; probe events until the customer's first: {} (the SUB raced \
                 the first PUB: async-nats' flush is no server round trip)",
                d.warmup_lost_customer, d.warmup_lost_service, EVENT_WARMUP, d.probe_publishes
            );
        }
    }
}
