//! Accord's durable state: typed sled trees with resource_version compare-and-swap, and the
//! transactional outbox that turns state changes into events.
//!
//! This crate is the only one that uses sled (enforced by `clippy.toml`). A service opens one
//! [`Store`], reads with [`Store::get`] / [`Store::list`], and writes by building a [`Commit`]
//! (puts and deletes guarded by an [`Expect`], plus the events they imply) and awaiting
//! [`Store::commit`]. The bus's relay drains the outbox through [`OutboxSource`], woken by
//! [`Store::outbox_notify`].
//!
//! - [`store`]: the handle, reads, atomic commits, flushing.
//! - [`table`]: typed tables (a value type per tree).
//! - [`commit`]: the commit builder, expectations and the receipt.
//! - [`outbox`]: the outbox tree and its durability gate.
//! - `codec`: the on-disk byte formats.
//! - [`error`]: typed errors.
//!
//! Invariants:
//! - A commit's writes and events are applied in one transaction: all or nothing.
//! - Invariant: [`Store::commit`] returns only after the batch is on disk.
//! - Invariant: the relay sees an event only after the state change it reports is on disk.
//!
//! [`OutboxSource`]: accord_core::outbox::OutboxSource

// This crate owns sled: it is the one place allowed to open databases and hold trees.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod codec;
pub mod commit;
pub mod error;
pub mod outbox;
pub mod store;
pub mod table;

#[cfg(test)]
mod crash_tests;

pub use commit::{Commit, Committed, Expect};
pub use error::{DecodeError, StoreError};
pub use outbox::OUTBOX_TREE;
pub use store::{LOCK_WAIT, Store, Versioned};
pub use table::Table;
