//! What each storage operation does to the back end's state, as pure functions: [`start`]
//! checks an operation against the state when its key is first submitted (a refusal is a
//! failed outcome at once) and takes what it needs (a volume in `creating`, an attach in
//! flight, a target being written); [`finish`] applies its end when it falls due and answers
//! its outcome; [`progress`] answers a running operation's status.
//!
//! Refusals are the back end's defence in depth (the service validates first). Their reasons
//! are bounded: names are quoted at most [`ECHO_CHARS`] characters long, and every field was
//! bounded at [`MAX_FIELD_CHARS`] before anything else ran.
//!
//! Deletes (of volumes, snapshots, migration sources and targets) and detaches of something
//! already gone succeed at once, as CSI asks of `DeleteVolume` and `ControllerUnpublishVolume`.
//! An operation acts only on the incarnation of the volume it started on: a volume deleted
//! meanwhile fails the operation at its end ("… was deleted meanwhile").

use accord_storage::{
    driver::{BackendOp, OpRequest, OpResult, OpStatus},
    volume::{Mount, VolumeKind},
};

use super::{
    state::{
        Fate, MAX_RESOURCES, Pending, SimSnapshot, SimVolume, SnapshotPhase, StorageState,
        VolumePhase, corrupted, fresh_content,
    },
    timing::{
        COPY_BYTES_PER_SEC, RESTORE_BYTES_PER_SEC, SNAPSHOT_BYTES_PER_SEC, StoragePhase,
        StorageTiming, VERIFY_BYTES_PER_SEC,
    },
};

/// The longest project, region, volume, snapshot, node or plan name an operation may carry.
pub const MAX_FIELD_CHARS: usize = 256;
/// Characters of a name a reason quotes.
pub const ECHO_CHARS: usize = 64;
/// Nodes one shared filesystem may be mounted on at once.
pub const MAX_ATTACHMENTS: usize = 1024;

/// What submitting a new key did.
pub(crate) enum Start {
    /// Finished at once with this outcome (a refusal, or nothing to do).
    Now(OpStatus),
    /// In flight.
    Accepted(Box<Pending>),
}

/// `"name"`, at most [`ECHO_CHARS`] characters of it.
pub(crate) fn quote(name: &str) -> String {
    if name.chars().count() <= ECHO_CHARS {
        format!("{name:?}")
    } else {
        let head: String = name.chars().take(ECHO_CHARS).collect();
        format!("{head:?}…")
    }
}

fn failed(reason: String) -> OpStatus {
    OpStatus::Failed { reason }
}

fn done() -> OpStatus {
    OpStatus::Succeeded {
        result: OpResult::Done,
    }
}

/// The first field longer than [`MAX_FIELD_CHARS`], as a refusal.
pub(crate) fn check_fields(op: &BackendOp) -> Result<(), String> {
    let mut fields: Vec<(&'static str, &str)> =
        vec![("project", &op.project), ("region", &op.region)];
    match &op.request {
        OpRequest::CreateVolume {
            volume,
            from_snapshot,
            ..
        } => {
            fields.push(("volume", volume));
            if let Some(snapshot) = from_snapshot {
                fields.push(("from_snapshot", snapshot));
            }
        }
        OpRequest::ExpandVolume { volume, .. } | OpRequest::DeleteVolume { volume } => {
            fields.push(("volume", volume));
        }
        OpRequest::AttachVolume { volume, node } | OpRequest::DetachVolume { volume, node } => {
            fields.push(("volume", volume));
            fields.push(("node", node));
        }
        OpRequest::CreateSnapshot { snapshot, volume } => {
            fields.push(("snapshot", snapshot));
            fields.push(("volume", volume));
        }
        OpRequest::DeleteSnapshot { snapshot } => fields.push(("snapshot", snapshot)),
        OpRequest::Copy {
            step,
            source,
            target,
            ..
        }
        | OpRequest::Verify {
            step,
            source,
            target,
        }
        | OpRequest::CutOver {
            step,
            source,
            target,
        } => {
            fields.extend([
                ("step.plan", step.plan.as_str()),
                ("step.volume", step.volume.as_str()),
                ("source", source.as_str()),
                ("target", target.as_str()),
            ]);
        }
        OpRequest::ReleaseSource { step, source } => {
            fields.extend([
                ("step.plan", step.plan.as_str()),
                ("step.volume", step.volume.as_str()),
                ("source", source.as_str()),
            ]);
        }
        OpRequest::DiscardTarget { step, target } => {
            fields.extend([
                ("step.plan", step.plan.as_str()),
                ("step.volume", step.volume.as_str()),
                ("target", target.as_str()),
            ]);
        }
    }
    match fields
        .into_iter()
        .find(|(_, value)| value.chars().count() > MAX_FIELD_CHARS)
    {
        Some((field, _)) => Err(format!(
            "invalid request: {field} is longer than {MAX_FIELD_CHARS} characters"
        )),
        None => Ok(()),
    }
}

/// (setup, total) simulated ms of `request` against the state as it is.
pub(crate) fn duration(
    state: &StorageState,
    timing: &StorageTiming,
    key: &str,
    request: &OpRequest,
) -> (u64, u64) {
    let phase = |p| timing.phase_ms(p, key);
    let size = |name: &str| state.volumes.get(name).map_or(0, |v| v.size_bytes);
    let kind = |name: &str| state.volumes.get(name).map(|v| v.kind);
    let total = match request {
        OpRequest::CreateVolume {
            kind,
            from_snapshot,
            ..
        } => {
            let create = match kind {
                VolumeKind::Disk => phase(StoragePhase::CreateDisk),
                VolumeKind::Shared => phase(StoragePhase::CreateShared),
            };
            let restore = from_snapshot
                .as_deref()
                .and_then(|s| state.snapshots.get(s))
                .map_or(0, |s| {
                    timing.transfer_ms(s.size_bytes, RESTORE_BYTES_PER_SEC)
                });
            create.saturating_add(restore)
        }
        OpRequest::ExpandVolume { .. } => phase(StoragePhase::Expand),
        OpRequest::AttachVolume { volume, .. } | OpRequest::DetachVolume { volume, .. } => {
            match kind(volume) {
                Some(VolumeKind::Shared) => phase(StoragePhase::MountShared),
                _ => phase(StoragePhase::AttachDisk),
            }
        }
        OpRequest::DeleteVolume { .. }
        | OpRequest::ReleaseSource { .. }
        | OpRequest::DiscardTarget { .. } => phase(StoragePhase::Delete),
        OpRequest::CreateSnapshot { volume, .. } => phase(StoragePhase::Snapshot)
            .saturating_add(timing.transfer_ms(size(volume), SNAPSHOT_BYTES_PER_SEC)),
        OpRequest::DeleteSnapshot { .. } => phase(StoragePhase::DeleteSnapshot),
        OpRequest::Copy {
            target, size_bytes, ..
        } => {
            let setup = if state.volumes.contains_key(target) {
                phase(StoragePhase::CopySetup)
            } else {
                phase(StoragePhase::CreateShared)
            };
            let copy = timing.transfer_ms(*size_bytes, COPY_BYTES_PER_SEC);
            return (setup, setup.saturating_add(copy));
        }
        OpRequest::Verify { source, target, .. } => phase(StoragePhase::Verify).saturating_add(
            timing.transfer_ms(size(source).max(size(target)), VERIFY_BYTES_PER_SEC),
        ),
        OpRequest::CutOver { .. } => phase(StoragePhase::CutOver),
    };
    (0, total)
}

/// Why `name` cannot be used by `op`, if it belongs elsewhere.
fn foreign(what: &str, name: &str, project: &str, region: &str, op: &BackendOp) -> Option<String> {
    (project != op.project || region != op.region).then(|| {
        format!(
            "{what} {} belongs to another project or region",
            quote(name)
        )
    })
}

/// A usable volume `name`, or why not.
fn ready<'s>(state: &'s StorageState, name: &str, op: &BackendOp) -> Result<&'s SimVolume, String> {
    let volume = state
        .volumes
        .get(name)
        .ok_or_else(|| format!("volume {} does not exist", quote(name)))?;
    if let Some(reason) = foreign("volume", name, &volume.project, &volume.region, op) {
        return Err(reason);
    }
    match volume.phase {
        VolumePhase::Ready => Ok(volume),
        VolumePhase::Creating => Err(format!("volume {} is still being created", quote(name))),
        VolumePhase::Deleting => Err(format!("volume {} is being deleted", quote(name))),
    }
}

/// `ready`, and no copy is writing into it.
fn settled<'s>(
    state: &'s StorageState,
    name: &str,
    op: &BackendOp,
) -> Result<&'s SimVolume, String> {
    if let Some(volume) = state.volumes.get(name)
        && volume.copying.is_some()
        && foreign("volume", name, &volume.project, &volume.region, op).is_none()
    {
        return Err(format!("a copy into volume {} is in flight", quote(name)));
    }
    ready(state, name, op)
}

fn in_use(name: &str, volume: &SimVolume) -> Option<String> {
    let nodes = volume.attachments.len() + volume.attaching.len();
    (nodes > 0).then(|| {
        format!(
            "volume {} is attached to {nodes} node(s); detach it first",
            quote(name)
        )
    })
}

/// Checks `op` and takes what it needs.
pub(crate) fn start(
    state: &mut StorageState,
    timing: &StorageTiming,
    op: &BackendOp,
    now_ms: u64,
) -> Start {
    match start_checked(state, timing, op, now_ms) {
        Ok(start) => start,
        Err(reason) => Start::Now(failed(reason)),
    }
}

fn start_checked(
    state: &mut StorageState,
    timing: &StorageTiming,
    op: &BackendOp,
    now_ms: u64,
) -> Result<Start, String> {
    let (setup_ms, duration_ms) = duration(state, timing, &op.key, &op.request);
    let mut pending = Pending {
        request: op.request.clone(),
        project: op.project.clone(),
        region: op.region.clone(),
        start_ms: now_ms,
        duration_ms,
        setup_ms,
        fate: Fate::Normal,
        incarnation: None,
        source_incarnation: None,
        content: None,
    };
    match &op.request {
        OpRequest::CreateVolume {
            volume,
            kind,
            size_bytes,
            mount,
            from_snapshot,
        } => {
            if state.volumes.contains_key(volume) {
                return Err(format!("volume {} already exists", quote(volume)));
            }
            if state.volumes.len() >= MAX_RESOURCES {
                return Err(format!(
                    "no capacity: the back end holds {MAX_RESOURCES} volumes"
                ));
            }
            let incarnation = state.next_seq();
            let content = match from_snapshot {
                None => fresh_content(volume, incarnation),
                Some(name) => {
                    let snapshot = state
                        .snapshots
                        .get(name)
                        .ok_or_else(|| format!("snapshot {} does not exist", quote(name)))?;
                    if let Some(reason) =
                        foreign("snapshot", name, &snapshot.project, &snapshot.region, op)
                    {
                        return Err(reason);
                    }
                    if snapshot.phase != SnapshotPhase::Ready {
                        return Err(format!("snapshot {} is not ready", quote(name)));
                    }
                    if snapshot.kind != *kind {
                        return Err(format!(
                            "snapshot {} was taken of a {} volume, not a {} one",
                            quote(name),
                            snapshot.kind.as_str(),
                            kind.as_str()
                        ));
                    }
                    if *size_bytes < snapshot.size_bytes {
                        return Err(format!(
                            "the volume ({size_bytes} bytes) is smaller than snapshot {} \
                             ({} bytes)",
                            quote(name),
                            snapshot.size_bytes
                        ));
                    }
                    snapshot.content
                }
            };
            state.volumes.insert(
                volume.clone(),
                SimVolume {
                    project: op.project.clone(),
                    region: op.region.clone(),
                    kind: *kind,
                    size_bytes: *size_bytes,
                    mount: *mount,
                    phase: VolumePhase::Creating,
                    attachments: Default::default(),
                    attaching: Default::default(),
                    content,
                    incarnation,
                    from_snapshot: from_snapshot.clone(),
                    copying: None,
                    copied_from: None,
                    cut_over_to: None,
                },
            );
            pending.incarnation = Some(incarnation);
        }
        OpRequest::ExpandVolume { volume, to_bytes } => {
            let current = ready(state, volume, op)?;
            if *to_bytes < current.size_bytes {
                return Err(format!(
                    "volume {} is {} bytes; a volume cannot shrink",
                    quote(volume),
                    current.size_bytes
                ));
            }
            pending.incarnation = Some(current.incarnation);
        }
        OpRequest::AttachVolume { volume, node } => {
            let current = ready(state, volume, op)?;
            let elsewhere = current
                .attachments
                .iter()
                .chain(&current.attaching)
                .any(|n| n != node);
            if current.kind == VolumeKind::Disk && elsewhere {
                return Err(format!(
                    "disk {} is attached to another node (a disk attaches to one node at a time)",
                    quote(volume)
                ));
            }
            if current.attachments.len() + current.attaching.len() >= MAX_ATTACHMENTS {
                return Err(format!(
                    "volume {} is mounted on {MAX_ATTACHMENTS} nodes already",
                    quote(volume)
                ));
            }
            pending.incarnation = Some(current.incarnation);
            if let Some(v) = state.volumes.get_mut(volume) {
                v.attaching.insert(node.clone());
            }
        }
        OpRequest::DetachVolume { volume, node } => {
            let Some(current) = state.volumes.get_mut(volume) else {
                return Ok(Start::Now(done()));
            };
            if let Some(reason) = foreign("volume", volume, &current.project, &current.region, op) {
                return Err(reason);
            }
            // A detach supersedes an attach in flight to the same node.
            let attaching = current.attaching.remove(node);
            if !attaching && !current.attachments.contains(node) {
                return Ok(Start::Now(done()));
            }
            pending.incarnation = Some(current.incarnation);
        }
        OpRequest::DeleteVolume { volume } => {
            let Some(current) = state.volumes.get(volume) else {
                return Ok(Start::Now(done()));
            };
            if let Some(reason) = foreign("volume", volume, &current.project, &current.region, op) {
                return Err(reason);
            }
            if let Some(reason) = in_use(volume, current) {
                return Err(reason);
            }
            if current.copying.is_some() {
                return Err(format!("a copy into volume {} is in flight", quote(volume)));
            }
            pending.incarnation = Some(current.incarnation);
            if let Some(v) = state.volumes.get_mut(volume) {
                v.phase = VolumePhase::Deleting;
            }
        }
        OpRequest::CreateSnapshot { snapshot, volume } => {
            if state.snapshots.contains_key(snapshot) {
                return Err(format!("snapshot {} already exists", quote(snapshot)));
            }
            if state.snapshots.len() >= MAX_RESOURCES {
                return Err(format!(
                    "no capacity: the back end holds {MAX_RESOURCES} snapshots"
                ));
            }
            let source = settled(state, volume, op)?;
            let record = SimSnapshot {
                project: op.project.clone(),
                region: op.region.clone(),
                volume: volume.clone(),
                kind: source.kind,
                size_bytes: source.size_bytes,
                phase: SnapshotPhase::Creating,
                content: source.content,
                incarnation: 0,
            };
            let incarnation = state.next_seq();
            state.snapshots.insert(
                snapshot.clone(),
                SimSnapshot {
                    incarnation,
                    ..record
                },
            );
            pending.incarnation = Some(incarnation);
        }
        OpRequest::DeleteSnapshot { snapshot } => {
            let Some(current) = state.snapshots.get_mut(snapshot) else {
                return Ok(Start::Now(done()));
            };
            if current.project != op.project || current.region != op.region {
                return Err(format!(
                    "snapshot {} belongs to another project or region",
                    quote(snapshot)
                ));
            }
            current.phase = SnapshotPhase::Deleting;
            pending.incarnation = Some(current.incarnation);
        }
        OpRequest::Copy {
            source,
            target,
            size_bytes,
            ..
        } => {
            if source == target {
                return Err(format!(
                    "volume {} cannot be copied onto itself",
                    quote(source)
                ));
            }
            let from = settled(state, source, op)?;
            pending.source_incarnation = Some(from.incarnation);
            pending.content = Some(from.content);
            match state.volumes.get(target) {
                Some(into) => {
                    if let Some(reason) = foreign("volume", target, &into.project, &into.region, op)
                    {
                        return Err(reason);
                    }
                    if into.phase == VolumePhase::Deleting {
                        return Err(format!("target {} is being deleted", quote(target)));
                    }
                    if let Some(reason) = in_use(target, into) {
                        return Err(reason);
                    }
                    // A later copy into the same target supersedes one in flight.
                    if let Some(earlier) = into.copying.clone() {
                        state.finish(
                            &earlier,
                            failed(
                                "cancelled: a later copy into the same target superseded it".into(),
                            ),
                        );
                    }
                }
                None => {
                    if state.volumes.len() >= MAX_RESOURCES {
                        return Err(format!(
                            "no capacity: the back end holds {MAX_RESOURCES} volumes"
                        ));
                    }
                    let incarnation = state.next_seq();
                    state.volumes.insert(
                        target.clone(),
                        SimVolume {
                            project: op.project.clone(),
                            region: op.region.clone(),
                            kind: VolumeKind::Shared,
                            size_bytes: *size_bytes,
                            mount: Some(Mount::Nfs),
                            phase: VolumePhase::Creating,
                            attachments: Default::default(),
                            attaching: Default::default(),
                            content: fresh_content(target, incarnation),
                            incarnation,
                            from_snapshot: None,
                            copying: None,
                            copied_from: None,
                            cut_over_to: None,
                        },
                    );
                }
            }
            if let Some(into) = state.volumes.get_mut(target) {
                into.copying = Some(op.key.clone());
                into.phase = VolumePhase::Creating;
                into.copied_from = None;
                // Partial data until the copy ends.
                into.content = corrupted(&fresh_content(target, into.incarnation), &op.key);
                pending.incarnation = Some(into.incarnation);
            }
        }
        OpRequest::Verify { source, target, .. } => {
            pending.source_incarnation = Some(settled(state, source, op)?.incarnation);
            pending.incarnation = Some(settled(state, target, op)?.incarnation);
        }
        OpRequest::CutOver { source, target, .. } => {
            pending.source_incarnation = Some(settled(state, source, op)?.incarnation);
            let into = settled(state, target, op)?;
            if into.copied_from.as_deref() != Some(source.as_str()) {
                return Err(format!(
                    "target {} holds no finished copy of {}",
                    quote(target),
                    quote(source)
                ));
            }
            pending.incarnation = Some(into.incarnation);
        }
        OpRequest::ReleaseSource { source, .. } => {
            let Some(current) = state.volumes.get(source) else {
                return Ok(Start::Now(done()));
            };
            if let Some(reason) = foreign("volume", source, &current.project, &current.region, op) {
                return Err(reason);
            }
            if current.cut_over_to.is_none() {
                return Err(format!(
                    "source {} was never cut over; its data is still in use",
                    quote(source)
                ));
            }
            if let Some(reason) = in_use(source, current) {
                return Err(reason);
            }
            pending.incarnation = Some(current.incarnation);
            if let Some(v) = state.volumes.get_mut(source) {
                v.phase = VolumePhase::Deleting;
            }
        }
        OpRequest::DiscardTarget { target, .. } => {
            let Some(current) = state.volumes.get(target) else {
                return Ok(Start::Now(done()));
            };
            if let Some(reason) = foreign("volume", target, &current.project, &current.region, op) {
                return Err(reason);
            }
            if state
                .volumes
                .values()
                .any(|v| v.cut_over_to.as_deref() == Some(target.as_str()))
            {
                return Err(format!(
                    "target {} is in use: consumers were cut over to it",
                    quote(target)
                ));
            }
            if let Some(reason) = in_use(target, current) {
                return Err(reason);
            }
            // Cancels a copy in flight first.
            if let Some(copy) = current.copying.clone() {
                state.finish(&copy, failed("cancelled: the target was discarded".into()));
            }
            if let Some(v) = state.volumes.get_mut(target) {
                pending.incarnation = Some(v.incarnation);
                v.copying = None;
                v.phase = VolumePhase::Deleting;
            }
        }
    }
    Ok(Start::Accepted(Box::new(pending)))
}

/// Applies the end of `pending` (the operation `key`) and answers its outcome.
pub(crate) fn finish(state: &mut StorageState, key: &str, pending: &Pending) -> OpStatus {
    if pending.fate == Fate::Fail {
        return failed(format!(
            "the back end failed the {} operation (simulated: storage-fail-next)",
            pending.request.name()
        ));
    }
    let inc = pending.incarnation;
    let gone =
        |what: &str, name: &str| failed(format!("{what} {} was deleted meanwhile", quote(name)));
    match &pending.request {
        OpRequest::CreateVolume { volume, .. } => match state.volume_at(volume, inc) {
            Some(v) if v.phase == VolumePhase::Creating => {
                v.phase = VolumePhase::Ready;
                done()
            }
            _ => gone("volume", volume),
        },
        OpRequest::ExpandVolume { volume, to_bytes } => match state.volume_at(volume, inc) {
            Some(v) if v.phase != VolumePhase::Deleting => {
                v.size_bytes = v.size_bytes.max(*to_bytes);
                done()
            }
            _ => gone("volume", volume),
        },
        OpRequest::AttachVolume { volume, node } => match state.volume_at(volume, inc) {
            Some(v) => {
                if v.attaching.remove(node) {
                    v.attachments.insert(node.clone());
                    done()
                } else {
                    failed(format!(
                        "volume {} was detached from the node while attaching",
                        quote(volume)
                    ))
                }
            }
            None => gone("volume", volume),
        },
        OpRequest::DetachVolume { volume, node } => {
            if let Some(v) = state.volume_at(volume, inc) {
                v.attachments.remove(node);
            }
            done()
        }
        OpRequest::DeleteVolume { volume }
        | OpRequest::ReleaseSource { source: volume, .. }
        | OpRequest::DiscardTarget { target: volume, .. } => {
            if state.volume_at(volume, inc).is_some() {
                state.volumes.remove(volume);
            }
            done()
        }
        OpRequest::CreateSnapshot { snapshot, .. } => match state.snapshots.get_mut(snapshot) {
            Some(s) if Some(s.incarnation) == inc && s.phase == SnapshotPhase::Creating => {
                s.phase = SnapshotPhase::Ready;
                done()
            }
            _ => gone("snapshot", snapshot),
        },
        OpRequest::DeleteSnapshot { snapshot } => {
            if state
                .snapshots
                .get(snapshot)
                .is_some_and(|s| Some(s.incarnation) == inc)
            {
                state.snapshots.remove(snapshot);
            }
            done()
        }
        OpRequest::Copy {
            source,
            target,
            size_bytes,
            ..
        } => {
            if state
                .volume_at(source, pending.source_incarnation)
                .is_none()
            {
                return gone("source", source);
            }
            let Some(into) = state.volume_at(target, inc) else {
                return gone("target", target);
            };
            if into.copying.as_deref() != Some(key) {
                return failed("cancelled: the target was taken over".into());
            }
            let content = pending.content.unwrap_or(into.content);
            into.content = if pending.fate == Fate::Corrupt {
                corrupted(&content, key)
            } else {
                content
            };
            into.copying = None;
            into.copied_from = Some(source.clone());
            into.phase = VolumePhase::Ready;
            into.size_bytes = into.size_bytes.max(*size_bytes);
            OpStatus::Succeeded {
                result: OpResult::Copied { bytes: *size_bytes },
            }
        }
        OpRequest::Verify { source, target, .. } => {
            let Some(from) = state
                .volume_at(source, pending.source_incarnation)
                .map(|v| v.content)
            else {
                return gone("source", source);
            };
            let Some(into) = state.volume_at(target, inc).map(|v| v.content) else {
                return gone("target", target);
            };
            OpStatus::Succeeded {
                result: OpResult::Checksums {
                    source: from,
                    target: into,
                },
            }
        }
        OpRequest::CutOver { source, target, .. } => {
            let Some(from) = state.volume_at(source, pending.source_incarnation) else {
                return gone("source", source);
            };
            let moved = std::mem::take(&mut from.attachments);
            from.cut_over_to = Some(target.clone());
            let Some(into) = state.volume_at(target, inc) else {
                if let Some(from) = state.volumes.get_mut(source) {
                    from.attachments = moved;
                    from.cut_over_to = None;
                }
                return gone("target", target);
            };
            into.attachments.extend(moved);
            done()
        }
    }
}

/// The status of `pending` at `now_ms` while it runs.
pub(crate) fn progress(pending: &Pending, now_ms: u64) -> OpStatus {
    let OpRequest::Copy { size_bytes, .. } = &pending.request else {
        return OpStatus::Running {
            done_bytes: 0,
            total_bytes: 0,
        };
    };
    let total = *size_bytes;
    let elapsed = now_ms.saturating_sub(pending.start_ms);
    let moving = pending.duration_ms.saturating_sub(pending.setup_ms);
    let done = if elapsed <= pending.setup_ms {
        0
    } else if moving == 0 {
        total
    } else {
        let part = u128::from(elapsed - pending.setup_ms).min(u128::from(moving));
        u64::try_from(u128::from(total) * part / u128::from(moving)).unwrap_or(total)
    };
    // A hung copy stalls half-way; a running one reports done only once finished.
    let cap = if pending.fate == Fate::Hang {
        total / 2
    } else {
        total.saturating_sub(1)
    };
    OpStatus::Running {
        done_bytes: done.min(cap),
        total_bytes: total,
    }
}
