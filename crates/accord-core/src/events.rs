//! Typed, past-tense facts that services publish on the bus.
//!
//! Every event names its resource kind (`cluster`), its verb in past tense kebab-case
//! (`upgrade-requested`) and the id of the resource it is about. The bus derives the subject
//! `accord.evt.<resource>.<event>.<id>` and the CloudEvents type `accord.<resource>.<event>.v1`
//! from these three values; services never format subjects themselves.

use serde::{Serialize, de::DeserializeOwned};

/// A domain event that can be put on the bus.
pub trait DomainEvent: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Resource kind, lowercase without dots, e.g. `cluster`, `nodepool`, `node`.
    fn resource(&self) -> &'static str;
    /// Past-tense event name in kebab-case, e.g. `created`, `upgrade-requested`.
    fn event(&self) -> &'static str;
    /// Id of the resource the event is about (a subject token: no dots, spaces or wildcards).
    fn resource_id(&self) -> String;
    /// Version of the event's schema; part of the CloudEvents type.
    fn version(&self) -> u32 {
        1
    }
}

/// CloudEvents `type` for an event: `accord.<resource>.<event>.v<version>`.
pub fn event_type(resource: &str, event: &str, version: u32) -> String {
    format!("accord.{resource}.{event}.v{version}")
}
