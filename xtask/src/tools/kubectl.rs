//! `kubectl` for the deployment tests (`kubectl kustomize deploy/kubernetes/...`, whose output
//! `kubernetes-validate --strict` then checks): `$ACCORD_KUBECTL`, `kubectl` on PATH or
//! `/usr/bin/kubectl`, else the `kubectl` package installed with apt when xtask runs as root.
//!
//! Invariant: `cargo xtask test` never runs the deployment tests without kubectl. A missing
//! kubectl that xtask may not (or cannot) install fails the run with what to install; the tests
//! themselves fail, not skip, when `$ACCORD_KUBECTL` is unset.

use std::path::PathBuf;

use anyhow::Result;

use super::AptTool;

/// Environment variable naming the kubectl binary (read by the tests).
pub const ENV_VAR: &str = "ACCORD_KUBECTL";

const KUBECTL: AptTool = AptTool {
    binary: "kubectl",
    env_var: ENV_VAR,
    package: "kubectl",
    debian_binary: "/usr/bin/kubectl",
    instead: "a kubectl with kustomize v5",
    described: "the kubectl package",
    install_context: "installing kubectl for the deployment tests (an apt source that has the \
                      `kubectl` package is needed; Debian's own kubernetes-client is too old for \
                      the kustomizations)",
};

/// kubectl, installing the `kubectl` package with apt as root when there is none.
pub fn find_or_install() -> Result<PathBuf> {
    super::find_or_install(&KUBECTL)
}
