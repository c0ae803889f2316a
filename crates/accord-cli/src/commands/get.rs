//! `accord get <kind> [NAME]`: a table (or JSON / YAML / names) of one resource or all of a kind.
//!
//! Firewall rules and load balancers come from the network-firewall service, volumes, snapshots,
//! StorageClasses and migrations from the storage-csi service, images and builds from the
//! image-builder (each at its package's endpoint in the profile, else `endpoint`); everything
//! else from the provisioner.
//!
//! Clusters, node pools and nodes take the listing options ([`ListOptions`]): `-l` (matched
//! here, after the list call: the list RPCs have no selector), `--no-headers`, `-o wide`
//! ([`crate::output::wide`]) and `--watch` ([`super::watch`]). A name with `--watch` or `-l`
//! lists and filters, so the watch sees the resource appear and disappear.

use accord_proto::firewall::v1 as firewall_pb;
use accord_proto::provisioner::v1 as pb;

use futures::future::BoxFuture;

use super::lookup::{FoundNode, FoundPool};
use super::watch::{self, Watched};
use super::{Context, firewall_error, lookup};
use crate::cli::{
    ClusterQuery, FirewallRuleQuery, GetKind, ListOptions, LoadBalancerQuery, NodeQuery,
    OptionalName, OutputFormat, PoolQuery, RemediationQuery,
};
use crate::client::Api;
use crate::output::firewall::{self, FirewallRuleListView, FirewallRuleView};
use crate::output::loadbalancers::{self, LoadBalancerListView, LoadBalancerView};
use crate::output::remediations::{self, RemediationView};
use crate::output::tables::{self, NodeRow, PoolRow};
use crate::output::{Resource, render_list, render_one, structured, wide};

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
        GetKind::Cluster(query) => clusters(ctx, &api, query).await,
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

/// Keeps the resources `-l` selects (all without a selector).
fn selected<T>(
    items: Vec<T>,
    list: &ListOptions,
    meta: impl Fn(&T) -> Option<&pb::ObjectMeta>,
) -> Vec<T> {
    let Some(selector) = &list.selector else {
        return items;
    };
    items
        .into_iter()
        .filter(|item| meta(item).is_some_and(|m| selector.matches(&m.labels)))
        .collect()
}

/// A table as `--no-headers` wants it.
fn headed(list: &ListOptions, table: String) -> String {
    if list.no_headers {
        wide::without_header(&table)
    } else {
        table
    }
}

/// Prints a listing of clusters, node pools or nodes: `-l`, `-o wide` and `--no-headers`
/// applied (a name, when given, also filters). With `--watch`, then follows the changes.
async fn listing<T: Watched>(
    ctx: &Context,
    list_options: &ListOptions,
    plural: &str,
    mut list: impl FnMut() -> BoxFuture<'static, anyhow::Result<Vec<T>>> + Send,
    table: &(dyn Fn(&[T]) -> String + Sync),
) -> anyhow::Result<()> {
    let items = list().await?;
    let printed: Vec<T::Printed> = items.iter().map(|item| item.printed().clone()).collect();
    if items.is_empty() && ctx.format == OutputFormat::Table {
        let filter = match &list_options.selector {
            Some(selector) => format!(" matching {selector}"),
            None => String::new(),
        };
        ctx.note(&format!("No {plural}{filter} found."));
    } else {
        let text = render_list(ctx.format, &printed, || headed(list_options, table(&items)))?;
        ctx.out(&text);
    }
    if list_options.watch {
        let needs_header = items.is_empty() && !list_options.no_headers;
        return watch::follow(ctx, items, list, table, needs_header).await;
    }
    Ok(())
}

/// Whether `query` (a name or id, if any) names the resource.
fn named(meta: Option<&pb::ObjectMeta>, query: Option<&str>) -> bool {
    query.is_none_or(|query| lookup::matches(meta, query))
}

async fn clusters(ctx: &Context, api: &Api, query: ClusterQuery) -> anyhow::Result<()> {
    let wide_table = query.list.wide;
    // Ages are relative to when the rows are printed: a watch prints them later.
    let table = |items: &[pb::Cluster]| {
        let now = ctx.now();
        if wide_table {
            wide::clusters(items, now)
        } else {
            tables::clusters(items, now)
        }
    };
    let options = &query.list;
    if let (Some(name), false, None) = (&query.name, options.watch, &options.selector) {
        let cluster = lookup::cluster(api, name).await?;
        let text = render_one(ctx.format, &cluster, || {
            headed(options, table(std::slice::from_ref(&cluster)))
        })?;
        ctx.out(&text);
        return Ok(());
    }
    let (api, name, filter) = (api.clone(), query.name.clone(), options.clone());
    let list = move || -> BoxFuture<'static, anyhow::Result<Vec<pb::Cluster>>> {
        let (api, name, filter) = (api.clone(), name.clone(), filter.clone());
        Box::pin(async move {
            let items = lookup::clusters(&api).await?;
            let items = items
                .into_iter()
                .filter(|c| named(c.metadata.as_ref(), name.as_deref()))
                .collect();
            Ok(selected(items, &filter, |c: &pb::Cluster| {
                c.metadata.as_ref()
            }))
        })
    };
    listing(ctx, options, "clusters", list, &table).await
}

async fn node_pools(ctx: &Context, api: &Api, query: PoolQuery) -> anyhow::Result<()> {
    let wide_table = query.list.wide;
    let table = |found: &[FoundPool]| {
        let now = ctx.now();
        let rows: Vec<PoolRow<'_>> = found
            .iter()
            .map(|f| PoolRow {
                pool: &f.pool,
                cluster: f.cluster.as_deref(),
            })
            .collect();
        if wide_table {
            wide::node_pools(&rows, now)
        } else {
            tables::node_pools(&rows, now)
        }
    };
    let options = &query.list;
    if let (Some(name), false, None) = (&query.name, options.watch, &options.selector) {
        let found = lookup::find_pool(api, name, query.cluster.as_deref()).await?;
        let text = render_one(ctx.format, &found.pool, || {
            headed(options, table(std::slice::from_ref(&found)))
        })?;
        ctx.out(&text);
        return Ok(());
    }
    let plural = match &query.cluster {
        Some(cluster) => format!("node pools in cluster {cluster}"),
        None => "node pools".to_owned(),
    };
    let (api, name, cluster, filter) = (
        api.clone(),
        query.name.clone(),
        query.cluster.clone(),
        options.clone(),
    );
    let list = move || -> BoxFuture<'static, anyhow::Result<Vec<FoundPool>>> {
        let (api, name, cluster, filter) =
            (api.clone(), name.clone(), cluster.clone(), filter.clone());
        Box::pin(async move {
            let found = lookup::pools(&api, cluster.as_deref()).await?;
            let found = found
                .into_iter()
                .filter(|f| named(f.pool.metadata.as_ref(), name.as_deref()))
                .collect();
            Ok(selected(found, &filter, |f: &FoundPool| {
                f.pool.metadata.as_ref()
            }))
        })
    };
    listing(ctx, options, &plural, list, &table).await
}

async fn nodes(ctx: &Context, api: &Api, query: NodeQuery) -> anyhow::Result<()> {
    let wide_table = query.list.wide;
    let table = |found: &[FoundNode]| {
        let now = ctx.now();
        let rows: Vec<NodeRow<'_>> = found
            .iter()
            .map(|f| NodeRow {
                node: &f.node,
                pool: f.pool.as_deref(),
                cluster: f.cluster.as_deref(),
            })
            .collect();
        if wide_table {
            wide::nodes(&rows, now)
        } else {
            tables::nodes(&rows, now)
        }
    };
    let options = &query.list;
    if let (Some(name), false, None) = (&query.name, options.watch, &options.selector) {
        let found = lookup::find_node(api, name, query.cluster.as_deref()).await?;
        let text = render_one(ctx.format, &found.node, || {
            headed(options, table(std::slice::from_ref(&found)))
        })?;
        ctx.out(&text);
        return Ok(());
    }
    let (api, name, cluster, pool, filter) = (
        api.clone(),
        query.name.clone(),
        query.cluster.clone(),
        query.pool.clone(),
        options.clone(),
    );
    let list = move || -> BoxFuture<'static, anyhow::Result<Vec<FoundNode>>> {
        let (api, name, cluster, pool, filter) = (
            api.clone(),
            name.clone(),
            cluster.clone(),
            pool.clone(),
            filter.clone(),
        );
        Box::pin(async move {
            let found = lookup::nodes(&api, cluster.as_deref(), pool.as_deref()).await?;
            let found = found
                .into_iter()
                .filter(|f| named(f.node.metadata.as_ref(), name.as_deref()))
                .collect();
            Ok(selected(found, &filter, |f: &FoundNode| {
                f.node.metadata.as_ref()
            }))
        })
    };
    listing(ctx, options, "nodes", list, &table).await
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
