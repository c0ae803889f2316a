//! `accord delete cluster|nodepool|member|apikey|firewall-rule|loadbalancer` (and
//! `volume|storageclass`, handled in [`super::volumes`] and [`super::storage_classes`]).
//! Cluster and node-pool deletion is asynchronous (the API answers with the resource in phase `deleting`);
//! `--wait` polls until it is gone. Removing a member and revoking a key take effect at once.
//!
//! `accord delete firewall-rule NAME --cluster C` asks the network-firewall service (its
//! package's endpoint in the profile, else `endpoint`); the rule is gone from the rule set at
//! once, and the VPC firewall follows (see `accord get firewall-rules`). `accord delete
//! loadbalancer NAME --cluster C` asks the same service; the load balancer's address and
//! firewall rule go with it.

use accord_proto::firewall::v1 as firewall_pb;
use accord_proto::provisioner::v1 as pb;

use super::{Context, announce, announce_and_wait, id_or, name_or, poll_cluster, poll_pool};
use crate::cli::{
    DeleteClusterArgs, DeleteFirewallRuleArgs, DeleteKind, DeleteLoadBalancerArgs, DeletePoolArgs,
    Name, OutputFormat,
};
use crate::client::Api;
use crate::output::structured;
use crate::wait;

/// Runs `accord delete`.
pub async fn run(ctx: &Context, kind: DeleteKind) -> anyhow::Result<()> {
    if let DeleteKind::FirewallRule(args) = &kind {
        return firewall_rule(ctx, args).await;
    }
    if let DeleteKind::Loadbalancer(args) = &kind {
        return load_balancer(ctx, args).await;
    }
    // The storage-csi service, at its own endpoint.
    match &kind {
        DeleteKind::Volume(args) => return super::volumes::delete(ctx, args).await,
        DeleteKind::Storageclass(target) => {
            return super::storage_classes::delete(ctx, target).await;
        }
        _ => {}
    }
    let api = ctx.api().await?;
    match kind {
        DeleteKind::Cluster(args) => cluster(ctx, &api, args).await,
        DeleteKind::Nodepool(args) => node_pool(ctx, &api, args).await,
        DeleteKind::Member(Name { name }) => member(ctx, &api, &name).await,
        DeleteKind::Apikey(Name { name }) => api_key(ctx, &api, &name).await,
        DeleteKind::FirewallRule(args) => firewall_rule(ctx, &args).await,
        DeleteKind::Loadbalancer(args) => load_balancer(ctx, &args).await,
        DeleteKind::Volume(args) => super::volumes::delete(ctx, &args).await,
        DeleteKind::Storageclass(target) => super::storage_classes::delete(ctx, &target).await,
    }
}

async fn cluster(ctx: &Context, api: &Api, args: DeleteClusterArgs) -> anyhow::Result<()> {
    let deleting = api
        .call(api.clusters().delete_cluster(pb::DeleteClusterRequest {
            project: api.project(),
            cluster: args.name.clone(),
            resource_version: 0,
        }))
        .await?;
    let id = id_or(deleting.metadata.as_ref(), &args.name);
    let name = name_or(deleting.metadata.as_ref(), &args.name);
    announce_and_wait(
        ctx,
        deleting,
        "deleting",
        args.wait,
        &format!("cluster {name} to be deleted"),
        poll_cluster(api, &id),
        wait::gone("cluster", &name, wait::cluster_phase),
    )
    .await
}

async fn node_pool(ctx: &Context, api: &Api, args: DeletePoolArgs) -> anyhow::Result<()> {
    let deleting = api
        .call(
            api.node_pools()
                .delete_node_pool(pb::DeleteNodePoolRequest {
                    project: api.project(),
                    cluster: args.cluster.clone(),
                    node_pool: args.name.clone(),
                    resource_version: 0,
                }),
        )
        .await?;
    let id = id_or(deleting.metadata.as_ref(), &args.name);
    let name = name_or(deleting.metadata.as_ref(), &args.name);
    announce_and_wait(
        ctx,
        deleting,
        "deleting",
        args.wait,
        &format!("nodepool {name} to be deleted"),
        poll_pool(api, &args.cluster, &id),
        wait::gone("nodepool", &name, wait::pool_phase),
    )
    .await
}

async fn member(ctx: &Context, api: &Api, user: &str) -> anyhow::Result<()> {
    let response = api
        .call(api.projects().remove_member(pb::RemoveMemberRequest {
            project: api.project(),
            user: user.to_owned(),
        }))
        .await?;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!(
            "member/{user} removed ({} API key{} revoked)",
            response.revoked_keys,
            if response.revoked_keys == 1 { "" } else { "s" }
        )),
        OutputFormat::Name => ctx.out(&format!("member/{user}")),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &serde_json::json!({ "user": user, "removed": true, "revoked_keys": response.revoked_keys }),
        )?),
    }
    Ok(())
}

async fn api_key(ctx: &Context, api: &Api, key: &str) -> anyhow::Result<()> {
    let revoked = api
        .call(api.projects().revoke_api_key(pb::RevokeApiKeyRequest {
            project: api.project(),
            key: key.to_owned(),
        }))
        .await?;
    announce(ctx, &revoked, "revoked")
}

/// The name prefix of the provider's required firewall rules.
const REQUIRED_PREFIX: &str = "accord-";

/// The `DeleteFirewallRule` request of `accord delete firewall-rule`.
pub fn firewall_rule_request(
    project: String,
    args: &DeleteFirewallRuleArgs,
) -> firewall_pb::DeleteFirewallRuleRequest {
    firewall_pb::DeleteFirewallRuleRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
    }
}

async fn firewall_rule(ctx: &Context, args: &DeleteFirewallRuleArgs) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    api.call(
        api.firewall()
            .delete_firewall_rule(firewall_rule_request(api.project(), args)),
    )
    .await
    .map_err(|e| match e.code() {
        // Nobody may delete a required rule, operator or not: the server's words say why, and
        // the generic hint (an operator token) would mislead.
        Some(tonic::Code::PermissionDenied) if args.name.trim().starts_with(REQUIRED_PREFIX) => {
            anyhow::anyhow!("{e}")
        }
        _ => super::firewall_error(api.endpoint(), e),
    })?;
    let name = &args.name;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("firewallrule/{name} deleted")),
        OutputFormat::Name => ctx.out(&format!("firewallrule/{name}")),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &serde_json::json!({ "name": name, "cluster": args.cluster, "deleted": true }),
        )?),
    }
    Ok(())
}

/// The `DeleteLoadBalancer` request of `accord delete loadbalancer`.
pub fn load_balancer_request(
    project: String,
    args: &DeleteLoadBalancerArgs,
) -> firewall_pb::DeleteLoadBalancerRequest {
    firewall_pb::DeleteLoadBalancerRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
    }
}

async fn load_balancer(ctx: &Context, args: &DeleteLoadBalancerArgs) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    api.call(
        api.firewall()
            .delete_load_balancer(load_balancer_request(api.project(), args)),
    )
    .await
    .map_err(|e| super::firewall_error(api.endpoint(), e))?;
    let name = &args.name;
    let kind = crate::output::loadbalancers::KIND;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{kind}/{name} deleted")),
        OutputFormat::Name => ctx.out(&format!("{kind}/{name}")),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &serde_json::json!({ "name": name, "cluster": args.cluster, "deleted": true }),
        )?),
    }
    Ok(())
}
