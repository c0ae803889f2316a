//! Published images as the provisioner uses them: only signed images are learnt, pools pick the
//! newest of their channel and driver branch, show update available / required, cycles refuse
//! and stop at withdrawn images, and an opt-in rollout halts, disables the revision and rolls
//! back.

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    ids::ClusterId,
    image::ImageEvent,
    infra::InfraEvent,
    node::{Node, NodeState},
    nodepool::NodePool,
};
use accord_image::rollout::{RolloutPolicy, Strategy};
use accord_provisioner::{
    grpc::nodepools::pool_view,
    handlers::{
        infra::on_infra_event,
        nodepools::{self, PoolInput},
    },
    images::{self, Outcome},
    reconcile::reconcile_cluster,
    rollouts::PoolRollout,
};
use time::OffsetDateTime;

use crate::common::*;

async fn learn(w: &World, event: ImageEvent) -> Outcome {
    let (ch, outcome) = images::learn(
        &w.reader,
        Some(&w.image_key()),
        event,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
    outcome
}

/// One controller pass and one infrastructure step for every node in a transitional state;
/// a provisioning node for which `fails` holds fails instead of becoming Ready.
async fn step(w: &World, cluster: ClusterId, fails: &dyn Fn(&Node) -> bool) -> Vec<Node> {
    for ch in reconcile_cluster(
        &w.reader,
        cluster,
        Some(&w.image_key()),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    {
        w.reader.store().commit(ch.commit).await.unwrap();
    }
    let mut nodes = Vec::new();
    for p in w.reader.pools(cluster).unwrap() {
        nodes.extend(w.reader.nodes(p.metadata.id).unwrap());
    }
    for n in &nodes {
        let node = n.metadata.id;
        let ev = match n.status.state {
            NodeState::Provisioning if fails(n) => InfraEvent::NodeFailed {
                node,
                reason: "kernel panic on boot".into(),
            },
            NodeState::Provisioning => InfraEvent::NodeReadiness {
                node,
                ready: true,
                reason: "Up".into(),
            },
            NodeState::Draining => InfraEvent::NodeDrained { node },
            NodeState::Terminating => InfraEvent::NodeTerminated { node },
            _ => continue,
        };
        let ch = on_infra_event(&w.reader, OffsetDateTime::now_utc(), &ev).unwrap();
        w.reader.store().commit(ch.commit).await.unwrap();
    }
    nodes
}

fn pool(w: &World, c: ClusterId) -> NodePool {
    w.reader.pool_ref(c, "gpu").unwrap()
}

fn view(w: &World, p: &NodePool) -> accord_proto::provisioner::v1::NodePoolStatus {
    let all = images::all(&w.reader).unwrap();
    pool_view(&w.reader, &all, p).unwrap().status.unwrap()
}

#[tokio::test]
async fn only_images_signed_by_the_provider_key_over_their_manifest_are_learnt() {
    let w = World::new().await;
    // A flipped byte in the manifest: it no longer hashes to the signed id.
    let mut tampered = published("2026.12.0", "production", "t");
    let flip = tampered.manifest.find("6.8.0").unwrap();
    tampered.manifest.replace_range(flip..flip + 1, "7");
    assert_eq!(
        learn(&w, ImageEvent::Published { image: tampered }).await,
        Outcome::Refused
    );
    // A flipped byte in the signature.
    let mut forged = published("2026.12.0", "production", "f");
    let mut sig = forged.signature.into_bytes();
    sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
    forged.signature = String::from_utf8(sig).unwrap();
    assert_eq!(
        learn(&w, ImageEvent::Published { image: forged }).await,
        Outcome::Refused
    );
    // Signed by another key.
    let mut other = published("2026.12.0", "production", "o");
    let id: accord_image::ManifestId = other.id.parse().unwrap();
    let sig = accord_image::sign(&id, &accord_image::signing_key_from_seed([9; 32]));
    (other.signature, other.key_id) = (sig.signature, sig.key_id);
    assert_eq!(
        learn(&w, ImageEvent::Published { image: other }).await,
        Outcome::Refused
    );
    // Without a trusted key nothing is learnt (fail closed).
    let (_, outcome) = images::learn(
        &w.reader,
        None,
        ImageEvent::Published {
            image: published("2026.12.0", "production", "n"),
        },
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Refused);
    assert_eq!(images::all(&w.reader).unwrap().len(), 2);
    // The genuine one, twice (a redelivery changes nothing).
    let good = published("2026.12.0", "production", "g");
    assert_eq!(
        learn(
            &w,
            ImageEvent::Published {
                image: good.clone()
            }
        )
        .await,
        Outcome::Stored
    );
    assert_eq!(
        learn(&w, ImageEvent::Published { image: good }).await,
        Outcome::Unchanged
    );
    // A record altered at rest fails the check made before a node boots it.
    let mut stored = images::all(&w.reader).unwrap().remove(0);
    images::bootable(&stored, Some(&w.image_key())).unwrap();
    stored.manifest = stored.manifest.replacen("production", "productioN", 1);
    assert!(
        images::bootable(&stored, Some(&w.image_key()))
            .unwrap_err()
            .contains("failed verification")
    );
}

#[tokio::test]
async fn pools_run_their_branch_and_show_update_available_and_required() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let p = w
        .commit(nodepools::create_pool(
            &ctx,
            &c,
            "gpu",
            BTreeMap::new(),
            &gpu_pool(2),
        ))
        .await;
    assert_eq!(
        (p.spec.image_version.as_str(), p.spec.driver_branch.as_str()),
        ("2026.11.0", "production")
    );
    let lts = PoolInput {
        driver_branch: "lts".into(),
        ..gpu_pool(1)
    };
    // No LTS image is published: the pool cannot get one.
    let err = nodepools::create_pool(&ctx, &c, "lts", BTreeMap::new(), &lts)
        .err()
        .unwrap();
    assert!(
        matches!(&err, DomainError::Unavailable(m) if m.contains("driver branch lts")),
        "{err:?}"
    );
    let bad = PoolInput {
        driver_branch: "beta".into(),
        ..gpu_pool(1)
    };
    let err = nodepools::create_pool(&ctx, &c, "b", BTreeMap::new(), &bad)
        .err()
        .unwrap();
    assert_eq!(field_of(&err), ["spec.driver_branch"]);

    assert!(!view(&w, &p).update_available);
    // A candidate of the branch is not offered to a stable pool; an LTS image never is.
    let mut candidate = published("2026.12.0", "production", "c");
    candidate.channel = "candidate".into();
    let candidate_id = candidate.id.clone();
    learn(&w, ImageEvent::Published { image: candidate }).await;
    learn(
        &w,
        ImageEvent::Published {
            image: published("2026.12.1", "lts", "l"),
        },
    )
    .await;
    assert!(!view(&w, &p).update_available);
    learn(
        &w,
        ImageEvent::Promoted {
            image: candidate_id,
            version: "2026.12.0".into(),
            channel: "stable".into(),
            by: "ops".into(),
        },
    )
    .await;
    let s = view(&w, &p);
    assert!(s.update_available);
    assert_eq!(s.update_available_version, "2026.12.0");
    assert!(s.image_id.starts_with("sha256:"));

    // The pool's image is withdrawn: update required, with the reason.
    let current = images::all(&w.reader)
        .unwrap()
        .into_iter()
        .find(|i| i.record.version.to_string() == "2026.11.0")
        .unwrap();
    learn(
        &w,
        ImageEvent::Withdrawn {
            image: current.record.id.to_string(),
            version: "2026.11.0".into(),
            reason: "CVE-2026-31337".into(),
            by: "ops".into(),
        },
    )
    .await;
    let s = view(&w, &p);
    assert!(s.update_required);
    assert_eq!(s.update_required_reason, "CVE-2026-31337");
    // And it is refused for new pools and cycles.
    let pinned = PoolInput {
        image_version: "2026.11.0".into(),
        ..gpu_pool(1)
    };
    let err = nodepools::create_pool(&ctx, &c, "old", BTreeMap::new(), &pinned)
        .err()
        .unwrap();
    assert!(err.to_string().contains("CVE-2026-31337"), "{err}");
    let err = nodepools::scale_pool(&ctx, &c, &p, 3, 0).err().unwrap();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("CVE-2026-31337")),
        "{err:?}"
    );
    let err = nodepools::cycle_pool(&ctx, &c, &p, "2026.11.0", 0)
        .err()
        .unwrap();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("withdrawn")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_image_withdrawn_during_a_cycle_stops_it_at_a_safe_point() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let input = PoolInput {
        image_version: "2026.10.0".into(),
        ..gpu_pool(3)
    };
    w.commit(nodepools::create_pool(
        &ctx,
        &c,
        "gpu",
        BTreeMap::new(),
        &input,
    ))
    .await;
    for _ in 0..10 {
        step(&w, c.metadata.id, &|_| false).await;
    }
    let p = pool(&w, c.metadata.id);
    w.commit(nodepools::cycle_pool(
        &w.ctx(&w.admin),
        &c,
        &p,
        "2026.11.0",
        0,
    ))
    .await;
    // One pass: the first replacement starts.
    step(&w, c.metadata.id, &|_| false).await;
    let target = images::all(&w.reader)
        .unwrap()
        .into_iter()
        .find(|i| i.record.version.to_string() == "2026.11.0")
        .unwrap();
    learn(
        &w,
        ImageEvent::Withdrawn {
            image: target.record.id.to_string(),
            version: "2026.11.0".into(),
            reason: "CVE-2026-0001".into(),
            by: "ops".into(),
        },
    )
    .await;
    let mut nodes = Vec::new();
    for _ in 0..10 {
        nodes = step(&w, c.metadata.id, &|_| false).await;
    }
    let p = pool(&w, c.metadata.id);
    assert!(p.status.cycle.is_none(), "the cycle stopped");
    assert_eq!(
        p.spec.image_version, "2026.10.0",
        "new nodes boot the old image"
    );
    let alive: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.status.state == NodeState::Ready)
        .collect();
    assert_eq!(alive.len(), 3, "the pool kept its size: {nodes:?}");
    // No node was created on the withdrawn image after the withdrawal: at most the one that
    // had started before it.
    let on_withdrawn = nodes
        .iter()
        .filter(|n| n.spec.image_version == "2026.11.0")
        .count();
    assert!(
        on_withdrawn <= 1,
        "{on_withdrawn} nodes on the withdrawn image"
    );
}

fn waves() -> RolloutPolicy {
    RolloutPolicy {
        strategy: Strategy::Waves {
            percentages: vec![25, 100],
        },
        soak: time::Duration::ZERO,
        max_unavailable: 1,
        only_in_windows: false,
        ready_timeout: time::Duration::minutes(15),
    }
}

/// A world with a running cluster and a Ready 4-node pool `gpu` on 2026.10.0 with `policy`.
async fn ready_pool(policy: RolloutPolicy) -> (World, accord_core::cluster::Cluster, NodePool) {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let input = PoolInput {
        image_version: "2026.10.0".into(),
        rollout_policy: Some(policy),
        ..gpu_pool(4)
    };
    w.commit(nodepools::create_pool(
        &w.ctx(&w.admin),
        &c,
        "gpu",
        BTreeMap::new(),
        &input,
    ))
    .await;
    for _ in 0..12 {
        step(&w, c.metadata.id, &|_| false).await;
    }
    let p = pool(&w, c.metadata.id);
    assert_eq!(p.status.ready_nodes, 4);
    (w, c, p)
}

#[tokio::test]
async fn a_rollout_halts_and_disables_the_revision_when_a_new_node_fails_and_rolls_back() {
    let (w, c, p) = ready_pool(waves()).await;
    w.commit(nodepools::cycle_pool(
        &w.ctx(&w.admin),
        &c,
        &p,
        "2026.11.0",
        0,
    ))
    .await;
    let rec = PoolRollout::of(&w.reader, &p).unwrap();
    assert_eq!(rec.granted, 1, "the first wave is 25% of 4 nodes");
    // The new image's nodes fail to boot.
    let mut nodes = Vec::new();
    let mut tried = std::collections::BTreeSet::new();
    for _ in 0..10 {
        nodes = step(&w, c.metadata.id, &|n| n.spec.image_version == "2026.11.0").await;
        tried.extend(
            nodes
                .iter()
                .filter(|n| n.spec.image_version == "2026.11.0")
                .map(|n| n.metadata.id),
        );
    }
    // Halted at the first failure: the pool is frozen, nothing more is tried on the revision.
    assert_eq!(tried.len(), 1, "{tried:?}");
    let p = pool(&w, c.metadata.id);
    let s = view(&w, &p);
    let rollout = s.rollout.clone().unwrap();
    assert_eq!(rollout.phase, "halted", "{rollout:?}");
    assert!(rollout.halt_reason.contains("kernel panic"), "{rollout:?}");
    let new_rev = s
        .revisions
        .iter()
        .find(|r| r.image_version == "2026.11.0")
        .unwrap();
    assert!(new_rev.disabled);
    // Halted: no more than the first wave was ever tried, the old nodes stayed.
    let old_ready = nodes
        .iter()
        .filter(|n| n.spec.image_version == "2026.10.0" && n.status.state == NodeState::Ready)
        .count();
    assert!(old_ready >= 3, "{nodes:?}");
    // The disabled revision cannot be cycled to again.
    let err = nodepools::cycle_pool(&w.ctx(&w.admin), &c, &p, "2026.11.0", 0);
    assert!(err.is_err());

    // One command rolls back: every node on the previous image.
    let p = w
        .commit(accord_provisioner::handlers::rollback::rollback_pool(
            &w.ctx(&w.admin),
            &c,
            &p,
            0,
        ))
        .await;
    assert_eq!(p.spec.image_version, "2026.10.0");
    for _ in 0..20 {
        nodes = step(&w, c.metadata.id, &|_| false).await;
    }
    let p = pool(&w, c.metadata.id);
    assert!(p.status.cycle.is_none(), "{:?}", p.status);
    let ready: Vec<&Node> = nodes
        .iter()
        .filter(|n| n.status.state == NodeState::Ready)
        .collect();
    assert_eq!(ready.len(), 4);
    assert!(ready.iter().all(|n| n.spec.image_version == "2026.10.0"));
    let s = view(&w, &p);
    assert_eq!(s.rollout.unwrap().phase, "rolled-back");
    // The disabled revision's image is not offered as an update again.
    assert!(!s.update_available, "{:?}", s.update_available_version);
}

#[tokio::test]
async fn a_healthy_rollout_moves_wave_by_wave_and_completes() {
    let (w, c, p) = ready_pool(waves()).await;
    w.commit(nodepools::cycle_pool(&w.ctx(&w.admin), &c, &p, "", 0))
        .await;
    // While the first wave is under way, at most one node runs the new image.
    let nodes = step(&w, c.metadata.id, &|_| false).await;
    assert!(
        nodes
            .iter()
            .filter(|n| n.spec.image_version == "2026.11.0")
            .count()
            <= 1
    );
    let mut done = false;
    for _ in 0..40 {
        step(&w, c.metadata.id, &|_| false).await;
        let p = pool(&w, c.metadata.id);
        if view(&w, &p).rollout.is_some_and(|r| r.phase == "completed") {
            done = true;
            break;
        }
    }
    assert!(done, "the rollout completed");
    let p = pool(&w, c.metadata.id);
    assert_eq!(p.spec.image_version, "2026.11.0");
    assert!(!view(&w, &p).update_available);
}

#[tokio::test]
async fn a_critical_finding_on_a_new_node_during_the_soak_halts_the_rollout() {
    let policy = RolloutPolicy {
        soak: time::Duration::hours(1),
        ..waves()
    };
    let (w, c, p) = ready_pool(policy).await;
    w.commit(nodepools::cycle_pool(
        &w.ctx(&w.admin),
        &c,
        &p,
        "2026.11.0",
        0,
    ))
    .await;
    let mut nodes = Vec::new();
    for _ in 0..6 {
        nodes = step(&w, c.metadata.id, &|_| false).await;
    }
    let p = pool(&w, c.metadata.id);
    assert_eq!(view(&w, &p).rollout.unwrap().phase, "soaking");
    let new = nodes
        .iter()
        .find(|n| n.spec.image_version == "2026.11.0" && n.status.state == NodeState::Ready)
        .unwrap();
    // A finding on an old node changes nothing; on the new one it halts.
    let old = nodes
        .iter()
        .find(|n| n.spec.image_version == "2026.10.0")
        .unwrap();
    let ch = accord_provisioner::rollouts::on_critical_finding(
        &w.reader,
        old,
        "gpu-xid",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert!(ch.is_empty());
    let ch = accord_provisioner::rollouts::on_critical_finding(
        &w.reader,
        new,
        "gpu-xid",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
    let s = view(&w, &p);
    let r = s.rollout.unwrap();
    assert_eq!(r.phase, "halted");
    assert!(
        r.halt_reason.contains("critical finding (gpu-xid)"),
        "{r:?}"
    );
    assert!(
        s.revisions
            .iter()
            .any(|r| r.image_version == "2026.11.0" && r.disabled)
    );
}

#[tokio::test]
async fn a_node_waiting_to_boot_a_withdrawn_image_fails_and_is_not_replaced_on_it() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let p = w
        .commit(nodepools::create_pool(
            &w.ctx(&w.admin),
            &c,
            "gpu",
            BTreeMap::new(),
            &gpu_pool(1),
        ))
        .await;
    // One pass: the node exists, waiting to boot.
    for ch in reconcile_cluster(
        &w.reader,
        c.metadata.id,
        Some(&w.image_key()),
        OffsetDateTime::now_utc(),
    )
    .unwrap()
    {
        w.reader.store().commit(ch.commit).await.unwrap();
    }
    let waiting = w.reader.nodes(p.metadata.id).unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status.state, NodeState::Provisioning);
    let current = images::all(&w.reader)
        .unwrap()
        .into_iter()
        .find(|i| i.record.version.to_string() == "2026.11.0")
        .unwrap();
    learn(
        &w,
        ImageEvent::Withdrawn {
            image: current.record.id.to_string(),
            version: "2026.11.0".into(),
            reason: "CVE-2026-7777".into(),
            by: "ops".into(),
        },
    )
    .await;
    for _ in 0..4 {
        for ch in reconcile_cluster(
            &w.reader,
            c.metadata.id,
            Some(&w.image_key()),
            OffsetDateTime::now_utc(),
        )
        .unwrap()
        {
            w.reader.store().commit(ch.commit).await.unwrap();
        }
    }
    let nodes = w.reader.nodes(p.metadata.id).unwrap();
    assert_eq!(
        nodes.len(),
        1,
        "no replacement on the withdrawn image: {nodes:?}"
    );
    assert_ne!(nodes[0].status.state, NodeState::Provisioning);
    let s = view(&w, &pool(&w, c.metadata.id));
    assert!(s.update_required);
}
