//! `promtool` for the tests that check the metrics expositions (`promtool check metrics` over
//! every service's `/metrics` and the cluster metrics endpoint): `$ACCORD_PROMTOOL`, `promtool`
//! on PATH or `/usr/bin/promtool`, else Debian's `prometheus` package installed with apt when
//! xtask runs as root (CI does; about ten seconds and a dozen small packages). In a container
//! without systemd the packaged server does not start; on a host with systemd the package's
//! `prometheus.service` starts and listens on :9090 (`systemctl disable --now prometheus` if
//! that is unwanted).
//!
//! Invariant: `cargo xtask test` never runs the exposition tests without promtool, as with
//! kubectl. A missing promtool that xtask may not (or cannot) install fails the run with what to
//! install; the tests themselves fail, not skip, when `$ACCORD_PROMTOOL` is unset.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{apt_install, find_all_on_path, from_env, is_executable, is_root};

/// Environment variable naming the promtool binary (read by the tests).
pub const ENV_VAR: &str = "ACCORD_PROMTOOL";

/// Where Debian's `prometheus` puts it.
const DEBIAN_BINARY: &str = "/usr/bin/promtool";

/// promtool, installing Debian's `prometheus` with apt as root when there is none.
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(explicit) = from_env(ENV_VAR)? {
        return Ok(explicit);
    }
    if let Some(found) = find() {
        return Ok(found);
    }
    if !is_root() {
        bail!(
            "promtool not found and xtask is not root: `sudo apt-get install \
             --no-install-recommends prometheus` (or set {ENV_VAR} to a promtool binary), then \
             run the tests again"
        );
    }
    eprintln!("xtask: promtool not found; installing Debian's prometheus with apt-get …");
    apt_install("prometheus").context("installing promtool for the metrics exposition tests")?;
    find().with_context(|| {
        format!("prometheus was installed but no promtool is at {DEBIAN_BINARY} or on PATH")
    })
}

/// `promtool` on PATH, or Debian's binary, whichever exists first.
fn find() -> Option<PathBuf> {
    find_all_on_path(OsStr::new("promtool"), std::env::var_os("PATH").as_deref())
        .into_iter()
        .next()
        .or_else(|| is_executable(Path::new(DEBIAN_BINARY)).then(|| PathBuf::from(DEBIAN_BINARY)))
}
