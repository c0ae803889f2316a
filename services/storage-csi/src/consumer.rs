//! What storage-csi consumes: the provisioner's cluster and node events and the addon-manager's
//! add-on events, each decoded into an [`Input`]. The kit's consumer runs it, keeps the project
//! directory from `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use crate::service::Input;

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "storage-csi",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("node", |ev| ev.decode_data().map(Input::Node)),
        ("addon", |ev| ev.decode_data().map(Input::Addon)),
    ],
};
