//! The subcommands: `tools`, `plugins`, `tidy`, `test`, `ci`, `up`, `bench`. Each one prepares
//! the environment (a nats-server exported as `$ACCORD_NATS_SERVER`; for `test` and `up` also the
//! freshly built plugins, exported as `$ACCORD_PLUGIN_DIR`; for `test` the checkers the tests
//! run: `$ACCORD_KUBERNETES_VALIDATE`, `$ACCORD_PYTHON` (the tool venv's interpreter),
//! `$ACCORD_KUBECTL` and `$ACCORD_PROMTOOL`) and then hands over to cargo;
//! `tidy` only reads files.
//!
//! Invariants:
//! - Every cargo child runs in the workspace root (plugin builds: in `plugins/`) with the
//!   `cargo` that runs xtask, and a failing child stops the task with its exit code (see
//!   `cmd::ChildFailed`).
//! - `test`, `ci` and `up` build the plugins first, so nothing runs against stale components.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::plugins;
use crate::tidy;
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

/// `cargo xtask plugins`: build every WebAssembly plugin and print where the components are.
pub fn plugins(ws: &Workspace) -> Result<()> {
    let components = plugins::build(ws)?;
    plugins::print(ws, &components);
    Ok(())
}

/// `cargo xtask tidy`: the source-tree checks of [`crate::tidy`] (no build; every finding listed).
pub fn tidy(ws: &Workspace) -> Result<()> {
    tidy::run(ws)
}

/// `cargo xtask test [ARGS]`: the workspace tests against a real nats-server and freshly built
/// plugins.
pub fn test(ws: &Workspace, args: &[String]) -> Result<()> {
    let plugin_dir = plugins_for_children(ws)?;
    let nats = nats_server_for_children(ws)?;
    run_tests(ws, &nats, &plugin_dir, args)
}

/// `cargo xtask ci`: tidy, formatting, lints (host, then plugins), the plugin build, tests — in
/// that order, stopping at the first failure.
pub fn ci(ws: &Workspace) -> Result<()> {
    header("tidy");
    tidy::run(ws).context("ci: the source tree is not tidy (findings above)")?;

    header("cargo fmt --all -- --check");
    cmd::run(cargo(ws).args(["fmt", "--all", "--", "--check"])).context(
        "ci: formatting differs from rustfmt; run `cargo fmt --all` and commit the result",
    )?;

    header(
        "cargo clippy --workspace --all-targets --features accord-platform/failpoints --locked -- -D warnings",
    );
    cmd::run(cargo(ws).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--features",
        FAILPOINTS,
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
    .context("ci: clippy reported problems (every warning is an error in CI)")?;

    // The plugins are their own workspace (another target): lint and format-check them there.
    plugins::ensure_target(ws)?;
    header("plugins: cargo clippy --target wasm32-wasip2 --all-targets --locked -- -D warnings");
    cmd::run(
        plugins_cargo(ws)
            .args([
                "clippy",
                "--target",
                plugins::TARGET,
                "--all-targets",
                "--locked",
            ])
            .arg("--target-dir")
            .arg(ws.plugins_target_dir())
            .args(["--", "-D", "warnings"]),
    )
    .context("ci: clippy reported problems in plugins/ (every warning is an error in CI)")?;

    header("plugins: cargo fmt --all -- --check");
    cmd::run(plugins_cargo(ws).args(["fmt", "--all", "--", "--check"]))
        .context("ci: formatting differs from rustfmt in plugins/; run `cargo fmt --all` there")?;

    header("plugins: build");
    let plugin_dir = plugins_for_children(ws).context("ci: the plugins do not build")?;

    header("nats-server");
    let nats = nats_server_for_children(ws).context("ci: no usable nats-server")?;

    header("tests");
    run_tests(ws, &nats, &plugin_dir, &[]).context("ci: tests failed")?;

    eprintln!("==> ci passed");
    Ok(())
}

/// `cargo xtask up [ARGS]`: every service in one process (`accord up`).
pub fn up(ws: &Workspace, args: &[String]) -> Result<()> {
    let plugin_dir = plugins_for_children(ws)?;
    let nats = nats_server_for_children(ws)?;
    cmd::run(
        cargo(ws)
            .env(ENV_VAR, &nats)
            .env(plugins::ENV_VAR, &plugin_dir)
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

/// `cargo xtask bench [ARGS]`: `accord-bench`, built with the optimised `bench-fast` profile.
pub fn bench(ws: &Workspace, args: &[String]) -> Result<()> {
    let nats = nats_server_for_children(ws)?;
    let plugin_dir = plugins_for_children(ws)?;
    let etcd = crate::tools::etcd::find_or_install().context("bench: etcd (the write baseline)")?;
    eprintln!("xtask: using etcd {}", etcd.display());
    cmd::run(
        cargo(ws)
            .env(ENV_VAR, &nats)
            .env(plugins::ENV_VAR, &plugin_dir)
            .env(crate::tools::etcd::ENV_VAR, &etcd)
            .args([
                "run",
                "--profile",
                "bench-fast",
                "--package",
                "accord-bench",
            ])
            .args(["--bin", "accord-bench", "--"])
            .args(args),
    )
}

fn nats_server_for_children(ws: &Workspace) -> Result<std::path::PathBuf> {
    let nats = nats_server::find_or_install(ws)?;
    eprintln!("xtask: using {nats}");
    Ok(nats.path)
}

/// Builds the plugins and returns the directory to export as `$ACCORD_PLUGIN_DIR`.
fn plugins_for_children(ws: &Workspace) -> Result<PathBuf> {
    let components = plugins::build(ws)?;
    eprintln!(
        "xtask: {} plugins in {}",
        components.len(),
        ws.display(&ws.plugin_out_dir())
    );
    Ok(ws.plugin_out_dir())
}

/// Where the tests find `kubernetes-validate`.
const KUBERNETES_VALIDATE_VAR: &str = "ACCORD_KUBERNETES_VALIDATE";

/// Where the tests find the venv's Python (with `prometheus-client`).
const PYTHON_VAR: &str = "ACCORD_PYTHON";

fn run_tests(ws: &Workspace, nats: &Path, plugin_dir: &Path, args: &[String]) -> Result<()> {
    let validator = crate::tools::python::kubernetes_validate(ws)?;
    let python = crate::tools::python::test_python(ws)?;
    let promtool = crate::tools::promtool::find_or_install()?;
    let kubectl = crate::tools::kubectl::find_or_install()?;
    // Every cargo child of the run gets the same tools.
    let test_cargo = || {
        let mut cmd = cargo(ws);
        cmd.env(ENV_VAR, nats)
            .env(plugins::ENV_VAR, plugin_dir)
            .env(KUBERNETES_VALIDATE_VAR, &validator)
            .env(PYTHON_VAR, &python)
            .env(crate::tools::kubectl::ENV_VAR, &kubectl)
            .env(crate::tools::promtool::ENV_VAR, &promtool);
        cmd
    };
    // `--workspace` beats `-p`, so it is only added when ARGS pick no package themselves:
    // `cargo xtask test -p accord-bus` then builds and tests just that crate.
    // The whole workspace is tested with the provisioner's failpoints compiled in (its process
    // crash tests need them; production builds never have them).
    let scope: &[&str] = if selects_packages(args) {
        &[]
    } else {
        &["--workspace", "--features", FAILPOINTS]
    };

    if !cmd::succeeds_quietly(cargo(ws).args(["nextest", "--version"])) {
        eprintln!(
            "xtask: cargo-nextest not found, using `cargo test` \
             (`cargo install --locked cargo-nextest` for faster, process-per-test runs)"
        );
        return cmd::run(test_cargo().arg("test").args(scope).args(args));
    }

    // The plugins' native tests and the doc tests (which nextest does not run) go first, so
    // nextest's summary closes the output (CI reads the runner's closing lines). Doc tests are
    // cheap: the libraries are already built, and edition 2024 merges each crate's doc tests
    // into one binary. Extra ARGS are nextest's (filters, `-E`, `--profile` …) and mean nothing
    // to `cargo test --doc`, so a filtered run skips both instead of guessing.
    if args.is_empty() {
        plugins::test_native(ws)?;
        cmd::run(test_cargo().args(["test", "--workspace", "--features", FAILPOINTS, "--doc"]))?;
    } else {
        eprintln!(
            "xtask: note: doc tests skipped for a filtered run; `cargo xtask test` runs them"
        );
    }
    cmd::run(
        test_cargo()
            .args(["nextest", "run"])
            .args(scope)
            .arg("--no-fail-fast")
            .args(args),
    )
}

/// The cargo feature that compiles the provisioner's crash-test hooks.
const FAILPOINTS: &str = "accord-platform/failpoints";

/// True when cargo-level `args` (before any `--`) choose packages with `-p` / `--package`.
fn selects_packages(args: &[String]) -> bool {
    args.iter()
        .take_while(|arg| *arg != "--")
        .any(|arg| arg.starts_with("-p") || arg == "--package" || arg.starts_with("--package="))
}

/// The cargo that runs xtask, in the workspace root.
///
/// Everything it runs shares one wasmtime compilation cache under `target/` (unless
/// `ACCORD_WASM_CACHE` is set), so tests, `accord up` and restarts compile each plugin once.
fn cargo(ws: &Workspace) -> Command {
    let mut cmd = cmd::cargo();
    cmd.current_dir(ws.root());
    if std::env::var_os(WASM_CACHE_VAR).is_none() {
        cmd.env(WASM_CACHE_VAR, ws.root().join("target").join("wasm-cache"));
    }
    cmd
}

/// The plugin host's compilation-cache variable (`accord_plugin_host::COMPILE_CACHE_ENV`).
const WASM_CACHE_VAR: &str = "ACCORD_WASM_CACHE";

/// The cargo that runs xtask, in the plugins workspace.
fn plugins_cargo(ws: &Workspace) -> Command {
    let mut cmd = cmd::cargo();
    cmd.current_dir(ws.plugins_dir());
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
