//! `accord cordon|uncordon NODE --cluster C`: mark a node (un)schedulable. The provider never
//! uncordons a node the customer cordoned.

use accord_proto::provisioner::v1 as pb;

use super::{Context, announce};
use crate::cli::NodeTarget;

/// Runs `accord cordon` (`cordon = true`) or `accord uncordon`.
pub async fn run(ctx: &Context, target: NodeTarget, cordon: bool) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let node = if cordon {
        api.call(api.nodes().cordon_node(pb::CordonNodeRequest {
            project: api.project(),
            cluster: target.cluster.clone(),
            node: target.node.clone(),
        }))
        .await?
    } else {
        api.call(api.nodes().uncordon_node(pb::UncordonNodeRequest {
            project: api.project(),
            cluster: target.cluster.clone(),
            node: target.node.clone(),
        }))
        .await?
    };
    announce(ctx, &node, if cordon { "cordoned" } else { "uncordoned" })
}
