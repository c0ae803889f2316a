//! The customer's StorageClasses: parameters the driver understands, validated field by field
//! ([`validate_class`]), and rendered as `storage.k8s.io/v1` objects ([`render_class`],
//! [`render_yaml`]).
//!
//! Parameters (`class.parameters.*`), every other key refused:
//! - `type`: `disk` or `shared` (required);
//! - `filesystem`: `ext4` (default) or `xfs`, disks only; rendered as
//!   `csi.storage.k8s.io/fstype`, which the external provisioner hands to the node plugin;
//! - `mount`: `nfs` (default) or `virtiofs`, shared only; NFS classes mount with `nfsvers=3`
//!   and `nconnect=16`, as the source product does.
//!
//! Class fields: `reclaimPolicy` `Delete` (default) | `Retain`; `volumeBindingMode`
//! `WaitForFirstConsumer` (default for disks: a disk attaches where its pod lands) |
//! `Immediate` (default for shared); `allowVolumeExpansion` (default true).
//!
//! Provisioners are the shipped `csi-driver` add-on's: [`DISK_PROVISIONER`] and
//! [`SHARED_PROVISIONER`] (one driver serves both shared mounts). A class whose driver is not
//! installed (the add-on's events say so) is accepted with `driver_installed: false`, so the
//! customer can prepare classes before installing the chart.
//!
//! Invariants: a shared class exists only while the project's NFS gate is enabled (checked
//! after the fields); the rendered object carries only validated values.

use std::collections::BTreeMap;

use accord_core::validation::{dns_label, quote};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{Errors, StorageError};
use crate::limits::{MAX_CLASS_NAME_CHARS, MAX_CLASS_PARAMETERS, MAX_PARAMETER_CHARS};
use crate::nfs::{NfsGate, require_nfs};
use crate::volume::{Mount, VolumeKind};

/// CSI driver of persistent disks (the `csi-driver` add-on's name).
pub const DISK_PROVISIONER: &str = "disk.csi.accord.dev";
/// CSI driver of shared filesystems, NFS and VirtioFS mounts alike.
pub const SHARED_PROVISIONER: &str = "nfs.csi.accord.dev";
/// Label every rendered class carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "accord-storage-csi");

/// A disk's filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Filesystem {
    /// ext4.
    Ext4,
    /// XFS.
    Xfs,
}

/// What happens to a volume when its claim goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReclaimPolicy {
    /// The volume is deleted.
    Delete,
    /// The volume stays.
    Retain,
}

/// When a claim is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BindingMode {
    /// At once.
    Immediate,
    /// When a pod using it is scheduled.
    WaitForFirstConsumer,
}

impl Filesystem {
    /// `ext4` or `xfs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ext4 => "ext4",
            Self::Xfs => "xfs",
        }
    }
}

impl ReclaimPolicy {
    /// As Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delete => "Delete",
            Self::Retain => "Retain",
        }
    }
}

impl BindingMode {
    /// As Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "Immediate",
            Self::WaitForFirstConsumer => "WaitForFirstConsumer",
        }
    }
}

/// A class as the customer wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassSpec {
    /// A DNS-1123 subdomain.
    pub name: String,
    /// `type`, `filesystem`, `mount`.
    pub parameters: BTreeMap<String, String>,
    /// `Delete` or `Retain` (empty: `Delete`).
    pub reclaim_policy: String,
    /// `Immediate` or `WaitForFirstConsumer` (empty: by type).
    pub volume_binding_mode: String,
    /// Whether claims may grow (none: true).
    pub allow_volume_expansion: Option<bool>,
    /// Whether this is the cluster's default class.
    pub default_class: bool,
}

/// A validated class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageClass {
    /// The name.
    pub name: String,
    /// `disk` or `shared`.
    pub volume_type: VolumeKind,
    /// Disks only.
    pub filesystem: Option<Filesystem>,
    /// Shared only.
    pub mount: Option<Mount>,
    /// Reclaim policy.
    pub reclaim_policy: ReclaimPolicy,
    /// Binding mode.
    pub binding_mode: BindingMode,
    /// Whether claims may grow.
    pub allow_volume_expansion: bool,
    /// Whether this is the cluster's default class.
    pub default_class: bool,
}

/// Which drivers the cluster has installed (from the `csi-driver` add-on's events).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DriverInstall {
    /// The disk driver.
    pub disk: bool,
    /// The shared-filesystem driver.
    pub shared: bool,
}

/// A validated class and whether its driver is installed (false: stored, but flagged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedClass {
    /// The class.
    pub class: StorageClass,
    /// Whether the class's driver is installed in the cluster.
    pub driver_installed: bool,
}

/// A DNS-1123 subdomain of at most [`MAX_CLASS_NAME_CHARS`] characters.
pub fn check_class_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_CLASS_NAME_CHARS {
        return Err(format!(
            "must be at most {MAX_CLASS_NAME_CHARS} characters (has {})",
            name.len()
        ));
    }
    if name.is_empty() || name.split('.').any(|label| dns_label(label).is_err()) {
        return Err(format!(
            "{} is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')",
            quote(name)
        ));
    }
    Ok(())
}

fn parse_filesystem(s: &str) -> Result<Filesystem, String> {
    match s {
        "ext4" => Ok(Filesystem::Ext4),
        "xfs" => Ok(Filesystem::Xfs),
        _ => Err(format!("{} is not a filesystem: use ext4 or xfs", quote(s))),
    }
}

fn parse_reclaim(s: &str) -> Result<ReclaimPolicy, String> {
    match s {
        "" | "Delete" => Ok(ReclaimPolicy::Delete),
        "Retain" => Ok(ReclaimPolicy::Retain),
        _ => Err(format!(
            "{} is not a reclaim policy: use Delete or Retain",
            quote(s)
        )),
    }
}

fn parse_binding(s: &str, kind: Option<VolumeKind>) -> Result<BindingMode, String> {
    match (s, kind) {
        ("", Some(VolumeKind::Shared)) => Ok(BindingMode::Immediate),
        ("", _) | ("WaitForFirstConsumer", _) => Ok(BindingMode::WaitForFirstConsumer),
        ("Immediate", _) => Ok(BindingMode::Immediate),
        _ => Err(format!(
            "{} is not a binding mode: use Immediate or WaitForFirstConsumer",
            quote(s)
        )),
    }
}

/// Validates `spec`; a shared class also needs the project's NFS gate enabled.
pub fn validate_class(
    spec: &ClassSpec,
    gate: &NfsGate,
    drivers: DriverInstall,
) -> Result<ValidatedClass, StorageError> {
    let mut errors = Errors::new();
    errors.check("class.name", check_class_name(&spec.name));
    if spec.parameters.len() > MAX_CLASS_PARAMETERS {
        return Err(StorageError::invalid(
            "class.parameters",
            format!(
                "at most {MAX_CLASS_PARAMETERS} parameters (has {})",
                spec.parameters.len()
            ),
        ));
    }
    for (key, value) in &spec.parameters {
        if value.len() > MAX_PARAMETER_CHARS {
            errors.push(
                format!("class.parameters.{}", accord_core::error::echo(key)),
                format!("must be at most {MAX_PARAMETER_CHARS} characters"),
            );
        }
        if !matches!(key.as_str(), "type" | "filesystem" | "mount") {
            errors.push(
                "class.parameters",
                format!(
                    "unknown parameter {}: the driver understands type, filesystem and mount",
                    quote(key)
                ),
            );
        }
    }
    let kind = match spec.parameters.get("type") {
        None => {
            errors.push("class.parameters.type", "is required: disk or shared");
            None
        }
        Some(t) => errors.check("class.parameters.type", VolumeKind::parse(t)),
    };
    let filesystem = match (kind, spec.parameters.get("filesystem")) {
        (Some(VolumeKind::Disk), None) => Some(Filesystem::Ext4),
        (Some(VolumeKind::Disk), Some(f)) => {
            errors.check("class.parameters.filesystem", parse_filesystem(f))
        }
        (_, Some(_)) => {
            errors.push(
                "class.parameters.filesystem",
                "only disk classes choose a filesystem",
            );
            None
        }
        (_, None) => None,
    };
    let mount = match (kind, spec.parameters.get("mount")) {
        (Some(VolumeKind::Shared), None) => Some(Mount::Nfs),
        (Some(VolumeKind::Shared), Some(m)) => {
            errors.check("class.parameters.mount", Mount::parse(m))
        }
        (_, Some(_)) => {
            errors.push(
                "class.parameters.mount",
                "only shared classes choose a mount",
            );
            None
        }
        (_, None) => None,
    };
    let reclaim_policy = errors.check("class.reclaimPolicy", parse_reclaim(&spec.reclaim_policy));
    let binding_mode = errors.check(
        "class.volumeBindingMode",
        parse_binding(&spec.volume_binding_mode, kind),
    );
    let (Some(volume_type), Some(reclaim_policy), Some(binding_mode)) =
        (kind, reclaim_policy, binding_mode)
    else {
        return Err(errors.into_error());
    };
    let class = errors.into_result(StorageClass {
        name: spec.name.clone(),
        volume_type,
        filesystem,
        mount,
        reclaim_policy,
        binding_mode,
        allow_volume_expansion: spec.allow_volume_expansion.unwrap_or(true),
        default_class: spec.default_class,
    })?;
    if volume_type == VolumeKind::Shared {
        require_nfs(gate)?;
    }
    let driver_installed = match volume_type {
        VolumeKind::Disk => drivers.disk,
        VolumeKind::Shared => drivers.shared,
    };
    Ok(ValidatedClass {
        class,
        driver_installed,
    })
}

/// The CSI driver that provisions `kind`.
pub fn provisioner(kind: VolumeKind) -> &'static str {
    match kind {
        VolumeKind::Disk => DISK_PROVISIONER,
        VolumeKind::Shared => SHARED_PROVISIONER,
    }
}

/// `class` as a `storage.k8s.io/v1` StorageClass.
pub fn render_class(class: &StorageClass) -> Value {
    let mut parameters = serde_json::Map::new();
    parameters.insert("type".into(), json!(class.volume_type.as_str()));
    if let Some(fs) = class.filesystem {
        parameters.insert("csi.storage.k8s.io/fstype".into(), json!(fs.as_str()));
    }
    if let Some(mount) = class.mount {
        parameters.insert("mount".into(), json!(mount.as_str()));
    }
    let mut object = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": class.name,
            "labels": {MANAGED_BY.0: MANAGED_BY.1},
            "annotations": {
                "storageclass.kubernetes.io/is-default-class": class.default_class.to_string(),
            },
        },
        "provisioner": provisioner(class.volume_type),
        "parameters": parameters,
        "reclaimPolicy": class.reclaim_policy.as_str(),
        "volumeBindingMode": class.binding_mode.as_str(),
        "allowVolumeExpansion": class.allow_volume_expansion,
    });
    if class.mount == Some(Mount::Nfs)
        && let Some(map) = object.as_object_mut()
    {
        map.insert("mountOptions".into(), json!(["nfsvers=3", "nconnect=16"]));
    }
    object
}

/// `classes` as one multi-document YAML stream.
pub fn render_yaml(classes: &[StorageClass]) -> Result<String, String> {
    let mut out = String::new();
    for class in classes {
        out.push_str("---\n");
        out.push_str(
            &serde_norway::to_string(&render_class(class))
                .map_err(|e| format!("rendering storageclass {}: {e}", class.name))?,
        );
    }
    Ok(out)
}
