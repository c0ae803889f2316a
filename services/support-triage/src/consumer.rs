//! The platform events support-triage consumes — `project.*` (the project directory),
//! `cluster.*`, `addon.*`, `health.*` and `remediation.*` — decoded into [`Input`]. The kit's
//! consumer (`accord_runtime::consume`) runs it and applies the shared failure policy.

use accord_bus::{BusError, CloudEvent};
use accord_runtime::consume::Subscription;

use crate::service::Input;

/// The durable consumer.
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "support-triage",
    resources: &["project", "cluster", "addon", "health", "remediation"],
    decode,
};

/// Decodes an event this service listens to; `Ok(None)` for types it ignores.
pub fn decode(ev: &CloudEvent) -> Result<Option<Input>, BusError> {
    let (resource, _, _) = ev.type_parts()?;
    Ok(match resource {
        "project" => Some(Input::Project(ev.decode_data()?)),
        "cluster" => Some(Input::Cluster(ev.decode_data()?)),
        "addon" => Some(Input::Addon(ev.decode_data()?)),
        "health" => Some(Input::Health(ev.decode_data()?)),
        "remediation" => Some(Input::Remediation(ev.decode_data()?)),
        _ => None,
    })
}
