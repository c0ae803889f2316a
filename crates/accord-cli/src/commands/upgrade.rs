//! `accord upgrade request|execute`: the customer asks for the next Kubernetes minor version;
//! the provider operator carries the upgrade out (control-plane replicas one by one).

use accord_core::validation::KubeVersion;
use accord_proto::provisioner::v1 as pb;
use anyhow::Context as _;

use super::{Context, announce, announce_and_wait, id_or, lookup, name_or, poll_cluster};
use crate::cli::{OutputFormat, UpgradeCommand, UpgradeExecuteArgs, UpgradeRequestArgs};
use crate::client::Api;
use crate::wait;

/// Runs `accord upgrade`.
pub async fn run(ctx: &Context, command: UpgradeCommand) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    match command {
        UpgradeCommand::Request(args) => request(ctx, &api, args).await,
        UpgradeCommand::Execute(args) => execute(ctx, &api, args).await,
    }
}

/// The minor version after `current` (`1.32` → `1.33`).
pub fn next_minor(current: &str) -> anyhow::Result<String> {
    let version: KubeVersion = current
        .parse()
        .map_err(|error: String| anyhow::anyhow!(error))
        .with_context(|| {
            format!("the cluster reports version {current:?}; pass --kubernetes-version")
        })?;
    Ok(version.next_minor().to_string())
}

/// The version an upgrade moves to, as the cluster reports it.
pub fn upgrade_target(cluster: &pb::Cluster) -> String {
    let requested = cluster
        .status
        .as_ref()
        .map(|s| s.requested_version.clone())
        .unwrap_or_default();
    if requested.is_empty() {
        cluster
            .spec
            .as_ref()
            .map(|s| s.kubernetes_version.clone())
            .unwrap_or_default()
    } else {
        requested
    }
}

async fn request(ctx: &Context, api: &Api, args: UpgradeRequestArgs) -> anyhow::Result<()> {
    let version = match &args.kubernetes_version {
        Some(version) => version.clone(),
        None => {
            let cluster = lookup::cluster(api, &args.cluster).await?;
            let status = cluster.status.clone().unwrap_or_default();
            let current = if status.current_version.is_empty() {
                cluster.spec.clone().unwrap_or_default().kubernetes_version
            } else {
                status.current_version
            };
            next_minor(&current)?
        }
    };
    let cluster = api
        .call(
            api.clusters()
                .request_cluster_upgrade(pb::RequestClusterUpgradeRequest {
                    project: api.project(),
                    cluster: args.cluster.clone(),
                    kubernetes_version: version.clone(),
                    resource_version: 0,
                }),
        )
        .await?;
    announce(ctx, &cluster, &format!("upgrade to {version} requested"))?;
    if ctx.format == OutputFormat::Table {
        ctx.note(&format!(
            "the provider carries the upgrade out (`accord upgrade execute {}` with an operator token)",
            name_or(cluster.metadata.as_ref(), &args.cluster)
        ));
    }
    Ok(())
}

async fn execute(ctx: &Context, api: &Api, args: UpgradeExecuteArgs) -> anyhow::Result<()> {
    let cluster = api
        .call(
            api.clusters()
                .execute_cluster_upgrade(pb::ExecuteClusterUpgradeRequest {
                    project: api.project(),
                    cluster: args.cluster.clone(),
                    resource_version: 0,
                }),
        )
        .await?;
    let id = id_or(cluster.metadata.as_ref(), &args.cluster);
    let name = name_or(cluster.metadata.as_ref(), &args.cluster);
    let target = upgrade_target(&cluster);
    announce_and_wait(
        ctx,
        cluster,
        &format!("upgrading to {target}"),
        args.wait,
        &format!("cluster {name} to run Kubernetes {target}"),
        poll_cluster(api, &id),
        wait::cluster_upgraded(&name, &target),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn next_minor_versions() {
        assert_eq!(next_minor("1.32").unwrap(), "1.33");
        let err = format!("{:#}", next_minor("latest").unwrap_err());
        assert!(err.contains("--kubernetes-version"), "{err}");
    }

    #[test]
    fn upgrade_target_prefers_the_requested_version() {
        let mut cluster = fixtures::cluster("demo", "cl-1");
        assert_eq!(upgrade_target(&cluster), "1.32");
        cluster.status.as_mut().unwrap().requested_version = "1.33".into();
        assert_eq!(upgrade_target(&cluster), "1.33");
    }
}
