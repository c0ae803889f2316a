//! Table-driven tests of the provisioner's rules: every validation rule and status code, run
//! against the pure handlers and a temporary store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    cluster::ClusterPhase,
    iam::{Principal, Role},
    ids::{ApiKeyId, ClusterId, UserId},
    nodepool::{Autoscaling, NodePool, RollingUpdate},
    validation::KubeVersion,
};
use accord_provisioner::{
    auth::KeyAuthenticator,
    handlers::{
        clusters::{self, ClusterInput},
        nodepools::{self, PoolInput},
        projects,
    },
};
use time::OffsetDateTime;

use crate::common::{World, field_of, good_cluster, gpu_pool};

#[tokio::test]
async fn cluster_validation_reports_each_field() {
    let w = World::new().await;
    type Edit = fn(&mut ClusterInput);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "version not offered",
            |i| i.kubernetes_version = "1.29".into(),
            "spec.kubernetes_version",
        ),
        (
            "version garbage",
            |i| i.kubernetes_version = "latest".into(),
            "spec.kubernetes_version",
        ),
        (
            "unknown region",
            |i| i.region = "mars-1".into(),
            "spec.region",
        ),
        (
            "vpc not a cidr",
            |i| i.vpc_subnet = "10.0.0.0".into(),
            "spec.network.vpc_subnet",
        ),
        (
            "public pod cidr",
            |i| i.pod_cidr = "8.8.0.0/16".into(),
            "spec.network.pod_cidr",
        ),
        (
            "overlap",
            |i| i.service_cidr = "10.244.0.0/20".into(),
            "spec.network.service_cidr",
        ),
        (
            "mask too small",
            |i| i.node_cidr_mask_size = 12,
            "spec.network.node_cidr_mask_size",
        ),
        (
            "mask too big for pods",
            |i| i.pod_cidr = "10.244.0.0/23".into(),
            "spec.network.pod_cidr",
        ),
        (
            "unknown addon",
            |i| i.addons = vec!["istio".into()],
            "spec.addons[0]",
        ),
    ];
    for (what, edit, field) in cases {
        let mut input = good_cluster();
        edit(&mut input);
        let err =
            clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "demo", BTreeMap::new(), &input)
                .err()
                .unwrap();
        assert!(field_of(&err).iter().any(|f| f == field), "{what}: {err}");
    }
    let err = clusters::create_cluster(
        &w.ctx(&w.admin),
        w.pid(),
        "Bad_Name",
        BTreeMap::new(),
        &good_cluster(),
    )
    .err()
    .unwrap();
    assert_eq!(field_of(&err), vec!["name"]);
    // Several problems are reported together.
    let mut input = good_cluster();
    input.region = "nowhere".into();
    input.pod_cidr = "nonsense".into();
    let err = clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "demo", BTreeMap::new(), &input)
        .err()
        .unwrap();
    assert_eq!(field_of(&err).len(), 2, "{err}");
}

#[tokio::test]
async fn cluster_names_are_unique_and_network_is_immutable() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let err = clusters::create_cluster(
        &w.ctx(&w.admin),
        w.pid(),
        "demo",
        BTreeMap::new(),
        &good_cluster(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, DomainError::AlreadyExists { .. }), "{err:?}");
    for path in ["spec.network.pod_cidr", "spec.region", "spec.network"] {
        let err = clusters::update_cluster(
            &w.ctx(&w.admin),
            &c,
            0,
            &[path.into()],
            BTreeMap::new(),
            None,
            None,
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("field is immutable"),
            "{path}: {err}"
        );
    }
    let err = clusters::update_cluster(&w.ctx(&w.admin), &c, 0, &[], BTreeMap::new(), None, None)
        .err()
        .unwrap();
    assert_eq!(field_of(&err), vec!["update_mask"]);
    // Stale resource_version.
    let err = clusters::update_cluster(
        &w.ctx(&w.admin),
        &c,
        c.metadata.resource_version + 7,
        &["labels".into()],
        BTreeMap::new(),
        None,
        None,
    )
    .err()
    .unwrap();
    assert!(matches!(err, DomainError::Aborted(_)), "{err:?}");
}

#[tokio::test]
async fn upgrades_go_one_minor_at_a_time_and_only_the_provider_executes() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    for (target, want) in [
        ("1.33", "one minor"),
        ("1.30", "downgrade"),
        ("1.31", "already"),
    ] {
        let err = clusters::request_upgrade(&w.ctx(&w.admin), &c, target, 0)
            .err()
            .unwrap();
        assert!(
            matches!(&err, DomainError::FailedPrecondition(m) if m.contains(want)),
            "{target}: {err:?}"
        );
    }
    let err = clusters::execute_upgrade(&w.ctx(&w.admin), &c, 0)
        .err()
        .unwrap();
    assert!(
        matches!(err, DomainError::FailedPrecondition(_)),
        "no request yet: {err:?}"
    );
    let c = w
        .commit(clusters::request_upgrade(&w.ctx(&w.admin), &c, "1.32", 0))
        .await;
    assert_eq!(
        c.status.requested_version,
        Some(KubeVersion {
            major: 1,
            minor: 32
        })
    );
    let operator = Principal::ProviderOperator {
        name: "ops".into(),
        key: ApiKeyId::generate(),
    };
    let c = w
        .commit(clusters::execute_upgrade(&w.ctx(&operator), &c, 0))
        .await;
    assert_eq!(c.status.phase, ClusterPhase::Upgrading);
    assert_eq!(c.spec.kubernetes_version.to_string(), "1.32");
}

#[tokio::test]
async fn deleting_a_cluster_with_pools_names_them() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    w.commit(nodepools::create_pool(
        &w.ctx(&w.admin),
        &c,
        "gpu-a",
        BTreeMap::new(),
        &gpu_pool(1),
    ))
    .await;
    let err = clusters::delete_cluster(&w.ctx(&w.admin), &c, 0)
        .err()
        .unwrap();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("gpu-a")),
        "{err:?}"
    );
}

#[tokio::test]
async fn pool_rules() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let bad: Vec<(&str, PoolInput, &str)> = vec![
        (
            "unknown type",
            PoolInput {
                instance_type: "tpu".into(),
                ..gpu_pool(1)
            },
            "spec.instance_type",
        ),
        (
            "count above max",
            PoolInput {
                autoscaling: Some(Autoscaling {
                    min_count: 0,
                    max_count: 2,
                }),
                ..gpu_pool(3)
            },
            "spec.count",
        ),
        (
            "min above max",
            PoolInput {
                autoscaling: Some(Autoscaling {
                    min_count: 5,
                    max_count: 2,
                }),
                ..gpu_pool(3)
            },
            "spec.autoscaling.min_count",
        ),
        (
            "rolling 0/0",
            PoolInput {
                rolling_update: Some(RollingUpdate {
                    max_surge: 0,
                    max_unavailable: 0,
                }),
                ..gpu_pool(1)
            },
            "spec.rolling_update",
        ),
        (
            "bad taint",
            PoolInput {
                taints: vec![accord_core::nodepool::Taint {
                    key: "k".into(),
                    value: "v".into(),
                    effect: "Never".into(),
                }],
                ..gpu_pool(1)
            },
            "spec.taints[0]",
        ),
        (
            "unknown image",
            PoolInput {
                image_version: "1999.1".into(),
                ..gpu_pool(1)
            },
            "spec.image_version",
        ),
    ];
    for (what, input, field) in bad {
        let err = nodepools::create_pool(&ctx, &c, "p", BTreeMap::new(), &input)
            .err()
            .unwrap();
        assert!(field_of(&err).iter().any(|f| f == field), "{what}: {err}");
    }
    // Quota: 64 GPUs by default = 8 nodes of 8 GPUs.
    let err = nodepools::create_pool(&ctx, &c, "big", BTreeMap::new(), &gpu_pool(9))
        .err()
        .unwrap();
    assert!(matches!(err, DomainError::ResourceExhausted(_)), "{err:?}");
    let pool: NodePool = w
        .commit(nodepools::create_pool(
            &ctx,
            &c,
            "gpu",
            BTreeMap::new(),
            &gpu_pool(8),
        ))
        .await;
    assert_eq!(
        pool.spec.image_version, "2026.11.0",
        "defaults to the latest image"
    );
    let err = nodepools::scale_pool(&ctx, &c, &pool, 9, 0).err().unwrap();
    assert!(matches!(err, DomainError::ResourceExhausted(_)), "{err:?}");
    // CPU pools need no GPU quota but the address plan bounds them: /16 pods with /24 = 256.
    let err = nodepools::create_pool(
        &ctx,
        &c,
        "cpu",
        BTreeMap::new(),
        &PoolInput {
            instance_type: "c1a.16x".into(),
            count: 249,
            ..PoolInput::default()
        },
    )
    .err()
    .unwrap();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("room for 256")),
        "{err:?}"
    );
    // Immutable and redirected fields.
    for (path, needle) in [
        ("spec.instance_type", "immutable"),
        ("spec.count", "ScaleNodePool"),
        ("spec.image_version", "CycleNodePool"),
    ] {
        let err = nodepools::update_pool(
            &ctx,
            &c,
            &pool,
            0,
            &[path.into()],
            BTreeMap::new(),
            &PoolInput::default(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains(needle), "{path}: {err}");
    }
    // The pool's AutoClusters opt-in overrides the cluster's, and can be set back to unset.
    assert_eq!(pool.spec.remediation_enabled, None);
    for want in [Some(false), None] {
        let (_, updated) = nodepools::update_pool(
            &ctx,
            &c,
            &pool,
            0,
            &["spec.remediation_enabled".into()],
            BTreeMap::new(),
            &PoolInput {
                remediation_enabled: want,
                ..PoolInput::default()
            },
        )
        .unwrap();
        assert_eq!(updated.spec.remediation_enabled, want);
    }
    // A pool already on the latest image and version cannot cycle.
    let err = nodepools::cycle_pool(&ctx, &c, &pool, "", 0).err().unwrap();
    assert!(matches!(err, DomainError::FailedPrecondition(_)), "{err:?}");
}

#[tokio::test]
async fn access_rules() {
    let w = World::new().await;
    let ctx = w.ctx(&w.admin);
    let err = projects::remove_member(&ctx, w.pid(), "admin")
        .err()
        .unwrap();
    assert!(
        matches!(err, DomainError::FailedPrecondition(_)),
        "last admin: {err:?}"
    );
    w.commit(projects::add_member(
        &ctx,
        w.pid(),
        "bob@example.com",
        Role::Reader,
    ))
    .await;
    let key = w
        .commit(projects::create_api_key(
            &ctx,
            w.pid(),
            "bob-laptop",
            "bob@example.com",
        ))
        .await;
    let auth = KeyAuthenticator::new(w.reader.clone());
    let bob = auth.verify(&key.token).unwrap();
    assert!(matches!(
        &bob,
        Principal::Customer {
            role: Role::Reader,
            ..
        }
    ));
    // A wrong secret for a real key id is refused.
    let last = key.token.chars().last().unwrap();
    let forged = format!(
        "{}{}",
        &key.token[..key.token.len() - 1],
        if last == 'x' { 'y' } else { 'x' }
    );
    assert!(matches!(
        auth.verify(&forged),
        Err(DomainError::Unauthenticated(_))
    ));
    // Revocation takes effect at once.
    w.commit(projects::revoke_api_key(
        &ctx,
        w.pid(),
        &key.record.id.to_string(),
    ))
    .await;
    assert!(
        matches!(auth.verify(&key.token), Err(DomainError::Unauthenticated(m)) if m.contains("revoked"))
    );
    // Removing a member revokes their keys.
    let key2 = w
        .commit(projects::create_api_key(
            &ctx,
            w.pid(),
            "bob-ci",
            "bob@example.com",
        ))
        .await;
    let revoked = w
        .commit(projects::remove_member(&ctx, w.pid(), "bob@example.com"))
        .await;
    assert_eq!(revoked, 1);
    assert!(auth.verify(&key2.token).is_err());
    // Only the digest is stored.
    let stored = w.reader.api_key(key2.record.id).unwrap().unwrap();
    assert!(!stored.secret_sha256.is_empty() && !key2.token.contains(&stored.secret_sha256));
    let _ = (UserId::generate(), ClusterId::generate());
}

/// Drives the pool controller with a fake infrastructure that completes every operation at
/// once, and records the worst moment of every step.
async fn converge(
    w: &World,
    cluster: ClusterId,
    mut observe: impl FnMut(&[accord_core::node::Node]),
) -> usize {
    use accord_core::{infra::InfraEvent, node::NodeState};
    use accord_provisioner::{handlers::infra::on_infra_event, reconcile::reconcile_cluster};
    for step in 0..200 {
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
        let pools = w.reader.pools(cluster).unwrap();
        let mut nodes = Vec::new();
        for p in &pools {
            nodes.extend(w.reader.nodes(p.metadata.id).unwrap());
        }
        observe(&nodes);
        // One infrastructure step for every node in a transitional state.
        let mut events = Vec::new();
        for n in &nodes {
            let id = n.metadata.id;
            match n.status.state {
                NodeState::Provisioning => events.push(InfraEvent::NodeReadiness {
                    node: id,
                    ready: true,
                    reason: "Up".into(),
                }),
                NodeState::Draining => events.push(InfraEvent::NodeDrained { node: id }),
                NodeState::Terminating => events.push(InfraEvent::NodeTerminated { node: id }),
                _ => {}
            }
        }
        let settled = pools
            .iter()
            .all(|p| p.status.phase == accord_core::nodepool::NodePoolPhase::Ready)
            && events.is_empty();
        if settled {
            return step;
        }
        // Apply one event per step so intermediate states are observed.
        if let Some(ev) = events.into_iter().next() {
            let ch = on_infra_event(&w.reader, OffsetDateTime::now_utc(), &ev).unwrap();
            w.reader.store().commit(ch.commit).await.unwrap();
        }
    }
    panic!("pool did not converge");
}

#[tokio::test]
async fn scale_and_cycle_converge_within_surge_and_availability() {
    use accord_core::node::NodeState;
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let input = PoolInput {
        image_version: "2026.10.0".into(),
        rolling_update: Some(RollingUpdate {
            max_surge: 1,
            max_unavailable: 0,
        }),
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
    converge(&w, c.metadata.id, |_| {}).await;
    let pool = w.reader.pool_ref(c.metadata.id, "gpu").unwrap();
    assert_eq!((pool.status.ready_nodes, pool.status.total_nodes), (3, 3));

    // Cycle to the latest image: never more than 3 + 1 nodes, never fewer than 3 ready.
    let pool = w
        .commit(nodepools::cycle_pool(&w.ctx(&w.admin), &c, &pool, "", 0))
        .await;
    assert_eq!(pool.status.cycle.as_ref().unwrap().nodes_total, 3);
    let (mut max_total, mut min_ready) = (0, usize::MAX);
    converge(&w, c.metadata.id, |nodes| {
        max_total = max_total.max(nodes.len());
        min_ready = min_ready.min(
            nodes
                .iter()
                .filter(|n| n.status.state == NodeState::Ready)
                .count(),
        );
    })
    .await;
    assert_eq!(max_total, 4, "surge of 1");
    assert_eq!(min_ready, 3, "max_unavailable 0");
    let pool = w.reader.pool_ref(c.metadata.id, "gpu").unwrap();
    assert!(pool.status.cycle.is_none());
    let nodes = w.reader.nodes(pool.metadata.id).unwrap();
    assert_eq!(nodes.len(), 3);
    assert!(
        nodes.iter().all(|n| n.spec.image_version == "2026.11.0"),
        "every node replaced"
    );

    // Scale down to 1: two nodes drain and go.
    let pool = w
        .commit(nodepools::scale_pool(&w.ctx(&w.admin), &c, &pool, 1, 0))
        .await;
    converge(&w, c.metadata.id, |_| {}).await;
    assert_eq!(w.reader.nodes(pool.metadata.id).unwrap().len(), 1);

    // Delete: the node drains, then the pool disappears.
    let pool = w.reader.pool_ref(c.metadata.id, "gpu").unwrap();
    w.commit(nodepools::delete_pool(&w.ctx(&w.admin), &pool, 0))
        .await;
    for _ in 0..20 {
        let _ = converge_once(&w, c.metadata.id).await;
    }
    assert!(w.reader.pools(c.metadata.id).unwrap().is_empty());
}

async fn converge_once(w: &World, cluster: ClusterId) -> usize {
    use accord_core::{infra::InfraEvent, node::NodeState};
    use accord_provisioner::{handlers::infra::on_infra_event, reconcile::reconcile_cluster};
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
    let mut n = 0;
    for p in w.reader.pools(cluster).unwrap() {
        for node in w.reader.nodes(p.metadata.id).unwrap() {
            let ev = match node.status.state {
                NodeState::Draining => InfraEvent::NodeDrained {
                    node: node.metadata.id,
                },
                NodeState::Terminating => InfraEvent::NodeTerminated {
                    node: node.metadata.id,
                },
                _ => continue,
            };
            let ch = on_infra_event(&w.reader, OffsetDateTime::now_utc(), &ev).unwrap();
            w.reader.store().commit(ch.commit).await.unwrap();
            n += 1;
        }
    }
    n
}
