//! Node pools' images and rollouts on the provisioner: the rollout policy the pool flags
//! describe ([`rollout_policy`], shared by `create nodepool` and `update nodepool`),
//! `accord update nodepool` (image channel, rollout policy — each an update-mask
//! path) and `accord rollback nodepool` (back to the previous revision).
//!
//! Unset rollout flags take the defaults the provisioner documents for a policy: waves
//! 1,5,10,25,50,100 %, soak 30 minutes, one node unavailable, ready timeout 15 minutes.

use std::time::Duration;

use accord_proto::provisioner::v1 as pb;
use anyhow::bail;

use super::{Context, announce, announce_and_wait, id_or, name_or, poll_pool};
use crate::cli::{PoolImageArgs, RollbackArgs, RolloutArgs, UpdateNodePoolArgs};
use crate::wait;

/// Waves when neither `--rollout-waves` nor `--rollout-batch` is given.
pub const DEFAULT_WAVES: [u32; 6] = [1, 5, 10, 25, 50, 100];
/// Soak when `--rollout-soak` is not given.
pub const DEFAULT_SOAK: Duration = Duration::from_secs(30 * 60);
/// Ready timeout when `--rollout-ready-timeout` is not given.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

fn whole_seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}

/// The policy the rollout flags describe, `None` when no rollout flag was given.
pub fn rollout_policy(args: &RolloutArgs) -> Option<pb::RolloutPolicy> {
    if !args.is_set() {
        return None;
    }
    let (wave_percentages, batch_size) = match (args.rollout_waves.as_slice(), args.rollout_batch) {
        ([], Some(batch)) => (Vec::new(), batch),
        ([], None) => (DEFAULT_WAVES.to_vec(), 0),
        (waves, _) => (waves.to_vec(), 0),
    };
    Some(pb::RolloutPolicy {
        wave_percentages,
        batch_size,
        soak_seconds: whole_seconds(args.rollout_soak.unwrap_or(DEFAULT_SOAK)),
        max_unavailable: args.rollout_max_unavailable.unwrap_or(1),
        only_in_maintenance_windows: args.rollout_only_in_windows,
        ready_timeout_seconds: whole_seconds(
            args.rollout_ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
        ),
    })
}

/// Fills the image fields of a pool spec from the flags (creation: empty means the server's
/// default).
pub fn apply_image_args(spec: &mut pb::NodePoolSpec, args: &PoolImageArgs) {
    spec.driver_branch = args.driver_branch.clone().unwrap_or_default();
    spec.image_channel = args.image_channel.clone().unwrap_or_default();
    spec.rollout_policy = rollout_policy(&args.rollout);
}

/// The `UpdateNodePool` request of `accord update nodepool`: one mask path per flag given.
pub fn update_request(
    args: &UpdateNodePoolArgs,
    project: String,
) -> anyhow::Result<pb::UpdateNodePoolRequest> {
    let mut spec = pb::NodePoolSpec::default();
    let mut mask = Vec::new();
    if let Some(channel) = &args.image_channel {
        spec.image_channel.clone_from(channel);
        mask.push("spec.image_channel".to_owned());
    }
    if args.no_rollout_policy {
        mask.push("spec.rollout_policy".to_owned());
    } else if let Some(policy) = rollout_policy(&args.rollout) {
        spec.rollout_policy = Some(policy);
        mask.push("spec.rollout_policy".to_owned());
    }
    if mask.is_empty() {
        bail!(
            "nothing to change: give --image-channel, rollout flags \
             (--rollout-waves, --rollout-batch, …) or --no-rollout-policy"
        );
    }
    Ok(pb::UpdateNodePoolRequest {
        project,
        cluster: args.cluster.clone(),
        node_pool: args.name.clone(),
        resource_version: 0,
        update_mask: mask,
        labels: Default::default(),
        spec: Some(spec),
    })
}

/// Runs `accord update nodepool`.
pub async fn update(ctx: &Context, args: UpdateNodePoolArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let request = update_request(&args, api.project())?;
    let pool = api.call(api.node_pools().update_node_pool(request)).await?;
    announce(ctx, &pool, "updated")
}

/// Runs `accord rollback nodepool`.
pub async fn rollback(ctx: &Context, args: RollbackArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let pool = api
        .call(
            api.node_pools()
                .rollback_node_pool(pb::RollbackNodePoolRequest {
                    project: api.project(),
                    cluster: args.cluster.clone(),
                    node_pool: args.name.clone(),
                    resource_version: 0,
                }),
        )
        .await?;
    let id = id_or(pool.metadata.as_ref(), &args.name);
    let name = name_or(pool.metadata.as_ref(), &args.name);
    let target = rollback_target(&pool);
    let verb = match &target {
        Some(version) => format!("rolling back to image {version}"),
        None => "rolling back".to_owned(),
    };
    announce_and_wait(
        ctx,
        pool,
        &verb,
        args.wait,
        &format!("nodepool {name} to finish rolling back"),
        poll_pool(&api, &args.cluster, &id),
        wait::pool_ready(&name, target.as_deref()),
    )
    .await
}

/// The image version a rollback moves to: the revision the rollout came from, else the
/// newest revision before the last one that is not disabled.
pub fn rollback_target(pool: &pb::NodePool) -> Option<String> {
    let status = pool.status.as_ref()?;
    let version_of = |revision: u32| {
        status
            .revisions
            .iter()
            .find(|r| r.revision == revision)
            .map(|r| r.image_version.clone())
    };
    if let Some(rollout) = &status.rollout
        && rollout.phase == "rolling-back"
        && let Some(version) = version_of(rollout.from_revision)
    {
        return Some(version).filter(|v| !v.is_empty());
    }
    let (_last, earlier) = status.revisions.split_last()?;
    earlier
        .iter()
        .rev()
        .find(|r| !r.disabled)
        .map(|r| r.image_version.clone())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, CreateKind, RollbackKind, UpdateKind};

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_with_sources(args.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"))
            .command
    }

    fn update_args(args: &[&str]) -> UpdateNodePoolArgs {
        let mut all = vec!["accord", "update", "nodepool", "gpu", "--cluster", "demo"];
        all.extend_from_slice(args);
        match parse(&all) {
            Command::Update(UpdateKind::Nodepool(args)) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wave_flags_build_the_policy() {
        let args = update_args(&[
            "--rollout-waves",
            "1,5,25,100",
            "--rollout-soak",
            "30m",
            "--rollout-max-unavailable",
            "2",
            "--rollout-only-in-windows",
            "--rollout-ready-timeout",
            "10m",
        ]);
        let policy = rollout_policy(&args.rollout).unwrap();
        assert_eq!(
            policy,
            pb::RolloutPolicy {
                wave_percentages: vec![1, 5, 25, 100],
                batch_size: 0,
                soak_seconds: 1800,
                max_unavailable: 2,
                only_in_maintenance_windows: true,
                ready_timeout_seconds: 600,
            }
        );
    }

    #[test]
    fn batch_flag_and_defaults() {
        let args = update_args(&["--rollout-batch", "3"]);
        let policy = rollout_policy(&args.rollout).unwrap();
        assert_eq!(
            policy,
            pb::RolloutPolicy {
                wave_percentages: vec![],
                batch_size: 3,
                soak_seconds: 1800,
                max_unavailable: 1,
                only_in_maintenance_windows: false,
                ready_timeout_seconds: 900,
            }
        );
        let soak_only = update_args(&["--rollout-soak", "5m"]);
        let policy = rollout_policy(&soak_only.rollout).unwrap();
        assert_eq!(policy.wave_percentages, DEFAULT_WAVES.to_vec());
        assert_eq!(policy.soak_seconds, 300);
        assert_eq!(rollout_policy(&RolloutArgs::default()), None);
    }

    #[test]
    fn waves_and_batches_conflict() {
        let error = Cli::try_parse_with_sources([
            "accord",
            "update",
            "nodepool",
            "gpu",
            "-c",
            "demo",
            "--rollout-waves",
            "1,100",
            "--rollout-batch",
            "2",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        let error = Cli::try_parse_with_sources([
            "accord",
            "update",
            "nodepool",
            "gpu",
            "-c",
            "demo",
            "--no-rollout-policy",
            "--rollout-batch",
            "2",
        ])
        .unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn update_masks_name_each_flag() {
        let args = update_args(&["--image-channel", "candidate", "--rollout-batch", "2"]);
        let request = update_request(&args, "p".into()).unwrap();
        assert_eq!(
            request.update_mask,
            ["spec.image_channel", "spec.rollout_policy"]
        );
        let spec = request.spec.unwrap();
        assert_eq!(spec.image_channel, "candidate");
        assert_eq!(spec.rollout_policy.unwrap().batch_size, 2);
        assert_eq!(
            (request.cluster.as_str(), request.node_pool.as_str()),
            ("demo", "gpu")
        );

        // Clearing: the path with an unset policy.
        let request = update_request(&update_args(&["--no-rollout-policy"]), "p".into()).unwrap();
        assert_eq!(request.update_mask, ["spec.rollout_policy"]);
        assert_eq!(request.spec.unwrap().rollout_policy, None);

        let error = update_request(&update_args(&[]), "p".into()).unwrap_err();
        assert!(error.to_string().contains("nothing to change"), "{error}");
        assert!(
            Cli::try_parse_with_sources([
                "accord",
                "update",
                "np",
                "gpu",
                "-c",
                "demo",
                "--image-channel",
                "beta"
            ])
            .is_err(),
            "only known channels"
        );
    }

    #[test]
    fn create_nodepool_carries_the_image_flags() {
        let command = parse(&[
            "accord",
            "create",
            "nodepool",
            "gpu",
            "--cluster",
            "demo",
            "--instance-type",
            "h100-80gb-sxm-ib.8x",
            "--driver-branch",
            "lts",
            "--image-channel",
            "stable",
            "--rollout-waves",
            "10,100",
        ]);
        let Command::Create(CreateKind::Nodepool(args)) = command else {
            panic!("{command:?}");
        };
        let request = super::super::create::node_pool_request(&args, "p".into());
        let spec = request.spec.unwrap();
        assert_eq!(spec.driver_branch, "lts");
        assert_eq!(spec.image_channel, "stable");
        assert_eq!(spec.rollout_policy.unwrap().wave_percentages, [10, 100]);
    }

    #[test]
    fn rollback_parses_and_finds_its_target() {
        let command = parse(&["accord", "rollback", "nodepool", "gpu", "--cluster", "demo"]);
        let Command::Rollback(RollbackKind::Nodepool(args)) = command else {
            panic!("{command:?}");
        };
        assert_eq!((args.name.as_str(), args.cluster.as_str()), ("gpu", "demo"));
        assert!(!args.wait.wait);

        let mut pool = crate::fixtures::node_pool("gpu");
        let status = pool.status.as_mut().unwrap();
        status.revisions = vec![
            pb::PoolRevision {
                revision: 1,
                image_version: "2026.11.0".into(),
                ..Default::default()
            },
            pb::PoolRevision {
                revision: 2,
                image_version: "2026.12.0".into(),
                disabled: true,
                ..Default::default()
            },
        ];
        assert_eq!(rollback_target(&pool).as_deref(), Some("2026.11.0"));
        pool.status.as_mut().unwrap().revisions.truncate(1);
        assert_eq!(rollback_target(&pool), None);
    }
}
