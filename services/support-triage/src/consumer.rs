//! What support-triage consumes: cluster conditions (`cluster.*`), add-on ownership
//! (`addon.*`), health findings (`health.*`) and AutoClusters remediations (`remediation.*`:
//! decisions and what was done about each node), each decoded into an [`Input`]. The
//! kit's consumer (`accord_runtime::consume::run_with_directory`) runs it, keeps the project
//! directory from `project.*` and applies the shared failure policy.

use accord_runtime::consume::Subscription;

use crate::service::Input;

/// The durable consumer and how each kind of event becomes an [`Input`].
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "support-triage",
    inputs: &[
        ("cluster", |ev| ev.decode_data().map(Input::Cluster)),
        ("addon", |ev| ev.decode_data().map(Input::Addon)),
        ("health", |ev| ev.decode_data().map(Input::Health)),
        ("remediation", |ev| ev.decode_data().map(Input::Remediation)),
    ],
};
