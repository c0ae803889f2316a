//! The Network Operator's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs (the add-on stays shared): `ofedDriver.version`, the OFED upgrade pacing
//! (`ofedDriver.upgradePolicy.maxParallelUpgrades`, `.drainTimeoutSeconds`), the RDMA shared
//! resource (`rdmaSharedDevicePlugin.resourceName`, `.rdmaHcaMax`) and additional tolerations.
//! Anything else — `ofedDriver.enabled` (host MOFED instead of the provider's driver),
//! `rdmaSharedDevicePlugin.enabled`, image repositories, `ofedDriver.upgradePolicy.autoUpgrade`
//! — is a significant modification.

use addon_kit::checks::image_repository;
use addon_kit::schema::{TOLERATIONS, field};
use addon_kit::{Config, Field, Kind, Knob, Violation};
use serde_json::{Value, json};

const UPGRADE_POLICY: &[Field] = &[
    field("autoUpgrade", Kind::Bool),
    field("maxParallelUpgrades", Kind::Int { min: 0, max: 64 }),
    field("drainTimeoutSeconds", Kind::Int { min: 0, max: 7200 }),
];

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "operator",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field(
        "ofedDriver",
        Kind::Object(&[
            field("enabled", Kind::Bool),
            field("repository", Kind::Text(image_repository)),
            field("version", Kind::Text(ofed_version_or_empty)),
            field("upgradePolicy", Kind::Object(UPGRADE_POLICY)),
        ]),
    ),
    field(
        "rdmaSharedDevicePlugin",
        Kind::Object(&[
            field("enabled", Kind::Bool),
            field("resourceName", Kind::Text(resource_name)),
            field("rdmaHcaMax", Kind::Int { min: 1, max: 1000 }),
        ]),
    ),
    field("tolerations", TOLERATIONS),
];

/// What the customer may change while the add-on stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("ofedDriver.version"),
    Knob::Path("ofedDriver.upgradePolicy.maxParallelUpgrades"),
    Knob::Path("ofedDriver.upgradePolicy.drainTimeoutSeconds"),
    Knob::Path("rdmaSharedDevicePlugin.resourceName"),
    Knob::Path("rdmaSharedDevicePlugin.rdmaHcaMax"),
    Knob::Additions("tolerations"),
];

/// The provider's reference configuration. An empty `ofedDriver.version` means "the release's
/// DOCA-OFED driver".
pub fn reference() -> Value {
    json!({
        "operator": {"repository": "nvcr.io/nvidia/cloud-native"},
        "ofedDriver": {
            "enabled": true,
            "repository": "nvcr.io/nvidia/mellanox",
            "version": "",
            "upgradePolicy": {
                "autoUpgrade": true,
                "maxParallelUpgrades": 1,
                "drainTimeoutSeconds": 300
            }
        },
        "rdmaSharedDevicePlugin": {
            "enabled": true,
            "resourceName": "rdma_shared_device_a",
            "rdmaHcaMax": 63
        },
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    })
}

/// A DOCA-OFED driver container version (`25.04-0.6.1.0-2`) or empty (release default).
pub fn ofed_version_or_empty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = s.split('-').collect();
    let ok = match parts.as_slice() {
        [release, build, revision] => {
            release
                .split_once('.')
                .is_some_and(|(yy, mm)| yy.len() == 2 && mm.len() == 2 && digits(yy) && digits(mm))
                && build.split('.').all(digits)
                && digits(revision)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DOCA-OFED driver version such as 25.04-0.6.1.0-2 (empty means the release default)"
        ))
    }
}

/// An extended resource name suffix (`rdma/<name>`): letters, digits, `_`, `-`, `.`.
fn resource_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a resource name such as rdma_shared_device_a"
        ))
    }
}

/// The OFED release (`YY.MM`) of a driver container version: `25.04-0.6.1.0-2` → `25.04`.
pub fn ofed_release(version: &str) -> &str {
    version.split('-').next().unwrap_or(version)
}

/// Cross-field checks.
pub fn check(config: &Config, out: &mut Vec<Violation>) {
    let enabled = config.bool("ofedDriver.enabled").unwrap_or(true);
    let pinned = config.str("ofedDriver.version").unwrap_or_default();
    if !enabled && !pinned.is_empty() {
        out.push(Violation::new(
            "ofedDriver.version",
            "has no effect with ofedDriver.enabled=false (the host's MOFED would be used)",
        ));
    }
}
