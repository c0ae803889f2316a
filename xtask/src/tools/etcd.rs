//! etcd for the write benchmark's baseline: `$ACCORD_ETCD`, `etcd` on PATH or `/usr/bin/etcd`,
//! else Debian's `etcd-server` package installed with apt (as root; `apt-get update` first).
//!
//! Invariant: only the benchmark needs etcd; `test` and `ci` never look for it.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{apt_install, find_all_on_path, is_executable, is_root};

/// Environment variable naming the etcd binary (read by `accord-bench`).
pub const ENV_VAR: &str = "ACCORD_ETCD";

/// Where Debian's `etcd-server` puts the binary.
const DEBIAN_BINARY: &str = "/usr/bin/etcd";

/// The etcd binary, installing Debian's `etcd-server` when there is none.
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(found) = find() {
        return Ok(found);
    }
    eprintln!("xtask: etcd not found; installing Debian's etcd-server with apt-get …");
    if !is_root() {
        bail!(
            "etcd is not installed and xtask is not root: run `sudo apt-get install etcd-server` \
             (or set {ENV_VAR} to an etcd binary), then `cargo xtask bench` again"
        );
    }
    apt_install("etcd-server")?;
    find().with_context(|| {
        format!("etcd-server was installed but no etcd binary is at {DEBIAN_BINARY} or on PATH")
    })
}

/// `$ACCORD_ETCD`, `etcd` on PATH, or Debian's binary, whichever exists first.
fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(ENV_VAR).map(PathBuf::from)
        && is_executable(&p)
    {
        return Some(p);
    }
    find_all_on_path(OsStr::new("etcd"), std::env::var_os("PATH").as_deref())
        .into_iter()
        .next()
        .or_else(|| is_executable(Path::new(DEBIAN_BINARY)).then(|| PathBuf::from(DEBIAN_BINARY)))
}
