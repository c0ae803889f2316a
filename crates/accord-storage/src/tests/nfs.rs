//! The NFS gate: disabled until enabled, who/why/when recorded, disable refused while in use.

use super::enabled_gate;
use crate::error::{ErrorKind, StorageError};
use crate::{NfsGate, NfsState, NfsUser, disable, enable, require_nfs};

#[test]
fn a_new_project_is_refused_with_ask_the_provider() {
    let gate = NfsGate::new("p1");
    let err = require_nfs(&gate).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert!(
        err.to_string()
            .contains("ask the provider to enable NFS for project p1"),
        "{err}"
    );
    assert!(matches!(
        accord_core::error::DomainError::from(err),
        accord_core::error::DomainError::FailedPrecondition(_)
    ));
}

#[test]
fn enable_records_who_why_and_when_and_repeats_change_nothing() {
    let change = enable(NfsGate::new("p1"), "op@provider", "ticket 42", 1_000).unwrap();
    assert!(change.changed);
    let gate = change.gate;
    assert_eq!(gate.state, NfsState::Enabled);
    assert_eq!(gate.changed_by.as_deref(), Some("op@provider"));
    assert_eq!(gate.reason.as_deref(), Some("ticket 42"));
    assert_eq!(gate.changed_at_ms, Some(1_000));
    assert!(require_nfs(&gate).is_ok());
    let again = enable(gate.clone(), "other", "again", 2_000).unwrap();
    assert!(!again.changed);
    assert_eq!(again.gate, gate, "the original record stays");
}

#[test]
fn who_and_why_are_required_and_bounded() {
    let err = enable(NfsGate::new("p1"), "", " ", 0).unwrap_err();
    assert_eq!(err.fields(), ["nfs.who", "nfs.reason"]);
    let err = enable(NfsGate::new("p1"), "op", &"x".repeat(10_000), 0).unwrap_err();
    assert_eq!(err.fields(), ["nfs.reason"]);
    assert!(err.to_string().len() < 200);
    let err = enable(NfsGate::new("p1"), "op\u{202e}", "why", 0).unwrap_err();
    assert_eq!(err.fields(), ["nfs.who"]);
}

#[test]
fn disable_is_refused_while_volumes_or_classes_use_it_naming_them() {
    let users = vec![
        NfsUser::SharedVolume("datasets".into()),
        NfsUser::StorageClass {
            cluster: "train".into(),
            name: "shared-nfs".into(),
        },
    ];
    let err = disable(enabled_gate(), "op", "customer asked", 5, &users).unwrap_err();
    assert!(matches!(err, StorageError::Precondition { .. }));
    let text = err.to_string();
    assert!(
        text.contains("datasets") && text.contains("shared-nfs"),
        "{text}"
    );

    let many: Vec<NfsUser> = (0..500)
        .map(|i| NfsUser::SharedVolume(format!("v{i}")))
        .collect();
    let text = disable(enabled_gate(), "op", "why", 5, &many)
        .unwrap_err()
        .to_string();
    assert!(text.contains("and 490 more"), "{text}");

    let off = disable(enabled_gate(), "op", "customer asked", 5, &[]).unwrap();
    assert!(off.changed);
    assert_eq!(off.gate.state, NfsState::Disabled);
    assert_eq!(off.gate.changed_at_ms, Some(5));
    assert!(require_nfs(&off.gate).is_err());
}

#[test]
fn shared_filesystems_mount_as_the_project_is_set_and_switching_is_a_change() {
    use crate::{Mount, enable_with, shared_mount};
    let gate = enable_with(NfsGate::new("p"), Mount::Virtiofs, "op", "legacy", 1)
        .unwrap()
        .gate;
    assert_eq!(shared_mount(&gate, None).unwrap(), Mount::Virtiofs);
    assert_eq!(
        shared_mount(&gate, Some(Mount::Virtiofs)).unwrap(),
        Mount::Virtiofs
    );
    let err = shared_mount(&gate, Some(Mount::Nfs)).unwrap_err();
    assert_eq!(err.fields(), vec!["volume.mount"]);
    assert!(err.to_string().contains("provider's setting"), "{err}");
    // Switching an enabled gate to NFS is a change (an event is due); the same again is not.
    let switched = enable_with(gate, Mount::Nfs, "op", "moving to NFS", 2).unwrap();
    assert!(switched.changed);
    assert_eq!(shared_mount(&switched.gate, None).unwrap(), Mount::Nfs);
    assert!(
        !enable_with(switched.gate, Mount::Nfs, "op", "again", 3)
            .unwrap()
            .changed
    );
}
