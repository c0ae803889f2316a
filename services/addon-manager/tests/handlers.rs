//! The addon-manager's decisions as plain functions: ownership floors and verdicts, events of
//! each transition, upgrade skips, the cluster view's reactions to provisioner events, and
//! failed automatic installs (pending records, backoff, when to say so) with an injected `now`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_addon_manager::{
    handlers::{
        Ctx, Rendered,
        auto_install::{self, BACKOFF, MAX_ERROR_BYTES, Outcome as AutoOutcome},
        cluster_view::{Effect, Input, apply},
        configure::configure,
        install::{Installing, install, ownership},
        upgrade::{self, Outcome},
    },
    trees::{ADDONS, PENDING_INSTALLS, addon_key},
    view::{ClusterView, PoolView},
};
use accord_core::{
    DomainError,
    addon::{
        AddonEvent, AddonInstallation, AddonInstaller, AddonManifest, AddonOwnership, AddonSource,
        PendingInstall,
    },
    cluster::ClusterEvent,
    ids::{ClusterId, NodePoolId, ProjectId},
};
use accord_store::{Store, Versioned};
use time::{OffsetDateTime, macros::datetime};

fn view() -> ClusterView {
    ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project: ProjectId::generate(),
        kubernetes_version: "1.32".into(),
        region: "eu-iceland1".into(),
        pod_cidr: "10.64.0.0/12".into(),
        service_cidr: "10.96.0.0/16".into(),
        api_endpoint: "https://train.example".into(),
        opted_in: vec!["nvidia-gpu-operator".into()],
        pools: Default::default(),
    }
}

fn rendered(ownership: AddonOwnership, reason: &str, config: &str) -> Rendered {
    Rendered {
        version: "v25.3.1".into(),
        config: config.into(),
        manifests: vec![AddonManifest {
            name: "10-gpu-operator-helm-release.yaml".into(),
            format: "kubernetes".into(),
            content: format!("# {config}\n"),
        }],
        plugin_digest: "sha256:abc".into(),
        installer: AddonInstaller::Provider,
        verdict: (ownership, reason.into()),
    }
}

fn installed(v: &ClusterView) -> Versioned<AddonInstallation> {
    let (_, inst) = install(
        &Ctx::new("addon-manager"),
        v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Installing::Rendered(rendered(
            AddonOwnership::ProviderManaged,
            "matches the reference",
            "{}",
        )),
    )
    .unwrap();
    Versioned {
        version: 1,
        value: inst,
    }
}

#[test]
fn ownership_never_drops_below_the_source_floor() {
    use AddonInstaller::*;
    use AddonOwnership::*;
    use AddonSource::*;
    let v = |o| Some((o, "verdict".to_owned()));
    assert_eq!(
        ownership(OptedIn, Provider, v(ProviderManaged)).0,
        ProviderManaged
    );
    assert_eq!(ownership(OptedIn, Provider, v(Shared)).0, Shared);
    assert_eq!(
        ownership(OptedIn, Provider, v(CustomerOwned)).0,
        CustomerOwned
    );
    // Customer-installed charts are shared from the start, whatever the configuration.
    let (o, reason) = ownership(Requested, Customer, v(ProviderManaged));
    assert_eq!(o, Shared);
    assert!(reason.contains("the customer installs"), "{reason}");
    assert_eq!(
        ownership(Requested, Customer, v(CustomerOwned)).0,
        CustomerOwned
    );
    // Self-managed is the customer's, always.
    assert_eq!(ownership(SelfManaged, Provider, None).0, CustomerOwned);
}

#[test]
fn events_about_an_installation_are_published_under_its_project() {
    let v = view();
    let prefix = format!("accord.evt.{}.addon.", v.project);
    let (ch, _) = install(
        &Ctx::new("alice"),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::Requested,
        Installing::Rendered(rendered(AddonOwnership::ProviderManaged, "ref", "{}")),
    )
    .unwrap();
    let current = installed(&v);
    let (skipped, _) = upgrade::skip(&current.value, "v25.4.0", "customer-owned".into());
    let (failed, _) = auto_install::attempt(
        &at(T0),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Err(quarantined()),
        &BACKOFF,
    )
    .unwrap();
    let mut removed = accord_addon_manager::handlers::Change::in_project(v.project);
    accord_addon_manager::handlers::uninstall::uninstall(&mut removed, &current, "gone");
    for ch in [ch, skipped, failed, removed] {
        let entries = ch.outbox("addon-manager").unwrap();
        assert_eq!(entries.len(), 1, "{:?}", ch.event_names());
        for e in entries {
            assert!(e.subject.starts_with(&prefix), "{}", e.subject);
        }
    }
}

#[test]
fn install_announces_the_installation_without_manifests() {
    let v = view();
    let (ch, inst) = install(
        &Ctx::new("alice"),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::Requested,
        Installing::Rendered(rendered(AddonOwnership::ProviderManaged, "ref", "{}")),
    )
    .unwrap();
    assert_eq!(inst.ownership, AddonOwnership::ProviderManaged);
    assert_eq!(inst.generation, 1);
    assert_eq!(inst.manifests.len(), 1);
    assert_eq!(ch.event_names(), ["addon.installed"]);
    match &ch.events[0] {
        AddonEvent::Installed { installation } => {
            assert!(installation.manifests.is_empty());
            assert_eq!(installation.cluster, v.id);
        }
        other => panic!("{other:?}"),
    }
    // A second install of the same add-on is refused.
    let err = install(
        &Ctx::new("alice"),
        &v,
        Some(&inst),
        "nvidia-gpu-operator",
        AddonSource::Requested,
        Installing::Rendered(rendered(AddonOwnership::ProviderManaged, "ref", "{}")),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        accord_core::DomainError::AlreadyExists { .. }
    ));
}

#[test]
fn self_managed_installations_are_customer_owned_and_render_nothing() {
    let v = view();
    let (_, inst) = install(
        &Ctx::new("alice"),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::Requested,
        Installing::SelfManaged {
            installer: AddonInstaller::Provider,
            version: "v24.9.0".into(),
        },
    )
    .unwrap();
    assert_eq!(inst.source, AddonSource::SelfManaged);
    assert_eq!(inst.ownership, AddonOwnership::CustomerOwned);
    assert!(inst.manifests.is_empty());
    assert!(inst.ownership_reason.contains("outside the provider"));
    // Its configuration is not Accord's to change.
    let cur = Versioned {
        version: 1,
        value: inst,
    };
    let err = configure(
        &Ctx::new("alice"),
        &cur,
        0,
        rendered(AddonOwnership::Shared, "knob", r#"{"a":1}"#),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        accord_core::DomainError::FailedPrecondition(_)
    ));
}

#[test]
fn a_knob_keeps_it_shared_and_a_significant_change_makes_it_the_customers() {
    let v = view();
    let cur = installed(&v);
    // Knob: provider-managed → shared, with both events.
    let (ch, shared) = configure(
        &Ctx::new("alice"),
        &cur,
        cur.value.generation,
        rendered(
            AddonOwnership::Shared,
            "only customer knobs differ: driver.version",
            r#"{"driver":{"version":"570.172.08"}}"#,
        ),
    )
    .unwrap();
    assert_eq!(shared.ownership, AddonOwnership::Shared);
    assert_eq!(shared.generation, 2);
    assert_eq!(
        ch.event_names(),
        ["addon.config-changed", "addon.ownership-changed"]
    );
    // Significant: shared → customer-owned, the reason travels in the event.
    let cur = Versioned {
        version: 2,
        value: shared,
    };
    let (ch, owned) = configure(
        &Ctx::new("alice"),
        &cur,
        0,
        rendered(
            AddonOwnership::CustomerOwned,
            "significant modification: driver.enabled",
            r#"{"driver":{"enabled":false}}"#,
        ),
    )
    .unwrap();
    assert_eq!(owned.ownership, AddonOwnership::CustomerOwned);
    match &ch.events[1] {
        AddonEvent::OwnershipChanged {
            from, to, reason, ..
        } => {
            assert_eq!(
                (*from, *to),
                (AddonOwnership::Shared, AddonOwnership::CustomerOwned)
            );
            assert!(reason.contains("driver.enabled"));
        }
        other => panic!("{other:?}"),
    }
    // Another knob change while shared: config-changed only, no ownership event.
    let (ch, _) = configure(
        &Ctx::new("alice"),
        &Versioned {
            version: 3,
            value: owned.clone(),
        },
        0,
        rendered(
            AddonOwnership::CustomerOwned,
            "still significant",
            r#"{"x":1}"#,
        ),
    )
    .unwrap();
    assert_eq!(ch.event_names(), ["addon.config-changed"]);
    // Same configuration again: nothing to commit, no event.
    let (ch, _) = configure(
        &Ctx::new("alice"),
        &Versioned {
            version: 3,
            value: owned.clone(),
        },
        0,
        rendered(AddonOwnership::CustomerOwned, "still", &owned.config),
    )
    .unwrap();
    assert!(ch.events.is_empty());
}

#[test]
fn a_stale_generation_is_aborted() {
    let v = view();
    let cur = installed(&v);
    let err = configure(
        &Ctx::new("alice"),
        &cur,
        cur.value.generation + 5,
        rendered(AddonOwnership::Shared, "knob", r#"{"a":1}"#),
    )
    .unwrap_err();
    assert!(matches!(err, accord_core::DomainError::Aborted(_)));
}

#[test]
fn critical_upgrades_skip_customer_owned_installations_and_say_why() {
    let v = view();
    let mut cur = installed(&v);
    assert_eq!(upgrade::eligible(&cur.value, "v25.3.1"), Ok(false));
    assert_eq!(upgrade::eligible(&cur.value, "v25.10.0"), Ok(true));
    let (ch, outcome) = upgrade::upgrade(
        &Ctx::new("ops (CVE-2026-0001)"),
        &cur,
        vec!["roll the operator".into()],
        true,
        Rendered {
            version: "v25.10.0".into(),
            ..rendered(AddonOwnership::ProviderManaged, "ref", "{}")
        },
    )
    .unwrap();
    assert!(matches!(
        outcome,
        Outcome::Upgraded {
            disruptive: true,
            ..
        }
    ));
    assert_eq!(ch.event_names(), ["addon.upgraded"]);

    cur.value.ownership = AddonOwnership::CustomerOwned;
    cur.value.ownership_reason = "significant modification: operator.repository".into();
    let why = upgrade::eligible(&cur.value, "v25.10.0").unwrap_err();
    assert!(why.contains("operator.repository"), "{why}");
    let (ch, outcome) = upgrade::skip(&cur.value, "v25.10.0", why);
    assert!(matches!(outcome, Outcome::Skipped { .. }));
    match &ch.events[..] {
        [
            AddonEvent::UpgradeSkipped {
                target, ownership, ..
            },
        ] => {
            assert_eq!(target, "v25.10.0");
            assert_eq!(*ownership, AddonOwnership::CustomerOwned);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_infiniband_pool_requires_the_network_operator_and_redelivery_is_harmless() {
    let v = view();
    let stored = Versioned {
        version: 1,
        value: v.clone(),
    };
    let pool_id = NodePoolId::generate();
    let mut pool: accord_core::nodepool::NodePool = serde_json::from_value(serde_json::json!({
        "metadata": {"id": pool_id, "name": "h200", "project": v.project, "labels": {},
            "resource_version": 1, "generation": 1,
            "created_at": "2026-11-24T00:00:00Z", "updated_at": "2026-11-24T00:00:00Z"},
        "spec": {"cluster": v.id, "instance_type": "h200-141gb-sxm-ib.8x", "count": 2,
            "image_version": "2026.11.0", "kubelet_version": "1.32"},
        "status": {"phase": "provisioning", "ready_nodes": 0, "total_nodes": 0,
            "observed_generation": 0}
    }))
    .unwrap();
    let created = Input::NodePool(accord_core::nodepool::NodePoolEvent::Created {
        pool: Box::new(pool.clone()),
        gpus_per_node: 8,
        infiniband: true,
        gpu_model: "H200".into(),
    });
    let (ch, next, effect) = apply(Some(&stored), &created).unwrap().unwrap();
    assert!(!ch.is_empty());
    assert_eq!(
        effect,
        Effect {
            needs_infiniband: true,
            rerender: true,
            ..Effect::default()
        }
    );
    assert_eq!(
        next.pools[&pool_id],
        PoolView {
            name: "h200".into(),
            instance_type: "h200-141gb-sxm-ib.8x".into(),
            gpus_per_node: 8,
            gpu_model: "H200".into(),
            infiniband: true,
            count: 2,
            min_count: None,
            max_count: None,
        }
    );
    let info = next.info();
    assert_eq!(info.pools[0].gpu_model, "H200");
    // The same event again: no write, the requirement is still checked.
    let again = Versioned {
        version: 2,
        value: next.clone(),
    };
    let (ch, _, effect) = apply(Some(&again), &created).unwrap().unwrap();
    assert!(ch.is_empty());
    assert!(effect.needs_infiniband && !effect.rerender);
    // Autoscaling bounds flow into the view (the autoscaler renders them).
    pool.spec.autoscaling = Some(accord_core::nodepool::Autoscaling {
        min_count: 1,
        max_count: 6,
    });
    let updated = Input::NodePool(accord_core::nodepool::NodePoolEvent::Updated {
        pool: Box::new(pool),
    });
    let (_, next, effect) = apply(Some(&again), &updated).unwrap().unwrap();
    assert!(effect.rerender);
    assert_eq!(next.pools[&pool_id].max_count, Some(6));
}

#[test]
fn events_about_unknown_clusters_or_ignored_kinds_do_nothing() {
    let v = view();
    let deleted = Input::Cluster(ClusterEvent::Deleted {
        cluster: v.id,
        project: v.project,
        name: v.name.clone(),
    });
    assert!(apply(None, &deleted).unwrap().is_none());
    let started = Input::Cluster(ClusterEvent::DeletionStarted { cluster: v.id });
    assert!(started.cluster().is_none());
    let stored = Versioned {
        version: 1,
        value: v,
    };
    let (_, _, effect) = apply(Some(&stored), &deleted).unwrap().unwrap();
    assert!(effect.deleted);
}

// ---------------------------------------------------------------- failed automatic installs

const T0: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

fn at(now: OffsetDateTime) -> Ctx {
    Ctx {
        now,
        actor: "addon-manager".into(),
    }
}

fn quarantined() -> DomainError {
    DomainError::Unavailable(
        "the nvidia-gpu-operator add-on plugin failed: quarantined after 3 faults".into(),
    )
}

/// Applies a decided change to `store` (checking its preconditions) and reads the record back.
async fn commit_and_read(
    store: &Store,
    ch: accord_addon_manager::handlers::Change,
    v: &ClusterView,
) -> Option<Versioned<PendingInstall>> {
    store.commit(ch.commit).await.unwrap();
    PENDING_INSTALLS
        .get(store, &addon_key(v.id, "nvidia-gpu-operator"))
        .unwrap()
}

#[tokio::test]
async fn a_failed_automatic_install_is_recorded_and_retried_with_doubling_backoff() {
    let store = Store::temporary().unwrap();
    let v = view();
    let (ch, outcome) = auto_install::attempt(
        &at(T0),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Err(quarantined()),
        &BACKOFF,
    )
    .unwrap();
    // The first failure of an episode is announced, with the attempt count.
    match &ch.events[..] {
        [
            AddonEvent::InstallFailed {
                addon,
                error,
                attempts,
                ..
            },
        ] => {
            assert_eq!(addon, "nvidia-gpu-operator");
            assert!(error.contains("quarantined"), "{error}");
            assert_eq!(*attempts, 1);
        }
        other => panic!("{other:?}"),
    }
    let AutoOutcome::Failed(first) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(first.attempts, 1);
    assert_eq!(first.source, AddonSource::OptedIn);
    assert_eq!(first.first_failed_at, T0);
    assert_eq!(first.next_attempt_at, datetime!(2026-11-24 10:00:30 UTC));
    let mut stored = commit_and_read(&store, ch, &v).await.unwrap();
    assert_eq!(stored.value, first);

    // Each due retry that fails doubles the wait up to 10 minutes, keeps the episode's start
    // and says nothing more until the sixth attempt.
    let mut waits = Vec::new();
    let mut announced = Vec::new();
    for _ in 2..=8 {
        let now = stored.value.next_attempt_at;
        let (ch, outcome) = auto_install::attempt(
            &at(now),
            &v,
            Some(&stored),
            "nvidia-gpu-operator",
            stored.value.source,
            Err(quarantined()),
            &BACKOFF,
        )
        .unwrap();
        let AutoOutcome::Failed(p) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(p.first_failed_at, T0);
        assert_eq!(p.last_failed_at, now);
        waits.push((p.next_attempt_at - now).whole_seconds());
        if !ch.events.is_empty() {
            assert_eq!(ch.event_names(), ["addon.install-failed"]);
            announced.push(p.attempts);
        }
        stored = commit_and_read(&store, ch, &v).await.unwrap();
        assert_eq!(stored.value, p);
    }
    assert_eq!(waits, [60, 120, 240, 480, 600, 600, 600]);
    assert_eq!(announced, [6]);
    assert_eq!(stored.value.attempts, 8);
}

#[tokio::test]
async fn backoff_stays_at_the_cap_and_never_gives_up() {
    let store = Store::temporary().unwrap();
    let v = view();
    let now = datetime!(2026-12-01 00:00:00 UTC);
    let long_failing = PendingInstall {
        cluster: v.id,
        project: v.project,
        name: "nvidia-gpu-operator".into(),
        source: AddonSource::OptedIn,
        attempts: 10_000,
        first_failed_at: T0,
        last_failed_at: now,
        last_error: "unavailable: still broken".into(),
        next_attempt_at: now,
    };
    let mut ch = accord_addon_manager::handlers::Change::in_project(v.project);
    ch.put(
        PENDING_INSTALLS,
        &addon_key(v.id, "nvidia-gpu-operator"),
        &long_failing,
        accord_store::Expect::Absent,
    )
    .unwrap();
    let stored = commit_and_read(&store, ch, &v).await.unwrap();
    let (ch, outcome) = auto_install::attempt(
        &at(now),
        &v,
        Some(&stored),
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Err(quarantined()),
        &BACKOFF,
    )
    .unwrap();
    let AutoOutcome::Failed(p) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(p.attempts, 10_001);
    assert_eq!(p.next_attempt_at, datetime!(2026-12-01 00:10:00 UTC));
    // Still recorded (not dropped), and not announced (10001 is not a reminder attempt).
    assert!(ch.events.is_empty());
    assert_eq!(commit_and_read(&store, ch, &v).await.unwrap().value, p);
}

#[tokio::test]
async fn a_successful_retry_installs_and_removes_the_record_in_the_same_change() {
    let store = Store::temporary().unwrap();
    let v = view();
    let (ch, _) = auto_install::attempt(
        &at(T0),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Err(quarantined()),
        &BACKOFF,
    )
    .unwrap();
    let stored = commit_and_read(&store, ch, &v).await.unwrap();
    let later = datetime!(2026-11-24 10:00:31 UTC);
    let (ch, outcome) = auto_install::attempt(
        &at(later),
        &v,
        Some(&stored),
        "nvidia-gpu-operator",
        stored.value.source,
        Ok(rendered(AddonOwnership::ProviderManaged, "reference", "{}")),
        &BACKOFF,
    )
    .unwrap();
    // The normal installed event, nothing about the failures.
    assert_eq!(ch.event_names(), ["addon.installed"]);
    let AutoOutcome::Installed(inst) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(inst.source, AddonSource::OptedIn);
    assert_eq!(inst.ownership, AddonOwnership::ProviderManaged);
    assert_eq!(inst.created_at, later);
    assert!(commit_and_read(&store, ch, &v).await.is_none());
    let installed = ADDONS
        .get(&store, &addon_key(v.id, "nvidia-gpu-operator"))
        .unwrap()
        .unwrap();
    assert_eq!(installed.value, inst);
}

#[test]
fn a_first_attempt_that_succeeds_leaves_no_record() {
    let v = view();
    let (ch, outcome) = auto_install::attempt(
        &at(T0),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Ok(rendered(AddonOwnership::ProviderManaged, "reference", "{}")),
        &BACKOFF,
    )
    .unwrap();
    assert!(matches!(outcome, AutoOutcome::Installed(_)));
    assert_eq!(ch.event_names(), ["addon.installed"]);
    // The installation only.
    assert_eq!(ch.commit.len_ops(), 1);
}

#[test]
fn plugin_errors_are_bounded_in_the_record_and_the_event() {
    let v = view();
    let flood = DomainError::FailedPrecondition(format!(
        "nvidia-gpu-operator cannot be rendered: {}",
        "x".repeat(1 << 20)
    ));
    let (ch, outcome) = auto_install::attempt(
        &at(T0),
        &v,
        None,
        "nvidia-gpu-operator",
        AddonSource::OptedIn,
        Err(flood),
        &BACKOFF,
    )
    .unwrap();
    let AutoOutcome::Failed(p) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        p.last_error.len() <= MAX_ERROR_BYTES,
        "{}",
        p.last_error.len()
    );
    assert!(
        p.last_error
            .starts_with("failed precondition: nvidia-gpu-operator cannot be rendered")
    );
    match &ch.events[0] {
        AddonEvent::InstallFailed { error, .. } => assert_eq!(error, &p.last_error),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pending_records_that_no_longer_apply_are_dropped() {
    let mut v = view();
    let record = |source| PendingInstall {
        cluster: v.id,
        project: v.project,
        name: "nvidia-network-operator".into(),
        source,
        attempts: 2,
        first_failed_at: T0,
        last_failed_at: T0,
        last_error: "unavailable".into(),
        next_attempt_at: T0,
    };
    let opted = record(AddonSource::OptedIn);
    assert_eq!(auto_install::obsolete(&opted, Some(&v), false), None);
    assert!(auto_install::obsolete(&opted, Some(&v), true).is_some());
    assert_eq!(
        auto_install::obsolete(&opted, None, false),
        Some("the cluster is gone")
    );
    // Required by InfiniBand: only while an InfiniBand pool exists.
    let required = record(AddonSource::RequiredByInfiniband);
    assert!(auto_install::obsolete(&required, Some(&v), false).is_some());
    v.pools.insert(
        NodePoolId::generate(),
        PoolView {
            name: "h200".into(),
            instance_type: "h200-141gb-sxm-ib.8x".into(),
            gpus_per_node: 8,
            gpu_model: "H200".into(),
            infiniband: true,
            count: 2,
            min_count: None,
            max_count: None,
        },
    );
    assert_eq!(auto_install::obsolete(&required, Some(&v), false), None);
}

#[test]
fn due_records_come_longest_overdue_first_and_a_pass_is_bounded() {
    let v = view();
    let record = |name: &str, next: OffsetDateTime| PendingInstall {
        cluster: v.id,
        project: v.project,
        name: name.into(),
        source: AddonSource::OptedIn,
        attempts: 1,
        first_failed_at: T0,
        last_failed_at: T0,
        last_error: "unavailable".into(),
        next_attempt_at: next,
    };
    let records = [
        record("cilium", datetime!(2026-11-24 10:00:30 UTC)),
        record("watch-agent", datetime!(2026-11-24 10:00:10 UTC)),
        record("csi-driver", datetime!(2026-11-24 10:05:00 UTC)),
    ];
    let names = |now, max| -> Vec<String> {
        auto_install::due(&records, now, max)
            .into_iter()
            .map(|p| p.name.clone())
            .collect()
    };
    assert!(names(T0, 10).is_empty());
    assert_eq!(
        names(datetime!(2026-11-24 10:00:30 UTC), 10),
        ["watch-agent", "cilium"]
    );
    assert_eq!(
        names(datetime!(2026-11-24 11:00:00 UTC), 1),
        ["watch-agent"]
    );
}
