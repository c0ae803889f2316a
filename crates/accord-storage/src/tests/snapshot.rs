//! Snapshots of both kinds and restores: same kind, project and region, never smaller.

use super::{available, new_volume};
use crate::error::ErrorKind;
use crate::{
    NewVolume, Outcome, SnapshotState, VolumeKind, begin_create, begin_snapshot, check_restore,
    complete_snapshot,
};

fn ready(volume: &crate::Volume) -> crate::Snapshot {
    complete_snapshot(
        begin_snapshot(volume, "snap", 7).unwrap(),
        Outcome::Succeeded,
    )
}

fn restore(kind: &str, size: &str) -> NewVolume {
    NewVolume {
        source_snapshot: Some("snap".into()),
        ..new_volume("r", kind, size)
    }
}

#[test]
fn snapshots_of_disks_and_shares_restore_at_least_as_large() {
    let disk = ready(&available("d", "disk", "100Gi"));
    assert_eq!(disk.state, SnapshotState::Ready);
    assert!(check_restore(&restore("disk", "100Gi"), &disk).is_ok());
    assert!(check_restore(&restore("disk", "200Gi"), &disk).is_ok());
    let err = check_restore(&restore("disk", "99Gi"), &disk).unwrap_err();
    assert_eq!(err.fields(), ["volume.size"]);
    let share = ready(&available("s", "shared", "2Ti"));
    assert_eq!(share.kind, VolumeKind::Shared);
    assert!(check_restore(&restore("shared", "2Ti"), &share).is_ok());
    assert!(check_restore(&restore("shared", "1Ti"), &share).is_err());
}

#[test]
fn restore_refuses_other_kinds_regions_projects_and_unready_snapshots() {
    let snap = ready(&available("d", "disk", "1Ti"));
    assert_eq!(
        check_restore(&restore("shared", "1Ti"), &snap)
            .unwrap_err()
            .fields(),
        ["volume.type"]
    );
    let mut elsewhere = restore("disk", "1Ti");
    elsewhere.region = "us1".into();
    let err = check_restore(&elsewhere, &snap).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert_eq!(err.fields(), ["volume.region"]);
    let mut other = restore("disk", "1Ti");
    other.project = "p2".into();
    assert!(check_restore(&other, &snap).is_err());
    let cutting = begin_snapshot(&available("d", "disk", "1Ti"), "snap", 0).unwrap();
    assert!(check_restore(&restore("disk", "1Ti"), &cutting).is_err());
    let failed = complete_snapshot(cutting, Outcome::Failed("x".into()));
    assert_eq!(failed.state, SnapshotState::Failed);
    assert_eq!(
        complete_snapshot(failed.clone(), Outcome::Succeeded),
        failed
    );
}

#[test]
fn snapshots_need_a_settled_volume_and_a_valid_name() {
    let creating = begin_create(new_volume("d", "disk", "1Gi"), 0);
    assert_eq!(
        begin_snapshot(&creating, "s", 0).unwrap_err().fields(),
        ["volume.state"]
    );
    let v = available("d", "disk", "1Gi");
    assert_eq!(
        begin_snapshot(&v, &"s".repeat(64), 0).unwrap_err().fields(),
        ["snapshot.name"]
    );
}
