//! The GPU Operator's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs (the add-on stays shared): `driver.version`, `driver.kernelModuleType`, the driver
//! upgrade pacing (`driver.upgradePolicy.maxParallelUpgrades`, `.maxUnavailable`,
//! `.drainTimeoutSeconds`), `mig.strategy`, `dcgmExporter.serviceMonitor` and additional
//! tolerations. Everything else — the image repositories, any `*.enabled` of a core operand,
//! `driver.upgradePolicy.autoUpgrade` (the provider's critical driver upgrades depend on it) —
//! is a significant modification.

use addon_kit::checks::image_repository;
use addon_kit::schema::{TOLERATIONS, field};
use addon_kit::{Config, Field, Kind, Knob, Violation};
use serde_json::{Value, json};

const ENABLED: &[Field] = &[field("enabled", Kind::Bool)];

const UPGRADE_POLICY: &[Field] = &[
    field("autoUpgrade", Kind::Bool),
    field("maxParallelUpgrades", Kind::Int { min: 0, max: 64 }),
    field("maxUnavailable", Kind::IntOrPercent),
    field("drainTimeoutSeconds", Kind::Int { min: 0, max: 7200 }),
];

const DRIVER: &[Field] = &[
    field("enabled", Kind::Bool),
    field("repository", Kind::Text(image_repository)),
    field("version", Kind::Text(driver_version_or_empty)),
    field(
        "kernelModuleType",
        Kind::Enum(&["auto", "open", "proprietary"]),
    ),
    field("upgradePolicy", Kind::Object(UPGRADE_POLICY)),
];

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "operator",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field("driver", Kind::Object(DRIVER)),
    field("toolkit", Kind::Object(ENABLED)),
    field("devicePlugin", Kind::Object(ENABLED)),
    field(
        "dcgmExporter",
        Kind::Object(&[
            field("enabled", Kind::Bool),
            field("serviceMonitor", Kind::Bool),
        ]),
    ),
    field("gfd", Kind::Object(ENABLED)),
    field("migManager", Kind::Object(ENABLED)),
    field(
        "mig",
        Kind::Object(&[field("strategy", Kind::Enum(&["none", "single", "mixed"]))]),
    ),
    field("nfd", Kind::Object(ENABLED)),
    field("tolerations", TOLERATIONS),
];

/// What the customer may change while the add-on stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("driver.version"),
    Knob::Path("driver.kernelModuleType"),
    Knob::Path("driver.upgradePolicy.maxParallelUpgrades"),
    Knob::Path("driver.upgradePolicy.maxUnavailable"),
    Knob::Path("driver.upgradePolicy.drainTimeoutSeconds"),
    Knob::Path("mig.strategy"),
    Knob::Path("dcgmExporter.serviceMonitor"),
    Knob::Additions("tolerations"),
];

/// The provider's reference configuration. An empty `driver.version` means "the release's
/// default driver".
pub fn reference() -> Value {
    json!({
        "operator": {"repository": "nvcr.io/nvidia"},
        "driver": {
            "enabled": true,
            "repository": "nvcr.io/nvidia",
            "version": "",
            "kernelModuleType": "auto",
            "upgradePolicy": {
                "autoUpgrade": true,
                "maxParallelUpgrades": 1,
                "maxUnavailable": "25%",
                "drainTimeoutSeconds": 600
            }
        },
        "toolkit": {"enabled": true},
        "devicePlugin": {"enabled": true},
        "dcgmExporter": {"enabled": true, "serviceMonitor": false},
        "gfd": {"enabled": true},
        "migManager": {"enabled": true},
        "mig": {"strategy": "single"},
        "nfd": {"enabled": true},
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
        ]
    })
}

/// A data-centre driver version (`570.195.03`, `535.247.01`) or empty (release default).
pub fn driver_version_or_empty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let parts: Vec<&str> = s.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let ok = (2..=3).contains(&parts.len())
        && parts.iter().all(numeric)
        && parts.first().is_some_and(|major| major.len() == 3);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a driver version such as 570.195.03 (empty means the release default)"
        ))
    }
}

/// Cross-field checks.
pub fn check(config: &Config, out: &mut Vec<Violation>) {
    let driver_enabled = config.bool("driver.enabled").unwrap_or(true);
    let pinned = config.str("driver.version").unwrap_or_default();
    if !driver_enabled && !pinned.is_empty() {
        out.push(Violation::new(
            "driver.version",
            "has no effect with driver.enabled=false (the operator would not install a driver)",
        ));
    }
    let mig_manager = config.bool("migManager.enabled").unwrap_or(true);
    let strategy = config.str("mig.strategy").unwrap_or("single");
    if strategy == "mixed" && !mig_manager {
        out.push(Violation::new(
            "mig.strategy",
            "\"mixed\" needs the MIG manager (migManager.enabled=true) to partition GPUs",
        ));
    }
}
