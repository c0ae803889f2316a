//! Kubernetes-style object metadata, conditions and status helpers.
//!
//! Invariants: `resource_version` equals the store's version of the record (it increases by one
//! with every committed write); `generation` increases only when the spec changes, and
//! `status.observed_generation` says which generation the status describes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{error::DomainError, ids::ProjectId};

/// Metadata every resource carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata<Id> {
    /// Unique id.
    pub id: Id,
    /// Name, unique among siblings (e.g. clusters of a project).
    pub name: String,
    /// Owning project.
    pub project: ProjectId,
    /// Free-form labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Store version of this record; optimistic concurrency token.
    pub resource_version: u64,
    /// Spec generation.
    pub generation: u64,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last update time.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl<Id> Metadata<Id> {
    /// Metadata of a resource being created now (`resource_version` 1 after its first commit).
    pub fn new(id: Id, name: impl Into<String>, project: ProjectId, now: OffsetDateTime) -> Self {
        Self {
            id,
            name: name.into(),
            project,
            labels: BTreeMap::new(),
            resource_version: 1,
            generation: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// Checks a caller's `resource_version` (0 means "any").
    pub fn check_version(&self, expected: u64) -> Result<(), DomainError> {
        if expected != 0 && expected != self.resource_version {
            return Err(DomainError::Aborted(format!(
                "{} has changed (resource_version {} != {}): read it again and retry",
                self.name, self.resource_version, expected
            )));
        }
        Ok(())
    }

    /// Prepares the next write: bumps `resource_version` and `updated_at`, and `generation`
    /// when the spec changed. Returns the version the store must currently hold.
    pub fn touch(&mut self, now: OffsetDateTime, spec_changed: bool) -> u64 {
        let current = self.resource_version;
        self.resource_version += 1;
        self.updated_at = now;
        if spec_changed {
            self.generation += 1;
        }
        current
    }
}

/// Truth value of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// It does not.
    False,
    /// Not known yet.
    Unknown,
}

impl ConditionStatus {
    /// `True`, `False`, `Unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }

    /// From a boolean.
    pub fn from_bool(b: bool) -> Self {
        if b {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// One observed condition of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Condition type, e.g. `Ready`, `ControlPlaneReady`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its status.
    pub status: ConditionStatus,
    /// One CamelCase word.
    pub reason: String,
    /// Human-readable details.
    pub message: String,
    /// When `status` last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub last_transition_time: OffsetDateTime,
    /// Generation the condition was computed for.
    pub observed_generation: u64,
}

/// A list of conditions with set semantics on `type_`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Conditions(pub Vec<Condition>);

impl Conditions {
    /// Sets a condition; `last_transition_time` moves only when the status changes.
    /// Returns true when the status changed (or the condition is new).
    pub fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
        now: OffsetDateTime,
        generation: u64,
    ) -> bool {
        let message = message.into();
        if let Some(c) = self.0.iter_mut().find(|c| c.type_ == type_) {
            let changed = c.status != status;
            if changed {
                c.last_transition_time = now;
            }
            c.status = status;
            c.reason = reason.to_owned();
            c.message = message;
            c.observed_generation = generation;
            changed
        } else {
            self.0.push(Condition {
                type_: type_.to_owned(),
                status,
                reason: reason.to_owned(),
                message,
                last_transition_time: now,
                observed_generation: generation,
            });
            true
        }
    }

    /// The condition of a type.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        self.0.iter().find(|c| c.type_ == type_)
    }

    /// True when the condition exists and is `True`.
    pub fn is_true(&self, type_: &str) -> bool {
        self.get(type_)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let mut c = Conditions::default();
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let t1 = datetime!(2026-01-01 0:05 UTC);
        assert!(c.set("Ready", ConditionStatus::False, "Provisioning", "", t0, 1));
        assert!(!c.set(
            "Ready",
            ConditionStatus::False,
            "Provisioning",
            "still",
            t1,
            1
        ));
        assert_eq!(c.get("Ready").unwrap().last_transition_time, t0);
        assert!(c.set("Ready", ConditionStatus::True, "Ready", "", t1, 1));
        assert_eq!(c.get("Ready").unwrap().last_transition_time, t1);
        assert!(c.is_true("Ready"));
    }

    #[test]
    fn versions_and_generations() {
        let t = datetime!(2026-01-01 0:00 UTC);
        let mut m = Metadata::new(1u8, "a", ProjectId::generate(), t);
        assert!(m.check_version(0).is_ok());
        assert!(m.check_version(1).is_ok());
        assert!(matches!(m.check_version(2), Err(DomainError::Aborted(_))));
        assert_eq!(m.touch(t, false), 1);
        assert_eq!((m.resource_version, m.generation), (2, 1));
        m.touch(t, true);
        assert_eq!((m.resource_version, m.generation), (3, 2));
    }
}
