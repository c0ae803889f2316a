//! The autoscaler's configuration: schema, customer knobs and the provider's reference.
//!
//! There are no min/max fields here on purpose: bounds live on the node pools (one source of
//! truth, validated by the provisioner) and reach the render through `cluster.pools`.
//!
//! Knobs: `scaleDown` (all of it), `expander`, `balanceSimilarNodeGroups`,
//! `skipNodesWithLocalStorage`, `skipNodesWithSystemPods`, `maxNodeProvisionTime`, `logLevel`,
//! `credentialsSecret`. Not knobs: `image.repository`, `replicas`.
//!
//! Host-owned: `platform.apiEndpoint`, the Accord API the autoscaler's cloud provider calls to
//! resize pools. The addon-manager sets it from its own configuration (`api_endpoint`: where the
//! provider serves the Accord API to clusters) in every configuration it hands this plugin,
//! because the plugin's reference declares it; customers cannot set `platform`. The reference
//! says `""` and rendering refuses an empty endpoint, so a host that does not pass it gets an
//! error instead of a guessed URL.

use addon_kit::checks::{dns_subdomain, duration, https_url_or_empty, image_repository};
use addon_kit::schema::field;
use addon_kit::{Field, Kind, Knob};
use serde_json::{Value, json};

/// The host-owned Accord API endpoint (see the module docs).
pub const API_ENDPOINT: &str = "platform.apiEndpoint";

/// The configuration schema.
pub const SCHEMA: &[Field] = &[
    field(
        "image",
        Kind::Object(&[field("repository", Kind::Text(image_repository))]),
    ),
    field("replicas", Kind::Int { min: 1, max: 3 }),
    field(
        "expander",
        Kind::Enum(&[
            "least-waste",
            "most-pods",
            "random",
            "priority",
            "least-nodes",
        ]),
    ),
    field("balanceSimilarNodeGroups", Kind::Bool),
    field("skipNodesWithLocalStorage", Kind::Bool),
    field("skipNodesWithSystemPods", Kind::Bool),
    field("maxNodeProvisionTime", Kind::Text(duration)),
    field("logLevel", Kind::Int { min: 0, max: 10 }),
    field("credentialsSecret", Kind::Text(dns_subdomain)),
    field(
        "scaleDown",
        Kind::Object(&[
            field("enabled", Kind::Bool),
            field("delayAfterAdd", Kind::Text(duration)),
            field("unneededTime", Kind::Text(duration)),
            field("utilizationThreshold", Kind::Number { min: 0.0, max: 1.0 }),
            field(
                "gpuUtilizationThreshold",
                Kind::Number { min: 0.0, max: 1.0 },
            ),
        ]),
    ),
    field(
        "platform",
        Kind::Object(&[field("apiEndpoint", Kind::Text(https_url_or_empty))]),
    ),
];

/// What the customer may change while the add-on stays shared.
pub const KNOBS: &[Knob] = &[
    Knob::Path("scaleDown"),
    Knob::Path("expander"),
    Knob::Path("balanceSimilarNodeGroups"),
    Knob::Path("skipNodesWithLocalStorage"),
    Knob::Path("skipNodesWithSystemPods"),
    Knob::Path("maxNodeProvisionTime"),
    Knob::Path("logLevel"),
    Knob::Path("credentialsSecret"),
];

/// The provider's reference configuration. GPU nodes take long to boot and are expensive to
/// churn: provisioning gets 25 minutes and scale-down waits 15 minutes after a scale-up.
pub fn reference() -> Value {
    json!({
        "image": {"repository": addon_kit::k8s::PROVIDER_REGISTRY},
        "replicas": 1,
        "expander": "least-waste",
        "balanceSimilarNodeGroups": false,
        "skipNodesWithLocalStorage": false,
        "skipNodesWithSystemPods": true,
        "maxNodeProvisionTime": "25m",
        "logLevel": 4,
        "credentialsSecret": "cluster-autoscaler-credentials",
        "scaleDown": {
            "enabled": true,
            "delayAfterAdd": "15m",
            "unneededTime": "10m",
            "utilizationThreshold": 0.5,
            "gpuUtilizationThreshold": 0.5
        },
        "platform": {"apiEndpoint": ""}
    })
}
