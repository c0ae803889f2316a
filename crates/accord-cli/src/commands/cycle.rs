//! `accord cycle nodepool NAME --cluster C [--image-version V] [--wait]`: replace every node with
//! one on the target image (default: the latest), rolling within max-surge / max-unavailable.

use accord_proto::provisioner::v1 as pb;

use super::{Context, announce_and_wait, id_or, name_or, poll_pool};
use crate::cli::CycleArgs;
use crate::wait;

/// The image a cycle moves to: the flag, else what the API says the cycle targets, else the
/// latest image.
pub fn target_image(flag: Option<&str>, pool: &pb::NodePool) -> Option<String> {
    if let Some(image) = flag.filter(|image| !image.is_empty()) {
        return Some(image.to_owned());
    }
    let status = pool.status.as_ref()?;
    let from_cycle = status
        .cycle
        .as_ref()
        .map(|c| c.target_image_version.clone())
        .filter(|image| !image.is_empty());
    from_cycle.or_else(|| Some(status.latest_image_version.clone()).filter(|i| !i.is_empty()))
}

/// Runs `accord cycle nodepool`.
pub async fn run(ctx: &Context, args: CycleArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let pool = api
        .call(api.node_pools().cycle_node_pool(pb::CycleNodePoolRequest {
            project: api.project(),
            cluster: args.cluster.clone(),
            node_pool: args.name.clone(),
            image_version: args.image_version.clone().unwrap_or_default(),
            resource_version: 0,
        }))
        .await?;
    let id = id_or(pool.metadata.as_ref(), &args.name);
    let name = name_or(pool.metadata.as_ref(), &args.name);
    let target = target_image(args.image_version.as_deref(), &pool);
    let verb = match &target {
        Some(image) => format!("cycling to image {image}"),
        None => "cycling".to_owned(),
    };
    announce_and_wait(
        ctx,
        pool,
        &verb,
        args.wait,
        &format!("nodepool {name} to finish cycling"),
        poll_pool(&api, &args.cluster, &id),
        wait::pool_ready(&name, target.as_deref()),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn target_image_precedence() {
        let mut pool = fixtures::node_pool("gpu-a");
        assert_eq!(
            target_image(Some("2026.09"), &pool).as_deref(),
            Some("2026.09")
        );
        assert_eq!(target_image(None, &pool).as_deref(), Some("2026.11"));
        pool.status.as_mut().unwrap().cycle = Some(pb::CycleStatus {
            in_progress: true,
            target_image_version: "2026.12".into(),
            ..Default::default()
        });
        assert_eq!(target_image(None, &pool).as_deref(), Some("2026.12"));
        pool.status = None;
        assert_eq!(target_image(None, &pool), None);
    }
}
