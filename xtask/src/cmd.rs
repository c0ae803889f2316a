//! Running child processes: inherited stdio, waiting for the child even when the user presses
//! Ctrl-C, and turning a failed child into a typed error that carries its exit code.
//!
//! Invariant: xtask never exits while a child it started is still running. Ctrl-C goes to the
//! whole foreground process group, so the child sees it directly; xtask only replaces its own
//! default SIGINT action (which would kill it at once), waits, and exits with the child's code.

use std::ffi::OsStr;
use std::fmt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Once;

use anyhow::{Context, Result};

/// A child process ran and did not succeed. `main` exits with `code`.
#[derive(Debug)]
pub struct ChildFailed {
    /// The command line, shortened for humans.
    pub what: String,
    /// The exit code to propagate (128 + signal number when the child was killed by a signal).
    pub code: u8,
    /// Captured stderr, when the output was captured rather than shown.
    pub stderr: String,
}

impl fmt::Display for ChildFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code == 130 {
            write!(f, "`{}` was interrupted (exit code 130)", self.what)?;
        } else {
            write!(f, "`{}` failed with exit code {}", self.what, self.code)?;
        }
        match self.stderr.trim() {
            "" => Ok(()),
            stderr => write!(f, ": {stderr}"),
        }
    }
}

impl std::error::Error for ChildFailed {}

/// The `cargo` that runs xtask (set by `cargo run`), so children use the same toolchain.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `cmd` with inherited stdio and waits for it; a non-zero exit becomes [`ChildFailed`].
pub fn run(cmd: &mut Command) -> Result<()> {
    let what = describe(cmd);
    keep_running_on_ctrl_c();
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{what}`"))?;
    check(what, status)
}

/// Runs `cmd` with its output captured and returns stdout; a non-zero exit is an error that
/// includes stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let what = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not start `{what}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(ChildFailed {
            what,
            code: exit_code(out.status),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
        .into());
    }
    Ok(stdout)
}

/// Runs `cmd` with stderr shown and stdout captured (for machine-readable output such as
/// cargo's `--message-format=json…`). Returns stdout whether or not the child succeeded, with
/// the outcome: a failure is a [`ChildFailed`] without stderr (the user has seen it).
pub fn run_with_stdout(cmd: &mut Command) -> Result<(String, Result<(), ChildFailed>)> {
    let what = describe(cmd);
    keep_running_on_ctrl_c();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{what}`"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let outcome = if out.status.success() {
        Ok(())
    } else {
        Err(ChildFailed {
            what,
            code: exit_code(out.status),
            stderr: String::new(),
        })
    };
    Ok((stdout, outcome))
}

/// True when `cmd` starts and exits 0; all output discarded. For feature probes.
pub fn succeeds_quietly(cmd: &mut Command) -> bool {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn check(what: String, status: ExitStatus) -> Result<()> {
    if status.success() {
        Ok(())
    } else {
        Err(ChildFailed {
            what,
            code: exit_code(status),
            stderr: String::new(),
        }
        .into())
    }
}

/// The code a shell would report: the exit code, or 128 + signal when killed by a signal.
fn exit_code(status: ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(1);
        }
    }
    1
}

/// `cargo clippy --workspace …` rather than `/root/.rustup/toolchains/…/bin/cargo clippy …`.
fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_else(|| cmd.get_program());
    std::iter::once(program)
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .map(|arg| {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                format!("'{arg}'")
            } else {
                arg.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Replaces the default SIGINT action (terminate) for the rest of xtask's life, so Ctrl-C only
/// stops the child and `run` still reports the child's exit code.
///
/// tokio's signal listener is the one safe way to install a handler; its documentation
/// promises that once a signal has been listened for, the default action never comes back,
/// even after the runtime and the listener are dropped — which is what we want here.
fn keep_running_on_ctrl_c() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        #[cfg(unix)]
        if let Err(err) = listen_for_sigint() {
            eprintln!("xtask: note: Ctrl-C may stop xtask before its child exits ({err})");
        }
    });
}

#[cfg(unix)]
fn listen_for_sigint() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _entered = runtime.enter();
    let _listener = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_shortens_the_program_path() {
        let mut cmd = Command::new("/opt/toolchain/bin/cargo");
        cmd.args(["clippy", "--workspace", "a b", ""]);
        assert_eq!(describe(&cmd), "cargo clippy --workspace 'a b' ''");
    }

    #[cfg(unix)]
    #[test]
    fn exit_codes_are_propagated() {
        let err = run(Command::new("sh").args(["-c", "exit 3"])).unwrap_err();
        let failed = err.downcast_ref::<ChildFailed>().unwrap();
        assert_eq!(failed.code, 3);
        assert_eq!(failed.what, "sh -c 'exit 3'");
        run(Command::new("sh").args(["-c", "exit 0"])).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn killed_child_reports_128_plus_signal() {
        let err = run(Command::new("sh").args(["-c", "kill -TERM $$"])).unwrap_err();
        assert_eq!(err.downcast_ref::<ChildFailed>().unwrap().code, 128 + 15);
    }

    /// The child sends SIGINT to xtask (this test process) and exits later with its own code:
    /// xtask must survive, wait, and report that code. Runs in its own process under nextest.
    #[cfg(unix)]
    #[test]
    fn ctrl_c_does_not_kill_xtask_before_its_child() {
        let err =
            run(Command::new("sh").args(["-c", "kill -INT $PPID; sleep 0.2; exit 7"])).unwrap_err();
        assert_eq!(err.downcast_ref::<ChildFailed>().unwrap().code, 7);
    }

    #[cfg(unix)]
    #[test]
    fn run_with_stdout_keeps_stdout_of_failures_too() {
        let (stdout, outcome) =
            run_with_stdout(Command::new("sh").args(["-c", "echo partial; exit 4"])).unwrap();
        assert_eq!(stdout, "partial\n");
        assert_eq!(outcome.unwrap_err().code, 4);
        let (stdout, outcome) =
            run_with_stdout(Command::new("sh").args(["-c", "echo ok"])).unwrap();
        assert_eq!(stdout, "ok\n");
        outcome.unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn output_captures_stdout_and_reports_stderr() {
        assert_eq!(
            output(Command::new("sh").args(["-c", "echo hi"])).unwrap(),
            "hi\n"
        );
        let err = output(Command::new("sh").args(["-c", "echo boom >&2; exit 2"])).unwrap_err();
        assert!(format!("{err:#}").contains("boom"), "{err:#}");
        assert_eq!(err.downcast_ref::<ChildFailed>().unwrap().code, 2);
    }
}
