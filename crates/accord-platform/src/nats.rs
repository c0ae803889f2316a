//! The NATS server of a platform: whether one answers at a URL, and starting one (JetStream in
//! a directory, `sync_interval: always` so acknowledged events survive power loss) from
//! `$ACCORD_NATS_SERVER`, `.accord/tools/bin/nats-server` above the current directory, or PATH.
//!
//! A server started here is named after the deployment ([`server_name`]:
//! `accord-deployment-<id>`, the id kept in the data directory), so a later start can tell its
//! own server from another deployment's (refused) and from a server Accord did not start (used,
//! and said so).

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

/// Prefix of the name of every NATS server Accord starts.
pub const SERVER_NAME_PREFIX: &str = "accord-deployment-";

/// The name of the NATS server of the deployment whose NATS directory is `dir`:
/// `accord-deployment-<id>`, with the id created on first use and kept in `dir/deployment-id`.
pub fn server_name(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("deployment-id");
    let id = match std::fs::read_to_string(&file) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_owned(),
        _ => {
            std::fs::create_dir_all(dir)?;
            let id = format!("{:016x}", rand_id());
            std::fs::write(&file, &id).with_context(|| format!("writing {}", file.display()))?;
            id
        }
    };
    Ok(format!("{SERVER_NAME_PREFIX}{id}"))
}

/// 64 random bits from the OS's hasher seed (no extra dependency for an identifier).
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// What a NATS server already answering at the URL is, for a deployment expecting `ours`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    /// This deployment's own server (e.g. left running).
    Ours,
    /// Another Accord deployment's server: its JetStream holds that deployment's data.
    OtherDeployment(String),
    /// A server Accord did not start.
    Foreign(String),
}

/// Classifies the server named `reported` for a deployment whose server is `ours`.
pub fn classify(reported: &str, ours: &str) -> Existing {
    if reported == ours {
        Existing::Ours
    } else if reported.starts_with(SERVER_NAME_PREFIX) {
        Existing::OtherDeployment(reported.to_owned())
    } else {
        Existing::Foreign(reported.to_owned())
    }
}

/// Starts nats-server for `url` with its state in `dir`; with `auth`, the server requires it:
/// the services' nkey users and the auth callout (`auth.conf` beside `nats.conf`, written from
/// the keys each start); with `tls`, every client connection must be TLS.
pub async fn start(
    url: &str,
    dir: &Path,
    auth: Option<&accord_nats_auth::KeyRing>,
    tls: Option<&crate::PlatformTls>,
) -> anyhow::Result<Child> {
    let addr =
        host_port(url).with_context(|| format!("cannot read host:port from NATS URL {url}"))?;
    std::fs::create_dir_all(dir.join("jetstream"))?;
    let name = server_name(dir)?;
    let conf = dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "# written by accord up\nserver_name: \"{name}\"\nhost: \"{}\"\nport: {}\njetstream {{\n  store_dir: \"{}\"\n  sync_interval: always\n}}\n",
            addr.ip(),
            addr.port(),
            dir.join("jetstream").display()
        ) + &match auth {
            Some(keys) => {
                accord_nats_auth::AuthConfig::from_keys(keys)
                    .write(&dir.join("auth.conf"))
                    .context("writing the NATS auth configuration")?;
                "include \"auth.conf\"\n".to_owned()
            }
            None => String::new(),
        } + &match tls {
            // Every client connection must then be TLS.
            Some(t) => format!(
                "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  timeout: 2\n}}\n",
                t.cert_file.display(),
                t.key_file.display()
            ),
            None => String::new(),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_told_apart_by_name() {
        let ours = "accord-deployment-00000000000000aa";
        assert_eq!(classify(ours, ours), Existing::Ours);
        assert_eq!(
            classify("accord-deployment-00000000000000bb", ours),
            Existing::OtherDeployment("accord-deployment-00000000000000bb".into())
        );
        assert_eq!(classify("NCXYZ", ours), Existing::Foreign("NCXYZ".into()));
    }

    #[test]
    fn the_deployment_id_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = server_name(dir.path()).unwrap();
        assert!(first.starts_with(SERVER_NAME_PREFIX));
        assert_eq!(server_name(dir.path()).unwrap(), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(server_name(other.path()).unwrap(), first);
    }
}
