//! The CSI driver's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs: everything under `storageClasses` (the customer owns StorageClass definitions),
//! `controller.replicas`, `controller.logLevel`, `node.maxVolumesPerNode`. Not knobs:
//! `image.repository` (a replaced driver is the customer's) and `node.kubeletDir` (the provider's
//! node images put the kubelet in one place; moving it means a different node setup).
//!
//! Host-owned: `platform.nfsEnabled`, the provider's NFS gate for the cluster's project. The
//! addon-manager sets it in every configuration it hands this plugin (customers cannot: it
//! refuses their values containing `platform`); the reference says `false`, so a host that
//! does not know the gate leaves NFS off. [`admit`] refuses `storageClasses.sharedNfs.enabled`
//! while the gate is closed; rendering leaves the NFS class out instead (`crate::render`).

use addon_kit::checks::{dns_subdomain, image_repository};
use addon_kit::schema::field;
use addon_kit::{Config, Field, Kind, Knob, Violation};
use serde_json::{Value, json};

const RECLAIM: Kind = Kind::Enum(&["Delete", "Retain"]);

/// The host-owned NFS gate (see the module docs).
pub const NFS_GATE: &str = "platform.nfsEnabled";

/// The customer's NFS StorageClass switch.
pub const SHARED_NFS: &str = "storageClasses.sharedNfs.enabled";

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "image",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field(
        "controller",
        Kind::Object(&[
            field("replicas", Kind::Int { min: 1, max: 5 }),
            field("logLevel", Kind::Int { min: 0, max: 10 }),
        ]),
    ),
    field(
        "node",
        Kind::Object(&[
            field("maxVolumesPerNode", Kind::Int { min: 1, max: 64 }),
            field("kubeletDir", Kind::Text(absolute_path)),
        ]),
    ),
    field(
        "storageClasses",
        Kind::Object(&[
            field(
                "block",
                Kind::Object(&[
                    field("name", Kind::Text(dns_subdomain)),
                    field("default", Kind::Bool),
                    field("fsType", Kind::Enum(&["ext4", "xfs"])),
                    field("reclaimPolicy", RECLAIM),
                    field("allowVolumeExpansion", Kind::Bool),
                ]),
            ),
            field(
                "sharedNfs",
                Kind::Object(&[
                    field("enabled", Kind::Bool),
                    field("name", Kind::Text(dns_subdomain)),
                    field("reclaimPolicy", RECLAIM),
                ]),
            ),
        ]),
    ),
    field("platform", Kind::Object(&[field("nfsEnabled", Kind::Bool)])),
];

/// What the customer may change while the driver stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("storageClasses"),
    Knob::Path("controller.replicas"),
    Knob::Path("controller.logLevel"),
    Knob::Path("node.maxVolumesPerNode"),
];

/// The provider's reference configuration.
pub fn reference() -> Value {
    json!({
        "image": {"repository": addon_kit::k8s::PROVIDER_REGISTRY},
        "controller": {"replicas": 2, "logLevel": 2},
        "node": {"maxVolumesPerNode": 16, "kubeletDir": "/var/lib/kubelet"},
        "storageClasses": {
            "block": {
                "name": "accord-block",
                "default": true,
                "fsType": "ext4",
                "reclaimPolicy": "Delete",
                "allowVolumeExpansion": true
            },
            "sharedNfs": {
                "enabled": false,
                "name": "accord-shared-nfs",
                "reclaimPolicy": "Retain"
            }
        },
        "platform": {"nfsEnabled": false}
    })
}

fn absolute_path(s: &str) -> Result<(), String> {
    if s.starts_with('/') && !s.contains("..") && s.len() > 1 {
        Ok(())
    } else {
        Err(format!("{s:?} is not an absolute path"))
    }
}

/// Whether the configuration asks for the NFS StorageClass and the provider's gate allows it.
pub fn nfs_rendered(config: &Config) -> Result<bool, String> {
    Ok(config.bool(SHARED_NFS)? && config.bool(NFS_GATE)?)
}

/// Refuses the NFS StorageClass while the project's gate is closed (submitted configurations
/// only: an accepted one renders without the class after the provider disables NFS).
pub fn admit(config: &Config, out: &mut Vec<Violation>) {
    if config.bool(SHARED_NFS).unwrap_or(false) && !config.bool(NFS_GATE).unwrap_or(false) {
        out.push(Violation::new(
            SHARED_NFS,
            "NFS is not enabled for this project; ask your provider to enable it \
             (accord --profile operator nfs enable <project> --reason <why>)",
        ));
    }
}

/// Cross-field checks.
pub fn check(config: &Config, out: &mut Vec<Violation>) {
    let nfs = config.bool(SHARED_NFS).unwrap_or(false);
    let block = config.str("storageClasses.block.name").unwrap_or_default();
    let shared = config
        .str("storageClasses.sharedNfs.name")
        .unwrap_or_default();
    if nfs && block == shared {
        out.push(Violation::new(
            "storageClasses.sharedNfs.name",
            format!("{shared:?} is already the block StorageClass's name"),
        ));
    }
}
