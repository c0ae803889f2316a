//! `accord whoami`: the party, user, project, role and key the token authenticates as.

use accord_proto::provisioner::v1 as pb;

use super::Context;
use crate::cli::OutputFormat;
use crate::output::views::WhoAmIView;
use crate::output::{describe, structured};

/// Runs `accord whoami`.
pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let me = api
        .call(api.projects().who_am_i(pb::WhoAmIRequest {}))
        .await?;
    let text = match ctx.format {
        OutputFormat::Table => describe::whoami(&me),
        OutputFormat::Name => format!("user/{}", me.user),
        OutputFormat::Json | OutputFormat::Yaml => structured(ctx.format, &WhoAmIView::from(&me))?,
    };
    ctx.out(&text);
    Ok(())
}
