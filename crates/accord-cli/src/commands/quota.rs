//! `accord quota set PROJECT --gpus N`: the provider operator sets a project's GPU quota.

use accord_proto::provisioner::v1 as pb;

use super::{Context, announce};
use crate::cli::QuotaCommand;

/// Runs `accord quota`.
pub async fn run(ctx: &Context, command: QuotaCommand) -> anyhow::Result<()> {
    let QuotaCommand::Set(args) = command;
    let api = ctx.api().await?;
    let project = api
        .call(
            api.projects()
                .set_project_quota(pb::SetProjectQuotaRequest {
                    project: args.name.clone(),
                    gpu_quota: args.gpus,
                    resource_version: 0,
                }),
        )
        .await?;
    announce(ctx, &project, &format!("GPU quota set to {}", args.gpus))
}
