//! The provisioner events the addon-manager consumes — `project.*` (the project directory),
//! `cluster.*` and `nodepool.*` — decoded into [`Input`]. The kit's consumer
//! (`accord_runtime::consume`) runs it and applies the shared failure policy.

use accord_bus::{BusError, CloudEvent};
use accord_runtime::consume::Subscription;

use crate::handlers::cluster_view::Input;

/// The durable consumer.
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "addon-manager",
    resources: &["project", "cluster", "nodepool"],
    decode,
};

/// Decodes an event this service listens to; `Ok(None)` for types it ignores.
pub fn decode(ev: &CloudEvent) -> Result<Option<Input>, BusError> {
    let (resource, _, _) = ev.type_parts()?;
    Ok(match resource {
        "project" => Some(Input::Project(ev.decode_data()?)),
        "cluster" => Some(Input::Cluster(ev.decode_data()?)),
        "nodepool" => Some(Input::NodePool(ev.decode_data()?)),
        _ => None,
    })
}
