//! Issue 14's "Done when", as the provider operator and a customer would do it through gRPC:
//! the operator builds the next release (the quick try: the base resolved against the package
//! archive; every stage succeeds and the resolve stage lists the upgrades) and promotes it; a
//! customer pool following `stable` on the `production` branch shows the update, one on `lts`
//! does not, and a candidate is never offered to a stable pool; a pool with a rollout policy
//! cycled while new nodes fail halts and disables the new revision, and rollback brings every
//! node back to the previous image; withdrawing the pool's image shows "update required" with
//! the reason. And a tampered `image.published` put straight on the bus (a flipped byte of a
//! genuine event's manifest) is refused by the provisioner while a genuine one put on the bus
//! the same way after it (a manifest signed with the provider's key) is learnt.

use accord_bus::CloudEvent;
use accord_core::image::{ImageEvent, PublishedImage};
use accord_e2e::{Api, CPU_INSTANCE, Env, IMAGE_KEY_SEED, cluster_id, kind, pool_request};
use accord_image::ManifestId;
use accord_proto::images::v1 as ipb;
use accord_proto::provisioner::v1 as pb;

/// The reason the operator withdraws the base image with.
const CVE: &str = "CVE-2026-41337: containerd escape via crafted image layer";

/// The genuine `image.published` of the base release's `branch` image, from the stream.
async fn genuine_published(env: &Env, branch: &str) -> PublishedImage {
    let events = env.events().await.unwrap();
    events
        .iter()
        .filter(|e| kind(e) == "image.published")
        .filter_map(|e| match e.decode_data::<ImageEvent>() {
            Ok(ImageEvent::Published { image }) => Some(image),
            _ => None,
        })
        .find(|i| i.driver_branch == branch && i.version == "2026.11.0")
        .unwrap_or_else(|| panic!("no image.published of the {branch} base"))
}

/// Publishes `image` as an `image.published` CloudEvent on the bus, as image-builder's relay
/// would (subject `accord.evt.platform.image.published.<hex>`).
async fn publish(env: &Env, image: PublishedImage) {
    let entry = CloudEvent::new(
        "image-builder",
        accord_core::events::Scope::Platform,
        &ImageEvent::Published { image },
    )
    .unwrap()
    .outbox_entry()
    .unwrap();
    assert!(
        entry
            .subject
            .starts_with("accord.evt.platform.image.published."),
        "{}",
        entry.subject
    );
    env.bus.publish_entry(&entry).await.unwrap();
}

/// Every image the provisioner lists.
async fn provisioner_images(api: &Api) -> Vec<pb::Image> {
    api.node_pools
        .clone()
        .list_images(pb::ListImagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .images
}

async fn nodes(api: &Api, cluster: &str, pool: &str) -> Vec<pb::Node> {
    api.nodes
        .clone()
        .list_nodes(pb::ListNodesRequest {
            project: String::new(),
            cluster: cluster.to_owned(),
            node_pool: pool.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .nodes
}

fn status(p: &pb::NodePool) -> &pb::NodePoolStatus {
    p.status.as_ref().unwrap()
}

fn pool_id(p: &pb::NodePool) -> String {
    p.metadata.as_ref().unwrap().id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_update_reaches_its_pools_a_failing_rollout_halts_and_rolls_back() {
    let env = Env::start().await.unwrap();
    let api = env.admin().unwrap();
    let mut pools = api.node_pools.clone();

    // Tampered events first: a flipped byte in a genuine event's manifest, (a) with the id
    // recomputed so it hashes (the signature over the old id then fails) and (b) as is (the
    // manifest no longer hashes to the id), under labels nothing else has.
    let genuine = genuine_published(&env, "production").await;
    let flipped = genuine
        .manifest
        .replacen("6.8.0-88-generic", "6.8.0-89-generic", 1);
    assert_ne!(flipped, genuine.manifest);
    let rehashed_id = ManifestId::of_bytes(flipped.as_bytes());
    publish(
        &env,
        PublishedImage {
            id: rehashed_id.to_string(),
            manifest: flipped.clone(),
            version: "2027.01.0".into(),
            ..genuine.clone()
        },
    )
    .await;
    publish(
        &env,
        PublishedImage {
            manifest: flipped.clone(),
            version: "2027.01.1".into(),
            ..genuine.clone()
        },
    )
    .await;
    // Then a genuine one the same way: another edit of the manifest, signed with the
    // provider's key, as a candidate (so no stable pool is offered it).
    let other = flipped.replacen("6.8.0-89-generic", "6.8.0-87-generic", 1);
    let other_id = ManifestId::of_bytes(other.as_bytes());
    let other_signed = accord_image::sign(
        &other_id,
        &accord_image::signing_key_from_seed(IMAGE_KEY_SEED),
    );
    publish(
        &env,
        PublishedImage {
            id: other_id.to_string(),
            manifest: other,
            version: "2026.11.1".into(),
            channel: "candidate".into(),
            signature: other_signed.signature,
            key_id: other_signed.key_id,
            ..genuine.clone()
        },
    )
    .await;
    env.await_provisioner_image(&other_id.to_string(), "the genuine event learnt", |i| {
        i.channel == "candidate" && i.version == "2026.11.1"
    })
    .await
    .unwrap();
    let known = provisioner_images(&api).await;
    assert!(
        known.iter().all(|i| i.id != rehashed_id.to_string()),
        "a tampered image was learnt: {known:?}"
    );
    assert!(
        known.iter().all(|i| !i.version.starts_with("2027.")),
        "a tampered event changed a record: {known:?}"
    );
    let base = known.iter().find(|i| i.id == genuine.id).unwrap();
    assert_eq!(
        (base.version.as_str(), base.status.as_str()),
        ("2026.11.0", "active")
    );

    // A customer cluster with a production pool and an LTS pool, both following stable.
    let cluster = env.running_cluster(&api, "rollouts", "").await.unwrap();
    let cluster = cluster_id(&cluster).unwrap();
    let mut prod_req = pool_request(&cluster, "prod", CPU_INSTANCE, 2, "");
    if let Some(spec) = prod_req.spec.as_mut() {
        spec.driver_branch = "production".into();
        spec.image_channel = "stable".into();
    }
    let prod = pool_id(&pools.create_node_pool(prod_req).await.unwrap().into_inner());
    let mut lts_req = pool_request(&cluster, "lts", CPU_INSTANCE, 1, "");
    if let Some(spec) = lts_req.spec.as_mut() {
        spec.driver_branch = "lts".into();
    }
    let lts = pool_id(&pools.create_node_pool(lts_req).await.unwrap().into_inner());
    let ready = env
        .wait_pool(&api, &cluster, &prod, "the production pool ready", |p| {
            p.status
                .as_ref()
                .is_some_and(|s| s.phase == "ready" && s.ready_nodes == 2)
        })
        .await
        .unwrap();
    let base_image = status(&ready).image_id.clone();
    let base_version = ready.spec.as_ref().unwrap().image_version.clone();
    assert_eq!(base_image, genuine.id);
    assert_eq!(base_version, "2026.11.0");
    assert!(!status(&ready).update_available);
    env.wait_pool(&api, &cluster, &lts, "the lts pool ready", |p| {
        p.status
            .as_ref()
            .is_some_and(|s| s.phase == "ready" && s.ready_nodes == 1)
    })
    .await
    .unwrap();

    // The operator builds the next release: every stage succeeds, resolve lists the upgrades.
    let built = env
        .build_image_and_wait(ipb::BuildImageRequest {
            reason: "monthly patch release".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(built.driver_branch, "production");
    assert_eq!(built.stages.len(), 7);
    assert!(
        built.stages.iter().all(|s| s.state == "succeeded"),
        "{:?}",
        built.stages
    );
    let resolve = &built.stages[0];
    assert_eq!(resolve.name, "resolve");
    for line in [
        "kernel 6.8.0-88-generic → 6.8.0-90-generic",
        "gpu_driver 570.195.03 → 570.211.01",
    ] {
        assert!(
            resolve.log.iter().any(|l| l == line),
            "{line} not in {:?}",
            resolve.log
        );
    }
    // A second quick try resolves to the same content: a duplicate, not a new image.
    let again = env
        .images(&env.operator_token)
        .unwrap()
        .build_image(ipb::BuildImageRequest::default())
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::AlreadyExists, "{again:?}");

    // The provisioner learns it from image-builder's event, as a candidate.
    env.await_provisioner_image(&built.image, "the built image learnt", |i| {
        i.channel == "candidate"
    })
    .await
    .unwrap();

    // A candidate is not offered to a stable pool.
    let p = env
        .wait_pool(&api, &cluster, &prod, "the production pool", |_| true)
        .await
        .unwrap();
    assert!(!status(&p).update_available, "{:?}", status(&p));
    assert!(status(&p).update_available_version.is_empty());

    // Promoted to stable: the production pool shows it; the LTS pool does not.
    let promoted = env.promote_image(&built.image).await.unwrap();
    assert_eq!(promoted.channel, "stable");
    let offered = env
        .wait_pool(&api, &cluster, &prod, "update available", |p| {
            p.status.as_ref().is_some_and(|s| s.update_available)
        })
        .await
        .unwrap();
    assert_eq!(status(&offered).update_available_version, built.version);
    let l = env
        .wait_pool(&api, &cluster, &lts, "the lts pool", |_| true)
        .await
        .unwrap();
    assert!(!status(&l).update_available, "{:?}", status(&l));

    // A rollout policy on the production pool: waves of 50 % then 100 %, a short soak.
    let updated = pools
        .update_node_pool(pb::UpdateNodePoolRequest {
            cluster: cluster.clone(),
            node_pool: prod.clone(),
            update_mask: vec!["spec.rollout_policy".into()],
            spec: Some(pb::NodePoolSpec {
                rollout_policy: Some(pb::RolloutPolicy {
                    wave_percentages: vec![50, 100],
                    soak_seconds: 1,
                    max_unavailable: 1,
                    ready_timeout_seconds: 30,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(updated.spec.as_ref().unwrap().rollout_policy.is_some());

    // New nodes fail: the rollout halts and disables the new revision.
    let fault = env
        .inject_fault(br#"{"kind":"fail-next-provisions","count":1}"#)
        .await
        .unwrap();
    assert!(fault.ok, "{fault:?}");
    pools
        .cycle_node_pool(pb::CycleNodePoolRequest {
            cluster: cluster.clone(),
            node_pool: prod.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let halted = env
        .wait_pool(&api, &cluster, &prod, "the rollout halted", |p| {
            p.status
                .as_ref()
                .and_then(|s| s.rollout.as_ref())
                .is_some_and(|r| r.phase == "halted")
        })
        .await
        .unwrap();
    let rollout = status(&halted).rollout.clone().unwrap();
    // The halt names the failed node (not a Ready timeout).
    assert!(
        rollout.halt_reason.starts_with("node ") && rollout.halt_reason.contains(" failed: "),
        "{rollout:?}"
    );
    let new_revision = status(&halted)
        .revisions
        .iter()
        .find(|r| r.revision == rollout.to_revision)
        .unwrap_or_else(|| panic!("no revision {}: {:?}", rollout.to_revision, status(&halted)));
    assert_eq!(new_revision.image_id, built.image);
    assert!(new_revision.disabled, "{new_revision:?}");

    // Rollback: every node back on the previous image, Ready.
    pools
        .rollback_node_pool(pb::RollbackNodePoolRequest {
            cluster: cluster.clone(),
            node_pool: prod.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let back = env
        .wait_pool(&api, &cluster, &prod, "rolled back and ready", |p| {
            p.status.as_ref().is_some_and(|s| {
                s.phase == "ready"
                    && s.cycle.is_none()
                    && s.ready_nodes == 2
                    && s.total_nodes == 2
                    && s.image_id == base_image
            })
        })
        .await
        .unwrap();
    assert_eq!(back.spec.as_ref().unwrap().image_version, base_version);
    // The disabled revision's image is not offered again.
    assert!(!status(&back).update_available, "{:?}", status(&back));
    let on = nodes(&api, &cluster, &prod).await;
    assert_eq!(on.len(), 2, "{on:?}");
    for n in &on {
        assert_eq!(
            n.spec.as_ref().unwrap().image_version,
            base_version,
            "{n:?}"
        );
        assert_eq!(n.status.as_ref().unwrap().state, "ready", "{n:?}");
    }

    // The operator withdraws the pool's image: update required, with the reason.
    let withdrawn = env
        .images(&env.operator_token)
        .unwrap()
        .withdraw_image(ipb::ImageTransitionRequest {
            image: base_image.clone(),
            reason: CVE.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(withdrawn.status, "withdrawn");
    let required = env
        .wait_pool(&api, &cluster, &prod, "update required", |p| {
            p.status.as_ref().is_some_and(|s| s.update_required)
        })
        .await
        .unwrap();
    assert!(
        status(&required)
            .update_required_reason
            .contains("CVE-2026-41337"),
        "{:?}",
        status(&required)
    );
}
