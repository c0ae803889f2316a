//! The volume state model: attach, detach, expand, delete and their refusals, outcomes,
//! timeouts, idempotent repeats.

use super::{available, new_volume, node};
use crate::error::ErrorKind;
use crate::limits::OPERATION_TIMEOUT_MS;
use crate::quantity::{GIB, TIB};
use crate::{
    NodeInfo, Outcome, Quota, Usage, Volume, VolumeState, begin_attach, begin_create, begin_delete,
    begin_detach, begin_expand, check_timeout, complete,
};

fn attached(volume: Volume, node_id: &str) -> Volume {
    complete(
        begin_attach(volume, &node(node_id), 0).unwrap(),
        Outcome::Succeeded,
    )
}

fn usage(v: &Volume) -> Usage {
    Usage::of([v])
}

#[test]
fn create_succeeds_or_fails_into_failed() {
    let creating = begin_create(new_volume("d", "disk", "1Gi"), 5);
    assert_eq!(creating.state, VolumeState::Creating);
    assert_eq!(
        complete(creating.clone(), Outcome::Succeeded).state,
        VolumeState::Available
    );
    let failed = complete(creating, Outcome::Failed("no capacity".into()));
    assert_eq!(failed.state, VolumeState::Failed);
    assert_eq!(failed.last_failure.as_deref(), Some("no capacity"));
    // Only delete leaves failed.
    assert!(begin_attach(failed.clone(), &node("n1"), 0).is_err());
    assert_eq!(
        begin_delete(failed, 0).unwrap().state,
        VolumeState::Deleting
    );
}

#[test]
fn a_disk_attaches_to_one_node_and_repeats_are_idempotent() {
    let v = attached(available("d", "disk", "1Gi"), "n1");
    assert_eq!(v.state, VolumeState::Attached);
    assert_eq!(begin_attach(v.clone(), &node("n1"), 0).unwrap(), v);
    let err = begin_attach(v.clone(), &node("n2"), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(err.fields(), ["volume.attachments"]);
    let attaching = begin_attach(available("d", "disk", "1Gi"), &node("n1"), 0).unwrap();
    assert_eq!(attaching.state, VolumeState::Attaching);
    assert_eq!(
        begin_attach(attaching.clone(), &node("n1"), 9).unwrap(),
        attaching
    );
}

#[test]
fn shared_volumes_attach_to_many_nodes() {
    let v = attached(attached(available("s", "shared", "1Ti"), "n1"), "n2");
    assert_eq!(v.attachments.len(), 2);
    let v = complete(begin_detach(v, "n1", 0).unwrap(), Outcome::Succeeded);
    assert_eq!(v.state, VolumeState::Attached, "still on n2");
    let v = complete(begin_detach(v, "n2", 0).unwrap(), Outcome::Succeeded);
    assert_eq!(v.state, VolumeState::Available);
}

#[test]
fn node_limits_per_kind_are_resource_exhausted() {
    let full = NodeInfo {
        disks: 15,
        ..node("n1")
    };
    let err = begin_attach(available("d", "disk", "1Gi"), &full, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert_eq!(err.fields(), ["node.disks"]);
    assert!(err.to_string().contains("15"), "{err}");
    // 15 disks do not stop a shared volume; 4 shared volumes do.
    assert!(begin_attach(available("s", "shared", "1Ti"), &full, 0).is_ok());
    let full = NodeInfo {
        shared: 4,
        ..node("n1")
    };
    let err = begin_attach(available("s", "shared", "1Ti"), &full, 0).unwrap_err();
    assert_eq!(err.fields(), ["node.shared_volumes"]);
    let fourteen = NodeInfo {
        disks: 14,
        ..node("n1")
    };
    assert!(begin_attach(available("d", "disk", "1Gi"), &fourteen, 0).is_ok());
}

#[test]
fn node_ids_are_bounded() {
    let err = begin_attach(available("d", "disk", "1Gi"), &node(&"n".repeat(500)), 0).unwrap_err();
    assert_eq!(err.fields(), ["node.id"]);
    assert!(err.to_string().len() < 200, "{err}");
}

#[test]
fn attach_across_regions_is_refused() {
    let elsewhere = NodeInfo {
        region: "us1".into(),
        ..node("n1")
    };
    let err = begin_attach(available("d", "disk", "1Gi"), &elsewhere, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(err.fields(), ["node.region"]);
}

#[test]
fn a_failed_attach_returns_to_rest_with_a_condition() {
    let v = begin_attach(available("d", "disk", "1Gi"), &node("n1"), 0).unwrap();
    let v = complete(v, Outcome::Failed("hypervisor busy".into()));
    assert_eq!(v.state, VolumeState::Available);
    assert!(v.attachments.is_empty());
    assert!(v.last_failure.is_some());
}

#[test]
fn detach_from_an_unattached_node_is_a_no_op() {
    let v = attached(available("d", "disk", "1Gi"), "n1");
    assert_eq!(begin_detach(v.clone(), "n9", 0).unwrap(), v);
    let detaching = begin_detach(v, "n1", 0).unwrap();
    assert_eq!(detaching.state, VolumeState::Detaching);
    assert_eq!(begin_detach(detaching.clone(), "n1", 1).unwrap(), detaching);
}

#[test]
fn delete_is_refused_while_attached_naming_the_node() {
    let v = attached(available("d", "disk", "1Gi"), "n1");
    let err = begin_delete(v, 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert!(err.to_string().contains("n1"), "{err}");
    let v = begin_delete(available("d", "disk", "1Gi"), 0).unwrap();
    assert_eq!(v.state, VolumeState::Deleting);
    assert_eq!(begin_delete(v.clone(), 1).unwrap(), v, "repeat is a no-op");
    assert_eq!(
        complete(v.clone(), Outcome::Succeeded).state,
        VolumeState::Deleted
    );
    assert_eq!(
        complete(v, Outcome::Failed("x".into())).state,
        VolumeState::Failed
    );
}

#[test]
fn disks_expand_online_never_shrink_and_stay_in_steps() {
    let v = attached(available("d", "disk", "100Gi"), "n1");
    let q = Quota::default();
    let grown = begin_expand(v.clone(), "200Gi", q, usage(&v), 0).unwrap();
    assert_eq!(grown.state, VolumeState::Expanding);
    let grown = complete(grown, Outcome::Succeeded);
    assert_eq!(grown.size_bytes, 200 * GIB);
    assert_eq!(
        grown.state,
        VolumeState::Attached,
        "back to attached: online"
    );

    let err = begin_expand(v.clone(), "50Gi", q, usage(&v), 0).unwrap_err();
    assert_eq!(err.fields(), ["volume.size"]);
    assert!(err.to_string().contains("never shrink"), "{err}");
    assert!(begin_expand(v.clone(), "100.5Gi", q, usage(&v), 0).is_err());
    assert!(begin_expand(v.clone(), "11Ti", q, usage(&v), 0).is_err());
    assert_eq!(
        begin_expand(v.clone(), "100Gi", q, usage(&v), 0).unwrap(),
        v
    );
}

#[test]
fn expansion_respects_the_quota_and_a_failure_keeps_the_size() {
    let v = available("d", "disk", "100Gi");
    let tight = Quota {
        max_total_gib: 150,
        max_volumes: 10,
    };
    let err = begin_expand(v.clone(), "151Gi", tight, usage(&v), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    let e = begin_expand(v, "150Gi", tight, Usage::default(), 0).unwrap();
    let e = complete(e, Outcome::Failed("backend".into()));
    assert_eq!(e.size_bytes, 100 * GIB);
    assert_eq!(e.state, VolumeState::Available);
}

#[test]
fn shared_volumes_expand_in_tib_steps() {
    let v = available("s", "shared", "1Ti");
    let q = Quota::default();
    assert!(begin_expand(v.clone(), "2Ti", q, usage(&v), 0).is_ok());
    assert!(begin_expand(v.clone(), "1536Gi", q, usage(&v), 0).is_err());
    assert_eq!(TIB, 1024 * GIB);
}

#[test]
fn busy_volumes_refuse_other_operations() {
    let creating = begin_create(new_volume("d", "disk", "1Gi"), 0);
    for err in [
        begin_attach(creating.clone(), &node("n1"), 0).unwrap_err(),
        begin_delete(creating.clone(), 0).unwrap_err(),
        begin_expand(
            creating.clone(),
            "2Gi",
            Quota::default(),
            Usage::default(),
            0,
        )
        .unwrap_err(),
    ] {
        assert_eq!(err.fields(), ["volume.state"], "{err}");
    }
}

#[test]
fn an_operation_times_out_after_five_minutes_into_a_visible_failure() {
    let creating = begin_create(new_volume("d", "disk", "1Gi"), 1_000);
    assert!(check_timeout(&creating, 1_000 + OPERATION_TIMEOUT_MS - 1).is_none());
    let failed = check_timeout(&creating, 1_000 + OPERATION_TIMEOUT_MS).unwrap();
    assert_eq!(failed.state, VolumeState::Failed);
    assert!(failed.last_failure.unwrap().contains("5 minutes"));
    let attaching = begin_attach(available("d", "disk", "1Gi"), &node("n1"), 0).unwrap();
    let back = check_timeout(&attaching, OPERATION_TIMEOUT_MS).unwrap();
    assert_eq!(back.state, VolumeState::Available);
    assert!(
        check_timeout(&back, u64::MAX).is_none(),
        "nothing in flight"
    );
}

#[test]
fn a_late_outcome_changes_nothing() {
    let v = available("d", "disk", "1Gi");
    assert_eq!(complete(v.clone(), Outcome::Failed("late".into())), v);
}
