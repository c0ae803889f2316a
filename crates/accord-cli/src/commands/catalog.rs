//! `accord catalog versions|regions|instance-types|images`: what the cloud offers (images from
//! the image-builder, as `accord get images`).

use accord_proto::provisioner::v1 as pb;
use serde_json::json;

use super::Context;
use crate::cli::{CatalogKind, OutputFormat};
use crate::output::{render_list, structured, tables};

/// Runs `accord catalog`.
pub async fn run(ctx: &Context, kind: CatalogKind) -> anyhow::Result<()> {
    // Published images come from the image-builder (as `accord get images`); the rest from
    // the provisioner.
    let api = match kind {
        CatalogKind::Images => {
            return super::images::get_images(ctx, &crate::cli::ImageQuery::default()).await;
        }
        _ => ctx.api().await?,
    };
    let text = match kind {
        CatalogKind::Versions => {
            let response = api
                .call(
                    api.clusters()
                        .list_kubernetes_versions(pb::ListKubernetesVersionsRequest {}),
                )
                .await?;
            match ctx.format {
                OutputFormat::Table => tables::versions(&response),
                OutputFormat::Name => response
                    .versions
                    .iter()
                    .map(|v| format!("version/{v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                OutputFormat::Json | OutputFormat::Yaml => structured(
                    ctx.format,
                    &json!({
                        "kind": "KubernetesVersionList",
                        "versions": response.versions,
                        "default_version": response.default_version,
                    }),
                )?,
            }
        }
        CatalogKind::Regions => {
            let regions = api
                .call(api.clusters().list_regions(pb::ListRegionsRequest {}))
                .await?
                .regions;
            render_list(ctx.format, &regions, || tables::regions(&regions))?
        }
        CatalogKind::InstanceTypes => {
            let types = api
                .call(
                    api.node_pools()
                        .list_instance_types(pb::ListInstanceTypesRequest {}),
                )
                .await?
                .instance_types;
            render_list(ctx.format, &types, || tables::instance_types(&types))?
        }
        // Served above by the image-builder.
        CatalogKind::Images => return Ok(()),
    };
    ctx.out(&text);
    Ok(())
}
