//! The NATS server of a platform: whether one answers at a URL, and starting one (JetStream in
//! a directory, `sync_interval: always` so acknowledged events survive power loss) from
//! `$ACCORD_NATS_SERVER`, `.accord/tools/bin/nats-server` above the current directory, or PATH.

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};

pub fn host_port(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("nats://").unwrap_or(url);
    let rest = rest.split(',').next()?;
    let rest = rest.rsplit('@').next()?;
    std::net::ToSocketAddrs::to_socket_addrs(rest).ok()?.next()
}

pub fn reachable(url: &str) -> bool {
    host_port(url)
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
}

/// The nats-server binary: `ACCORD_NATS_SERVER`, `.accord/tools/bin/nats-server` above the
/// current directory, or `nats-server` on PATH.
fn nats_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ACCORD_NATS_SERVER") {
        return PathBuf::from(p);
    }
    if let Ok(mut dir) = std::env::current_dir() {
        loop {
            let candidate = dir.join(".accord/tools/bin/nats-server");
            if candidate.is_file() {
                return candidate;
            }
            if !dir.pop() {
                break;
            }
        }
    }
    PathBuf::from("nats-server")
}

pub async fn start(url: &str, dir: &Path) -> anyhow::Result<Child> {
    let addr =
        host_port(url).with_context(|| format!("cannot read host:port from NATS URL {url}"))?;
    std::fs::create_dir_all(dir.join("jetstream"))?;
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "# written by accord up\nhost: \"{}\"\nport: {}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            addr.ip(),
            addr.port(),
            dir.join("jetstream").display()
        ),
    )?;
    let bin = nats_binary();
    let log = std::fs::File::create(dir.join("nats.log"))?;
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (set ACCORD_NATS_SERVER or run `cargo xtask tools`)",
                bin.display()
            )
        })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !reachable(url) {
        if let Some(status) = child.try_wait()? {
            bail!(
                "nats-server exited ({status}); see {}",
                dir.join("nats.log").display()
            );
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "nats-server did not accept connections within 15 s; see {}",
                dir.join("nats.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(child)
}
