//! The subcommands: `tools`, `test`, `ci`, `up`, `bench`. Each one prepares the environment
//! (a nats-server exported as `$ACCORD_NATS_SERVER`) and then hands over to cargo.
//!
//! Invariant: every cargo child runs in the workspace root with the `cargo` that runs xtask, and
//! a failing child stops the task with its exit code (see `cmd::ChildFailed`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::tools::nats_server::{self, ENV_VAR};
use crate::workspace::Workspace;

/// `cargo xtask tools`: find or install every tool and print where it is.
pub fn tools(ws: &Workspace) -> Result<()> {
    let nats = nats_server::find_or_install(ws)?;
    let version = nats
        .version
        .map_or_else(|| "version unknown".to_owned(), |v| format!("v{v}"));
    println!(
        "nats-server  {}  ({version}, {})",
        nats.path.display(),
        nats.source
    );
    Ok(())
}

/// `cargo xtask test [ARGS]`: the workspace tests against a real nats-server.
pub fn test(ws: &Workspace, args: &[String]) -> Result<()> {
    let nats = nats_server_for_children(ws)?;
    run_tests(ws, &nats, args)
}

/// `cargo xtask ci`: formatting, lints, tests — in that order, stopping at the first failure.
pub fn ci(ws: &Workspace) -> Result<()> {
    header("cargo fmt --all -- --check");
    cmd::run(cargo(ws).args(["fmt", "--all", "--", "--check"])).context(
        "ci: formatting differs from rustfmt; run `cargo fmt --all` and commit the result",
    )?;

    header("cargo clippy --workspace --all-targets --locked -- -D warnings");
    cmd::run(cargo(ws).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
    .context("ci: clippy reported problems (every warning is an error in CI)")?;

    header("nats-server");
    let nats = nats_server_for_children(ws).context("ci: no usable nats-server")?;

    header("tests");
    run_tests(ws, &nats, &[]).context("ci: tests failed")?;

    eprintln!("==> ci passed");
    Ok(())
}

/// `cargo xtask up [ARGS]`: every service in one process (`accord up`).
pub fn up(ws: &Workspace, args: &[String]) -> Result<()> {
    let nats = nats_server_for_children(ws)?;
    cmd::run(
        cargo(ws)
            .env(ENV_VAR, &nats)
            .args([
                "run",
                "--package",
                "accord-cli",
                "--bin",
                "accord",
                "--",
                "up",
            ])
            .args(args),
    )
}

/// `cargo xtask bench [ARGS]`: `accord bench`, built with the optimised `bench-fast` profile.
pub fn bench(ws: &Workspace, args: &[String]) -> Result<()> {
    let nats = nats_server_for_children(ws)?;
    cmd::run(
        cargo(ws)
            .env(ENV_VAR, &nats)
            .args(["run", "--profile", "bench-fast", "--package", "accord-cli"])
            .args(["--bin", "accord", "--", "bench"])
            .args(args),
    )
}

fn nats_server_for_children(ws: &Workspace) -> Result<std::path::PathBuf> {
    let nats = nats_server::find_or_install(ws)?;
    eprintln!("xtask: using {nats}");
    Ok(nats.path)
}

fn run_tests(ws: &Workspace, nats: &Path, args: &[String]) -> Result<()> {
    // `--workspace` beats `-p`, so it is only added when ARGS pick no package themselves:
    // `cargo xtask test -p accord-bus` then builds and tests just that crate.
    let scope: &[&str] = if selects_packages(args) {
        &[]
    } else {
        &["--workspace"]
    };

    if !cmd::succeeds_quietly(cargo(ws).args(["nextest", "--version"])) {
        eprintln!(
            "xtask: cargo-nextest not found, using `cargo test` \
             (`cargo install --locked cargo-nextest` for faster, process-per-test runs)"
        );
        return cmd::run(
            cargo(ws)
                .env(ENV_VAR, nats)
                .arg("test")
                .args(scope)
                .args(args),
        );
    }

    // nextest does not run doc tests, so run them separately, first: nextest's summary then
    // closes the output (CI reads the runner's closing lines). They are cheap: the libraries
    // are already built, and edition 2024 merges each crate's doc tests into one binary. Extra
    // ARGS are nextest's (filters, `-E`, `--profile` …) and mean nothing to `cargo test --doc`,
    // so a filtered run skips doc tests instead of guessing.
    if args.is_empty() {
        cmd::run(
            cargo(ws)
                .env(ENV_VAR, nats)
                .args(["test", "--workspace", "--doc"]),
        )?;
    } else {
        eprintln!(
            "xtask: note: doc tests skipped for a filtered run; `cargo xtask test` runs them"
        );
    }
    cmd::run(
        cargo(ws)
            .env(ENV_VAR, nats)
            .args(["nextest", "run"])
            .args(scope)
            .arg("--no-fail-fast")
            .args(args),
    )
}

/// True when cargo-level `args` (before any `--`) choose packages with `-p` / `--package`.
fn selects_packages(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.starts_with("-p") || arg == "--package" || arg.starts_with("--package="))
}

/// The cargo that runs xtask, in the workspace root.
fn cargo(ws: &Workspace) -> Command {
    let mut cmd = cmd::cargo();
    cmd.current_dir(ws.root());
    cmd
}

fn header(step: &str) {
    eprintln!("==> {step}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn package_selection_is_detected_before_the_separator_only() {
        assert!(selects_packages(&args(&["-p", "accord-bus"])));
        assert!(selects_packages(&args(&["-paccord-bus"])));
        assert!(selects_packages(&args(&["--package", "xtask", "version"])));
        assert!(selects_packages(&args(&["--package=xtask"])));
        assert!(!selects_packages(&args(&[])));
        assert!(!selects_packages(&args(&["bus::", "--no-capture"])));
        assert!(!selects_packages(&args(&["--", "-p"])));
        assert!(!selects_packages(&args(&["--profile", "ci"])));
    }
}
