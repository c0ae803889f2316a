//! The crate's tests, one child module per concern, and the fixtures they share.

mod archive;
mod base;
mod compat;
mod lifecycle;
mod manifest;
mod manifest_props;
mod signature;
mod version;

use time::OffsetDateTime;
use time::macros::datetime;

use crate::{BaseRelease, Manifest, Matrix, SealedManifest, default_base, default_matrix, seal};

/// The simulator's instance types (`accord-sim`'s catalogue), as the service passes them in.
pub(crate) const KNOWN: [&str; 4] = [
    "h200-141gb-sxm-ib.8x",
    "h100-80gb-sxm-ib.8x",
    "l40s-48gb.10x",
    "c1a.16x",
];

/// The shipped base release, or the test fails.
pub(crate) fn base_release() -> BaseRelease {
    default_base(&KNOWN).unwrap_or_else(|e| panic!("{e}"))
}

/// The shipped matrix, or the test fails.
pub(crate) fn matrix() -> Matrix {
    default_matrix(&KNOWN).unwrap_or_else(|e| panic!("{e}"))
}

/// The base's production-branch manifest.
pub(crate) fn production() -> Manifest {
    base_release().for_branch("production").cloned().unwrap()
}

/// `manifest` sealed, or the test fails.
pub(crate) fn sealed(manifest: Manifest) -> SealedManifest {
    seal(manifest, &KNOWN).unwrap_or_else(|e| panic!("{e}"))
}

/// A fixed instant.
pub(crate) fn at() -> OffsetDateTime {
    datetime!(2026-12-04 09:00 UTC)
}
