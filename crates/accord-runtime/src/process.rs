//! The part every service binary shares: a multi-threaded tokio runtime around the service's
//! async `run`, the error chain printed with `{:#}` and a non-zero exit on failure
//! ([`main_with`]) and waiting until shutdown or the first task to stop ([`supervise`]). The
//! outbox relay every service runs is started by the service host (`crate::host`).

use std::{future::Future, process::ExitCode, time::Duration};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Runs `run` to completion on a new multi-threaded runtime; `Err` prints `error: <chain>`.
pub fn main_with<F>(run: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for `shutdown` or for the first task to stop (then cancels `shutdown`), gives the rest
/// `grace` to finish, and returns the first task's error, if it failed.
pub async fn supervise(
    mut tasks: JoinSet<anyhow::Result<()>>,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    tokio::select! {
        () = shutdown.cancelled() => {}
        Some(res) = tasks.join_next() => {
            shutdown.cancel();
            outcome = match res {
                Ok(r) => r,
                Err(e) => Err(anyhow::anyhow!("a service task panicked: {e}")),
            };
        }
    }
    let _ = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    outcome
}
