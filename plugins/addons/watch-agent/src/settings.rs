//! The watch agent's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs: additional journald units (`sources.journald.units[+]`: the provider's units must
//! stay), `logLevel`, `resources`, `maxUnavailable`. Not knobs: `sources.kernel` (kernel messages
//! carry the GPU XID and InfiniBand errors the provider's health checks rely on),
//! `image.repository`.

use addon_kit::checks::{image_repository, quantity};
use addon_kit::schema::field;
use addon_kit::{Field, Kind, Knob};
use serde_json::{Value, json};

const RESOURCES: &[Field] = &[
    field("cpu", Kind::Text(quantity)),
    field("memory", Kind::Text(quantity)),
];

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "image",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field(
        "sources",
        Kind::Object(&[
            field(
                "journald",
                Kind::Object(&[field("units", Kind::List(&Kind::Text(systemd_unit)))]),
            ),
            field("kernel", Kind::Bool),
        ]),
    ),
    field("logLevel", Kind::Enum(&["debug", "info", "warn", "error"])),
    field(
        "resources",
        Kind::Object(&[
            field("requests", Kind::Object(RESOURCES)),
            field("limits", Kind::Object(RESOURCES)),
        ]),
    ),
    field("maxUnavailable", Kind::IntOrPercent),
];

/// What the customer may change while the add-on stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Additions("sources.journald.units"),
    Knob::Path("logLevel"),
    Knob::Path("resources"),
    Knob::Path("maxUnavailable"),
];

/// The provider's reference configuration.
pub fn reference() -> Value {
    json!({
        "image": {"repository": addon_kit::k8s::PROVIDER_REGISTRY},
        "sources": {
            "journald": {"units": ["kubelet.service", "containerd.service"]},
            "kernel": true
        },
        "logLevel": "info",
        "resources": {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"}
        },
        "maxUnavailable": "10%"
    })
}

/// A systemd unit name such as `kubelet.service` or `nvidia-fabricmanager.service`.
fn systemd_unit(s: &str) -> Result<(), String> {
    const TYPES: &[&str] = &[
        ".service", ".socket", ".timer", ".mount", ".target", ".scope",
    ];
    let stem = TYPES.iter().find_map(|t| s.strip_suffix(t));
    let ok = stem.is_some_and(|stem| {
        !stem.is_empty()
            && stem.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'\\' | b':')
            })
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a systemd unit name such as kubelet.service"
        ))
    }
}
