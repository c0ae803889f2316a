//! The image benchmarks (issue 14; `accord-bench --only images` runs them alone):
//!
//! - **signature verification per node boot**: what the provisioner does before a node boots
//!   an image (`images::bootable`: the manifest hashed against the signed id, the Ed25519
//!   signature checked with the provider key), against hashing the same canonical manifest
//!   alone (ratio = how many manifest hashes one boot check costs);
//! - **a 100-node pool rolling out in waves** (1, 5, 10, 25, 50, 100 %; 10-minute soak, 5
//!   nodes in replacement at once) through the provisioner's own handlers and reconciler on a
//!   store on disk, with a simulated infrastructure on a simulated clock (a node boots in 4
//!   minutes, drains and terminates in 1 each; the reconciler runs every 30 simulated
//!   seconds): the rollout's duration in simulated time, and the provisioner's own real time
//!   (its reconcile passes and commits) as a share of it.
//!
//! The issue sets no target: the figures are informational.

use std::{
    collections::BTreeMap,
    time::{Duration as StdDuration, Instant},
};

use accord_core::{
    cluster::ClusterPhase,
    image::{ImageEvent, PublishedImage},
    infra::InfraEvent,
    node::NodeState,
};
use accord_image::rollout::{RolloutPolicy, Strategy};
use accord_provisioner::{
    auth::KeyAuthenticator,
    handlers::{
        Ctx,
        clusters::{self, ClusterInput},
        infra::on_infra_event,
        nodepools::{self, PoolInput},
        projects,
    },
    images,
    reconcile::reconcile_cluster,
    trees::{CLUSTERS, Reader},
};
use accord_store::{Expect, Store};
use anyhow::{Context as _, anyhow};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// The image benchmarks' results.
#[derive(Debug, Serialize)]
pub struct ImageResults {
    pub verify_us: f64,
    pub hash_us: f64,
    /// `verify_us / hash_us`.
    pub verify_to_hash: f64,
    pub rollout: Option<RolloutResult>,
    pub errors: Vec<String>,
}

/// The 100-node rollout.
#[derive(Debug, Serialize)]
pub struct RolloutResult {
    pub nodes: u32,
    pub waves: usize,
    /// Simulated minutes from the cycle to the rollout's completion.
    pub sim_minutes: f64,
    /// Real milliseconds the provisioner spent (reconcile passes, commits, infra events).
    pub service_ms: f64,
    /// `service_ms` as a share of the simulated duration.
    pub service_share: f64,
}

const TYPES: [&str; 4] = [
    "c1a.16x",
    "h100-80gb-sxm-ib.8x",
    "h200-141gb-sxm-ib.8x",
    "l40s-48gb.10x",
];

fn publish(
    version: &str,
    salt: &str,
    key: &accord_image::SigningKey,
) -> anyhow::Result<PublishedImage> {
    let base = accord_image::default_base(&TYPES).map_err(|e| anyhow!("{e}"))?;
    let mut m = base
        .for_branch("production")
        .context("the base release has a production manifest")?
        .clone();
    m.base
        .sysctls
        .insert("kernel.accord_bench".into(), salt.into());
    let sealed = accord_image::seal(m, &TYPES).map_err(|e| anyhow!("{e}"))?;
    let sig = accord_image::sign(&sealed.id, key);
    Ok(PublishedImage {
        id: sealed.id.to_string(),
        version: version.into(),
        channel: "stable".into(),
        driver_branch: "production".into(),
        manifest: String::from_utf8(sealed.bytes)?,
        signature: sig.signature,
        key_id: sig.key_id,
        published_at: OffsetDateTime::now_utc(),
    })
}

/// Runs both benchmarks (`iterations` boot checks and hashes after `warmup`).
pub async fn bench(iterations: usize, warmup: usize) -> ImageResults {
    let mut errors = Vec::new();
    let (verify_us, hash_us) = match verify_vs_hash(iterations.max(100), warmup).await {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("signature verification: {e:#}"));
            (0.0, 0.0)
        }
    };
    eprintln!("images: a 100-node pool rolling out in waves (simulated clock)…");
    let rollout = rollout_100()
        .await
        .map_err(|e| errors.push(format!("100-node rollout: {e:#}")))
        .ok();
    ImageResults {
        verify_us,
        hash_us,
        verify_to_hash: if hash_us > 0.0 {
            verify_us / hash_us
        } else {
            0.0
        },
        rollout,
        errors,
    }
}

async fn verify_vs_hash(n: usize, warmup: usize) -> anyhow::Result<(f64, f64)> {
    let key = accord_image::signing_key_from_seed([42; 32]);
    let reader = Reader::new(Store::temporary()?);
    let (ch, outcome) = images::learn(
        &reader,
        Some(&key.verifying_key()),
        ImageEvent::Published {
            image: publish("2026.12.0", "v", &key)?,
        },
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    anyhow::ensure!(
        outcome == images::Outcome::Stored,
        "the image was not learnt"
    );
    reader.store().commit(ch.commit).await?;
    let image = images::all(&reader)
        .map_err(|e| anyhow!("{e}"))?
        .pop()
        .context("the learnt image")?;
    let vk = key.verifying_key();
    // Interleaved rounds of 100 so drift hits both alike.
    let (mut verify, mut hash) = (StdDuration::ZERO, StdDuration::ZERO);
    let rounds = (n + warmup).div_ceil(100);
    let skip = warmup.div_ceil(100);
    for round in 0..rounds {
        let t = Instant::now();
        for _ in 0..100 {
            images::bootable(std::hint::black_box(&image), Some(&vk)).map_err(|e| anyhow!(e))?;
        }
        let v = t.elapsed();
        let t = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(Sha256::digest(std::hint::black_box(
                image.manifest.as_bytes(),
            )));
        }
        let h = t.elapsed();
        if round >= skip {
            verify += v;
            hash += h;
        }
    }
    let measured = ((rounds - skip) * 100) as f64;
    Ok((
        verify.as_secs_f64() * 1e6 / measured,
        hash.as_secs_f64() * 1e6 / measured,
    ))
}

async fn rollout_100() -> anyhow::Result<RolloutResult> {
    let err = |e: accord_core::DomainError| anyhow!("{e}");
    let dir = tempfile::tempdir()?;
    let reader = Reader::new(Store::open(dir.path().join("store"))?);
    let start = OffsetDateTime::now_utc();
    let (ch, boot) = projects::bootstrap(&reader, start)
        .map_err(err)?
        .context("bootstrap")?;
    reader.store().commit(ch.commit).await?;
    let admin = KeyAuthenticator::new(reader.clone())
        .verify(&boot.admin.token)
        .map_err(err)?;
    let key = accord_image::signing_key_from_seed([42; 32]);
    let vk = key.verifying_key();
    for (v, salt) in [("2026.11.0", "a"), ("2026.12.0", "b")] {
        let (ch, _) = images::learn(
            &reader,
            Some(&vk),
            ImageEvent::Published {
                image: publish(v, salt, &key)?,
            },
            start,
        )
        .map_err(err)?;
        reader.store().commit(ch.commit).await?;
    }
    let catalog = accord_sim::catalog::default_catalog();
    let ctx_at = |now| Ctx {
        reader: &reader,
        catalog: &catalog,
        now,
        principal: &admin,
    };
    let input = ClusterInput {
        kubernetes_version: "1.32".into(),
        region: "eu-iceland1".into(),
        vpc_subnet: "10.0.0.0/16".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        node_cidr_mask_size: 24,
        ..ClusterInput::default()
    };
    let (ch, cluster) = clusters::create_cluster(
        &ctx_at(start),
        boot.project.metadata.id,
        "bench",
        BTreeMap::new(),
        &input,
    )
    .map_err(err)?;
    reader.store().commit(ch.commit).await?;
    let mut running = cluster.clone();
    running.status.phase = ClusterPhase::Running;
    running.status.current_version = Some(cluster.spec.kubernetes_version);
    let mut ch = accord_provisioner::change::Change::none();
    ch.put(
        CLUSTERS,
        &cluster.metadata.id.to_string(),
        &running,
        Expect::Any,
    )
    .map_err(err)?;
    reader.store().commit(ch.commit).await?;
    let cluster = running;
    let policy = RolloutPolicy {
        strategy: Strategy::Waves {
            percentages: vec![1, 5, 10, 25, 50, 100],
        },
        soak: Duration::minutes(10),
        max_unavailable: 5,
        only_in_windows: false,
        ready_timeout: Duration::minutes(15),
    };
    let pool_input = PoolInput {
        instance_type: "c1a.16x".into(),
        count: 100,
        image_version: "2026.11.0".into(),
        rollout_policy: Some(policy),
        ..PoolInput::default()
    };
    let (ch, _) = nodepools::create_pool(
        &ctx_at(start),
        &cluster,
        "pool",
        BTreeMap::new(),
        &pool_input,
    )
    .map_err(err)?;
    reader.store().commit(ch.commit).await?;

    // The simulated infrastructure: a node boots in 4 minutes, drains and terminates in 1.
    let mut now = start;
    let mut service = StdDuration::ZERO;
    let ready = |r: &Reader| {
        r.pool_ref(cluster.metadata.id, "pool")
            .is_ok_and(|p| p.status.ready_nodes == 100 && p.status.cycle.is_none())
    };
    now = run_until(&reader, cluster.metadata.id, &vk, now, &mut service, &ready).await?;
    service = StdDuration::ZERO;
    let pool = reader.pool_ref(cluster.metadata.id, "pool").map_err(err)?;
    let t = Instant::now();
    let (ch, _) =
        nodepools::cycle_pool(&ctx_at(now), &cluster, &pool, "2026.12.0", 0).map_err(err)?;
    reader.store().commit(ch.commit).await?;
    service += t.elapsed();
    let cycle_at = now;
    let completed = |r: &Reader| {
        r.pool_ref(cluster.metadata.id, "pool").is_ok_and(|p| {
            accord_provisioner::rollouts::PoolRollout::of(r, &p).is_ok_and(|rec| {
                rec.state
                    .is_some_and(|s| s.phase == accord_image::rollout::Phase::Completed)
            })
        })
    };
    now = run_until(
        &reader,
        cluster.metadata.id,
        &vk,
        now,
        &mut service,
        &completed,
    )
    .await?;
    let sim = now - cycle_at;
    let sim_ms = sim.whole_milliseconds() as f64;
    let service_ms = service.as_secs_f64() * 1e3;
    Ok(RolloutResult {
        nodes: 100,
        waves: 6,
        sim_minutes: sim_ms / 60_000.0,
        service_ms,
        service_share: if sim_ms > 0.0 {
            service_ms / sim_ms
        } else {
            0.0
        },
    })
}

/// Runs the controller and the simulated infrastructure every 30 simulated seconds until
/// `done`; the provisioner's real time is added to `service`.
async fn run_until(
    reader: &Reader,
    cluster: accord_core::ids::ClusterId,
    vk: &accord_image::VerifyingKey,
    start: OffsetDateTime,
    service: &mut StdDuration,
    done: &dyn Fn(&Reader) -> bool,
) -> anyhow::Result<OffsetDateTime> {
    let err = |e: accord_core::DomainError| anyhow!("{e}");
    let tick = Duration::seconds(30);
    let mut now = start;
    for _ in 0..20_000 {
        if done(reader) {
            return Ok(now);
        }
        let t = Instant::now();
        for ch in reconcile_cluster(reader, cluster, Some(vk), now).map_err(err)? {
            reader.store().commit(ch.commit).await?;
        }
        let pool = reader.pool_ref(cluster, "pool").map_err(err)?;
        let nodes = reader.nodes(pool.metadata.id).map_err(err)?;
        for n in &nodes {
            let age = now - n.metadata.updated_at;
            let node = n.metadata.id;
            let ev = match n.status.state {
                NodeState::Provisioning if now - n.metadata.created_at >= Duration::minutes(4) => {
                    InfraEvent::NodeReadiness {
                        node,
                        ready: true,
                        reason: "Up".into(),
                    }
                }
                NodeState::Draining if age >= Duration::minutes(1) => {
                    InfraEvent::NodeDrained { node }
                }
                NodeState::Terminating if age >= Duration::minutes(1) => {
                    InfraEvent::NodeTerminated { node }
                }
                _ => continue,
            };
            let ch = on_infra_event(reader, now, &ev).map_err(err)?;
            reader.store().commit(ch.commit).await?;
        }
        *service += t.elapsed();
        now += tick;
    }
    Err(anyhow!("did not converge within 20,000 simulated ticks"))
}

/// `accord-bench --only images`.
pub async fn run_only(iterations: usize, warmup: usize) -> anyhow::Result<()> {
    let r = bench(iterations, warmup).await;
    print(&r);
    if !r.errors.is_empty() {
        anyhow::bail!("the image benchmarks failed:\n{}", r.errors.join("\n"));
    }
    Ok(())
}

/// Prints the image rows.
pub fn print(r: &ImageResults) {
    println!("\nworker images (informational: the issue sets no target)");
    println!(
        "  boot check (hash + Ed25519 verify)   {:>9.2} µs   manifest hash {:>7.2} µs   ratio {:>6.1}×",
        r.verify_us, r.hash_us, r.verify_to_hash
    );
    if let Some(x) = &r.rollout {
        println!(
            "  {}-node rollout in {} waves           {:>9.1} simulated minutes; provisioner real time {:.1} ms (share {:.2e})",
            x.nodes, x.waves, x.sim_minutes, x.service_ms, x.service_share
        );
    }
}
