//! What every storage request is held to before any work is done on it: each string and each
//! repeated field against the platform's limits, so nothing oversized reaches scoping, the
//! engine or the write lock. The engine then validates the content field by field.
//!
//! | field                                                          | limit                     |
//! |----------------------------------------------------------------|---------------------------|
//! | `project`, `cluster`, `name`, `node`, `volume`, `type`, `size`, `mount`, `source_snapshot`, `migration`, class fields | [`MAX_REF_BYTES`] (253 bytes) |
//! | `reason`                                                       | 2048 bytes (512 characters are checked after) |
//! | `parameters`                                                   | 16 entries, keys and values of 256 bytes |
//! | `volumes` of a plan                                            | 10,000 entries of 253 bytes |
//!
//! Invariant: a field over its limit is `INVALID_ARGUMENT` naming the field and the limit,
//! never repeating the value.

use std::collections::HashMap;

use accord_core::{
    DomainError,
    error::Violations,
    limits::{self, MAX_REF_BYTES},
};
use accord_proto::storage::v1 as pb;
use accord_storage::limits::{MAX_CLASS_PARAMETERS, MAX_PARAMETER_CHARS, MAX_PLAN_VOLUMES};

/// Longest `reason` in bytes (the engine counts at most 512 characters).
pub const MAX_REASON_BYTES: usize = 2048;

/// A request's reference-sized fields, named as in the proto, and where it acts.
pub trait Bounded {
    /// Every short string field: (name, value).
    fn refs(&self) -> Vec<(&'static str, &str)>;
    /// The request's `project` field.
    fn project(&self) -> &str;
    /// Its `cluster` field (empty for project-wide requests).
    fn cluster(&self) -> &str {
        ""
    }
    /// Checks [`Bounded::refs`] and anything longer (reasons, lists, maps).
    fn check(&self) -> Result<(), DomainError> {
        refs(&self.refs())
    }
}

/// `Bounded` for a request whose short fields are `$field`s (`"name" => field` when the proto
/// name is a Rust keyword).
macro_rules! bounded {
    ($ty:ty, cluster, [$($name:literal => $field:ident),* $(,)?]) => {
        impl Bounded for $ty {
            fn refs(&self) -> Vec<(&'static str, &str)> {
                vec![("project", &self.project), ("cluster", &self.cluster), $(($name, &self.$field)),*]
            }
            fn project(&self) -> &str {
                &self.project
            }
            fn cluster(&self) -> &str {
                &self.cluster
            }
        }
    };
    ($ty:ty, project, [$($name:literal => $field:ident),* $(,)?]) => {
        impl Bounded for $ty {
            fn refs(&self) -> Vec<(&'static str, &str)> {
                vec![("project", &self.project), $(($name, &self.$field)),*]
            }
            fn project(&self) -> &str {
                &self.project
            }
        }
    };
}

bounded!(pb::GetNfsRequest, project, []);
bounded!(pb::CreateVolumeRequest, cluster, [
    "name" => name, "type" => r#type, "size" => size, "mount" => mount,
    "source_snapshot" => source_snapshot,
]);
bounded!(pb::GetVolumeRequest, cluster, ["name" => name]);
bounded!(pb::ListVolumesRequest, cluster, []);
bounded!(pb::ExpandVolumeRequest, cluster, ["name" => name, "size" => size]);
bounded!(pb::AttachVolumeRequest, cluster, ["name" => name, "node" => node]);
bounded!(pb::DetachVolumeRequest, cluster, ["name" => name, "node" => node]);
bounded!(pb::DeleteVolumeRequest, cluster, ["name" => name]);
bounded!(pb::CreateSnapshotRequest, cluster, ["volume" => volume, "name" => name]);
bounded!(pb::ListSnapshotsRequest, cluster, []);
bounded!(pb::DeleteSnapshotRequest, cluster, ["name" => name]);
bounded!(pb::ListStorageClassesRequest, cluster, []);
bounded!(pb::DeleteStorageClassRequest, cluster, ["name" => name]);
bounded!(pb::MigrationRequest, project, ["migration" => migration]);
bounded!(pb::ListMigrationsRequest, project, []);

impl Bounded for pb::SetNfsRequest {
    fn refs(&self) -> Vec<(&'static str, &str)> {
        vec![("project", &self.project), ("mount", &self.mount)]
    }
    fn project(&self) -> &str {
        &self.project
    }
    fn check(&self) -> Result<(), DomainError> {
        refs(&self.refs())?;
        reason(&self.project, &self.reason)
    }
}

impl Bounded for pb::CreateStorageClassRequest {
    fn refs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("project", &self.project),
            ("cluster", &self.cluster),
            ("name", &self.name),
            ("reclaim_policy", &self.reclaim_policy),
            ("volume_binding_mode", &self.volume_binding_mode),
        ]
    }
    fn project(&self) -> &str {
        &self.project
    }
    fn cluster(&self) -> &str {
        &self.cluster
    }
    fn check(&self) -> Result<(), DomainError> {
        refs(&self.refs())?;
        parameters(&self.parameters)
    }
}

impl Bounded for pb::PlanMigrationRequest {
    fn refs(&self) -> Vec<(&'static str, &str)> {
        vec![("project", &self.project), ("name", &self.name)]
    }
    fn project(&self) -> &str {
        &self.project
    }
    fn check(&self) -> Result<(), DomainError> {
        refs(&self.refs())?;
        plan_volumes(&self.volumes)
    }
}

/// Checks `fields` (name, value) against [`MAX_REF_BYTES`].
pub fn refs(fields: &[(&str, &str)]) -> Result<(), DomainError> {
    let mut v = Violations::new();
    for (field, value) in fields {
        limits::text(&mut v, field, value, MAX_REF_BYTES);
    }
    v.into_result()
}

/// A reason for the NFS gate.
pub fn reason(project: &str, reason: &str) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text(&mut v, "project", project, MAX_REF_BYTES);
    limits::text(&mut v, "reason", reason, MAX_REASON_BYTES);
    v.into_result()
}

/// A StorageClass's parameters.
pub fn parameters(parameters: &HashMap<String, String>) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::items(&mut v, "parameters", parameters.len(), MAX_CLASS_PARAMETERS);
    for (key, value) in parameters {
        if key.len() > MAX_PARAMETER_CHARS || value.len() > MAX_PARAMETER_CHARS {
            v.add(
                "parameters",
                format!("keys and values are at most {MAX_PARAMETER_CHARS} bytes"),
            );
            break;
        }
    }
    v.into_result()
}

/// A plan's volume list.
pub fn plan_volumes(volumes: &[String]) -> Result<(), DomainError> {
    let mut v = Violations::new();
    limits::text_items(&mut v, "volumes", volumes, MAX_PLAN_VOLUMES, MAX_REF_BYTES);
    v.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_fields_are_named_not_echoed() {
        let long = "x".repeat(MAX_REF_BYTES + 1);
        let err = refs(&[("cluster", "c"), ("name", &long)]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("name"), "{text}");
        assert!(!text.contains(&long[..100]), "{text}");
        let many: HashMap<String, String> =
            (0..20).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(
            parameters(&many)
                .unwrap_err()
                .to_string()
                .contains("parameters")
        );
        assert!(reason("p", &"r".repeat(MAX_REASON_BYTES + 1)).is_err());
        assert!(plan_volumes(&vec!["v".into(); MAX_PLAN_VOLUMES + 1]).is_err());
    }
}
