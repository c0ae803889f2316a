//! What network-firewall consumes: the provisioner's cluster, node-pool and node events, each
//! decoded into an [`Input`]. The kit's consumer runs it, keeps the project directory from
//! `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use crate::service::Input;

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "network-firewall",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("nodepool", |ev| ev.decode_data().map(Input::Pool)),
        ("node", |ev| ev.decode_data().map(Input::Node)),
    ],
};
