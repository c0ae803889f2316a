//! The provisioner events the addon-manager consumes — `cluster.*` and `nodepool.*` — decoded
//! into [`Input`]. The kit's consumer (`accord_runtime::consume::run_with_directory`) runs it,
//! keeps the project directory from `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use crate::handlers::cluster_view::Input;

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "addon-manager",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("nodepool", |ev| ev.decode_data().map(Input::NodePool)),
    ],
};
