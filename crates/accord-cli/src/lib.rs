//! The `accord` command line: a kubectl-style client of the Accord API for customers of a GPU
//! cloud and for the provider's operators, plus developer commands (`events`, `sim`, `up`;
//! the benchmarks are the `accord-bench` crate).
//!
//! Codemap:
//! - [`cli`]: clap definitions of every command and option (with `ACCORD_*` env fallbacks).
//! - [`config`]: connection settings from flags, environment and the profile file.
//! - [`client`]: the gRPC channel, bearer-token interceptor and [`client::ApiError`].
//! - [`commands`]: one module per command group, dispatched by [`commands::run`].
//! - [`output`]: tables, describe documents, JSON/YAML views, `kind/name` lines.
//! - [`wait`]: `--wait` polling with a progress display.
//! - [`parse`]: argument value parsers (labels, taints, durations).
//! - [`input`]: bounded reading of files and standard input handed to the CLI.
//! - [`selector`]: `-l` label selectors, parsed and matched client-side.
//!
//! Invariants:
//! - `main.rs` only parses, calls [`run`] and prints [`render_error`]; everything else is library
//!   code with unit tests.
//! - No `unwrap`/`expect`/`panic` outside tests (workspace lints).

pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod input;
pub mod output;
pub mod parse;
pub mod selector;
pub mod wait;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;

pub use cli::Cli;

use crate::cli::Command;

use crate::client::ApiError;
use crate::commands::Context;
use crate::config::Environment;

/// Resolves the settings and runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = match cli.command {
        Command::Up(_)
        | Command::Completion(_)
        | Command::NatsCredentials(_)
        | Command::Remediation(_)
        | Command::Triage(_)
        | Command::Health(cli::HealthCommand::Check(_)) => config::from_flags(&cli.global),
        _ => config::resolve(&cli.global, &Environment::current())?,
    };
    let ctx = Context::new(settings, cli.global.output);
    commands::run(&ctx, cli.command).await
}

/// The text after `error: ` for a failed command.
///
/// An API failure is shown exactly as the API worded it — `FAILED_PRECONDITION: cluster demo
/// still has node pools: gpu-a` — without the CLI's own context, plus a `hint:` line where one
/// helps. Anything else is the full context chain (`outer: inner: cause`).
pub fn render_error(error: &anyhow::Error) -> String {
    let api_error = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ApiError>());
    match api_error {
        Some(api_error) => match api_error.hint() {
            Some(hint) => format!("{api_error}\nhint: {hint}"),
            None => api_error.to_string(),
        },
        None => format!("{error:#}"),
    }
}
