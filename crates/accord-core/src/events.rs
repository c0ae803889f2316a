//! Typed, past-tense facts that services publish on the bus.
//!
//! Every event names its resource kind (`cluster`), its verb in past tense kebab-case
//! (`upgrade-requested`) and the id of the resource it is about; the change that publishes it
//! names its [`Scope`]: the project it belongs to, or the platform. The bus derives the subject
//! `accord.evt.<scope>.<resource>.<event>.<id>` and the CloudEvents type
//! `accord.<resource>.<event>.v1` from these values; services never format subjects themselves.
//! The scope in the subject is what NATS permissions are written against: a customer may
//! subscribe to `accord.evt.<their project>.>` and nothing else.

use serde::{Serialize, de::DeserializeOwned};

use crate::ids::ProjectId;

/// The subject token of platform-wide events (image releases). Project ids are
/// `prj-<ulid>`, so no project can be named this.
pub const PLATFORM_SCOPE: &str = "platform";

/// Whom an event belongs to: one project (its members may read it) or the platform (operators
/// read it; see ARCHITECTURE.md for what is platform-wide).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Events about a project's resources.
    Project(ProjectId),
    /// Events about platform resources (image releases, builds).
    Platform,
}

impl Scope {
    /// The subject token: the project id, or [`PLATFORM_SCOPE`].
    pub fn token(&self) -> String {
        match self {
            Scope::Project(p) => p.to_string(),
            Scope::Platform => PLATFORM_SCOPE.to_owned(),
        }
    }

    /// The project, when the scope is one.
    pub fn project(&self) -> Option<ProjectId> {
        match self {
            Scope::Project(p) => Some(*p),
            Scope::Platform => None,
        }
    }
}

impl From<ProjectId> for Scope {
    fn from(p: ProjectId) -> Self {
        Scope::Project(p)
    }
}

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
