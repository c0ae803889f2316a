//! The provider's per-project NFS gate: enabled on request (who and why recorded), with the
//! project's mount for shared filesystems (NFS or VirtioFS, the provider's setting); disabled
//! only when nothing of the project uses NFS (its shared volumes and shared StorageClasses,
//! named in the refusal). Enabling an enabled gate with the same mount changes nothing and
//! publishes nothing.

use accord_core::{DomainError, ids::ProjectId, storage::StorageEvent};
use accord_storage::{Mount, NfsGate, NfsUser, VolumeKind};
use accord_store::Versioned;

use super::{Change, Ctx, expect};
use crate::trees::{NFS, StoredClass, StoredVolume};

fn now_ms(ctx: &Ctx) -> u64 {
    u64::try_from(ctx.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn commit(
    project: ProjectId,
    stored: &Versioned<NfsGate>,
    change: accord_storage::GateChange,
    event: StorageEvent,
) -> Result<(Option<Change>, NfsGate), DomainError> {
    if !change.changed {
        return Ok((None, change.gate));
    }
    let mut ch = Change::in_project(project);
    ch.put(NFS, &project.to_string(), &change.gate, expect(stored))?;
    ch.event(event);
    Ok((Some(ch), change.gate))
}

/// Enables NFS for `project`, shared filesystems mounting over `mount` (`None`: the
/// project's setting as it is).
pub fn enable(
    ctx: &Ctx,
    project: ProjectId,
    stored: &Versioned<NfsGate>,
    reason: &str,
    mount: Option<Mount>,
) -> Result<(Option<Change>, NfsGate), DomainError> {
    let mount = mount.unwrap_or(stored.value.mount);
    let change =
        accord_storage::enable_with(stored.value.clone(), mount, &ctx.actor, reason, now_ms(ctx))?;
    let event = StorageEvent::NfsEnabled {
        project,
        by: ctx.actor.clone(),
        reason: reason.to_owned(),
        mount: mount.as_str().to_owned(),
    };
    commit(project, stored, change, event)
}

/// What of the project uses NFS.
pub fn users(volumes: &[StoredVolume], classes: &[StoredClass]) -> Vec<NfsUser> {
    let mut users: Vec<NfsUser> = volumes
        .iter()
        .filter(|v| v.volume.kind == VolumeKind::Shared)
        .map(|v| NfsUser::SharedVolume(v.volume.name.clone()))
        .collect();
    users.extend(
        classes
            .iter()
            .filter(|c| c.class.volume_type == VolumeKind::Shared)
            .map(|c| NfsUser::StorageClass {
                cluster: c.cluster.to_string(),
                name: c.class.name.clone(),
            }),
    );
    users
}

/// Disables NFS for `project`, refused while `users` is not empty.
pub fn disable(
    ctx: &Ctx,
    project: ProjectId,
    stored: &Versioned<NfsGate>,
    reason: &str,
    users: &[NfsUser],
) -> Result<(Option<Change>, NfsGate), DomainError> {
    let change =
        accord_storage::disable(stored.value.clone(), &ctx.actor, reason, now_ms(ctx), users)?;
    let event = StorageEvent::NfsDisabled {
        project,
        by: ctx.actor.clone(),
        reason: reason.to_owned(),
    };
    commit(project, stored, change, event)
}
