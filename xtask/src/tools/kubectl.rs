//! `kubectl` for the deployment tests (`kubectl kustomize deploy/kubernetes/...`, whose output
//! `kubernetes-validate --strict` then checks): `$ACCORD_KUBECTL`, `kubectl` on PATH or
//! `/usr/bin/kubectl`, else the `kubectl` package installed with apt when xtask runs as root.
//!
//! Invariant: `cargo xtask test` never runs the deployment tests without kubectl. A missing
//! kubectl that xtask may not (or cannot) install fails the run with what to install; the tests
//! themselves fail, not skip, when `$ACCORD_KUBECTL` is unset.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::{apt_install, find_all_on_path, from_env, is_executable, is_root};

/// Environment variable naming the kubectl binary (read by the tests).
pub const ENV_VAR: &str = "ACCORD_KUBECTL";

/// Where the `kubectl` package puts it.
const DEBIAN_BINARY: &str = "/usr/bin/kubectl";

/// kubectl, installing the `kubectl` package with apt as root when there is none.
pub fn find_or_install() -> Result<PathBuf> {
    if let Some(explicit) = from_env(ENV_VAR)? {
        return Ok(explicit);
    }
    if let Some(found) = find() {
        return Ok(found);
    }
    if !is_root() {
        bail!(
            "kubectl not found and xtask is not root: `sudo apt-get install kubectl` (or set \
             {ENV_VAR} to a kubectl with kustomize v5), then run the tests again"
        );
    }
    eprintln!("xtask: kubectl not found; installing the kubectl package with apt-get …");
    apt_install("kubectl").context(
        "installing kubectl for the deployment tests (an apt source that has the `kubectl` \
         package is needed; Debian's own kubernetes-client is too old for the kustomizations)",
    )?;
    find().with_context(|| {
        format!("kubectl was installed but no kubectl is at {DEBIAN_BINARY} or on PATH")
    })
}

/// `kubectl` on PATH, or the package's binary, whichever exists first.
fn find() -> Option<PathBuf> {
    find_all_on_path(OsStr::new("kubectl"), std::env::var_os("PATH").as_deref())
        .into_iter()
        .next()
        .or_else(|| is_executable(Path::new(DEBIAN_BINARY)).then(|| PathBuf::from(DEBIAN_BINARY)))
}
