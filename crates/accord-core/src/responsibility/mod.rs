//! The shared-responsibility model as data, and the check every RPC runs against it.
//!
//! The matrix lists every layer of a managed Kubernetes service and every component inside it
//! with its owner (provider, shared or customer), what each side does and its support scope.
//! Components marked "Accord" in their notes are the platform's own refinements of the model
//! (e.g. project quota); everything else follows the source model of the service.
//!
//! Layout: `model` (the vocabulary: layers, owners, support scopes, components), `matrix` (the
//! data: every component, the Best-Effort topics, the customer-owned kinds) and `rules` (what an
//! RPC declares, and the checks on a principal and on a whole rule table). The modules are
//! private; everything is re-exported here, so `accord_core::responsibility::X` is the one path.
//!
//! Invariant: every RPC declares an [`RpcRule`] naming the component it touches and the party
//! whose part of that component it performs; [`RpcRule::authorize`] refuses a principal of the
//! other party with a message that names the layer and its owner.

mod matrix;
mod model;
mod rules;

pub use matrix::{BEST_EFFORT_TOPICS, COMPONENTS, CUSTOMER_OWNED_KINDS, component};
pub use model::{Component, Layer, Owner, SupportScope};
pub use rules::{Action, Actor, RpcRule, check_rules};
