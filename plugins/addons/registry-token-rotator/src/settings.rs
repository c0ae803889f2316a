//! The rotator's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs: `schedule`, `registry` (empty = the cluster region's registry), `secretName`,
//! `targetNamespaces`, `credentialsSecret`, `patchDefaultServiceAccount`, `suspend`. Not a knob:
//! `image.repository`.

use addon_kit::checks::{cron, dns_label, host_port, image_repository};
use addon_kit::schema::field;
use addon_kit::{Config, Field, Kind, Knob, Violation};
use serde_json::{Value, json};

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "image",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field("schedule", Kind::Text(cron)),
    field("registry", Kind::Text(host_port_or_empty)),
    field("secretName", Kind::Text(dns_label)),
    field("targetNamespaces", Kind::List(&Kind::Text(dns_label))),
    field("credentialsSecret", Kind::Text(dns_label)),
    field("patchDefaultServiceAccount", Kind::Bool),
    field("suspend", Kind::Bool),
];

/// What the customer may change while the add-on stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("schedule"),
    Knob::Path("registry"),
    Knob::Path("secretName"),
    Knob::Path("targetNamespaces"),
    Knob::Path("credentialsSecret"),
    Knob::Path("patchDefaultServiceAccount"),
    Knob::Path("suspend"),
];

/// The provider's reference configuration: rotate every six hours (tokens live twelve), into
/// `default`, using the cluster region's registry.
pub fn reference() -> Value {
    json!({
        "image": {"repository": addon_kit::k8s::PROVIDER_REGISTRY},
        "schedule": "0 */6 * * *",
        "registry": "",
        "secretName": "accord-registry",
        "targetNamespaces": ["default"],
        "credentialsSecret": "accord-registry-credentials",
        "patchDefaultServiceAccount": true,
        "suspend": false
    })
}

fn host_port_or_empty(s: &str) -> Result<(), String> {
    if s.is_empty() { Ok(()) } else { host_port(s) }
}

/// The registry a configuration rotates tokens for.
pub fn registry(config: &Config, region: &str) -> Result<String, String> {
    let configured = config.str("registry")?;
    Ok(if configured.is_empty() {
        format!("registry.{region}.accord.dev")
    } else {
        configured.to_owned()
    })
}

/// Cross-field checks.
pub fn check(config: &Config, out: &mut Vec<Violation>) {
    let namespaces = config.strings("targetNamespaces").unwrap_or_default();
    if namespaces.is_empty() {
        out.push(Violation::new(
            "targetNamespaces",
            "needs at least one namespace",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        if !seen.insert(*ns) {
            out.push(Violation::new(
                format!("targetNamespaces[{i}]"),
                format!("{ns:?} is listed twice"),
            ));
        }
    }
}
