//! The `accord` binary: parse the command line, run it, print the error chain and exit non-zero
//! on failure. All logic lives in the `accord_cli` library.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = accord_cli::Cli::parse_with_sources();
    match accord_cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", accord_cli::render_error(&error));
            ExitCode::FAILURE
        }
    }
}
