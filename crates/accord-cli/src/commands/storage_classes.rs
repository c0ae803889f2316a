//! `accord create|get|delete storageclass`: a cluster's StorageClasses, validated and
//! rendered as storage.k8s.io/v1 objects by the storage-csi service.
//!
//! `accord get storageclasses -o yaml` prints the rendered manifests as one multi-document YAML
//! stream (pipe it to `kubectl apply -f -`); `-o json` prints the classes with their fields.
//! A class whose CSI driver is not installed is accepted: the table says so and a `warning:`
//! line on stderr says what to install.

use std::collections::HashMap;

use accord_proto::storage::v1 as pb;

use super::{Context, storage_error};
use crate::cli::{ClusterResourceRef, ClusterScope, CreateStorageClassArgs, OutputFormat};
use crate::output::storage::{self, StorageClassListView};
use crate::output::{Resource, render_list, structured};

/// The `CreateStorageClass` request of `accord create storageclass`: `type`, `filesystem` and
/// `mount` as parameters; a flag left out is left to the server's default.
pub fn create_request(
    project: String,
    args: &CreateStorageClassArgs,
) -> pb::CreateStorageClassRequest {
    let mut parameters = HashMap::from([("type".to_owned(), args.class_type.as_str().to_owned())]);
    if let Some(filesystem) = args.filesystem {
        parameters.insert("filesystem".to_owned(), filesystem.as_str().to_owned());
    }
    if let Some(mount) = args.mount {
        parameters.insert("mount".to_owned(), mount.as_str().to_owned());
    }
    pb::CreateStorageClassRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        parameters,
        reclaim_policy: args
            .reclaim_policy
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        volume_binding_mode: args
            .binding_mode
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default(),
        allow_volume_expansion: args.no_expansion.then_some(false),
        default_class: args.default_class,
    }
}

/// `accord create storageclass`: `storageclass/NAME created` and its row (table), its manifest
/// (`-o yaml`), the class (`-o json`).
pub async fn create(ctx: &Context, args: &CreateStorageClassArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let class = api
        .call(
            api.storage()
                .create_storage_class(create_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let kind = <pb::StorageClass as Resource>::KIND;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!(
            "{kind}/{} created\n{}",
            class.name,
            storage::storage_classes_table(std::slice::from_ref(&class))
        )),
        OutputFormat::Name => ctx.out(&format!("{kind}/{}", class.name)),
        OutputFormat::Yaml => ctx.out(&storage::manifests_stream(std::slice::from_ref(&class))),
        OutputFormat::Json => ctx.out(&structured(ctx.format, &class.to_value()?)?),
    }
    if !class.driver_installed {
        ctx.note(&storage::driver_warning(&args.cluster));
    }
    Ok(())
}

/// `accord get storageclasses --cluster C`.
pub async fn list(ctx: &Context, scope: &ClusterScope) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let response = api
        .call(
            api.storage()
                .list_storage_classes(pb::ListStorageClassesRequest {
                    project: api.project(),
                    cluster: scope.cluster.clone(),
                }),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    let classes = &response.storage_classes;
    match ctx.format {
        OutputFormat::Yaml => ctx.out(&storage::manifests_stream(classes)),
        OutputFormat::Json => ctx.out(&structured(
            ctx.format,
            &StorageClassListView::from_pb(&response),
        )?),
        OutputFormat::Name => ctx.out(&render_list(ctx.format, classes, String::new)?),
        OutputFormat::Table if classes.is_empty() => ctx.note(&format!(
            "No StorageClasses found in cluster {}.",
            scope.cluster
        )),
        OutputFormat::Table => ctx.out(&storage::storage_classes_table(classes)),
    }
    if !response.driver_installed && ctx.format == OutputFormat::Table {
        ctx.note(&storage::driver_warning(&scope.cluster));
    }
    Ok(())
}

/// `accord delete storageclass`.
pub async fn delete(ctx: &Context, target: &ClusterResourceRef) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    api.call(
        api.storage()
            .delete_storage_class(pb::DeleteStorageClassRequest {
                project: api.project(),
                cluster: target.cluster.clone(),
                name: target.name.clone(),
            }),
    )
    .await
    .map_err(|e| storage_error(api.endpoint(), e))?;
    let kind = <pb::StorageClass as Resource>::KIND;
    let name = &target.name;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{kind}/{name} deleted")),
        OutputFormat::Name => ctx.out(&format!("{kind}/{name}")),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &serde_json::json!({ "name": name, "cluster": target.cluster, "deleted": true }),
        )?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{BindingModeArg, FilesystemArg, MountArg, ReclaimPolicyArg, VolumeTypeArg};

    fn args() -> CreateStorageClassArgs {
        CreateStorageClassArgs {
            name: "fast".into(),
            cluster: "demo".into(),
            class_type: VolumeTypeArg::Disk,
            filesystem: None,
            mount: None,
            reclaim_policy: None,
            binding_mode: None,
            no_expansion: false,
            default_class: false,
        }
    }

    #[test]
    fn flags_left_out_are_the_server_defaults() {
        let request = create_request("acme".into(), &args());
        assert_eq!(
            request,
            pb::CreateStorageClassRequest {
                project: "acme".into(),
                cluster: "demo".into(),
                name: "fast".into(),
                parameters: HashMap::from([("type".to_owned(), "disk".to_owned())]),
                reclaim_policy: String::new(),
                volume_binding_mode: String::new(),
                allow_volume_expansion: None,
                default_class: false,
            }
        );
    }

    #[test]
    fn every_flag_reaches_the_request() {
        let request = create_request(
            String::new(),
            &CreateStorageClassArgs {
                class_type: VolumeTypeArg::Shared,
                filesystem: Some(FilesystemArg::Xfs),
                mount: Some(MountArg::Nfs),
                reclaim_policy: Some(ReclaimPolicyArg::Retain),
                binding_mode: Some(BindingModeArg::Immediate),
                no_expansion: true,
                default_class: true,
                ..args()
            },
        );
        assert_eq!(
            request.parameters,
            HashMap::from([
                ("type".to_owned(), "shared".to_owned()),
                ("filesystem".to_owned(), "xfs".to_owned()),
                ("mount".to_owned(), "nfs".to_owned()),
            ])
        );
        assert_eq!(request.reclaim_policy, "Retain");
        assert_eq!(request.volume_binding_mode, "Immediate");
        assert_eq!(request.allow_volume_expansion, Some(false));
        assert!(request.default_class);
        let wait = create_request(
            String::new(),
            &CreateStorageClassArgs {
                binding_mode: Some(BindingModeArg::WaitForFirstConsumer),
                reclaim_policy: Some(ReclaimPolicyArg::Delete),
                ..args()
            },
        );
        assert_eq!(wait.volume_binding_mode, "WaitForFirstConsumer");
        assert_eq!(wait.reclaim_policy, "Delete");
    }
}
