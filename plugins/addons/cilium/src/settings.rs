//! Cilium's configuration: schema, customer knobs and the provider's reference.
//!
//! Knobs: `hubble` (all of it), `bandwidthManager.enabled`, and `ipam.nodeCidrMaskSize` (the
//! per-node pod range the customer picks at cluster creation; the add-on manager passes it in).
//! Everything else shapes the provider's datapath and is a significant modification.

use addon_kit::checks::image_repository;
use addon_kit::schema::field;
use addon_kit::{Config, Field, Kind, Knob, Violation};
use serde_json::{Value, json};

/// Hubble metrics Accord knows how to scrape.
pub const HUBBLE_METRICS: &[&str] = &[
    "dns",
    "drop",
    "tcp",
    "flow",
    "port-distribution",
    "icmp",
    "httpV2",
];

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "image",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field("kubeProxyReplacement", Kind::Bool),
    field("routingMode", Kind::Enum(&["tunnel", "native"])),
    field("tunnelProtocol", Kind::Enum(&["vxlan", "geneve"])),
    field(
        "ipam",
        Kind::Object(&[field("nodeCidrMaskSize", Kind::Int { min: 16, max: 28 })]),
    ),
    field("bpf", Kind::Object(&[field("masquerade", Kind::Bool)])),
    field(
        "loadBalancer",
        Kind::Object(&[
            field("algorithm", Kind::Enum(&["maglev", "random"])),
            field("mode", Kind::Enum(&["snat", "dsr", "hybrid"])),
        ]),
    ),
    field(
        "bandwidthManager",
        Kind::Object(&[field("enabled", Kind::Bool)]),
    ),
    field(
        "hubble",
        Kind::Object(&[
            field("enabled", Kind::Bool),
            field("relay", Kind::Bool),
            field("ui", Kind::Bool),
            field("metrics", Kind::List(&Kind::Enum(HUBBLE_METRICS))),
        ]),
    ),
    field("prometheus", Kind::Object(&[field("enabled", Kind::Bool)])),
    field(
        "operator",
        Kind::Object(&[field("replicas", Kind::Int { min: 1, max: 3 })]),
    ),
];

/// What the customer may change while Cilium stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("hubble"),
    Knob::Path("bandwidthManager.enabled"),
    Knob::Path("ipam.nodeCidrMaskSize"),
];

/// The provider's reference configuration.
pub fn reference() -> Value {
    json!({
        "image": {"repository": "quay.io/cilium"},
        "kubeProxyReplacement": true,
        "routingMode": "tunnel",
        "tunnelProtocol": "vxlan",
        "ipam": {"nodeCidrMaskSize": 24},
        "bpf": {"masquerade": true},
        "loadBalancer": {"algorithm": "maglev", "mode": "snat"},
        "bandwidthManager": {"enabled": false},
        "hubble": {"enabled": true, "relay": true, "ui": false, "metrics": ["dns", "drop", "tcp", "flow"]},
        "prometheus": {"enabled": true},
        "operator": {"replicas": 2}
    })
}

/// Cross-field checks.
pub fn check(config: &Config, out: &mut Vec<Violation>) {
    let mode = config.str("loadBalancer.mode").unwrap_or("snat");
    let routing = config.str("routingMode").unwrap_or("tunnel");
    if mode != "snat" && routing != "native" {
        out.push(Violation::new(
            "loadBalancer.mode",
            format!("{mode:?} needs routingMode \"native\" (DSR replies leave the node directly)"),
        ));
    }
    if mode != "snat" && !config.bool("kubeProxyReplacement").unwrap_or(true) {
        out.push(Violation::new(
            "loadBalancer.mode",
            format!("{mode:?} needs kubeProxyReplacement=true"),
        ));
    }
    let relay = config.bool("hubble.relay").unwrap_or(false);
    let ui = config.bool("hubble.ui").unwrap_or(false);
    let hubble = config.bool("hubble.enabled").unwrap_or(true);
    if !hubble && (relay || ui) {
        out.push(Violation::new(
            "hubble.enabled",
            "relay and UI need Hubble enabled",
        ));
    }
    if ui && !relay {
        out.push(Violation::new(
            "hubble.ui",
            "the Hubble UI needs hubble.relay=true",
        ));
    }
}
