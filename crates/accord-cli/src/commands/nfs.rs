//! `accord nfs enable|disable|status`: a project's NFS gate, which the shared filesystem back
//! end needs. Enabling and disabling are the provider's (operators use `--profile operator`);
//! the server decides who may call and answers `PERMISSION_DENIED` otherwise. PROJECT is a name
//! or an id, passed as typed.

use accord_proto::storage::v1 as pb;

use super::{Context, storage_error};
use crate::cli::{NfsCommand, NfsSetArgs, NfsStatusArgs, OutputFormat};
use crate::output::storage::{self, NfsGateView};
use crate::output::structured;

/// Runs `accord nfs …`.
pub async fn run(ctx: &Context, command: NfsCommand) -> anyhow::Result<()> {
    match command {
        NfsCommand::Enable(args) => set(ctx, &args, true).await,
        NfsCommand::Disable(args) => set(ctx, &args, false).await,
        NfsCommand::Status(args) => status(ctx, &args).await,
    }
}

/// The `EnableNfs` / `DisableNfs` request.
pub fn set_request(args: &NfsSetArgs) -> pb::SetNfsRequest {
    pb::SetNfsRequest {
        project: args.name.clone(),
        reason: args.reason.clone(),
        mount: args
            .mount
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// The `GetNfs` request: the named project, else `--project` (empty: the key's project).
pub fn get_request(default_project: String, args: &NfsStatusArgs) -> pb::GetNfsRequest {
    pb::GetNfsRequest {
        project: args.name.clone().unwrap_or(default_project),
    }
}

/// Prints a gate: the table form is a short document, `-o name` is `nfs/PROJECT`.
fn print(ctx: &Context, gate: &pb::NfsGate, headline: Option<&str>) -> anyhow::Result<()> {
    match ctx.format {
        OutputFormat::Table => {
            if let Some(headline) = headline {
                ctx.out(headline);
            }
            ctx.out(&storage::nfs_gate_text(gate, ctx.now()));
        }
        OutputFormat::Name => ctx.out(&format!("nfs/{}", gate.project)),
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &NfsGateView::from_pb(gate))?);
        }
    }
    Ok(())
}

async fn set(ctx: &Context, args: &NfsSetArgs, enable: bool) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let request = set_request(args);
    let call = if enable {
        api.call(api.storage().enable_nfs(request)).await
    } else {
        api.call(api.storage().disable_nfs(request)).await
    };
    let gate = call.map_err(|e| storage_error(api.endpoint(), e))?;
    let project = if gate.project.is_empty() {
        &args.name
    } else {
        &gate.project
    };
    let verb = if enable { "enabled" } else { "disabled" };
    print(
        ctx,
        &gate,
        Some(&format!("NFS {verb} for project {project}")),
    )
}

async fn status(ctx: &Context, args: &NfsStatusArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let gate = api
        .call(api.storage().get_nfs(get_request(api.project(), args)))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    print(ctx, &gate, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_the_project_as_typed() {
        let args = NfsSetArgs {
            name: "pr-01jexample00000000000001".into(),
            reason: "ticket T-1234".into(),
            mount: Some(crate::cli::MountArg::Virtiofs),
        };
        assert_eq!(
            set_request(&args),
            pb::SetNfsRequest {
                project: "pr-01jexample00000000000001".into(),
                reason: "ticket T-1234".into(),
                mount: "virtiofs".into(),
            }
        );
        assert_eq!(
            get_request("acme".into(), &NfsStatusArgs { name: None }).project,
            "acme"
        );
        assert_eq!(
            get_request(
                "acme".into(),
                &NfsStatusArgs {
                    name: Some("globex".into())
                }
            )
            .project,
            "globex"
        );
    }
}
