//! Volumes of the storage-csi service (`accord.storage.v1`, its package's endpoint in the
//! profile, else `endpoint`): `accord create|get|describe|delete volume` and `accord
//! expand|attach|detach volume`.
//!
//! Every mutation answers at once with the volume in its transitional state (`creating`,
//! `expanding`, `attaching`, …); `--wait` polls `GetVolume` until the state the command promised,
//! and fails showing `last_failure` when the volume turns `failed`. Mutations carry
//! resource_version 0 (whatever is current): the CLI has no earlier read to be stale against.
//!
//! Request building and the judges are pure functions, tested without a server.

use accord_proto::storage::v1 as pb;
use futures::future::BoxFuture;

use super::{Context, announce_and_wait, storage_error};
use crate::cli::{
    ClusterResourceRef, CreateVolumeArgs, DeleteVolumeArgs, ExpandVolumeArgs, OutputFormat,
    VolumeNodeArgs, VolumeQuery,
};
use crate::client::{Api, ApiError};
use crate::output::storage::{self, VolumeListView};
use crate::output::{render_list, render_one, structured};
use crate::wait::{Observation, Verdict};

/// The state of a volume the back end holds with no operation running.
pub const AVAILABLE: &str = "available";
/// The state of a volume attached to (or mounted on) nodes.
pub const ATTACHED: &str = "attached";
/// The state of a volume whose last operation failed.
pub const FAILED: &str = "failed";
/// The state of a deleted volume (while the server still answers for it).
pub const DELETED: &str = "deleted";

/// The `CreateVolume` request of `accord create volume`: every value as typed (the server
/// checks sizes and names the field it refuses).
pub fn create_request(project: String, args: &CreateVolumeArgs) -> pb::CreateVolumeRequest {
    pb::CreateVolumeRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        r#type: args.volume_type.as_str().to_owned(),
        size: args.size.clone(),
        mount: args
            .mount
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
        source_snapshot: args.from_snapshot.clone().unwrap_or_default(),
    }
}

/// The `ExpandVolume` request of `accord expand volume`.
pub fn expand_request(project: String, args: &ExpandVolumeArgs) -> pb::ExpandVolumeRequest {
    pb::ExpandVolumeRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        size: args.size.clone(),
        resource_version: 0,
    }
}

/// The `AttachVolume` request of `accord attach volume`.
pub fn attach_request(project: String, args: &VolumeNodeArgs) -> pb::AttachVolumeRequest {
    pb::AttachVolumeRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        node: args.node.clone(),
        resource_version: 0,
    }
}

/// The `DetachVolume` request of `accord detach volume`.
pub fn detach_request(project: String, args: &VolumeNodeArgs) -> pb::DetachVolumeRequest {
    pb::DetachVolumeRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        node: args.node.clone(),
        resource_version: 0,
    }
}

/// A poller for [`crate::wait::until`]: `GetVolume` of `name` in `cluster`.
pub fn poll_volume(
    api: &Api,
    cluster: &str,
    name: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<pb::Volume, ApiError>> + use<> {
    let api = api.clone();
    let cluster = cluster.to_owned();
    let name = name.to_owned();
    move || {
        let api = api.clone();
        let request = pb::GetVolumeRequest {
            project: api.project(),
            cluster: cluster.clone(),
            name: name.clone(),
        };
        Box::pin(async move { api.call(api.storage().get_volume(request)).await })
    }
}

fn state_or_pending(state: &str) -> &str {
    if state.is_empty() { "pending" } else { state }
}

/// What a volume that is not there yet is doing: its state, and the last failure if any.
fn pending(volume: &pb::Volume) -> Verdict {
    let mut summary = state_or_pending(&volume.state).to_owned();
    if !volume.last_failure.is_empty() {
        summary.push_str(&format!("; last failure: {}", volume.last_failure));
    }
    Verdict::Pending(Observation {
        summary,
        progress: None,
    })
}

/// The verdict on a volume that turned `failed` (or vanished) while waiting.
fn ended(name: &str, volume: Option<&pb::Volume>) -> Option<Verdict> {
    let Some(volume) = volume else {
        return Some(Verdict::Failed(format!("volume {name} no longer exists")));
    };
    match volume.state.as_str() {
        FAILED => {
            let why = if volume.last_failure.is_empty() {
                "no reason given".to_owned()
            } else {
                volume.last_failure.clone()
            };
            Some(Verdict::Failed(format!("volume {name} failed: {why}")))
        }
        DELETED => Some(Verdict::Failed(format!("volume {name} was deleted"))),
        _ => None,
    }
}

/// `--wait` of `accord create volume`: until `available` (or `attached`: something attached it
/// meanwhile); `failed` ends the wait with the last failure.
pub fn volume_available(name: &str) -> impl FnMut(Option<&pb::Volume>) -> Verdict + use<> {
    let name = name.to_owned();
    move |volume| {
        if let Some(verdict) = ended(&name, volume) {
            return verdict;
        }
        let Some(volume) = volume else {
            return Verdict::Failed(format!("volume {name} no longer exists"));
        };
        match volume.state.as_str() {
            AVAILABLE | ATTACHED => Verdict::Done(format!(
                "volume/{name} is {} ({})",
                volume.state, volume.size
            )),
            _ => pending(volume),
        }
    }
}

/// `--wait` of `accord expand volume`: until no operation runs (`available` or `attached`) and
/// the volume holds at least `target_bytes` (what the server answered the expansion with).
pub fn volume_expanded(
    name: &str,
    target_bytes: u64,
) -> impl FnMut(Option<&pb::Volume>) -> Verdict + use<> {
    let name = name.to_owned();
    move |volume| {
        if let Some(verdict) = ended(&name, volume) {
            return verdict;
        }
        let Some(volume) = volume else {
            return Verdict::Failed(format!("volume {name} no longer exists"));
        };
        let settled = matches!(volume.state.as_str(), AVAILABLE | ATTACHED);
        if settled && volume.size_bytes >= target_bytes {
            return Verdict::Done(format!("volume/{name} is now {}", volume.size));
        }
        pending(volume)
    }
}

/// `--wait` of `accord attach volume`: until the volume is `attached` and lists `node`. The
/// server lists nodes by name; `--node` may be an id, so a list longer than `before` (its length
/// when the attach was answered: an attach in flight is not listed yet) counts as well.
pub fn volume_attached(
    name: &str,
    node: &str,
    before: usize,
) -> impl FnMut(Option<&pb::Volume>) -> Verdict + use<> {
    let name = name.to_owned();
    let node = node.to_owned();
    move |volume| {
        if let Some(verdict) = ended(&name, volume) {
            return verdict;
        }
        let Some(volume) = volume else {
            return Verdict::Failed(format!("volume {name} no longer exists"));
        };
        let listed = volume.attachments.contains(&node) || volume.attachments.len() > before;
        if volume.state == ATTACHED && listed {
            return Verdict::Done(format!("volume/{name} is attached to {node}"));
        }
        pending(volume)
    }
}

/// `--wait` of `accord detach volume`: until `node` is no longer listed and nothing is
/// detaching (`--node` given by id is never listed: the state decides).
pub fn volume_detached(
    name: &str,
    node: &str,
) -> impl FnMut(Option<&pb::Volume>) -> Verdict + use<> {
    let name = name.to_owned();
    let node = node.to_owned();
    move |volume| {
        if let Some(verdict) = ended(&name, volume) {
            return verdict;
        }
        let Some(volume) = volume else {
            return Verdict::Failed(format!("volume {name} no longer exists"));
        };
        let listed = volume.attachments.contains(&node);
        if !listed && matches!(volume.state.as_str(), AVAILABLE | ATTACHED) {
            return Verdict::Done(format!("volume/{name} is detached from {node}"));
        }
        pending(volume)
    }
}

/// `--wait` of `accord delete volume`: until NOT_FOUND (or state `deleted`); `failed` ends the
/// wait with the last failure.
pub fn volume_deleted(name: &str) -> impl FnMut(Option<&pb::Volume>) -> Verdict + use<> {
    let name = name.to_owned();
    move |volume| match volume {
        None => Verdict::Done(format!("volume/{name} deleted")),
        Some(v) if v.state == DELETED => Verdict::Done(format!("volume/{name} deleted")),
        Some(v) => ended(&name, Some(v)).unwrap_or_else(|| pending(v)),
    }
}

/// `accord create volume`.
pub async fn create(ctx: &Context, args: &CreateVolumeArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let created = api
        .call(
            api.storage()
                .create_volume(create_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    announce_and_wait(
        ctx,
        created,
        "created",
        args.wait,
        &format!("volume {name} to become available"),
        poll_volume(&api, &args.cluster, &name),
        volume_available(&name),
    )
    .await
}

/// `accord get volumes --cluster C` (with the quota line) or `accord get volume NAME`.
pub async fn get(ctx: &Context, query: &VolumeQuery) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let now = ctx.now();
    if let Some(name) = &query.name {
        let volume = api
            .call(api.storage().get_volume(pb::GetVolumeRequest {
                project: api.project(),
                cluster: query.cluster.clone(),
                name: name.clone(),
            }))
            .await
            .map_err(|e| storage_error(api.endpoint(), e))?;
        let text = render_one(ctx.format, &volume, || {
            storage::volumes_table(std::slice::from_ref(&volume), now)
        })?;
        ctx.out(&text);
        return Ok(());
    }
    let response = api
        .call(api.storage().list_volumes(pb::ListVolumesRequest {
            project: api.project(),
            cluster: query.cluster.clone(),
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &VolumeListView::from_pb(&response),
        )?),
        OutputFormat::Name => ctx.out(&render_list(ctx.format, &response.volumes, String::new)?),
        OutputFormat::Table if response.volumes.is_empty() => {
            ctx.note(&format!("No volumes found in cluster {}.", query.cluster));
            ctx.out(&storage::usage_line(response.usage.as_ref()));
        }
        OutputFormat::Table => ctx.out(&storage::volumes_list_table(&response, now)),
    }
    Ok(())
}

/// `accord describe volume NAME --cluster C`; other formats print as `get volume NAME` does.
pub async fn describe(ctx: &Context, target: &ClusterResourceRef) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let volume = api
        .call(api.storage().get_volume(pb::GetVolumeRequest {
            project: api.project(),
            cluster: target.cluster.clone(),
            name: target.name.clone(),
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let now = ctx.now();
    ctx.out(&render_one(ctx.format, &volume, || {
        storage::describe_volume(&volume, now)
    })?);
    Ok(())
}

/// `accord delete volume`.
pub async fn delete(ctx: &Context, args: &DeleteVolumeArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let deleting = api
        .call(api.storage().delete_volume(pb::DeleteVolumeRequest {
            project: api.project(),
            cluster: args.cluster.clone(),
            name: args.name.clone(),
            resource_version: 0,
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    let verb = if deleting.state == DELETED {
        "deleted"
    } else {
        "deleting"
    };
    announce_and_wait(
        ctx,
        deleting,
        verb,
        args.wait,
        &format!("volume {name} to be deleted"),
        poll_volume(&api, &args.cluster, &name),
        volume_deleted(&name),
    )
    .await
}

/// `accord expand volume`.
pub async fn expand(ctx: &Context, args: &ExpandVolumeArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let expanding = api
        .call(
            api.storage()
                .expand_volume(expand_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    let target = expanding.size_bytes;
    announce_and_wait(
        ctx,
        expanding,
        "expanding",
        args.wait,
        &format!("volume {name} to grow to {}", args.size),
        poll_volume(&api, &args.cluster, &name),
        volume_expanded(&name, target),
    )
    .await
}

/// `accord attach volume`.
pub async fn attach(ctx: &Context, args: &VolumeNodeArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let attaching = api
        .call(
            api.storage()
                .attach_volume(attach_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    let before = attaching.attachments.len();
    announce_and_wait(
        ctx,
        attaching,
        &format!("attaching to {}", args.node),
        args.wait,
        &format!("volume {name} to be attached to {}", args.node),
        poll_volume(&api, &args.cluster, &name),
        volume_attached(&name, &args.node, before),
    )
    .await
}

/// `accord detach volume`.
pub async fn detach(ctx: &Context, args: &VolumeNodeArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let detaching = api
        .call(
            api.storage()
                .detach_volume(detach_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    announce_and_wait(
        ctx,
        detaching,
        &format!("detaching from {}", args.node),
        args.wait,
        &format!("volume {name} to be detached from {}", args.node),
        poll_volume(&api, &args.cluster, &name),
        volume_detached(&name, &args.node),
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cli::{MountArg, VolumeTypeArg, WaitArgs};
    use crate::output::storage::tests::{disk, shared};

    const NO_WAIT: WaitArgs = WaitArgs {
        wait: false,
        timeout: Duration::from_secs(600),
    };

    #[test]
    fn requests_carry_the_values_as_typed() {
        let args = CreateVolumeArgs {
            name: "datasets".into(),
            cluster: "demo".into(),
            volume_type: VolumeTypeArg::Shared,
            size: "10Ti".into(),
            mount: Some(MountArg::Virtiofs),
            from_snapshot: Some("sets-0412".into()),
            wait: NO_WAIT,
        };
        assert_eq!(
            create_request("acme".into(), &args),
            pb::CreateVolumeRequest {
                project: "acme".into(),
                cluster: "demo".into(),
                name: "datasets".into(),
                r#type: "shared".into(),
                size: "10Ti".into(),
                mount: "virtiofs".into(),
                source_snapshot: "sets-0412".into(),
            }
        );
        let plain = CreateVolumeArgs {
            volume_type: VolumeTypeArg::Disk,
            size: "not-a-size".into(),
            mount: None,
            from_snapshot: None,
            ..args
        };
        let request = create_request(String::new(), &plain);
        assert_eq!(request.r#type, "disk");
        assert_eq!(request.size, "not-a-size", "the server validates sizes");
        assert_eq!(request.mount, "");
        assert_eq!(request.source_snapshot, "");

        let expand = ExpandVolumeArgs {
            name: "data".into(),
            cluster: "demo".into(),
            size: "200Gi".into(),
            wait: NO_WAIT,
        };
        assert_eq!(
            expand_request("acme".into(), &expand),
            pb::ExpandVolumeRequest {
                project: "acme".into(),
                cluster: "demo".into(),
                name: "data".into(),
                size: "200Gi".into(),
                resource_version: 0,
            }
        );
        let node = VolumeNodeArgs {
            name: "data".into(),
            cluster: "demo".into(),
            node: "gpu-a-x1".into(),
            wait: NO_WAIT,
        };
        assert_eq!(attach_request("acme".into(), &node).node, "gpu-a-x1");
        assert_eq!(detach_request("acme".into(), &node).node, "gpu-a-x1");
        assert_eq!(detach_request("acme".into(), &node).name, "data");
    }

    #[test]
    fn create_waits_for_available_and_fails_with_the_last_failure() {
        let mut judge = volume_available("data");
        let mut creating = disk();
        creating.state = "creating".into();
        creating.attachments.clear();
        assert_eq!(
            judge(Some(&creating)),
            Verdict::Pending(Observation {
                summary: "creating".into(),
                progress: None
            })
        );
        let mut available = creating.clone();
        available.state = AVAILABLE.into();
        assert_eq!(
            judge(Some(&available)),
            Verdict::Done("volume/data is available (100Gi)".into())
        );
        let mut failed = creating;
        failed.state = FAILED.into();
        failed.last_failure = "back end out of capacity in eu-iceland1".into();
        assert_eq!(
            judge(Some(&failed)),
            Verdict::Failed("volume data failed: back end out of capacity in eu-iceland1".into())
        );
        assert!(matches!(judge(None), Verdict::Failed(_)));
    }

    #[test]
    fn attach_and_detach_wait_for_the_node() {
        let mut attaching = disk();
        attaching.state = "attaching".into();
        attaching.attachments.clear();
        attaching.last_failure = "attach gpu-a-x1: timed out (retrying)".into();
        let mut judge = volume_attached("data", "gpu-a-x1", 0);
        assert_eq!(
            judge(Some(&attaching)),
            Verdict::Pending(Observation {
                summary: "attaching; last failure: attach gpu-a-x1: timed out (retrying)".into(),
                progress: None
            })
        );
        assert_eq!(
            judge(Some(&disk())),
            Verdict::Done("volume/data is attached to gpu-a-x1".into())
        );
        assert!(
            matches!(judge(Some(&shared())), Verdict::Failed(m) if m.contains("back end timed out"))
        );

        let mut judge = volume_detached("data", "gpu-a-x1");
        let mut detaching = disk();
        detaching.state = "detaching".into();
        assert!(matches!(judge(Some(&detaching)), Verdict::Pending(_)));
        let mut detached = disk();
        detached.state = AVAILABLE.into();
        detached.attachments.clear();
        assert_eq!(
            judge(Some(&detached)),
            Verdict::Done("volume/data is detached from gpu-a-x1".into())
        );
    }

    #[test]
    fn expand_waits_for_the_new_size_and_delete_for_the_end() {
        let mut judge = volume_expanded("data", 200 << 30);
        let mut expanding = disk();
        expanding.state = "expanding".into();
        expanding.size_bytes = 200 << 30;
        expanding.size = "200Gi".into();
        assert!(matches!(judge(Some(&expanding)), Verdict::Pending(_)));
        let mut grown = expanding.clone();
        grown.state = ATTACHED.into();
        assert_eq!(
            judge(Some(&grown)),
            Verdict::Done("volume/data is now 200Gi".into())
        );
        let mut stale = disk();
        stale.state = ATTACHED.into();
        assert!(matches!(judge(Some(&stale)), Verdict::Pending(_)));

        let mut judge = volume_deleted("data");
        let mut deleting = disk();
        deleting.state = "deleting".into();
        assert!(matches!(judge(Some(&deleting)), Verdict::Pending(_)));
        assert_eq!(judge(None), Verdict::Done("volume/data deleted".into()));
        deleting.state = DELETED.into();
        assert_eq!(
            judge(Some(&deleting)),
            Verdict::Done("volume/data deleted".into())
        );
        deleting.state = FAILED.into();
        assert!(matches!(judge(Some(&deleting)), Verdict::Failed(_)));
    }
}
