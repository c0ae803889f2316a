//! Typed identifiers.
//!
//! Every resource id is a ULID rendered in lowercase with a short kind prefix (`cl-01j…` for a
//! cluster), so an id says what it points at and ids of different kinds cannot be mixed up at
//! compile time. Ids are valid NATS subject tokens and sled keys as they are.

use std::{fmt, marker::PhantomData, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// A kind of resource that has ids.
pub trait IdKind: 'static {
    /// The prefix, without the dash (e.g. `cl`).
    const PREFIX: &'static str;
    /// Human name used in error messages (e.g. `cluster`).
    const NAME: &'static str;
}

/// An identifier of a resource of kind `K`.
pub struct Id<K: IdKind> {
    ulid: Ulid,
    kind: PhantomData<fn() -> K>,
}

impl<K: IdKind> Id<K> {
    /// A new, time-ordered id.
    pub fn generate() -> Self {
        Self::from_ulid(Ulid::new())
    }

    /// Wraps an existing ULID.
    pub fn from_ulid(ulid: Ulid) -> Self {
        Self {
            ulid,
            kind: PhantomData,
        }
    }

    /// The ULID inside.
    pub fn ulid(&self) -> Ulid {
        self.ulid
    }
}

impl<K: IdKind> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: IdKind> Copy for Id<K> {}
impl<K: IdKind> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.ulid == other.ulid
    }
}
impl<K: IdKind> Eq for Id<K> {}
impl<K: IdKind> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K: IdKind> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.ulid.cmp(&other.ulid)
    }
}
impl<K: IdKind> std::hash::Hash for Id<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.ulid.hash(state);
    }
}

impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            K::PREFIX,
            self.ulid.to_string().to_ascii_lowercase()
        )
    }
}

impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a valid {kind} id (expected `{prefix}-` followed by a 26-character ULID)"
)]
pub struct ParseIdError {
    input: String,
    kind: &'static str,
    prefix: &'static str,
}

impl<K: IdKind> FromStr for Id<K> {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseIdError {
            input: s.to_owned(),
            kind: K::NAME,
            prefix: K::PREFIX,
        };
        let rest = s
            .strip_prefix(K::PREFIX)
            .and_then(|r| r.strip_prefix('-'))
            .ok_or_else(err)?;
        let ulid = Ulid::from_string(&rest.to_ascii_uppercase()).map_err(|_| err())?;
        Ok(Self::from_ulid(ulid))
    }
}

impl<K: IdKind> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, K: IdKind> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

macro_rules! id_kind {
    ($(#[$doc:meta])* $marker:ident, $alias:ident, $prefix:literal, $name:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $marker {}
        impl IdKind for $marker {
            const PREFIX: &'static str = $prefix;
            const NAME: &'static str = $name;
        }
        $(#[$doc])*
        pub type $alias = Id<$marker>;
    };
}

id_kind!(/// A project: the unit of tenancy, membership and quota.
    ProjectKind, ProjectId, "prj", "project");
id_kind!(/// A managed Kubernetes cluster.
    ClusterKind, ClusterId, "cl", "cluster");
id_kind!(/// A node pool of a cluster.
    NodePoolKind, NodePoolId, "np", "node pool");
id_kind!(/// A worker node (one instance).
    NodeKind, NodeId, "node", "node");
id_kind!(/// An API key.
    ApiKeyKind, ApiKeyId, "key", "API key");
id_kind!(/// A user (a member of projects).
    UserKind, UserId, "usr", "user");
id_kind!(/// A support ticket (filed by a customer or opened by the platform).
    TicketKind, TicketId, "tk", "ticket");
id_kind!(/// An AutoClusters remediation: one decision about one health finding, and its execution.
    RemediationKind, RemediationId, "rem", "remediation");
id_kind!(/// A storage volume (a persistent disk or a shared filesystem).
    VolumeKind, VolumeId, "vol", "volume");
id_kind!(/// A snapshot of a volume.
    SnapshotKind, SnapshotId, "snap", "snapshot");
id_kind!(/// A VirtioFS → NFS migration plan.
    MigrationKind, MigrationId, "mig", "migration");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display_and_serde() {
        let id = ClusterId::generate();
        let s = id.to_string();
        assert!(s.starts_with("cl-"));
        assert_eq!(s.len(), 3 + 26);
        assert_eq!(s.parse::<ClusterId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ClusterId>(&json).unwrap(), id);
    }

    #[test]
    fn rejects_other_kinds_and_garbage() {
        let np = NodePoolId::generate().to_string();
        let err = np.parse::<ClusterId>().unwrap_err();
        assert!(err.to_string().contains("cluster id"), "{err}");
        assert!("cl-".parse::<ClusterId>().is_err());
        assert!(
            "cl-0000000000000000000000000!"
                .parse::<ClusterId>()
                .is_err()
        );
        assert!("".parse::<ClusterId>().is_err());
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = NodeId::from_ulid(Ulid::from_parts(1, 5));
        let b = NodeId::from_ulid(Ulid::from_parts(2, 0));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }
}
