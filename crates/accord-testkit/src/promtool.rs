//! `promtool check metrics` — Prometheus' own reader of the text exposition format — for the
//! tests of every metrics endpoint, found through `$ACCORD_PROMTOOL`, which `cargo xtask test`
//! sets (it finds promtool or installs Debian's `prometheus` package).
//!
//! Invariant: like `$ACCORD_KUBECTL`, an unset variable fails the test rather than skipping it,
//! so an exposition is never reported as checked when it was not.

use std::{
    io::Write as _,
    path::PathBuf,
    process::{Command, Stdio},
};

use anyhow::Context as _;

/// The variable naming the promtool binary.
pub const PROMTOOL_VAR: &str = "ACCORD_PROMTOOL";

/// The promtool binary; fails the calling test when `$ACCORD_PROMTOOL` is unset.
#[track_caller]
pub fn promtool() -> PathBuf {
    match std::env::var_os(PROMTOOL_VAR) {
        Some(path) => PathBuf::from(path),
        None => crate::__private::fail(format!(
            "{PROMTOOL_VAR} is not set: run the tests with `cargo xtask test` (it finds \
             promtool or installs Debian's prometheus package), or set it to a promtool binary"
        )),
    }
}

/// What `promtool check metrics` said about a text.
#[derive(Debug)]
pub struct PromtoolCheck {
    /// Its exit code: 0 clean, 3 lint findings only, 1 a parse error.
    pub code: Option<i32>,
    /// Its stdout and stderr.
    pub output: String,
}

impl PromtoolCheck {
    /// True when promtool read the text and found nothing to say.
    pub fn is_clean(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `promtool check metrics` (the binary from [`promtool`]) with `text` on stdin.
#[track_caller]
pub fn promtool_check_metrics(text: &str) -> anyhow::Result<PromtoolCheck> {
    let program = promtool();
    let mut child = Command::new(&program)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", program.display()))?;
    // A writer thread, so a promtool that answers before reading all of stdin cannot deadlock
    // the pipe.
    let mut stdin = child.stdin.take().context("promtool's stdin")?;
    let input = text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().context("waiting for promtool")?;
    // A promtool that stopped reading early (a parse error) closes the pipe: not our failure.
    let _ = writer.join();
    Ok(PromtoolCheck {
        code: out.status.code(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}
