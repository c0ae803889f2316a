//! `promtool` for the tests that check the metrics exposition (`promtool check metrics`):
//! `$ACCORD_PROMTOOL`, `promtool` on PATH or `/usr/bin/promtool`, else Debian's `prometheus`
//! package installed with apt when xtask runs as root (CI does; about ten seconds and a dozen
//! small packages, and apt's policy keeps the packaged server from starting).
//!
//! Invariant: a machine where xtask is not root and promtool is missing still runs the tests:
//! the variable is left unset and the tests that need promtool say loudly that they skipped.
//! As root, a failed install fails the run — CI never skips silently.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{apt_install, find_all_on_path, is_executable, is_root};

/// Environment variable naming the promtool binary (read by the tests).
pub const ENV_VAR: &str = "ACCORD_PROMTOOL";

/// Where Debian's `prometheus` puts it.
const DEBIAN_BINARY: &str = "/usr/bin/promtool";

/// promtool, installing Debian's `prometheus` as root when there is none; `None` (with a
/// warning) when it is missing and xtask may not install it.
pub fn find_or_install() -> Result<Option<PathBuf>> {
    if let Some(found) = find() {
        return Ok(Some(found));
    }
    if !is_root() {
        eprintln!(
            "xtask: WARNING: promtool not found and xtask is not root, so the exposition tests \
             will skip `promtool check metrics`; `sudo apt-get install --no-install-recommends \
             prometheus` (or set {ENV_VAR}) to run them"
        );
        return Ok(None);
    }
    eprintln!("xtask: promtool not found; installing Debian's prometheus with apt-get …");
    apt_install("prometheus")?;
    find().map(Some).with_context(|| {
        format!("prometheus was installed but no promtool is at {DEBIAN_BINARY} or on PATH")
    })
}

/// `$ACCORD_PROMTOOL`, `promtool` on PATH, or Debian's binary, whichever exists first.
fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_VAR).map(PathBuf::from)
        && is_executable(&p)
    {
        return Some(p);
    }
    find_all_on_path(OsStr::new("promtool"), std::env::var_os("PATH").as_deref())
        .into_iter()
        .next()
        .or_else(|| is_executable(Path::new(DEBIAN_BINARY)).then(|| PathBuf::from(DEBIAN_BINARY)))
}
