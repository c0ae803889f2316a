//! Temporary directories for stores and other on-disk test state.
//!
//! Invariant: everything a test writes lives under a directory that is removed when the returned
//! guard is dropped.

pub use tempfile::TempDir;

/// A fresh temporary directory named `accord-test-*`, removed on `Drop`.
pub fn temp_dir() -> anyhow::Result<TempDir> {
    use anyhow::Context as _;
    tempfile::Builder::new()
        .prefix("accord-test-")
        .tempdir()
        .context("create a temporary directory")
}
