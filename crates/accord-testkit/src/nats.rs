//! A real `nats-server` per test, on a random port, with JetStream on a temporary store.
//!
//! The binary is found in this order: `$ACCORD_NATS_SERVER`; `<workspace>/.accord/tools/bin/
//! nats-server` (installed by `cargo xtask tools`; the workspace is the first ancestor holding
//! `rust-toolchain.toml`); `nats-server` on `PATH`. It must be ≥ 2.10 (multi-filter consumers,
//! `sync_interval`).
//!
//! Invariants:
//! - Every server writes its config, JetStream store and log under one temporary directory that
//!   lives as long as the [`NatsServer`] value; `Drop` kills the process (SIGKILL) and removes it.
//! - The config sets `jetstream { sync_interval: always }`, as production configs must, so a
//!   PubAck means the message was fsynced.
//! - Readiness is a deadline poll on "Server is ready" in the log plus a TCP connect, never a
//!   fixed sleep. If the process exits first, the error carries its log.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail, ensure};
use tempfile::TempDir;
use tokio::time::Instant;

/// How long a server may take to become ready (JetStream recovery included).
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// How long a SIGTERM'd server may take to exit before it is SIGKILL'd.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// Poll interval for process and port checks.
const POLL: Duration = Duration::from_millis(10);
/// Fresh ports tried by [`NatsServer::start`] when another process grabbed the first one.
const START_ATTEMPTS: usize = 3;
/// Oldest server version with multi-filter consumers and `sync_interval`.
const MIN_VERSION: (u32, u32) = (2, 10);

const CONFIG_FILE: &str = "nats-server.conf";
const LOG_FILE: &str = "nats-server.log";
const STORE_DIR: &str = "jetstream";

/// A running (or stopped, restartable) `nats-server` owned by a test.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server with JetStream on a free 127.0.0.1 port and waits until it accepts
    /// connections.
    pub async fn start() -> anyhow::Result<Self> {
        let binary = nats_server_binary()?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("accord-nats-")
                .tempdir()
                .context("create the nats-server temporary directory")?;
            let port = free_port()?;
            let mut server = NatsServer {
                binary: binary.clone(),
                port,
                dir,
                child: None,
            };
            match server.spawn_and_wait().await {
                Ok(()) => return Ok(server),
                // Most likely another test took the port between probe and bind: try a new one.
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("nats-server did not start")))
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (kept across [`stop`](Self::stop)/[`restart`](Self::restart)).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join(STORE_DIR)
    }

    /// The server's combined log (all runs, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG_FILE)
    }

    /// The current log contents, for diagnostics.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Graceful stop: SIGTERM, then wait for exit (SIGKILL after a deadline). Clients see their
    /// connection close. No-op when already stopped.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if child.try_wait().context("poll nats-server")?.is_some() {
            return Ok(());
        }
        let term = tokio::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if term.is_ok_and(|status| status.success()) {
            let deadline = Instant::now() + STOP_DEADLINE;
            while Instant::now() < deadline {
                if child.try_wait().context("poll nats-server")?.is_some() {
                    return Ok(());
                }
                tokio::time::sleep(POLL).await;
            }
        }
        kill_and_reap(&mut child).await
    }

    /// Kills the server with SIGKILL (no shutdown work at all) and reaps it.
    pub async fn kill9(&mut self) -> anyhow::Result<()> {
        match self.child.take() {
            Some(mut child) => kill_and_reap(&mut child).await,
            None => Ok(()),
        }
    }

    /// Starts the server again on the same port with the same store (stopping it first if it is
    /// still running) and waits until it is ready.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await?;
        self.spawn_and_wait().await
    }

    /// Writes the config, spawns the process and waits until it is ready.
    async fn spawn_and_wait(&mut self) -> anyhow::Result<()> {
        let store = self.store_dir();
        std::fs::create_dir_all(&store).context("create the JetStream store directory")?;
        let config_path = self.dir.path().join(CONFIG_FILE);
        std::fs::write(&config_path, config_text(self.port, &store))
            .context("write nats-server.conf")?;

        let log_path = self.log_path();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .context("open the nats-server log")?;
        // Only log lines written by this run count towards readiness.
        let log_offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log_for_stdout = log.try_clone().context("clone the log handle")?;

        // Everything (listen address, JetStream, store) is in the config file: nats-server
        // rejects `-sd` next to a config that sets `store_dir`, and `sync_interval` has no flag.
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_for_stdout))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("spawn {}", self.binary.display()))?;
        self.child = Some(child);

        match self.wait_ready(&log_path, log_offset).await {
            Ok(()) => Ok(()),
            Err(error) => {
                if let Some(mut child) = self.child.take() {
                    // Best effort: the readiness error is the one worth reporting.
                    let _ = kill_and_reap(&mut child).await;
                }
                Err(error)
            }
        }
    }

    async fn wait_ready(&mut self, log_path: &Path, log_offset: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().context("poll nats-server")?
            {
                bail!(
                    "nats-server exited with {status} before it was ready; log:\n{}",
                    log_since(log_path, log_offset)
                );
            }
            if log_since(log_path, log_offset).contains("Server is ready")
                && tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "nats-server not ready on port {} after {READY_DEADLINE:?}; log:\n{}",
                    self.port,
                    log_since(log_path, log_offset)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL and reap before the TempDir guard removes the store under it. Waiting on a
            // SIGKILL'd process takes microseconds, so blocking here is fine even in async tests.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn kill_and_reap(child: &mut Child) -> anyhow::Result<()> {
    match child.kill() {
        Ok(()) => {}
        // Already exited: fall through to reap it.
        Err(error) if error.kind() == std::io::ErrorKind::InvalidInput => {}
        Err(error) => return Err(error).context("kill nats-server"),
    }
    let deadline = Instant::now() + STOP_DEADLINE;
    loop {
        if child.try_wait().context("poll nats-server")?.is_some() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "nats-server (pid {}) did not exit after SIGKILL",
                child.id()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

fn config_text(port: u16, store: &Path) -> String {
    format!(
        "# Written by accord-testkit for one test run.\n\
         listen: \"127.0.0.1:{port}\"\n\
         server_name: \"accord-test-{port}\"\n\
         jetstream {{\n  \
           store_dir: \"{store}\"\n  \
           # fsync every write: a PubAck must mean the message is on disk.\n  \
           sync_interval: always\n\
         }}\n",
        store = store.display()
    )
}

fn log_since(path: &Path, offset: u64) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    String::from_utf8_lossy(&text[start..]).into_owned()
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("bind a probe socket")?;
    Ok(listener
        .local_addr()
        .context("probe socket address")?
        .port())
}

/// The `nats-server` binary tests use (see the module docs for the search order), checked to be
/// ≥ 2.10. The answer is computed once per process.
pub fn nats_server_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| locate_and_check().map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(|message| anyhow!(message))
}

fn locate_and_check() -> anyhow::Result<PathBuf> {
    let binary = locate()?;
    let output = Command::new(&binary)
        .arg("--version")
        .output()
        .with_context(|| format!("run {} --version", binary.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_version(&text)
        .with_context(|| format!("unexpected `{} --version` output: {text}", binary.display()))?;
    ensure!(
        version >= MIN_VERSION,
        "{} is version {}.{}; Accord needs nats-server >= {}.{} (run `cargo xtask tools` or set \
         ACCORD_NATS_SERVER)",
        binary.display(),
        version.0,
        version.1,
        MIN_VERSION.0,
        MIN_VERSION.1
    );
    Ok(binary)
}

fn locate() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("ACCORD_NATS_SERVER") {
        let path = PathBuf::from(path);
        ensure!(
            path.is_file(),
            "ACCORD_NATS_SERVER={} is not a file",
            path.display()
        );
        return Ok(path);
    }
    let starts = [
        std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ];
    for start in starts.into_iter().flatten() {
        if let Some(root) = workspace_root(&start) {
            let candidate = root.join(".accord/tools/bin/nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "nats-server not found: run `cargo xtask tools`, set ACCORD_NATS_SERVER, or put \
         nats-server >= 2.10 on PATH"
    )
}

/// The first ancestor of `start` (itself included) that holds `rust-toolchain.toml`.
fn workspace_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("rust-toolchain.toml").is_file())
        .map(Path::to_path_buf)
}

/// `nats-server: v2.15.1` → `(2, 15)`.
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text
        .split_whitespace()
        .find_map(|word| word.strip_prefix('v'))?;
    let mut parts = version.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_server_versions() {
        assert_eq!(parse_version("nats-server: v2.15.1\n"), Some((2, 15)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("nats-server: v2.9.10").unwrap() < MIN_VERSION);
    }

    #[test]
    fn finds_the_workspace_root_from_this_crate() {
        let root = workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("crates").is_dir());
    }

    #[test]
    fn config_enables_fsync_on_every_write() {
        let text = config_text(4222, Path::new("/tmp/store"));
        assert!(text.contains("sync_interval: always"));
        assert!(text.contains("store_dir: \"/tmp/store\""));
    }

    #[tokio::test]
    async fn starts_restarts_and_cleans_up() {
        let mut server = NatsServer::start().await.unwrap();
        let port = server.port();
        let dir = server.dir.path().to_path_buf();
        assert!(server.url().ends_with(&format!(":{port}")));
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();

        server.stop().await.unwrap();
        assert!(!server.is_running());
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
        );

        server.restart().await.unwrap();
        assert_eq!(server.port(), port);
        assert!(server.is_running());
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        assert!(server.store_dir().is_dir());

        server.kill9().await.unwrap();
        assert!(!server.is_running());
        server.restart().await.unwrap();
        assert!(server.log().matches("Server is ready").count() >= 3);

        drop(server);
        assert!(!dir.exists(), "temporary directory must be removed on drop");
    }

    #[tokio::test]
    async fn two_servers_get_different_ports() {
        let a = NatsServer::start().await.unwrap();
        let b = NatsServer::start().await.unwrap();
        assert_ne!(a.port(), b.port());
        assert_ne!(a.store_dir(), b.store_dir());
    }
}
