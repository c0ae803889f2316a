//! [`Table`]: a tree that knows the type of its values, so a value can only be written to (and
//! read from) its own table. Services declare their tables as constants
//! (`pub const CLUSTERS: Table<Cluster> = Table::new("clusters");`) and pass them to
//! [`Commit::push_put_in`] / [`Commit::push_delete_in`] and the typed reads below.
//!
//! Keys stay strings (composite keys such as `<cluster>/<pool>` are built by the service's
//! layout module), values are checked by the compiler.

use std::marker::PhantomData;

use serde::{Serialize, de::DeserializeOwned};

use crate::{Commit, Expect, Store, StoreError, Versioned};

/// A named tree whose values are `V`.
pub struct Table<V> {
    name: &'static str,
    _value: PhantomData<fn() -> V>,
}

impl<V> Clone for Table<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Table<V> {}

impl<V> std::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({})", self.name)
    }
}

impl<V> Table<V> {
    /// The table stored in tree `name`.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }

    /// The tree's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<V: DeserializeOwned> Table<V> {
    /// The value at `key` with its version.
    pub fn get(&self, store: &Store, key: &str) -> Result<Option<Versioned<V>>, StoreError> {
        store.get(self.name, key)
    }

    /// Every entry whose key starts with `prefix`, in key order.
    pub fn list(
        &self,
        store: &Store,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned<V>)>, StoreError> {
        store.list(self.name, prefix)
    }

    /// The values of every entry whose key starts with `prefix`, in key order.
    pub fn values(&self, store: &Store, prefix: &str) -> Result<Vec<V>, StoreError> {
        Ok(self
            .list(store, prefix)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect())
    }
}

impl Commit {
    /// Adds a put of `value` at `key` of `table`, guarded by `expect`.
    pub fn push_put_in<V: Serialize>(
        &mut self,
        table: Table<V>,
        key: &str,
        value: &V,
        expect: Expect,
    ) -> Result<&mut Self, StoreError> {
        self.push_put(table.name, key, value, expect)
    }

    /// Adds a delete of `key` of `table`, guarded by `expect`.
    pub fn push_delete_in<V>(&mut self, table: Table<V>, key: &str, expect: Expect) -> &mut Self {
        self.push_delete(table.name, key, expect)
    }
}
