//! Rendering: the provider's chart as a Flux `HelmRepository` (type `oci`) + `HelmRelease`
//! (addon-kit's `flux`) and the StorageClasses.
//!
//! The chart's own StorageClass creation is off (`storageClasses.create: false`): the classes
//! are rendered here as Kubernetes objects so the customer sees and owns them. Block disks bind
//! `WaitForFirstConsumer` (a disk is attached where its pod lands); the NFS class binds
//! `Immediate` (any node can mount a share) and defaults to `Retain` (shared data outlives a
//! claim unless the customer decides otherwise). The NFS class and the shared disk are rendered
//! only while the provider's gate (`platform.nfsEnabled`) is open: asked for while it is closed
//! (NFS disabled after the customer enabled the class), they are left out with a note.

use addon_kit::flux::{self, HelmChart};
use addon_kit::k8s::{self, Labels, StorageClassSpec};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::json;

use crate::{releases, settings};

/// Namespace the driver runs in.
pub const NAMESPACE: &str = "kube-system";

/// Where the provider publishes the chart.
pub const CHART_REPOSITORY: &str = "oci://registry.accord.dev/charts";

/// CSI driver name for persistent block disks.
pub const DISK_DRIVER: &str = "disk.csi.accord.dev";

/// CSI driver name for shared NFS disks.
pub const NFS_DRIVER: &str = "nfs.csi.accord.dev";

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let version = releases::find(version)?;
    let labels = Labels {
        addon: crate::NAME,
        version,
    };
    let nfs = settings::nfs_rendered(config)?;
    let cpu_pools: Vec<&str> = cluster.cpu_pools().map(|p| p.name.as_str()).collect();

    let mut controller = json!({
        "replicas": config.u64("controller.replicas")?,
        "logLevel": config.u64("controller.logLevel")?,
        "priorityClassName": "system-cluster-critical",
    });
    if let (Some(map), Some(affinity)) =
        (controller.as_object_mut(), k8s::preferred_pools(&cpu_pools))
    {
        map.insert("affinity".into(), affinity);
    }
    let values = json!({
        "image": {
            "repository": format!("{}/csi-driver", config.str("image.repository")?),
            "tag": format!("v{version}"),
        },
        "cluster": {"id": cluster.id, "region": cluster.region},
        "driver": {"diskName": DISK_DRIVER, "nfsName": NFS_DRIVER},
        "controller": controller,
        "node": {
            "maxVolumesPerNode": config.u64("node.maxVolumesPerNode")?,
            "kubeletDir": config.str("node.kubeletDir")?,
            "priorityClassName": "system-node-critical",
            // Volumes must mount on every node, tainted GPU nodes included.
            "tolerations": [{"operator": "Exists"}],
        },
        "sharedDisk": {"enabled": nfs},
        "storageClasses": {"create": false},
    });

    let mut classes = vec![k8s::storage_class(
        config.str("storageClasses.block.name")?,
        &labels.of("storageclass"),
        &StorageClassSpec {
            provisioner: DISK_DRIVER,
            parameters: json!({
                "type": "persistent-ssd",
                "csi.storage.k8s.io/fstype": config.str("storageClasses.block.fsType")?,
            }),
            reclaim_policy: config.str("storageClasses.block.reclaimPolicy")?,
            binding_mode: "WaitForFirstConsumer",
            allow_expansion: config.bool("storageClasses.block.allowVolumeExpansion")?,
            default_class: config.bool("storageClasses.block.default")?,
            mount_options: Vec::new(),
        },
    )];
    let mut notes = Vec::new();
    if config.bool(settings::SHARED_NFS)? && !nfs {
        notes.push(format!(
            "shared NFS StorageClass not rendered: NFS is not enabled for project {} (ask your provider)",
            cluster.project
        ));
    }
    if nfs {
        classes.push(k8s::storage_class(
            config.str("storageClasses.sharedNfs.name")?,
            &labels.of("storageclass"),
            &StorageClassSpec {
                provisioner: NFS_DRIVER,
                parameters: json!({"type": "shared-nfs"}),
                reclaim_policy: config.str("storageClasses.sharedNfs.reclaimPolicy")?,
                binding_mode: "Immediate",
                allow_expansion: true,
                default_class: false,
                mount_options: vec!["nfsvers=3".to_owned()],
            },
        ));
        notes.push(format!(
            "shared NFS StorageClass rendered: project {} must have NFS enabled by the provider",
            cluster.project
        ));
    }
    let chart = HelmChart {
        repository: CHART_REPOSITORY,
        chart: "csi-driver",
        version,
        release: "accord-csi-driver",
        namespace: NAMESPACE,
    };
    Ok(Rendered {
        manifests: vec![
            flux::helm_release_manifest(
                "10-csi-driver-helm-release.yaml",
                &chart,
                &labels.of("helm-release"),
                &values,
            )?,
            yaml::kubernetes("20-storageclasses.yaml", &classes)?,
        ],
        notes,
    })
}
