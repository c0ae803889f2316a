//! `accord get <kind> [NAME]`: a table (or JSON / YAML / names) of one resource or all of a kind.
//!
//! Firewall rules and load balancers come from the network-firewall service, volumes, snapshots,
//! StorageClasses and migrations from the storage-csi service, images and builds from the
//! image-builder (each at its package's endpoint in the profile, else `endpoint`); everything
//! else from the provisioner.

use accord_proto::firewall::v1 as firewall_pb;
use accord_proto::provisioner::v1 as pb;

use super::{Context, firewall_error, lookup};
use crate::cli::{
    FirewallRuleQuery, GetKind, LoadBalancerQuery, NodeQuery, OptionalName, OutputFormat,
    PoolQuery, RemediationQuery,
};
use crate::client::Api;
use crate::output::firewall::{self, FirewallRuleListView, FirewallRuleView};
use crate::output::loadbalancers::{self, LoadBalancerListView, LoadBalancerView};
use crate::output::remediations::{self, RemediationView};
use crate::output::tables::{self, NodeRow, PoolRow};
use crate::output::{Resource, render_list, render_one, structured};

/// Runs `accord get`.
pub async fn run(ctx: &Context, kind: GetKind) -> anyhow::Result<()> {
    if let GetKind::FirewallRule(query) = &kind {
        return firewall_rules(ctx, query).await;
    }
    if let GetKind::Loadbalancer(query) = &kind {
        return load_balancers(ctx, query).await;
    }
    // The storage-csi service, at its own endpoint.
    match &kind {
        GetKind::Volume(query) => return super::volumes::get(ctx, query).await,
        GetKind::Snapshot(scope) => return super::snapshots::list(ctx, scope).await,
        GetKind::Storageclass(scope) => return super::storage_classes::list(ctx, scope).await,
        GetKind::Migration(query) => return super::migration::get(ctx, query).await,
        // The image-builder, at its own endpoint.
        GetKind::Image(query) => return super::images::get_images(ctx, query).await,
        GetKind::Build(OptionalName { name }) => {
            return super::images::get_builds(ctx, name.as_deref()).await;
        }
        _ => {}
    }
    let api = ctx.api().await?;
    match kind {
        GetKind::Cluster(OptionalName { name }) => clusters(ctx, &api, name.as_deref()).await,
        GetKind::Nodepool(query) => node_pools(ctx, &api, query).await,
        GetKind::Node(query) => nodes(ctx, &api, query).await,
        GetKind::Project(OptionalName { name }) => projects(ctx, &api, name.as_deref()).await,
        GetKind::Member(OptionalName { name }) => members(ctx, &api, name.as_deref()).await,
        GetKind::Apikey(OptionalName { name }) => api_keys(ctx, &api, name.as_deref()).await,
        GetKind::Remediation(query) => remediations_of(ctx, &api, query).await,
        GetKind::FirewallRule(query) => firewall_rules(ctx, &query).await,
        GetKind::Loadbalancer(query) => load_balancers(ctx, &query).await,
        GetKind::Volume(query) => super::volumes::get(ctx, &query).await,
        GetKind::Snapshot(scope) => super::snapshots::list(ctx, &scope).await,
        GetKind::Storageclass(scope) => super::storage_classes::list(ctx, &scope).await,
        GetKind::Migration(query) => super::migration::get(ctx, &query).await,
        GetKind::Image(query) => super::images::get_images(ctx, &query).await,
        GetKind::Build(OptionalName { name }) => {
            super::images::get_builds(ctx, name.as_deref()).await
        }
    }
}

/// Prints a list, or "No … found." on stderr when a table would be empty.
fn print_list<R: Resource>(
    ctx: &Context,
    items: &[R],
    plural: &str,
    table: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    if items.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note(&format!("No {plural} found."));
        return Ok(());
    }
    ctx.out(&render_list(ctx.format, items, table)?);
    Ok(())
}

async fn clusters(ctx: &Context, api: &Api, name: Option<&str>) -> anyhow::Result<()> {
    let now = ctx.now();
    match name {
        Some(name) => {
            let cluster = lookup::cluster(api, name).await?;
            let text = render_one(ctx.format, &cluster, || {
                tables::clusters(std::slice::from_ref(&cluster), now)
            })?;
            ctx.out(&text);
            Ok(())
        }
        None => {
            let items = lookup::clusters(api).await?;
            print_list(ctx, &items, "clusters", || tables::clusters(&items, now))
        }
    }
}

async fn node_pools(ctx: &Context, api: &Api, query: PoolQuery) -> anyhow::Result<()> {
    let now = ctx.now();
    let found = match &query.name {
        Some(name) => vec![lookup::find_pool(api, name, query.cluster.as_deref()).await?],
        None => lookup::pools(api, query.cluster.as_deref()).await?,
    };
    let pools: Vec<pb::NodePool> = found.iter().map(|f| f.pool.clone()).collect();
    let table = || {
        let rows: Vec<PoolRow<'_>> = found
            .iter()
            .map(|f| PoolRow {
                pool: &f.pool,
                cluster: f.cluster.as_deref(),
            })
            .collect();
        tables::node_pools(&rows, now)
    };
    match (&query.name, pools.first()) {
        (Some(_), Some(pool)) => {
            ctx.out(&render_one(ctx.format, pool, table)?);
            Ok(())
        }
        _ => {
            let plural = match &query.cluster {
                Some(cluster) => format!("node pools in cluster {cluster}"),
                None => "node pools".to_owned(),
            };
            print_list(ctx, &pools, &plural, table)
        }
    }
}

async fn nodes(ctx: &Context, api: &Api, query: NodeQuery) -> anyhow::Result<()> {
    let now = ctx.now();
    let found = match &query.name {
        Some(name) => {
            let node = lookup::find_node(api, name, query.cluster.as_deref()).await?;
            vec![node]
        }
        None => lookup::nodes(api, query.cluster.as_deref(), query.pool.as_deref()).await?,
    };
    let items: Vec<pb::Node> = found.iter().map(|f| f.node.clone()).collect();
    let table = || {
        let rows: Vec<NodeRow<'_>> = found
            .iter()
            .map(|f| NodeRow {
                node: &f.node,
                pool: f.pool.as_deref(),
                cluster: f.cluster.as_deref(),
            })
            .collect();
        tables::nodes(&rows, now)
    };
    match (&query.name, items.first()) {
        (Some(_), Some(node)) => {
            ctx.out(&render_one(ctx.format, node, table)?);
            Ok(())
        }
        _ => print_list(ctx, &items, "nodes", table),
    }
}

async fn projects(ctx: &Context, api: &Api, name: Option<&str>) -> anyhow::Result<()> {
    let now = ctx.now();
    match name {
        Some(name) => {
            let project = api
                .call(api.projects().get_project(pb::GetProjectRequest {
                    project: name.to_owned(),
                }))
                .await?;
            let text = render_one(ctx.format, &project, || {
                tables::projects(std::slice::from_ref(&project), now)
            })?;
            ctx.out(&text);
            Ok(())
        }
        None => {
            let items = api
                .call(api.projects().list_projects(pb::ListProjectsRequest {}))
                .await?
                .projects;
            print_list(ctx, &items, "projects", || tables::projects(&items, now))
        }
    }
}

async fn members(ctx: &Context, api: &Api, name: Option<&str>) -> anyhow::Result<()> {
    let now = ctx.now();
    match name {
        Some(name) => {
            let member = lookup::find_member(api, name).await?;
            let text = render_one(ctx.format, &member, || {
                tables::members(std::slice::from_ref(&member), now)
            })?;
            ctx.out(&text);
            Ok(())
        }
        None => {
            let items = lookup::members(api).await?;
            print_list(ctx, &items, "members", || tables::members(&items, now))
        }
    }
}

async fn api_keys(ctx: &Context, api: &Api, name: Option<&str>) -> anyhow::Result<()> {
    let now = ctx.now();
    let keys = lookup::api_keys(api).await?;
    match name {
        Some(name) => {
            let key = lookup::pick_api_key(keys, name)?;
            let text = render_one(ctx.format, &key, || {
                tables::api_keys(std::slice::from_ref(&key), now)
            })?;
            ctx.out(&text);
            Ok(())
        }
        None => print_list(ctx, &keys, "API keys", || tables::api_keys(&keys, now)),
    }
}

/// The `ListRemediations` request of `accord get remediations`.
pub fn remediations_request(
    project: String,
    query: &RemediationQuery,
) -> pb::ListRemediationsRequest {
    pb::ListRemediationsRequest {
        project,
        cluster: query.cluster.clone(),
        state: query.state.clone().unwrap_or_default(),
        limit: query.limit,
    }
}

async fn remediations_of(ctx: &Context, api: &Api, query: RemediationQuery) -> anyhow::Result<()> {
    let now = ctx.now();
    let items = api
        .call(
            api.remediations()
                .list_remediations(remediations_request(api.project(), &query)),
        )
        .await?
        .items;
    let views: Vec<RemediationView> = items.iter().map(RemediationView::from_pb).collect();
    let plural = match &query.state {
        Some(state) => format!("{state} remediations in cluster {}", query.cluster),
        None => format!("remediations in cluster {}", query.cluster),
    };
    print_list(ctx, &views, &plural, || {
        remediations::list_table(&items, now)
    })
}

/// The `ListFirewallRules` request of `accord get firewall-rules`.
pub fn firewall_rules_request(
    project: String,
    query: &FirewallRuleQuery,
) -> firewall_pb::ListFirewallRulesRequest {
    firewall_pb::ListFirewallRulesRequest {
        project,
        cluster: query.cluster.clone(),
    }
}

/// `accord get firewall-rules --cluster C`: both tiers, required rules first, and the rule
/// set's state (see [`crate::output::firewall`] for the shapes).
async fn firewall_rules(ctx: &Context, query: &FirewallRuleQuery) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    let response = api
        .call(
            api.firewall()
                .list_firewall_rules(firewall_rules_request(api.project(), query)),
        )
        .await
        .map_err(|e| firewall_error(api.endpoint(), e))?;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &FirewallRuleListView::from_pb(&response),
        )?),
        OutputFormat::Name => {
            let views: Vec<FirewallRuleView> = firewall::ordered(&response.rules)
                .into_iter()
                .map(FirewallRuleView::from_pb)
                .collect();
            ctx.out(&render_list(ctx.format, &views, String::new)?);
        }
        OutputFormat::Table if response.rules.is_empty() => {
            ctx.note(&format!(
                "No firewall rules found in cluster {}.",
                query.cluster
            ));
            ctx.out(&firewall::status_line(response.status.as_ref()));
        }
        OutputFormat::Table => ctx.out(&firewall::list_table(&response)),
    }
    Ok(())
}

/// The `ListLoadBalancers` request of `accord get loadbalancers`.
pub fn load_balancers_request(
    project: String,
    query: &LoadBalancerQuery,
) -> firewall_pb::ListLoadBalancersRequest {
    firewall_pb::ListLoadBalancersRequest {
        project,
        cluster: query.cluster.clone(),
    }
}

/// `accord get loadbalancers --cluster C`: in the server's order (see
/// [`crate::output::loadbalancers`] for the shapes); in table form, a load balancer's error
/// while converging is a `warning:` line on stderr.
async fn load_balancers(ctx: &Context, query: &LoadBalancerQuery) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    let response = api
        .call(
            api.firewall()
                .list_load_balancers(load_balancers_request(api.project(), query)),
        )
        .await
        .map_err(|e| firewall_error(api.endpoint(), e))?;
    let items = &response.load_balancers;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &LoadBalancerListView::from_pb(&response),
        )?),
        OutputFormat::Name => {
            let views: Vec<LoadBalancerView> =
                items.iter().map(LoadBalancerView::from_pb).collect();
            ctx.out(&render_list(ctx.format, &views, String::new)?);
        }
        OutputFormat::Table if items.is_empty() => ctx.note(&format!(
            "No load balancers found in cluster {}.",
            query.cluster
        )),
        OutputFormat::Table => {
            ctx.out(&loadbalancers::list_table(items, ctx.now()));
            for line in loadbalancers::message_lines(items) {
                ctx.note(&line);
            }
        }
    }
    Ok(())
}
