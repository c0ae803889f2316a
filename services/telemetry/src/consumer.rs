//! What the telemetry service consumes: the provisioner's `cluster.*` and `nodepool.*` events,
//! decoded into an [`Input`] (its read model of clusters, projects and pool names). The kit's
//! consumer (`accord_runtime::consume::run_with_directory`) runs it, keeps the project directory
//! from `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use crate::handlers::cluster_view::Input;

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "telemetry",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("nodepool", |ev| ev.decode_data().map(Input::NodePool)),
    ],
};
