//! The etcd baseline of the write benchmark: a single-member etcd (Debian's `etcd-server`,
//! found as `$ACCORD_ETCD` — `cargo xtask bench` installs and exports it — or `etcd` on PATH)
//! with its data directory on the same disk as Accord's stores, started on free loopback ports,
//! and `etcdserverpb.KV/Put` called over its gRPC API from this process: what a
//! Kubernetes-style control plane pays for one durable write (etcd fsyncs its WAL per write).
//!
//! The value is a 1 KiB blob under a fresh key per call, about the size of a serialised node
//! pool, as `CreateNodePool` writes a new record per call.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use tokio::process::{Child, Command};
use tonic::transport::Channel;

use crate::{Latency, free_port, summarize, time_calls};

/// The generated client of the vendored subset of etcd's API (`proto/etcd_kv_put.proto`).
mod pb {
    tonic::include_proto!("etcdserverpb");
}

/// Where the etcd binary is: `$ACCORD_ETCD`, else `etcd` on PATH.
fn binary() -> PathBuf {
    std::env::var_os("ACCORD_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("etcd"))
}

/// A running etcd; killed when dropped.
struct Etcd {
    child: Child,
    client_url: String,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start(dir: &Path) -> anyhow::Result<Etcd> {
    let (client, peer) = (free_port()?, free_port()?);
    let client_url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let data = dir.join("etcd");
    std::fs::create_dir_all(&data)?;
    let log = std::fs::File::create(dir.join("etcd.log"))?;
    let bin = binary();
    let child = Command::new(&bin)
        .args(["--name", "bench"])
        .arg("--data-dir")
        .arg(&data)
        .args(["--listen-client-urls", &client_url])
        .args(["--advertise-client-urls", &client_url])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("bench={peer_url}")])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (run the benchmarks with `cargo xtask bench`, which installs etcd, or set ACCORD_ETCD)",
                bin.display()
            )
        })?;
    Ok(Etcd { child, client_url })
}

/// Connects and waits until a put succeeds (etcd elects itself leader first).
async fn client(etcd: &mut Etcd) -> anyhow::Result<pb::kv_client::KvClient<Channel>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = etcd.child.try_wait()? {
            bail!("etcd exited ({status}) before it served; see etcd.log in the scratch dir");
        }
        let attempt = async {
            let channel = Channel::from_shared(etcd.client_url.clone())?
                .connect()
                .await?;
            let mut kv = pb::kv_client::KvClient::new(channel);
            kv.put(put_request("/accord-bench/ready")).await?;
            anyhow::Ok(kv)
        };
        match attempt.await {
            Ok(kv) => return Ok(kv),
            Err(e) if Instant::now() > deadline => {
                return Err(e.context("etcd did not accept a put within 30 s"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn put_request(key: &str) -> pb::PutRequest {
    pb::PutRequest {
        key: key.as_bytes().to_vec(),
        value: vec![b'x'; 1024],
        ..Default::default()
    }
}

/// `warmup` + `n` puts of fresh keys; the latency of the last `n`.
pub async fn bench_put(dir: &Path, warmup: usize, n: usize) -> anyhow::Result<Latency> {
    let mut etcd = start(dir).await?;
    let kv = client(&mut etcd).await?;
    let samples = time_calls(warmup, n, |i| {
        let mut kv = kv.clone();
        async move {
            kv.put(put_request(&format!("/accord-bench/pools/p{i}")))
                .await?;
            Ok(())
        }
    })
    .await?;
    drop(etcd);
    Ok(summarize(samples))
}
