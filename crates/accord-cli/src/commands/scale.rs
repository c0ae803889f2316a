//! `accord scale nodepool NAME --cluster C --count N [--wait]`.

use accord_proto::provisioner::v1 as pb;

use super::{Context, announce_and_wait, id_or, name_or, poll_pool};
use crate::cli::ScaleArgs;
use crate::wait;

/// Runs `accord scale nodepool`.
pub async fn run(ctx: &Context, args: ScaleArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let pool = api
        .call(api.node_pools().scale_node_pool(pb::ScaleNodePoolRequest {
            project: api.project(),
            cluster: args.cluster.clone(),
            node_pool: args.name.clone(),
            count: args.count,
            resource_version: 0,
        }))
        .await?;
    let id = id_or(pool.metadata.as_ref(), &args.name);
    let name = name_or(pool.metadata.as_ref(), &args.name);
    announce_and_wait(
        ctx,
        pool,
        &format!("scaled to {}", args.count),
        args.wait,
        &format!("nodepool {name} to have {} ready nodes", args.count),
        poll_pool(&api, &args.cluster, &id),
        wait::pool_ready(&name, None),
    )
    .await
}
