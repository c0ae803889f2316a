//! [`Store`]: typed reads, atomic compare-and-swap commits and durability.
//!
//! Owns the sled database handle, the lazily opened tree cache and the outbox wake-up signal.
//!
//! Invariants:
//! - A commit is one sled transaction over every tree it touches plus the outbox tree: all of
//!   its writes and events land, or (on a failed [`Expect`](crate::Expect) or an error) none do.
//! - [`Store::commit`] returns `Ok` only after `flush_async` has put the batch on disk; nothing
//!   is acknowledged before it is durable.
//! - The outbox signal fires only after that flush, so a woken relay never races the disk.
//!
//! # Blocking
//! The transaction itself runs on the calling task: it only touches sled's in-memory page cache
//! and takes microseconds. The fsync runs on sled's own thread pool (`flush_async`).

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use tokio::sync::Notify;

use crate::codec;
use crate::commit::{Commit, Committed, OpKind, validate_tree_name};
use crate::error::{DecodeError, StoreError};
use crate::outbox::{DurabilityGate, OUTBOX_TREE};

/// A value together with the version it is stored at (the resource_version to CAS against).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub version: u64,
    pub value: T,
}

/// Handle to one service's database. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    outbox: sled::Tree,
    /// Trees opened so far, by name. sled's `open_tree` takes a lock and allocates.
    trees: Mutex<HashMap<String, sled::Tree>>,
    notify: Arc<Notify>,
    gate: DurabilityGate,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("was_recovered", &self.inner.db.was_recovered())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Open (or create, with its parent directories) the store at `path`.
    ///
    /// If the directory is locked, waits up to [`LOCK_WAIT`] for the lock: sled's I/O threads
    /// release their handle on a just-dropped database (and with it the file lock) shortly
    /// *after* the last flush completes, so an in-process restart would otherwise fail
    /// spuriously. A store really open elsewhere still fails, after the wait.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_waiting(path.as_ref(), LOCK_WAIT)
    }

    fn open_waiting(path: &Path, lock_wait: Duration) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|source| StoreError::CreateDir {
            path: path.to_owned(),
            source,
        })?;
        let config = sled::Config::new().path(path);
        let deadline = Instant::now() + lock_wait;
        let mut backoff = Duration::from_millis(1);
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(e) if is_lock_contention(&e) && Instant::now() < deadline => {
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        };
        tracing::debug!(path = %path.display(), recovered = db.was_recovered(), "store opened");
        Self::from_db(db)
    }

    /// A store that lives only as long as this process (for tests).
    pub fn temporary() -> Result<Self, StoreError> {
        Self::from_db(sled::Config::new().temporary(true).open()?)
    }

    fn from_db(db: sled::Db) -> Result<Self, StoreError> {
        let outbox = db.open_tree(OUTBOX_TREE)?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                outbox,
                trees: Mutex::new(HashMap::new()),
                notify: Arc::new(Notify::new()),
                gate: DurabilityGate::default(),
            }),
        })
    }

    /// The tree called `name`, opened on first use.
    fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        // The map is only ever inserted into: a poisoned lock still holds a valid map.
        let mut trees = self
            .inner
            .trees
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(tree) = trees.get(name) {
            return Ok(tree.clone());
        }
        let tree = self.inner.db.open_tree(name)?;
        trees.insert(name.to_owned(), tree.clone());
        Ok(tree)
    }

    pub(crate) fn outbox_tree(&self) -> &sled::Tree {
        &self.inner.outbox
    }

    pub(crate) fn gate(&self) -> &DurabilityGate {
        &self.inner.gate
    }

    /// The value at `tree`/`key` with its version, or `None`.
    pub fn get<T: DeserializeOwned>(
        &self,
        tree: &str,
        key: &str,
    ) -> Result<Option<Versioned<T>>, StoreError> {
        validate_tree_name(tree)?;
        match self.tree(tree)?.get(key.as_bytes())? {
            Some(bytes) => decode(tree, key.as_bytes(), &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// Every entry of `tree` whose key starts with `prefix`, in key order.
    pub fn list<T: DeserializeOwned>(
        &self,
        tree: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Versioned<T>)>, StoreError> {
        self.list_page(tree, prefix, None, usize::MAX)
    }

    /// Up to `limit` entries of `tree` whose key starts with `prefix` and sorts after
    /// `start_after` (exclusive), in key order: the building block of paginated list RPCs.
    pub fn list_page<T: DeserializeOwned>(
        &self,
        tree: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Versioned<T>)>, StoreError> {
        validate_tree_name(tree)?;
        let t = self.tree(tree)?;
        let start = match start_after {
            Some(after) if after.as_bytes() >= prefix.as_bytes() => {
                Bound::Excluded(after.as_bytes())
            }
            _ => Bound::Included(prefix.as_bytes()),
        };
        let mut out = Vec::new();
        for item in t.range::<&[u8], _>((start, Bound::Unbounded)) {
            if out.len() >= limit {
                break;
            }
            let (key, bytes) = item?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            let value = decode(tree, &key, &bytes)?;
            let key = String::from_utf8(key.to_vec())
                .map_err(|_| StoreError::decode(tree, &key, DecodeError::KeyNotUtf8))?;
            out.push((key, value));
        }
        Ok(out)
    }

    /// Apply `commit` atomically, wait until it is durable, then wake the outbox relay.
    ///
    /// A failed expectation returns [`StoreError::Conflict`] and changes nothing (no writes, no
    /// events). An empty commit returns immediately.
    ///
    /// # Cancel safety
    /// Dropping the future before the transaction ran changes nothing. Dropping it during the
    /// flush leaves the change applied (it becomes durable with the next flush) but
    /// unacknowledged; its events stay hidden from [`pending`](accord_core::outbox::OutboxSource::pending)
    /// until a flush covers them, and one is started in the background for that.
    pub async fn commit(&self, mut commit: Commit) -> Result<Committed, StoreError> {
        if commit.is_empty() {
            return Ok(Committed::default());
        }
        commit.validate()?;

        // Resolve each op's tree to an index into the transaction's tree list.
        let mut names: Vec<&str> = Vec::with_capacity(2);
        let mut trees: Vec<sled::Tree> = Vec::with_capacity(2);
        let mut op_tree = Vec::with_capacity(commit.ops.len());
        for op in &commit.ops {
            let idx = match names.iter().position(|n| *n == op.tree) {
                Some(idx) => idx,
                None => {
                    names.push(&op.tree);
                    trees.push(self.tree(&op.tree)?);
                    trees.len() - 1
                }
            };
            op_tree.push(idx);
        }

        let events = std::mem::take(&mut commit.events);
        let mut records = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            let record = codec::encode_outbox(&event)
                .map_err(|why| StoreError::Invalid(format!("outbox event {}: {why}", event.id)))?;
            records.push(record);
            ids.push(event.id);
        }
        let outbox_idx = if ids.is_empty() {
            None
        } else {
            trees.push(self.inner.outbox.clone());
            Some(trees.len() - 1)
        };

        let mut guard = InFlight::hold(self.clone(), ids)?;
        let ops = &commit.ops;
        let held_ids = &guard.ids;
        let result = Transactional::<StoreError>::transaction(
            trees.as_slice(),
            |views: &Vec<TransactionalTree>| {
                let mut versions = Vec::with_capacity(ops.len());
                for (op, &idx) in ops.iter().zip(&op_tree) {
                    let view = &views[idx];
                    let key = op.key.as_bytes();
                    let current = match view.get(key)? {
                        Some(bytes) => Some(codec::version_of(&bytes).map_err(|e| {
                            ConflictableTransactionError::Abort(StoreError::decode(
                                &op.tree, key, e,
                            ))
                        })?),
                        None => None,
                    };
                    op.expect.check(current).map_err(|(expected, actual)| {
                        ConflictableTransactionError::Abort(StoreError::Conflict {
                            tree: op.tree.clone(),
                            key: op.key.clone(),
                            expected,
                            actual,
                        })
                    })?;
                    match &op.kind {
                        OpKind::Put(template) => {
                            let version = current.unwrap_or(0).checked_add(1).ok_or_else(|| {
                                ConflictableTransactionError::Abort(StoreError::Invalid(format!(
                                    "{}/{}: version overflow",
                                    op.tree, op.key
                                )))
                            })?;
                            let mut value = template.clone();
                            codec::stamp_version(&mut value, version);
                            view.insert(key, value)?;
                            versions.push(version);
                        }
                        OpKind::Delete => {
                            if current.is_some() {
                                view.remove(key)?;
                            }
                            versions.push(0);
                        }
                    }
                }
                if let Some(idx) = outbox_idx {
                    let outbox = &views[idx];
                    for (id, record) in held_ids.iter().zip(&records) {
                        outbox.insert(id.as_bytes(), record.as_slice())?;
                    }
                }
                Ok(versions)
            },
        );
        drop(trees);
        let versions = match result {
            Ok(versions) => versions,
            // Aborted before anything was written: the guard forgets the held ids on drop.
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => {
                // sled may have written part of the batch to memory; keep the ids held until a
                // later flush proves what survived.
                guard.mark_applied();
                guard.stage = Stage::Done;
                return Err(e.into());
            }
        };
        guard.mark_applied();
        guard.stage = Stage::Applied;

        let flushed = self.flush().await;
        // Success or failure, this commit no longer needs a background flush: on failure the ids
        // stay held until some later flush succeeds.
        guard.stage = Stage::Done;
        flushed?;

        let n_events = guard.ids.len();
        let versions: Vec<(String, String, u64)> = commit
            .ops
            .into_iter()
            .zip(versions)
            .map(|(op, version)| (op.tree, op.key, version))
            .collect();
        tracing::trace!(writes = versions.len(), events = n_events, "commit durable");
        Ok(Committed { versions })
    }

    /// The signal a relay waits on. It fires (with `notify_one`, so a relay that is not waiting
    /// yet still finds a permit) after every flush that made outbox entries publishable.
    pub fn outbox_notify(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.notify)
    }

    /// Flush everything written so far to disk (and release outbox entries it made durable).
    pub async fn flush(&self) -> Result<(), StoreError> {
        let watermark = self.inner.gate.watermark();
        self.inner.db.flush_async().await?;
        if self.inner.gate.release_covered(watermark) {
            self.inner.notify.notify_one();
        }
        Ok(())
    }

    /// Number of outbox entries not yet removed (including ones whose commit is still flushing).
    /// Walks the outbox tree: meant for metrics and tests, not hot paths.
    pub fn outbox_len(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for item in self.inner.outbox.iter().keys() {
            item?;
            n += 1;
        }
        Ok(n)
    }

    /// Test-only: write raw bytes, bypassing the codec, to simulate corruption.
    #[cfg(test)]
    pub(crate) fn put_raw(&self, tree: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let t = if tree == OUTBOX_TREE {
            self.inner.outbox.clone()
        } else {
            self.tree(tree)?
        };
        t.insert(key.as_bytes(), bytes)?;
        Ok(())
    }
}

/// How long [`Store::open`] waits for a database lock held by a just-dropped handle.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// sled reports a held directory lock as an `Other` I/O error with this message.
fn is_lock_contention(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.kind() == std::io::ErrorKind::Other
        && io.to_string().contains("could not acquire lock"))
}

fn decode<T: DeserializeOwned>(
    tree: &str,
    key: &[u8],
    bytes: &[u8],
) -> Result<Versioned<T>, StoreError> {
    let (version, body) =
        codec::split_value(bytes).map_err(|e| StoreError::decode(tree, key, e))?;
    let value = serde_json::from_slice(body)
        .map_err(|e| StoreError::decode(tree, key, DecodeError::Json(e)))?;
    Ok(Versioned { version, value })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Ids held, transaction not (known to be) applied.
    Held,
    /// Transaction applied, flush not finished.
    Applied,
    /// Nothing left for the guard to do.
    Done,
}

/// Holds a commit's outbox ids in the durability gate and cleans up if the commit is abandoned.
struct InFlight {
    store: Store,
    ids: Vec<String>,
    stage: Stage,
}

impl InFlight {
    fn hold(store: Store, ids: Vec<String>) -> Result<Self, StoreError> {
        store.inner.gate.hold(&ids)?;
        Ok(Self {
            store,
            ids,
            stage: Stage::Held,
        })
    }

    fn mark_applied(&self) {
        self.store.inner.gate.mark_applied(&self.ids);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        match self.stage {
            Stage::Done => {}
            Stage::Held => self.store.inner.gate.forget(&self.ids),
            Stage::Applied => {
                // The caller dropped the commit mid-flush. Finish the flush in the background so
                // the events become publishable; without a runtime, the next flush releases them.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let store = self.store.clone();
                    rt.spawn(async move {
                        if let Err(error) = store.flush().await {
                            tracing::error!(%error, "background flush after a cancelled commit failed");
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
