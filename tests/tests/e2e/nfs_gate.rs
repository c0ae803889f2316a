//! The provider's per-project NFS gate reaching the csi-driver add-on: the NFS StorageClass is
//! refused (`FAILED_PRECONDITION`, ask the provider) until the storage service announces
//! `nfs.enabled` for the project, accepted and rendered after, and left out of the manifests
//! again after `nfs.disabled`, with the customer's configuration kept as they wrote it. The
//! events go onto the bus as the storage service's outbox relay would publish them.

use accord_bus::CloudEvent;
use accord_core::{ids::ProjectId, storage::StorageEvent};
use accord_e2e::{Env, cluster_request, wait_for};
use accord_proto::addons::v1::{self as apb, addons_client::AddonsClient};
use tonic::Code;

type Client = AddonsClient<accord_e2e::AuthChannel>;

const SHARED_NFS: &str = r#"{"storageClasses":{"sharedNfs":{"enabled":true}}}"#;
const NFS_DRIVER: &str = "nfs.csi.accord.dev";

async fn configure(client: &Client, cluster: &str, config: &str) -> Result<(), tonic::Status> {
    client
        .clone()
        .update_addon_config(apb::UpdateAddonConfigRequest {
            cluster: cluster.to_owned(),
            name: "csi-driver".into(),
            config: config.to_owned(),
            generation: 0,
        })
        .await
        .map(|_| ())
}

async fn csi(client: &Client, cluster: &str) -> Result<apb::AddonInstallation, String> {
    client
        .clone()
        .get_addon(apb::GetAddonRequest {
            cluster: cluster.to_owned(),
            name: "csi-driver".into(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

/// Whether the StorageClasses manifest holds the NFS class (the HelmRelease's values always
/// name the NFS driver).
fn renders_nfs(i: &apb::AddonInstallation) -> bool {
    i.manifests
        .iter()
        .any(|m| m.name.contains("storageclasses") && m.content.contains(NFS_DRIVER))
}

async fn announce(env: &Env, ev: &StorageEvent) {
    let scope = match ev {
        StorageEvent::NfsEnabled { project, .. } | StorageEvent::NfsDisabled { project, .. } => {
            accord_core::events::Scope::Project(*project)
        }
        _ => panic!("only NFS gate events are announced here"),
    };
    let entry = CloudEvent::new("storage-csi", scope, ev)
        .unwrap()
        .outbox_entry()
        .unwrap();
    env.bus.publish_entry(&entry).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nfs_storage_class_follows_the_providers_gate() {
    let mut env = Env::start().await.unwrap();
    env.start_addon_manager().await.unwrap();
    let admin = env.admin().unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let project: ProjectId = env.project.parse().unwrap();

    let mut req = cluster_request("shared", "");
    req.spec.as_mut().unwrap().addons = vec!["csi-driver".into()];
    admin.clusters.clone().create_cluster(req).await.unwrap();
    let installed = wait_for("csi-driver installed", || csi(&addons, "shared"))
        .await
        .unwrap();
    assert!(!renders_nfs(&installed));

    // Closed: the customer is told to ask the provider; the installation is unchanged.
    let refused = configure(&addons, "shared", SHARED_NFS).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("config.storageClasses.sharedNfs.enabled")
            && refused.message().contains("ask your provider"),
        "{}",
        refused.message()
    );
    // The gate is Accord's to set, not the customer's.
    let own = configure(&addons, "shared", r#"{"platform":{"nfsEnabled":true}}"#)
        .await
        .unwrap_err();
    assert_eq!(own.code(), Code::InvalidArgument, "{own:?}");
    assert!(
        own.message().contains("config.platform"),
        "{}",
        own.message()
    );
    assert_eq!(
        csi(&addons, "shared").await.unwrap().generation,
        installed.generation
    );

    // The provider enables NFS: the same request is accepted once the event has arrived.
    announce(
        &env,
        &StorageEvent::NfsEnabled {
            project,
            by: "operator".into(),
            reason: "ticket 42".into(),
            mount: "nfs".into(),
        },
    )
    .await;
    wait_for("sharedNfs accepted after nfs.enabled", || async {
        configure(&addons, "shared", SHARED_NFS)
            .await
            .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
    })
    .await
    .unwrap();
    let enabled = csi(&addons, "shared").await.unwrap();
    assert!(renders_nfs(&enabled), "the NFS class is rendered");
    assert!(
        !enabled.config.contains("platform"),
        "the customer's values are shown as they wrote them: {}",
        enabled.config
    );

    // Disabled again (nothing uses NFS): re-rendered without the class, values kept.
    announce(
        &env,
        &StorageEvent::NfsDisabled {
            project,
            by: "operator".into(),
            reason: "no longer used".into(),
        },
    )
    .await;
    let disabled = wait_for("re-rendered without NFS after nfs.disabled", || async {
        let i = csi(&addons, "shared").await?;
        if renders_nfs(&i) {
            Err("the NFS class is still rendered".to_owned())
        } else {
            Ok(i)
        }
    })
    .await
    .unwrap();
    assert_eq!(disabled.config, enabled.config);
    assert_eq!(
        disabled.generation, enabled.generation,
        "not a configuration change"
    );
}
