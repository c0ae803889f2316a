//! The provider's per-project NFS gate, learnt from the storage service's `nfs.*` events, and
//! the add-on installations whose manifests follow it.
//!
//! The storage service (storage-csi) owns the gate; this is a read model of it (table
//! `nfs`, [`crate::trees::NFS`]), written only here. The catalogue hands the gate to the
//! add-ons that declare `platform.nfsEnabled` (`crate::catalog::Platform`); when it changes,
//! the engine re-renders their installations in the project ([`to_rerender`]).
//!
//! Invariants:
//! - applying the same event twice leaves the same record (redeliveries are harmless);
//! - a project the service never heard about has NFS disabled (the provider's default).

use accord_core::{
    DomainError,
    addon::{AddonInstallation, AddonSource},
    ids::ProjectId,
    storage::StorageEvent,
};
use accord_store::{Expect, Versioned};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Change, Ctx};
use crate::trees::NFS;

/// The provider turned NFS on or off for a project (from `nfs.enabled` / `nfs.disabled`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateChange {
    pub project: ProjectId,
    pub enabled: bool,
    /// The operator's principal.
    pub by: String,
    pub reason: String,
}

impl GateChange {
    /// The gate change a storage event states; `None` for every other storage event.
    pub fn from_event(ev: StorageEvent) -> Option<Self> {
        match ev {
            StorageEvent::NfsEnabled {
                project,
                by,
                reason,
                ..
            } => Some(Self {
                project,
                enabled: true,
                by,
                reason,
            }),
            StorageEvent::NfsDisabled {
                project,
                by,
                reason,
            } => Some(Self {
                project,
                enabled: false,
                by,
                reason,
            }),
            _ => None,
        }
    }
}

/// A project's NFS gate as last announced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NfsGate {
    pub project: ProjectId,
    pub enabled: bool,
    pub by: String,
    pub reason: String,
    /// When this service learnt it.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Whether NFS is enabled, from the stored record (absent: disabled).
pub fn enabled(stored: Option<&NfsGate>) -> bool {
    stored.is_some_and(|g| g.enabled)
}

/// The write recording `change`; `None`: the record already says this (a redelivery). The
/// engine re-renders the add-ons that follow the gate either way (see [`to_rerender`]).
pub fn apply(
    ctx: &Ctx,
    stored: Option<&Versioned<NfsGate>>,
    change: &GateChange,
) -> Result<Option<Change>, DomainError> {
    if let Some(cur) = stored {
        let g = &cur.value;
        if g.enabled == change.enabled && g.by == change.by && g.reason == change.reason {
            return Ok(None);
        }
    }
    let next = NfsGate {
        project: change.project,
        enabled: change.enabled,
        by: change.by.clone(),
        reason: change.reason.clone(),
        updated_at: ctx.now,
    };
    let expect = stored.map_or(Expect::Absent, |v| Expect::Version(v.version));
    let mut ch = Change::in_project(change.project);
    ch.put(NFS, &change.project.to_string(), &next, expect)?;
    Ok(Some(ch))
}

/// The installations of `project` among `installations` whose manifests the engine renders
/// (self-managed ones have none): those to re-render after a gate event; the engine then keeps
/// those whose plugin declares the gate. Re-rendering on every delivery, not only when the gate
/// moved, makes a redelivery after a crash between the record and the re-render finish it.
pub fn to_rerender(
    project: ProjectId,
    installations: Vec<Versioned<AddonInstallation>>,
) -> Vec<Versioned<AddonInstallation>> {
    installations
        .into_iter()
        .filter(|v| v.value.project == project && v.value.source != AddonSource::SelfManaged)
        .collect()
}
