//! `accord describe <kind> NAME`: one resource in detail. Related resources (a cluster's pools,
//! a pool's nodes) are fetched best-effort: failing to list them does not fail the command.
//! With `-o json|yaml|name` it prints the same as `accord get <kind> NAME`. Volumes and
//! migrations come from the storage-csi service ([`super::volumes`], [`super::migration`]),
//! images and builds from the image-builder ([`super::images`]).

use accord_proto::provisioner::v1 as pb;

use super::{Context, lookup};
use crate::cli::{DescribeKind, OutputFormat};
use crate::client::Api;
use crate::output::remediations::{self, RemediationView};
use crate::output::{Resource, describe, render_one};

/// Runs `accord describe`.
pub async fn run(ctx: &Context, kind: DescribeKind) -> anyhow::Result<()> {
    // The storage-csi service, at its own endpoint.
    match &kind {
        DescribeKind::Volume(target) => return super::volumes::describe(ctx, target).await,
        DescribeKind::Migration(target) => return super::migration::describe(ctx, target).await,
        // The image-builder, at its own endpoint.
        DescribeKind::Image(target) => {
            return super::images::describe_image(ctx, &target.name).await;
        }
        DescribeKind::Build(target) => {
            return super::images::describe_build(ctx, &target.name).await;
        }
        _ => {}
    }
    let api = ctx.api().await?;
    let now = ctx.now();
    let text = match kind {
        DescribeKind::Cluster(target) => {
            let cluster = lookup::cluster(&api, &target.name).await?;
            let pools = if ctx.format == OutputFormat::Table {
                let id = cluster
                    .metadata
                    .as_ref()
                    .map(|m| m.id.clone())
                    .unwrap_or_default();
                lookup::pools_of(&api, &id).await.ok()
            } else {
                None
            };
            render(ctx, &cluster, || {
                describe::cluster(&cluster, pools.as_deref(), now)
            })?
        }
        DescribeKind::Nodepool(target) => {
            let found = lookup::find_pool(&api, &target.name, target.cluster.as_deref()).await?;
            let pool = found.pool;
            let (cluster_name, nodes) = if ctx.format == OutputFormat::Table {
                related_to_pool(&api, &pool, found.cluster).await
            } else {
                (None, None)
            };
            render(ctx, &pool, || {
                describe::node_pool(&pool, cluster_name.as_deref(), nodes.as_deref(), now)
            })?
        }
        DescribeKind::Node(target) => {
            let found = lookup::find_node(&api, &target.name, target.cluster.as_deref()).await?;
            let cluster_name = match (&found.cluster, ctx.format) {
                (Some(name), _) => Some(name.clone()),
                (None, OutputFormat::Table) => {
                    let id = found
                        .node
                        .spec
                        .as_ref()
                        .map(|s| s.cluster_id.clone())
                        .unwrap_or_default();
                    cluster_name(&api, &id).await
                }
                (None, _) => None,
            };
            render(ctx, &found.node, || {
                describe::node(
                    &found.node,
                    found.pool.as_deref(),
                    cluster_name.as_deref(),
                    now,
                )
            })?
        }
        DescribeKind::Project(target) => {
            let project = api
                .call(api.projects().get_project(pb::GetProjectRequest {
                    project: target.name.clone(),
                }))
                .await?;
            render(ctx, &project, || describe::project(&project, now))?
        }
        DescribeKind::Member(target) => {
            let member = lookup::find_member(&api, &target.name).await?;
            render(ctx, &member, || describe::member(&member, now))?
        }
        DescribeKind::Apikey(target) => {
            let key = lookup::pick_api_key(lookup::api_keys(&api).await?, &target.name)?;
            render(ctx, &key, || describe::api_key(&key, now))?
        }
        DescribeKind::Remediation(target) => {
            let remediation = api
                .call(
                    api.remediations()
                        .get_remediation(pb::GetRemediationRequest {
                            project: api.project(),
                            id: target.id.clone(),
                        }),
                )
                .await?;
            let view = RemediationView::from_pb(&remediation);
            render(ctx, &view, || remediations::describe(&remediation, now))?
        }
        DescribeKind::Volume(target) => return super::volumes::describe(ctx, &target).await,
        DescribeKind::Migration(target) => return super::migration::describe(ctx, &target).await,
        DescribeKind::Image(target) => {
            return super::images::describe_image(ctx, &target.name).await;
        }
        DescribeKind::Build(target) => {
            return super::images::describe_build(ctx, &target.name).await;
        }
    };
    ctx.out(&text);
    Ok(())
}

fn render<R: Resource>(
    ctx: &Context,
    item: &R,
    document: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    render_one(ctx.format, item, document)
}

async fn cluster_name(api: &Api, id: &str) -> Option<String> {
    let cluster = lookup::cluster(api, id).await.ok()?;
    cluster.metadata.map(|m| m.name)
}

/// The pool's cluster name and nodes, best-effort.
async fn related_to_pool(
    api: &Api,
    pool: &pb::NodePool,
    known_cluster_name: Option<String>,
) -> (Option<String>, Option<Vec<pb::Node>>) {
    let cluster_id = pool
        .spec
        .as_ref()
        .map(|s| s.cluster_id.clone())
        .unwrap_or_default();
    let pool_id = pool
        .metadata
        .as_ref()
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let cluster = match known_cluster_name {
        Some(name) => Some(name),
        None => cluster_name(api, &cluster_id).await,
    };
    let nodes = api
        .call(api.nodes().list_nodes(pb::ListNodesRequest {
            project: api.project(),
            cluster: cluster_id,
            node_pool: pool_id,
        }))
        .await
        .ok()
        .map(|response| response.nodes);
    (cluster, nodes)
}
