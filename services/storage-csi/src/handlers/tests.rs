//! The handlers without a runtime: volumes against their limits, the NFS gate and quotas;
//! attachments against regions and per-node limits; back-end outcomes and timeouts; the NFS
//! gate's refusal while in use; a migration from plan to cut-over.

use std::collections::{BTreeMap, HashMap};

use accord_core::{
    DomainError,
    ids::{ClusterId, NodeId, ProjectId},
    storage::StorageEvent,
};
use accord_storage::{
    Mount, NfsGate, NfsState, Quota, VolumeState,
    driver::{OpResult, OpStatus},
    limits::OPERATION_TIMEOUT_MS,
    migration::{Checksum, MigrationState, Observation, Step},
};
use accord_store::Versioned;

use super::{Ctx, backend, migrations, nfs, volumes};
use crate::{
    trees::{MigrationVolume, StoredVolume},
    view::{ClusterView, NodeView},
};

fn view(region: &str) -> ClusterView {
    let mut nodes = BTreeMap::new();
    nodes.insert(
        NodeId::generate(),
        NodeView {
            name: "gpu-0".into(),
            ready: true,
        },
    );
    ClusterView {
        id: ClusterId::generate(),
        name: "demo".into(),
        project: ProjectId::generate(),
        region: region.into(),
        nodes,
        csi_driver_installed: true,
        deleting: false,
    }
}

fn gate(enabled: bool) -> NfsGate {
    let mut g = NfsGate::new("p");
    if enabled {
        g.state = NfsState::Enabled;
    }
    g
}

fn ctx() -> Ctx {
    Ctx::new("ada@example.com")
}

fn create(
    v: &ClusterView,
    g: &NfsGate,
    existing: &[StoredVolume],
    kind: &str,
    size: &str,
    mount: &str,
) -> Result<StoredVolume, DomainError> {
    let input = volumes::CreateInput {
        view: v,
        gate: g,
        project_volumes: existing,
        existing: false,
        snapshot: None,
        quota: Quota {
            max_total_gib: 4096,
            max_volumes: 3,
        },
        now_ms: 1_000,
    };
    let req = volumes::VolumeRequest {
        name: format!("v{}", existing.len()),
        kind: kind.into(),
        size: size.into(),
        mount: mount.into(),
        source_snapshot: String::new(),
    };
    volumes::create(&ctx(), &input, &req).map(|(_, s)| s)
}

fn versioned(v: StoredVolume) -> Versioned<StoredVolume> {
    Versioned {
        version: 2,
        value: v,
    }
}

fn done() -> OpStatus {
    OpStatus::Succeeded {
        result: OpResult::Done,
    }
}

/// Completes the operation in flight of `v`.
fn finish(v: StoredVolume) -> StoredVolume {
    let ch = backend::volume_outcome(&versioned(v.clone()), &done(), 2_000).unwrap();
    assert_eq!(ch.events.len(), 1);
    accord_storage::complete(v.volume.clone(), accord_storage::Outcome::Succeeded);
    StoredVolume {
        volume: accord_storage::complete(v.volume, accord_storage::Outcome::Succeeded),
        ..v
    }
}

#[test]
fn volumes_follow_the_limits_the_gate_and_the_quota() {
    let v = view("eu-north1");
    let closed = gate(false);
    let disk = create(&v, &closed, &[], "disk", "100Gi", "").unwrap();
    assert_eq!(disk.volume.state, VolumeState::Creating);
    assert_eq!(disk.volume.region, "eu-north1");
    // Off the 1 GiB step, and over 10 TiB: INVALID_ARGUMENT naming the size.
    for size in ["1.5Gi", "11Ti"] {
        let err = create(&v, &closed, &[], "disk", size, "").unwrap_err();
        assert!(
            matches!(&err, DomainError::InvalidArgument(f) if f[0].field == "volume.size"),
            "{err}"
        );
    }
    // Shared before the gate: FAILED_PRECONDITION saying to ask the provider.
    let err = create(&v, &closed, &[], "shared", "1Ti", "").unwrap_err();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("ask the provider")),
        "{err}"
    );
    let open = gate(true);
    // The project's mount is the provider's setting: NFS here, so VirtioFS is refused.
    let err = create(&v, &open, &[], "shared", "1Ti", "virtiofs").unwrap_err();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("volume.mount")),
        "{err}"
    );
    let mut legacy = open.clone();
    legacy.mount = Mount::Virtiofs;
    let shared = create(&v, &legacy, &[], "shared", "1Ti", "").unwrap();
    assert_eq!(shared.volume.mount, Some(Mount::Virtiofs));
    // Quota: 3 volumes, 4096 GiB.
    let three = vec![disk.clone(), disk.clone(), disk.clone()];
    let err = create(&v, &open, &three, "disk", "1Gi", "").unwrap_err();
    assert!(
        matches!(&err, DomainError::ResourceExhausted(m) if m.contains("quota.volumes")),
        "{err}"
    );
    let err = create(&v, &open, &[shared.clone(), shared], "shared", "3Ti", "").unwrap_err();
    assert!(
        matches!(&err, DomainError::ResourceExhausted(m) if m.contains("quota.total_gib")),
        "{err}"
    );
    // A deleted cluster gets no volumes.
    let mut gone = v.clone();
    gone.deleting = true;
    assert!(matches!(
        create(&gone, &open, &[], "disk", "1Gi", ""),
        Err(DomainError::FailedPrecondition(_))
    ));
}

#[test]
fn attaching_checks_readiness_region_and_the_node_limit() {
    let v = view("eu-north1");
    let disk = finish(create(&v, &gate(false), &[], "disk", "10Gi", "").unwrap());
    assert_eq!(disk.volume.state, VolumeState::Available);
    let (node, n) = v.nodes.iter().next().unwrap();
    let target = |cluster: &ClusterView, ready, load: &[StoredVolume]| {
        volumes::attach(
            &versioned(disk.clone()),
            0,
            &volumes::AttachTarget {
                node: *node,
                node_name: &n.name,
                ready,
                cluster,
                cluster_volumes: load,
            },
            3_000,
        )
    };
    let (ch, attaching) = target(&v, true, &[]).unwrap();
    assert!(ch.is_some());
    assert_eq!(attaching.volume.state, VolumeState::Attaching);
    assert_eq!(
        attaching.op_seq,
        disk.op_seq + 1,
        "a new operation has a new key"
    );
    assert!(
        matches!(target(&v, false, &[]), Err(DomainError::FailedPrecondition(m)) if m.contains("not Ready"))
    );
    let elsewhere = view("us-east1");
    assert!(
        matches!(target(&elsewhere, true, &[]), Err(DomainError::FailedPrecondition(m)) if m.contains("region"))
    );
    // 15 disks already on the node.
    let mut full = Vec::new();
    for _ in 0..15 {
        let mut d = disk.clone();
        d.volume.attachments.insert(node.to_string());
        full.push(d);
    }
    assert!(
        matches!(target(&v, true, &full), Err(DomainError::ResourceExhausted(m)) if m.contains("node.disks"))
    );
    // Stale resource_version: ABORTED.
    assert!(matches!(
        volumes::delete(&versioned(disk.clone()), 1, 0),
        Err(DomainError::Aborted(_))
    ));
    // Attached: delete refused, naming the node.
    let attached = finish(attaching);
    assert_eq!(attached.volume.state, VolumeState::Attached);
    let err = volumes::delete(&versioned(attached), 0, 0).unwrap_err();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("detach it")),
        "{err}"
    );
}

#[test]
fn a_hung_operation_fails_visibly_after_five_minutes_of_back_end_time() {
    let v = view("eu-north1");
    let disk = create(&v, &gate(false), &[], "disk", "10Gi", "").unwrap();
    let running = OpStatus::Running {
        done_bytes: 0,
        total_bytes: 0,
    };
    assert!(backend::volume_outcome(&versioned(disk.clone()), &running, 1_000 + 60_000).is_none());
    let ch =
        backend::volume_outcome(&versioned(disk), &running, 1_000 + OPERATION_TIMEOUT_MS).unwrap();
    match &ch.events[..] {
        [
            StorageEvent::VolumeOperationFailed {
                operation,
                state,
                reason,
                ..
            },
        ] => {
            assert_eq!(operation, "create");
            assert_eq!(state, "failed");
            assert!(reason.contains("5 minutes"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nfs_cannot_be_disabled_while_used_and_enabling_twice_is_one_change() {
    let v = view("eu-north1");
    let stored = Versioned {
        version: 0,
        value: gate(false),
    };
    let (ch, open) = nfs::enable(&ctx(), v.project, &stored, "ticket 7", None).unwrap();
    assert!(ch.is_some());
    assert_eq!(open.changed_by.as_deref(), Some("ada@example.com"));
    let open = Versioned {
        version: 1,
        value: open,
    };
    let (again, _) = nfs::enable(&ctx(), v.project, &open, "again", None).unwrap();
    assert!(again.is_none());
    let shared = create(&v, &open.value, &[], "shared", "1Ti", "").unwrap();
    let users = nfs::users(&[shared], &[]);
    let err = nfs::disable(&ctx(), v.project, &open, "done", &users).unwrap_err();
    assert!(
        matches!(&err, DomainError::FailedPrecondition(m) if m.contains("in use")),
        "{err}"
    );
    assert!(
        nfs::disable(&ctx(), v.project, &open, "done", &[])
            .unwrap()
            .0
            .is_some()
    );
}

#[tokio::test]
async fn a_migration_plans_locks_copies_verifies_and_cuts_over_onto_nfs() {
    let v = view("eu-north1");
    let mut open = gate(true);
    open.mount = Mount::Virtiofs;
    let shared = finish(create(&v, &open, &[], "shared", "2Ti", "virtiofs").unwrap());
    let clusters: HashMap<ClusterId, String> = [(v.id, v.name.clone())].into();
    let req = migrations::PlanRequest {
        name: "to-nfs".into(),
        volumes: vec!["v0".into()],
        batch_size: None,
        dry_run: false,
    };
    let (ch, planned) = migrations::plan(
        &ctx(),
        v.project,
        &clusters,
        std::slice::from_ref(&shared),
        &open,
        &[],
        0,
        &req,
        1 << 30,
    )
    .unwrap();
    assert!(ch.is_some());
    let m = planned.migration;
    assert_eq!(m.plan.volumes[0].name, "demo/v0");
    assert!(m.estimate.duration_seconds > 0);
    // A second plan of the same name is ALREADY_EXISTS.
    let err = migrations::plan(
        &ctx(),
        v.project,
        &clusters,
        std::slice::from_ref(&shared),
        &open,
        &["to-nfs".into()],
        1,
        &req,
        1 << 30,
    )
    .unwrap_err();
    assert!(matches!(err, DomainError::AlreadyExists { .. }));
    // Run: the volume is locked (no expand, no delete).
    let stored_m = Versioned {
        version: 1,
        value: m.clone(),
    };
    let vols: BTreeMap<String, Versioned<StoredVolume>> =
        [("demo/v0".to_owned(), versioned(shared.clone()))].into();
    let (ch, running) = migrations::run(&stored_m, &vols).unwrap();
    assert!(ch.is_some());
    let mut locked = shared.clone();
    locked.migration = Some(running.id);
    assert!(matches!(
        volumes::delete(&versioned(locked.clone()), 0, 0),
        Err(DomainError::FailedPrecondition(m)) if m.contains("being migrated")
    ));
    // Step through the machine.
    let mut state = Versioned {
        version: 1,
        value: MigrationVolume {
            state: MigrationState::Pending,
            failure: None,
            retries: 0,
        },
    };
    let step = |obs: Observation, state: &mut Versioned<MigrationVolume>| {
        let a = migrations::advance(
            &running,
            "demo/v0",
            state,
            obs,
            None,
            Some(&versioned(locked.clone())),
        )
        .unwrap();
        state.version += 1;
        state.value.state = a.state.clone();
        (a.change, a.perform)
    };
    let (_, perform) = step(Observation::Proceed, &mut state);
    let copy = perform.unwrap();
    assert_eq!(copy.step, Step::Copy { attempt: 1 });
    step(
        Observation::CopySucceeded {
            step: copy.step,
            bytes: 2 << 40,
        },
        &mut state,
    );
    let (_, perform) = step(Observation::Proceed, &mut state);
    let verify = perform.unwrap();
    let sum = Checksum([7; 32]);
    step(
        Observation::Checksums {
            step: verify.step,
            source: sum,
            target: sum,
        },
        &mut state,
    );
    let (_, perform) = step(Observation::Proceed, &mut state);
    let cut = perform.unwrap();
    assert!(matches!(cut.step, Step::CutOver { .. }));
    // The cut-over's success moves the volume onto its NFS copy in the same commit.
    let store = accord_store::Store::temporary().unwrap();
    let vkey = crate::trees::key(v.project, v.id, "v0");
    let mkey = crate::trees::migration_volume_key(running.id, "demo/v0");
    let seed = accord_store::Commit::new()
        .put("volumes", &vkey, &locked, accord_store::Expect::Absent)
        .unwrap()
        .put(
            "migration_volumes",
            &mkey,
            &state.value,
            accord_store::Expect::Absent,
        )
        .unwrap();
    store.commit(seed).await.unwrap();
    let stored_state = crate::trees::MIGRATION_VOLUMES
        .get(&store, &mkey)
        .unwrap()
        .unwrap();
    let stored_volume = crate::trees::VOLUMES.get(&store, &vkey).unwrap().unwrap();
    let a = migrations::advance(
        &running,
        "demo/v0",
        &stored_state,
        Observation::StepSucceeded { step: cut.step },
        None,
        Some(&stored_volume),
    )
    .unwrap();
    assert_eq!(a.perform.unwrap().step, Step::ReleaseSource);
    let ch = a.change.unwrap();
    assert!(
        ch.event_names()
            .iter()
            .any(|e| e.contains("volume-progressed"))
    );
    store.commit(ch.commit).await.unwrap();
    let after = crate::trees::VOLUMES
        .get(&store, &vkey)
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        after.backend,
        migrations::target_name(&running, &running.refs["demo/v0"])
    );
    assert_eq!(after.volume.mount, Some(Mount::Nfs));
}

#[tokio::test]
async fn the_busy_index_names_exactly_the_records_with_an_operation_outstanding() {
    let store = accord_store::Store::temporary().unwrap();
    let v = view("eu-north1");
    let input = volumes::CreateInput {
        view: &v,
        gate: &gate(false),
        project_volumes: &[],
        existing: false,
        snapshot: None,
        quota: Quota::default(),
        now_ms: 1_000,
    };
    let req = volumes::VolumeRequest {
        name: "scratch".into(),
        kind: "disk".into(),
        size: "10Gi".into(),
        ..Default::default()
    };
    let (ch, _) = volumes::create(&ctx(), &input, &req).unwrap();
    store.commit(ch.commit).await.unwrap();
    let key = crate::trees::key(v.project, v.id, "scratch");
    let busy = super::busy_volume(&key);
    assert!(crate::trees::BUSY.get(&store, &busy).unwrap().is_some());
    let stored = crate::trees::VOLUMES.get(&store, &key).unwrap().unwrap();
    let ch = backend::volume_outcome(&stored, &done(), 2_000).unwrap();
    store.commit(ch.commit).await.unwrap();
    assert!(crate::trees::BUSY.get(&store, &busy).unwrap().is_none());
    let stored = crate::trees::VOLUMES.get(&store, &key).unwrap().unwrap();
    assert_eq!(stored.value.volume.state, VolumeState::Available);
    // Deleting makes it busy again; the deletion's outcome removes record and entry together.
    let (ch, _) = volumes::delete(&stored, 0, 3_000).unwrap();
    store.commit(ch.unwrap().commit).await.unwrap();
    assert!(crate::trees::BUSY.get(&store, &busy).unwrap().is_some());
    let stored = crate::trees::VOLUMES.get(&store, &key).unwrap().unwrap();
    let ch = backend::volume_outcome(&stored, &done(), 4_000).unwrap();
    store.commit(ch.commit).await.unwrap();
    assert!(crate::trees::VOLUMES.get(&store, &key).unwrap().is_none());
    assert!(crate::trees::BUSY.list(&store, "").unwrap().is_empty());
}

/// A customer's volume's events go out under its project's subject (what the customer's NATS
/// permissions allow), from its creation to its back end's answer.
#[test]
fn a_volumes_events_are_published_under_its_project() {
    use accord_core::events::DomainEvent;

    let v = view("eu-north1");
    let input = volumes::CreateInput {
        view: &v,
        gate: &gate(false),
        project_volumes: &[],
        existing: false,
        snapshot: None,
        quota: Quota::default(),
        now_ms: 1_000,
    };
    let req = volumes::VolumeRequest {
        name: "scratch".into(),
        kind: "disk".into(),
        size: "10Gi".into(),
        ..Default::default()
    };
    let (created, stored) = volumes::create(&ctx(), &input, &req).unwrap();
    let answered = backend::volume_outcome(&versioned(stored.clone()), &done(), 2_000).unwrap();
    let project = v.project.to_string();
    for ch in [created, answered] {
        let entries = ch.outbox("storage-csi").unwrap();
        assert_eq!(entries.len(), 1, "{:?}", ch.event_names());
        let ev = &ch.events[0];
        assert_eq!(ev.resource_id(), stored.id.to_string());
        assert!(
            entries[0]
                .subject
                .starts_with(&format!("accord.evt.{project}.")),
            "{}",
            entries[0].subject
        );
        assert_eq!(
            entries[0].subject,
            accord_bus::subjects::event(&project, ev.resource(), ev.event(), &ev.resource_id())
                .unwrap()
        );
    }
}
