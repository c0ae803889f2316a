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

use std::path::PathBuf;

use anyhow::Result;

use super::AptTool;

/// Environment variable naming the promtool binary (read by the tests).
pub const ENV_VAR: &str = "ACCORD_PROMTOOL";

const PROMTOOL: AptTool = AptTool {
    binary: "promtool",
    env_var: ENV_VAR,
    package: "prometheus",
    debian_binary: "/usr/bin/promtool",
    instead: "a promtool binary",
    described: "Debian's prometheus",
    install_context: "installing promtool for the metrics exposition tests",
};

/// promtool, installing Debian's `prometheus` with apt as root when there is none.
pub fn find_or_install() -> Result<PathBuf> {
    super::find_or_install(&PROMTOOL)
}
