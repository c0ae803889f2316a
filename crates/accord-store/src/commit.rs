//! What a caller asks the store to do atomically: [`Commit`] (puts, deletes and outbox events),
//! the [`Expect`]ation each write carries, and the [`Committed`] receipt.
//!
//! A commit is built without touching the store: values are serialized when they are added, so
//! an encoding error surfaces at the call site and the transaction itself only moves bytes.
//! Invariant: a commit names each `(tree, key)` and each event id at most once (checked by
//! [`Commit::validate`] before anything is written).

use std::collections::HashSet;
use std::fmt;

use accord_core::outbox::OutboxEntry;
use serde::Serialize;

use crate::codec;
use crate::error::StoreError;

/// Tree names starting with this prefix belong to the store itself (and to sled).
pub(crate) const RESERVED_TREE_PREFIX: &str = "__";

/// The compare-and-swap precondition of one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expect {
    /// No check.
    #[default]
    Any,
    /// The key must not exist (create).
    Absent,
    /// The key must exist, at any version.
    Present,
    /// The key must exist at exactly this version (update with a `resource_version`).
    Version(u64),
}

impl Expect {
    /// `Ok(())` when `current` (the stored version, `None` if absent) satisfies the expectation.
    pub(crate) fn check(self, current: Option<u64>) -> Result<(), (String, String)> {
        let ok = match (self, current) {
            (Expect::Any, _) => true,
            (Expect::Absent, None) => true,
            (Expect::Present, Some(_)) => true,
            (Expect::Version(want), Some(have)) => want == have,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        let actual = match current {
            Some(v) => format!("version {v}"),
            None => "absent".to_owned(),
        };
        Err((self.to_string(), actual))
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Any => f.write_str("any"),
            Expect::Absent => f.write_str("absent"),
            Expect::Present => f.write_str("present"),
            Expect::Version(v) => write!(f, "version {v}"),
        }
    }
}

/// One write of a commit.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub(crate) tree: String,
    pub(crate) key: String,
    pub(crate) expect: Expect,
    pub(crate) kind: OpKind,
}

#[derive(Debug, Clone)]
pub(crate) enum OpKind {
    /// Header-prefixed value buffer (see [`codec::value_buffer`]); the version is stamped at commit.
    Put(Vec<u8>),
    Delete,
}

/// An atomic batch: writes to any number of trees plus the outbox events they imply.
///
/// Builder-lite (`Commit::new().put(..)?.event(..)`) for straight-line code, `push_*` for loops.
#[derive(Debug, Clone, Default)]
#[must_use = "a commit does nothing until passed to Store::commit"]
pub struct Commit {
    pub(crate) ops: Vec<Op>,
    pub(crate) events: Vec<OutboxEntry>,
}

impl Commit {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a put of `value` (serialized now) under `tree`/`key`, guarded by `expect`.
    pub fn put<T: Serialize + ?Sized>(
        mut self,
        tree: &str,
        key: &str,
        value: &T,
        expect: Expect,
    ) -> Result<Self, StoreError> {
        self.push_put(tree, key, value, expect)?;
        Ok(self)
    }

    /// Add a delete of `tree`/`key`, guarded by `expect`. Deleting an absent key with
    /// [`Expect::Any`] is a no-op.
    pub fn delete(mut self, tree: &str, key: &str, expect: Expect) -> Self {
        self.push_delete(tree, key, expect);
        self
    }

    /// Add an event to publish once this commit is durable.
    pub fn event(mut self, entry: OutboxEntry) -> Self {
        self.push_event(entry);
        self
    }

    /// In-place [`Commit::put`].
    pub fn push_put<T: Serialize + ?Sized>(
        &mut self,
        tree: &str,
        key: &str,
        value: &T,
        expect: Expect,
    ) -> Result<&mut Self, StoreError> {
        let mut buf = codec::value_buffer();
        serde_json::to_writer(&mut buf, value).map_err(|source| StoreError::Encode {
            tree: tree.to_owned(),
            key: key.to_owned(),
            source,
        })?;
        self.ops.push(Op {
            tree: tree.to_owned(),
            key: key.to_owned(),
            expect,
            kind: OpKind::Put(buf),
        });
        Ok(self)
    }

    /// In-place [`Commit::delete`].
    pub fn push_delete(&mut self, tree: &str, key: &str, expect: Expect) -> &mut Self {
        self.ops.push(Op {
            tree: tree.to_owned(),
            key: key.to_owned(),
            expect,
            kind: OpKind::Delete,
        });
        self
    }

    /// In-place [`Commit::event`].
    pub fn push_event(&mut self, entry: OutboxEntry) -> &mut Self {
        self.events.push(entry);
        self
    }

    /// Appends `other`'s writes and events after this commit's.
    pub fn extend(&mut self, other: Commit) -> &mut Self {
        self.ops.extend(other.ops);
        self.events.extend(other.events);
        self
    }

    /// True when the commit has neither writes nor events.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.events.is_empty()
    }

    /// Number of writes (puts and deletes).
    pub fn len_ops(&self) -> usize {
        self.ops.len()
    }

    /// Number of outbox events.
    pub fn len_events(&self) -> usize {
        self.events.len()
    }

    /// Reject what the transaction must never see: reserved or empty tree names, empty keys,
    /// a key or an event id named twice.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        for op in &self.ops {
            validate_tree_name(&op.tree)?;
            if op.key.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "empty key in tree {:?}",
                    op.tree
                )));
            }
        }
        if self.ops.len() > 1 {
            let mut seen = HashSet::with_capacity(self.ops.len());
            for op in &self.ops {
                if !seen.insert((op.tree.as_str(), op.key.as_str())) {
                    return Err(StoreError::Invalid(format!(
                        "{}/{} appears twice in one commit",
                        op.tree, op.key
                    )));
                }
            }
        }
        for event in &self.events {
            if event.id.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "outbox event for {:?} has an empty id",
                    event.subject
                )));
            }
        }
        if self.events.len() > 1 {
            let mut seen = HashSet::with_capacity(self.events.len());
            for event in &self.events {
                if !seen.insert(event.id.as_str()) {
                    return Err(StoreError::Invalid(format!(
                        "outbox event id {} appears twice in one commit",
                        event.id
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Tree names are caller-chosen but must be non-empty and outside the reserved `__` namespace
/// (which holds the outbox and sled's default tree).
pub(crate) fn validate_tree_name(tree: &str) -> Result<(), StoreError> {
    if tree.is_empty() {
        return Err(StoreError::Invalid("empty tree name".to_owned()));
    }
    if tree.starts_with(RESERVED_TREE_PREFIX) {
        return Err(StoreError::Invalid(format!(
            "tree name {tree:?} is reserved (prefix {RESERVED_TREE_PREFIX:?})"
        )));
    }
    Ok(())
}

/// The receipt of a durable commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// `(tree, key, new version)` per write, in the order the writes were added; 0 for deletes.
    pub versions: Vec<(String, String, u64)>,
}

impl Committed {
    /// The new version of `tree`/`key` if this commit wrote it.
    pub fn version_of(&self, tree: &str, key: &str) -> Option<u64> {
        self.versions
            .iter()
            .find(|(t, k, _)| t == tree && k == key)
            .map(|(_, _, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expect_checks_and_messages() {
        assert!(Expect::Any.check(None).is_ok());
        assert!(Expect::Any.check(Some(3)).is_ok());
        assert!(Expect::Absent.check(None).is_ok());
        assert!(Expect::Present.check(Some(1)).is_ok());
        assert!(Expect::Version(3).check(Some(3)).is_ok());
        assert_eq!(
            Expect::Version(3).check(Some(4)).unwrap_err(),
            ("version 3".to_owned(), "version 4".to_owned())
        );
        assert_eq!(
            Expect::Absent.check(Some(2)).unwrap_err(),
            ("absent".to_owned(), "version 2".to_owned())
        );
        assert_eq!(
            Expect::Present.check(None).unwrap_err(),
            ("present".to_owned(), "absent".to_owned())
        );
        assert_eq!(
            Expect::Version(1).check(None).unwrap_err(),
            ("version 1".to_owned(), "absent".to_owned())
        );
    }

    #[test]
    fn validate_rejects_duplicates_and_reserved_names() {
        let dup = Commit::new()
            .put("t", "k", &1, Expect::Any)
            .unwrap()
            .delete("t", "k", Expect::Any);
        assert!(matches!(dup.validate(), Err(StoreError::Invalid(m)) if m.contains("t/k")));

        let same_key_other_tree = Commit::new()
            .put("t", "k", &1, Expect::Any)
            .unwrap()
            .delete("u", "k", Expect::Any);
        assert!(same_key_other_tree.validate().is_ok());

        let reserved = Commit::new().delete("__accord_outbox", "k", Expect::Any);
        assert!(matches!(reserved.validate(), Err(StoreError::Invalid(_))));
        let empty_tree = Commit::new().delete("", "k", Expect::Any);
        assert!(matches!(empty_tree.validate(), Err(StoreError::Invalid(_))));
        let empty_key = Commit::new().delete("t", "", Expect::Any);
        assert!(matches!(empty_key.validate(), Err(StoreError::Invalid(_))));

        let ev = |id: &str| OutboxEntry {
            id: id.into(),
            subject: "s".into(),
            payload: vec![],
            headers: vec![],
        };
        let dup_events = Commit::new().event(ev("a")).event(ev("a"));
        assert!(matches!(dup_events.validate(), Err(StoreError::Invalid(_))));
        let empty_id = Commit::new().event(ev(""));
        assert!(matches!(empty_id.validate(), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn push_variants_build_the_same_commit() {
        let mut c = Commit::new();
        assert!(c.is_empty());
        for i in 0..3 {
            c.push_put("t", &format!("k{i}"), &i, Expect::Absent)
                .unwrap();
        }
        c.push_delete("t", "gone", Expect::Present);
        assert_eq!(c.len_ops(), 4);
        assert_eq!(c.len_events(), 0);
        assert!(!c.is_empty());
        assert!(c.validate().is_ok());
    }
}
