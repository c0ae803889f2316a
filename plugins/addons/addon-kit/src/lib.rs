//! Shared pieces of Accord's add-on plugins, so each add-on crate holds only its own knowledge.
//!
//! An add-on crate implements [`Addon`] (its name, release catalogue, configuration schema,
//! customer knobs, reference configuration, rendering and upgrade planning) and calls
//! [`export_addon!`] once; the generic entry points in [`entry`] do everything the add-ons share:
//! parsing the JSON configuration, validating it against the schema, merging it over the
//! reference configuration, checking versions, refusing downgrades, and judging ownership.
//!
//! Codemap:
//! - [`model`]: plain-Rust mirrors of the WIT records (natively testable, no bindgen).
//! - [`schema`] and [`checks`]: declarative configuration schema and string checks → violations
//!   with dotted field paths.
//! - [`config`]: JSON merge, dotted lookup, leaf diff, typed getters over a merged configuration.
//! - [`knobs`]: customer knobs and the ownership rule (reference → provider-managed, knobs only →
//!   shared, anything else → customer-owned).
//! - [`versions`]: release lookup and ordering.
//! - [`k8s`] and [`yaml`]: Kubernetes object builders and the YAML writer (serde_norway).
//! - [`flux`]: a Helm chart as Flux `HelmRepository` + `HelmRelease` objects (chart, repository,
//!   version and values in applyable objects; why Flux and not Argo CD is in its docs).
//! - [`glue`]: the [`export_addon!`] macro (WIT ⇄ model conversions, compiled only for wasm32).
//! - `testing` (feature `testing`): sample cluster and manifest checks for the add-ons' tests.
//!
//! Invariant: configurations are JSON objects; a configuration a customer supplies is an overlay
//! on the reference configuration (objects merge key by key, everything else — lists included —
//! replaces). Ownership is always judged on the merged result against the reference.
//!
//! Invariant: nothing here panics; every failure is a [`model::Violation`] or an error string.

pub mod checks;
pub mod config;
pub mod entry;
pub mod flux;
pub mod glue;
pub mod k8s;
pub mod knobs;
pub mod model;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;
pub mod versions;
pub mod yaml;

pub use config::Config;
pub use entry::Addon;
pub use knobs::Knob;
pub use model::{
    AddonInfo, Cluster, Format, Installer, Manifest, Ownership, Pool, Rendered, UpgradePlan,
    Verdict, Violation,
};
pub use schema::{Field, Kind};
