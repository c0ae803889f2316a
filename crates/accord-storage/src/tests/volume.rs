//! Volume creation rules: names, kinds, sizes within range and steps, mounts, quotas.

use super::{new_volume, spec};
use crate::error::{ErrorKind, StorageError};
use crate::quantity::{GIB, TIB};
use crate::{Mount, Quota, Usage, VolumeKind, check_create_quota, check_quota, validate_volume};

fn fields(err: &StorageError) -> Vec<String> {
    err.fields().into_iter().map(str::to_owned).collect()
}

#[test]
fn a_disk_and_a_share_at_their_bounds_are_accepted() {
    for size in ["1Gi", "10Ti", "100Gi", "1.5Ti"] {
        let v = new_volume("d", "disk", size);
        assert_eq!(v.kind, VolumeKind::Disk);
        assert_eq!(v.mount, None);
    }
    for size in ["1Ti", "1000Ti", "7Ti"] {
        let v = new_volume("s", "shared", size);
        assert_eq!(
            v.mount,
            Some(Mount::Nfs),
            "shared volumes mount over NFS by default"
        );
    }
}

#[test]
fn disk_sizes_outside_range_or_steps_name_volume_size() {
    for size in ["0", "512Mi", "11Ti", "10241Gi", "1.5Gi", "500G"] {
        let err = validate_volume(&spec("d", "disk", size)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(fields(&err), ["volume.size"], "{size}: {err}");
    }
    let err = validate_volume(&spec("d", "disk", "500G")).unwrap_err();
    assert!(err.to_string().contains("steps of 1Gi"), "{err}");
    let err = validate_volume(&spec("d", "disk", "11Ti")).unwrap_err();
    assert!(err.to_string().contains("1Gi–10Ti"), "{err}");
}

#[test]
fn shared_sizes_outside_range_or_steps_name_volume_size() {
    for size in ["100Gi", "1001Ti", "1.5Ti", "1Pi"] {
        let err = validate_volume(&spec("s", "shared", size)).unwrap_err();
        assert_eq!(fields(&err), ["volume.size"], "{size}: {err}");
    }
}

#[test]
fn names_are_dns_labels_of_at_most_63_characters() {
    assert!(validate_volume(&spec(&"a".repeat(63), "disk", "1Gi")).is_ok());
    let long = "a".repeat(64);
    let err = validate_volume(&spec(&long, "disk", "1Gi")).unwrap_err();
    assert_eq!(fields(&err), ["volume.name"]);
    assert!(
        !err.to_string().contains(&long),
        "the name is not echoed: {err}"
    );
    for bad in ["Data", "-a", "a_b", ""] {
        let err = validate_volume(&spec(bad, "disk", "1Gi")).unwrap_err();
        assert_eq!(fields(&err), ["volume.name"], "{bad}");
    }
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let mut s = spec("Bad", "tape", "lots");
    s.project = String::new();
    s.region = "a b".into();
    s.source_snapshot = "X".into();
    let err = validate_volume(&s).unwrap_err();
    assert_eq!(
        fields(&err),
        [
            "volume.name",
            "volume.project",
            "volume.region",
            "volume.type",
            "volume.size",
            "volume.source_snapshot"
        ]
    );
    let long = "x".repeat(5_000);
    let err = validate_volume(&spec("a", &long, &long)).unwrap_err();
    assert!(err.to_string().len() < 600, "bounded: {err}");
}

#[test]
fn mounts_belong_to_shared_volumes() {
    let mut s = spec("s", "shared", "1Ti");
    s.mount = "virtiofs".into();
    assert_eq!(validate_volume(&s).unwrap().mount, Some(Mount::Virtiofs));
    s.mount = "smb".into();
    assert_eq!(fields(&validate_volume(&s).unwrap_err()), ["volume.mount"]);
    let mut d = spec("d", "disk", "1Gi");
    d.mount = "nfs".into();
    assert_eq!(fields(&validate_volume(&d).unwrap_err()), ["volume.mount"]);
}

#[test]
fn quotas_count_gib_and_volumes_and_say_resource_exhausted() {
    let quota = Quota {
        max_total_gib: 100,
        max_volumes: 2,
    };
    let usage = Usage {
        total_bytes: 60 * GIB,
        volumes: 1,
    };
    assert!(check_create_quota(&new_volume("a", "disk", "40Gi"), quota, usage).is_ok());
    let err = check_create_quota(&new_volume("a", "disk", "41Gi"), quota, usage).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert_eq!(fields(&err), ["quota.total_gib"]);
    let full = Usage {
        total_bytes: GIB,
        volumes: 2,
    };
    let err = check_create_quota(&new_volume("a", "disk", "1Gi"), quota, full).unwrap_err();
    assert_eq!(fields(&err), ["quota.volumes"]);
    // An expansion adds bytes, not a volume.
    assert!(check_quota(quota, full, GIB, 0).is_ok());
    let big = Quota::default();
    assert!(check_create_quota(&new_volume("s", "shared", "100Ti"), big, Usage::default()).is_ok());
    assert!(
        check_create_quota(&new_volume("s", "shared", "101Ti"), big, Usage::default()).is_err()
    );
    assert_eq!(TIB / GIB, 1024);
}

#[test]
fn errors_map_to_domain_errors_with_their_fields() {
    use accord_core::error::DomainError;
    let err = validate_volume(&spec("d", "disk", "0")).unwrap_err();
    match DomainError::from(err) {
        DomainError::InvalidArgument(v) => assert_eq!(v[0].field, "volume.size"),
        other => panic!("{other:?}"),
    }
    let exhausted = StorageError::exhausted("quota.volumes", "full");
    assert!(matches!(
        DomainError::from(exhausted),
        DomainError::ResourceExhausted(_)
    ));
}

#[test]
fn an_expansion_under_way_counts_at_its_new_size() {
    use crate::{InFlight, Operation};
    let mut v = super::available("scratch", "disk", "100Gi");
    assert_eq!(Usage::of([&v]).total_bytes, 100 * GIB);
    v.in_flight = Some(InFlight {
        op: Operation::Expand {
            to_bytes: 300 * GIB,
        },
        started_at_ms: 0,
    });
    assert_eq!(Usage::of([&v]).total_bytes, 300 * GIB);
}
