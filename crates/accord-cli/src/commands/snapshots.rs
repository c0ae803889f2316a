//! `accord snapshot create|list|delete` (and `accord get snapshots`): volume snapshots of the
//! storage-csi service. A snapshot is created `creating`; `--wait` polls `ListSnapshots` (the
//! API has no GetSnapshot) until it is `ready`, and fails with its `failure` when it turns
//! `failed`. Restoring is `accord create volume … --from-snapshot SNAP`.

use accord_proto::storage::v1 as pb;
use futures::future::BoxFuture;

use super::{Context, announce_and_wait, storage_error};
use crate::cli::{
    ClusterResourceRef, ClusterScope, CreateSnapshotArgs, OutputFormat, SnapshotCommand,
};
use crate::client::{Api, ApiError};
use crate::output::storage;
use crate::output::{Resource, render_list, structured};
use crate::wait::{Observation, Verdict};

/// Runs `accord snapshot …`.
pub async fn run(ctx: &Context, command: SnapshotCommand) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Create(args) => create(ctx, &args).await,
        SnapshotCommand::List(scope) => list(ctx, &scope).await,
        SnapshotCommand::Delete(target) => delete(ctx, &target).await,
    }
}

/// The `CreateSnapshot` request of `accord snapshot create`.
pub fn create_request(project: String, args: &CreateSnapshotArgs) -> pb::CreateSnapshotRequest {
    pb::CreateSnapshotRequest {
        project,
        cluster: args.cluster.clone(),
        volume: args.volume.clone(),
        name: args.name.clone(),
    }
}

/// A poller for [`crate::wait::until`]: the snapshot `name` of `cluster`, from
/// `ListSnapshots` (`NOT_FOUND` when it is not listed).
pub fn poll_snapshot(
    api: &Api,
    cluster: &str,
    name: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<pb::Snapshot, ApiError>> + use<> {
    let api = api.clone();
    let cluster = cluster.to_owned();
    let name = name.to_owned();
    move || {
        let api = api.clone();
        let request = pb::ListSnapshotsRequest {
            project: api.project(),
            cluster: cluster.clone(),
        };
        let name = name.clone();
        Box::pin(async move {
            api.call(api.storage().list_snapshots(request))
                .await?
                .snapshots
                .into_iter()
                .find(|s| s.name == name)
                .ok_or_else(|| ApiError::not_found(format!("snapshot {name} not found")))
        })
    }
}

/// `--wait` of `accord snapshot create`: until `ready`; `failed` (with its reason) or a
/// vanished snapshot ends the wait.
pub fn snapshot_ready(name: &str) -> impl FnMut(Option<&pb::Snapshot>) -> Verdict + use<> {
    let name = name.to_owned();
    move |snapshot| {
        let Some(snapshot) = snapshot else {
            return Verdict::Failed(format!("snapshot {name} no longer exists"));
        };
        match snapshot.state.as_str() {
            "ready" => Verdict::Done(format!(
                "snapshot/{name} is ready ({} of volume {})",
                snapshot.size, snapshot.volume
            )),
            "failed" => {
                let why = if snapshot.failure.is_empty() {
                    "no reason given"
                } else {
                    &snapshot.failure
                };
                Verdict::Failed(format!("snapshot {name} failed: {why}"))
            }
            "deleted" => Verdict::Failed(format!("snapshot {name} was deleted")),
            "" => Verdict::Pending(Observation {
                summary: "pending".into(),
                progress: None,
            }),
            state => Verdict::Pending(Observation {
                summary: state.to_owned(),
                progress: None,
            }),
        }
    }
}

async fn create(ctx: &Context, args: &CreateSnapshotArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let created = api
        .call(
            api.storage()
                .create_snapshot(create_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let name = args.name.clone();
    announce_and_wait(
        ctx,
        created,
        "created",
        args.wait,
        &format!("snapshot {name} to become ready"),
        poll_snapshot(&api, &args.cluster, &name),
        snapshot_ready(&name),
    )
    .await
}

/// `accord snapshot list` / `accord get snapshots`: the table (failed snapshots' reasons as
/// `warning:` lines on stderr), or the list.
pub async fn list(ctx: &Context, scope: &ClusterScope) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let snapshots = api
        .call(api.storage().list_snapshots(pb::ListSnapshotsRequest {
            project: api.project(),
            cluster: scope.cluster.clone(),
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?
        .snapshots;
    if ctx.format == OutputFormat::Table {
        if snapshots.is_empty() {
            ctx.note(&format!("No snapshots found in cluster {}.", scope.cluster));
            return Ok(());
        }
        ctx.out(&storage::snapshots_table(&snapshots, ctx.now()));
        for line in storage::snapshot_failure_lines(&snapshots) {
            ctx.note(&line);
        }
        return Ok(());
    }
    ctx.out(&render_list(ctx.format, &snapshots, String::new)?);
    Ok(())
}

async fn delete(ctx: &Context, target: &ClusterResourceRef) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let deleted = api
        .call(api.storage().delete_snapshot(pb::DeleteSnapshotRequest {
            project: api.project(),
            cluster: target.cluster.clone(),
            name: target.name.clone(),
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let kind = <pb::Snapshot as Resource>::KIND;
    let name = &target.name;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{kind}/{name} deleted")),
        OutputFormat::Name => ctx.out(&format!("{kind}/{name}")),
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &deleted.to_value()?)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cli::WaitArgs;

    #[test]
    fn create_request_names_volume_and_snapshot() {
        let args = CreateSnapshotArgs {
            name: "data-0412".into(),
            cluster: "demo".into(),
            volume: "data".into(),
            wait: WaitArgs {
                wait: true,
                timeout: Duration::from_secs(60),
            },
        };
        assert_eq!(
            create_request("acme".into(), &args),
            pb::CreateSnapshotRequest {
                project: "acme".into(),
                cluster: "demo".into(),
                volume: "data".into(),
                name: "data-0412".into(),
            }
        );
    }

    #[test]
    fn waits_until_ready_and_fails_with_the_reason() {
        let mut judge = snapshot_ready("data-0412");
        let mut snapshot = pb::Snapshot {
            name: "data-0412".into(),
            volume: "data".into(),
            size: "100Gi".into(),
            state: "creating".into(),
            ..pb::Snapshot::default()
        };
        assert_eq!(
            judge(Some(&snapshot)),
            Verdict::Pending(Observation {
                summary: "creating".into(),
                progress: None
            })
        );
        snapshot.state = "ready".into();
        assert_eq!(
            judge(Some(&snapshot)),
            Verdict::Done("snapshot/data-0412 is ready (100Gi of volume data)".into())
        );
        snapshot.state = "failed".into();
        snapshot.failure = "volume busy".into();
        assert_eq!(
            judge(Some(&snapshot)),
            Verdict::Failed("snapshot data-0412 failed: volume busy".into())
        );
        assert!(matches!(judge(None), Verdict::Failed(_)));
    }
}
