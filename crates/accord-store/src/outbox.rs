//! The outbox half of the store: the [`OutboxSource`] a relay drains, and the durability gate that
//! keeps it from seeing events whose state is not on disk yet.
//!
//! Entries live in the reserved tree [`OUTBOX_TREE`], keyed by the event id. Ids are ULIDs, which
//! sort by creation time, so key order is oldest-first.
//!
//! Invariant: [`OutboxSource::pending`] returns only entries whose commit has been flushed. A
//! commit's transaction makes its entries visible in sled's memory *before* its `flush_async`
//! completes; a relay woken by a concurrent commit could otherwise publish an event for state
//! that a crash then loses. The gate holds each id from just before its transaction until a
//! flush that started after the transaction succeeds, and `pending` stops at the first held
//! entry so that publication order stays key order.
//!
//! Removal is not flushed eagerly: if a crash loses a removal, the relay republishes the entry
//! with the same id and the broker's duplicate window drops it (consumers are idempotent anyway).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard, PoisonError};

use accord_core::outbox::{OutboxEntry, OutboxSource};

use crate::codec;
use crate::error::{DecodeError, StoreError};
use crate::store::Store;

/// Name of the sled tree that holds pending outbox entries (reserved: callers cannot write it).
pub const OUTBOX_TREE: &str = "__accord_outbox";

/// Ids of outbox entries whose commit is not yet known to be durable.
#[derive(Debug, Default)]
pub(crate) struct DurabilityGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
pub(crate) struct GateState {
    /// Sequence given to the next applied transaction.
    next_seq: u64,
    /// id → `None` while its transaction runs, `Some(seq)` once it has been applied.
    held: HashMap<String, Option<u64>>,
}

impl GateState {
    pub(crate) fn is_held(&self, id: &str) -> bool {
        !self.held.is_empty() && self.held.contains_key(id)
    }
}

impl DurabilityGate {
    pub(crate) fn lock(&self) -> MutexGuard<'_, GateState> {
        // The state is a plain map updated in single statements: a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hold `ids` before their transaction runs. Fails if one of them is already held by a
    /// concurrent commit (ids are unique ULIDs; reusing one while in flight is a caller bug).
    pub(crate) fn hold(&self, ids: &[String]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut state = self.lock();
        for (n, id) in ids.iter().enumerate() {
            match state.held.entry(id.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(None);
                }
                Entry::Occupied(_) => {
                    for earlier in &ids[..n] {
                        state.held.remove(earlier);
                    }
                    return Err(StoreError::Invalid(format!(
                        "outbox event id {id} is already being committed"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The transaction holding `ids` has been applied (its entries are now visible in memory).
    pub(crate) fn mark_applied(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut state = self.lock();
        let seq = state.next_seq;
        state.next_seq += 1;
        for id in ids {
            if let Some(slot) = state.held.get_mut(id) {
                *slot = Some(seq);
            }
        }
    }

    /// The transaction holding `ids` was aborted: nothing was written, forget them.
    pub(crate) fn forget(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut state = self.lock();
        for id in ids {
            state.held.remove(id);
        }
    }

    /// Taken just before a flush starts: every transaction applied before this point is covered
    /// by that flush.
    pub(crate) fn watermark(&self) -> u64 {
        self.lock().next_seq
    }

    /// A flush that started at `watermark` succeeded: release what it covered. Returns whether
    /// anything was released (the relay should then be woken).
    pub(crate) fn release_covered(&self, watermark: u64) -> bool {
        let mut state = self.lock();
        let before = state.held.len();
        state
            .held
            .retain(|_, seq| !matches!(seq, Some(s) if *s < watermark));
        state.held.len() != before
    }
}

impl OutboxSource for Store {
    type Error = StoreError;

    /// Up to `limit` durable entries, oldest first (stops at the first not-yet-durable one).
    fn pending(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(64));
        if limit == 0 {
            return Ok(out);
        }
        let gate = self.gate().lock();
        for item in self.outbox_tree().iter() {
            let (key, value) = item?;
            let id = std::str::from_utf8(&key)
                .map_err(|_| StoreError::decode(OUTBOX_TREE, &key, DecodeError::KeyNotUtf8))?;
            if gate.is_held(id) {
                break;
            }
            let entry = codec::decode_outbox(id.to_owned(), &value)
                .map_err(|e| StoreError::decode(OUTBOX_TREE, &key, e))?;
            out.push(entry);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn remove(&self, id: &str) -> Result<(), StoreError> {
        self.outbox_tree().remove(id.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn gate_releases_only_what_a_later_flush_covers() {
        let gate = DurabilityGate::default();
        let a = ids(&["a1", "a2"]);
        let b = ids(&["b1"]);
        gate.hold(&a).unwrap();
        gate.hold(&b).unwrap();
        gate.mark_applied(&a);
        let w = gate.watermark(); // flush starts after a applied, before b applied
        gate.mark_applied(&b);
        assert!(gate.release_covered(w));
        let state = gate.lock();
        assert!(!state.is_held("a1") && !state.is_held("a2"));
        assert!(state.is_held("b1"), "b was applied after the flush started");
        drop(state);
        assert!(gate.release_covered(gate.watermark()));
        assert!(!gate.lock().is_held("b1"));
        assert!(
            !gate.release_covered(gate.watermark()),
            "nothing left to release"
        );
    }

    #[test]
    fn gate_never_releases_an_unapplied_transaction() {
        let gate = DurabilityGate::default();
        let a = ids(&["a"]);
        gate.hold(&a).unwrap();
        assert!(!gate.release_covered(gate.watermark()));
        assert!(gate.lock().is_held("a"));
        gate.forget(&a);
        assert!(!gate.lock().is_held("a"));
    }

    #[test]
    fn gate_rejects_an_id_already_in_flight_and_rolls_back() {
        let gate = DurabilityGate::default();
        gate.hold(&ids(&["x"])).unwrap();
        let err = gate.hold(&ids(&["y", "x"])).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        let state = gate.lock();
        assert!(!state.is_held("y"), "partial hold rolled back");
        assert!(state.is_held("x"));
    }
}
