//! The image engine of the image-builder service (issue 14), pure: no IO, no async, no clock
//! (times are passed in). The service stores records, runs builds and publishes events; this
//! crate decides what an image is, whether it may be built or published, and what a rollout
//! does next.
//!
//! - [`manifest`]: what an image contains, every field validated, its canonical (RFC 8785)
//!   bytes and its content id `sha256:<hex>`.
//! - [`version`]: release labels `YYYY.MM.N`, their order and the next one.
//! - [`base`]: the default base release (`manifests/base.yaml`) and its next release.
//! - [`archive`]: the simulated package archive (`manifests/archive.yaml`) and the resolution
//!   of a manifest to the newest version of each component's series (a quick-try build).
//! - [`signature`]: provider keys (PKCS#8 / SPKI PEM), Ed25519 signatures over the id,
//!   verification that says why it failed.
//! - [`compat`]: the compatibility matrix (`matrix/compatibility.yaml`) and the gate.
//! - [`lifecycle`]: channels, promotion, deprecation, withdrawal, and the update queries.
//! - [`sbom`]: the image's SBOM as CycloneDX 1.6 JSON (deterministic; the format's own
//!   validator accepts it in the tests) and its summary.
//! - [`rollout`]: a pool's opt-in rollout policy (batches or waves, soak, windows) as a state
//!   machine that halts and disables the new revision on a failure, and rolls back.
//! - [`limits`]: every bound; [`error`]: errors naming their field and their gRPC code.
//!
//! Invariants: every error names its field and quotes caller input only through
//! [`accord_core::validation::quote`]; every input is bounded before work is done on it
//! ([`limits`]); every function is deterministic (keys come from caller-given bytes, times
//! from the caller). The data files are compiled in with `include_str!`; nothing reads files.

pub mod archive;
pub mod base;
pub mod compat;
pub mod error;
pub mod lifecycle;
pub mod limits;
pub mod manifest;
pub mod rollout;
pub mod sbom;
pub mod signature;
pub mod version;

#[cfg(test)]
mod tests;

pub use archive::{
    Archive, DEFAULT_ARCHIVE_YAML, Resolved, Upgrade, default_archive, parse_archive, resolve,
};
pub use base::{
    BaseRelease, DEFAULT_BASE_YAML, NextRelease, default_base, next_release, parse_base,
};
pub use compat::{
    Component, Conflict, Constraint, DEFAULT_MATRIX_YAML, GateRefusal, Matrix, Rule, Side, Target,
    Verdict, check, default_matrix, known_good, parse_matrix,
};
pub use error::{ErrorKind, FieldError, ImageError};
pub use lifecycle::{
    Action, Channel, ImageRecord, Status, Transition, deprecate, deprecation_warning, promote,
    publish, update_available, update_required, usable_for_new_nodes, withdraw,
};
pub use manifest::{
    BaseConfig, GpuDriver, Manifest, ManifestId, OsRelease, Pinned, SealedManifest,
    canonical_bytes, manifest_id, parse_canonical, parse_manifest_json, parse_manifest_yaml, seal,
    validate_manifest,
};
pub use signature::{
    ManifestSignature, SignatureError, SigningKey, VerifyingKey, key_id, sign, signed_message,
    signing_key_from_pem, signing_key_from_seed, signing_key_to_pem, verify, verify_bytes,
    verifying_key_from_pem, verifying_key_to_pem,
};
pub use version::ImageVersion;
