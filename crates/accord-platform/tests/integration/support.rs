//! What the process-level tests share: running the `accord-provisioner` binary on a data
//! directory against a real nats-server (start-up lines, SIGTERM, SIGKILL, logs), clients
//! presenting a bearer token, and reading `ACCORD_EVENTS`.

#![allow(dead_code)]

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead as _, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use accord_bus::{Bus, CloudEvent, EVENTS_STREAM, StartAt, subjects};
use accord_proto::provisioner::v1::{
    self as pb, clusters_client::ClustersClient, node_pools_client::NodePoolsClient,
    nodes_client::NodesClient,
};
use accord_testkit::{DEFAULT_POLL_INTERVAL, NatsServer, default_deadline, eventually};
use futures::StreamExt as _;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_accord-provisioner");
pub const SIGABRT: i32 = 6;
pub const SIGKILL: i32 = 9;

/// One run of the binary. Dropping it kills (SIGKILL) and reaps the process.
pub struct Proc {
    pub child: Child,
    pub run: usize,
    pub lines: HashMap<String, String>,
    pub log: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts the binary on `data` and waits for its start-up lines (plus the bootstrap
    /// credentials when `bootstrap`).
    pub async fn start(
        nats: &NatsServer,
        data: &Path,
        logs: &Path,
        run: usize,
        failpoint: bool,
        bootstrap: bool,
    ) -> Proc {
        Self::start_with(nats, data, logs, run, failpoint, bootstrap, &[]).await
    }

    /// [`Proc::start`] with more environment (`ACCORD_PROVISIONER__…` settings), set last.
    pub async fn start_with(
        nats: &NatsServer,
        data: &Path,
        logs: &Path,
        run: usize,
        failpoint: bool,
        bootstrap: bool,
        env: &[(&str, String)],
    ) -> Proc {
        Self::start_at(&nats.url(), data, logs, run, failpoint, bootstrap, env).await
    }

    /// [`Proc::start_with`] on the NATS server at `nats_url`.
    pub async fn start_at(
        nats_url: &str,
        data: &Path,
        logs: &Path,
        run: usize,
        failpoint: bool,
        bootstrap: bool,
        env: &[(&str, String)],
    ) -> Proc {
        let log = logs.join(format!("run-{run}.log"));
        let mut cmd = Command::new("sh");
        // No core file for the deliberate SIGABRT; `exec` keeps the pid and the exit status.
        cmd.arg("-c")
            .arg("ulimit -c 0; exec \"$0\"")
            .arg(BIN)
            .current_dir(logs)
            .env("ACCORD_PROVISIONER__RUNTIME__GRPC_ADDR", "127.0.0.1:0")
            .env("ACCORD_PROVISIONER__RUNTIME__METRICS_ADDR", "127.0.0.1:0")
            .env("ACCORD_PROVISIONER__RUNTIME__NATS_URL", nats_url)
            .env("ACCORD_PROVISIONER__RUNTIME__DATA_DIR", data)
            .env("ACCORD_PROVISIONER__RUNTIME__SHUTDOWN_GRACE", "5s")
            .env("ACCORD_PROVISIONER__SIM_CLOCK_FACTOR", "0.001")
            .env("ACCORD_PROVISIONER__RESYNC_INTERVAL", "200ms")
            .env_remove("ACCORD_PROVISIONER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if failpoint {
            cmd.env("ACCORD_FAILPOINT", "abort-after-commit");
        } else {
            cmd.env_remove("ACCORD_FAILPOINT");
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proc = Proc {
            child,
            run,
            lines: HashMap::new(),
            log,
        };
        let want: &[&str] = if bootstrap {
            &[
                "grpc_addr",
                "metrics_addr",
                "admin_token",
                "operator_token",
                "project",
            ]
        } else {
            &["grpc_addr", "metrics_addr"]
        };
        let deadline = tokio::time::Instant::now() + default_deadline();
        while !want.iter().all(|k| proc.lines.contains_key(*k)) {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(line)) => {
                    if let Some((k, v)) = line.split_once('=') {
                        proc.lines.insert(k.to_owned(), v.to_owned());
                    }
                }
                Ok(None) => panic!(
                    "run {run}: stdout closed before {want:?} were printed (exit {:?}); log:\n{}",
                    proc.child.try_wait(),
                    proc.log_text()
                ),
                Err(_) => panic!(
                    "run {run}: {want:?} not printed in time (got {:?}); log:\n{}",
                    proc.lines.keys().collect::<Vec<_>>(),
                    proc.log_text()
                ),
            }
        }
        proc
    }

    pub fn line(&self, key: &str) -> String {
        self.lines.get(key).cloned().unwrap_or_default()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A `Clusters` client presenting `token`.
    pub async fn clusters(&self, token: &str) -> Clusters {
        let channel = Endpoint::from_shared(format!("http://{}", self.line("grpc_addr")))
            .unwrap()
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("run {}: cannot connect: {e}", self.run));
        ClustersClient::with_interceptor(channel, Bearer::new(token))
    }

    async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.line("grpc_addr")))
            .unwrap()
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("run {}: cannot connect: {e}", self.run))
    }

    /// A `NodePools` client presenting `token`.
    pub async fn pools(&self, token: &str) -> Pools {
        NodePoolsClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// A `Nodes` client presenting `token`.
    pub async fn nodes(&self, token: &str) -> Nodes {
        NodesClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// The gRPC channel to the process (for clients this file has no helper for).
    pub async fn grpc(&self) -> Channel {
        self.channel().await
    }

    /// `kill -9` (SIGKILL), then reaps the process.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (graceful shutdown) with the `kill` command.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits (with the default deadline) until the process has exited.
    pub async fn exited(&mut self) -> ExitStatus {
        let run = self.run;
        let res = eventually(default_deadline(), DEFAULT_POLL_INTERVAL, || {
            let polled = self.child.try_wait();
            async move {
                match polled {
                    Ok(Some(status)) => Ok(status),
                    Ok(None) => Err("still running".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await;
        match res {
            Ok(status) => status,
            Err(e) => panic!("run {run} did not exit: {e}; log:\n{}", self.log_text()),
        }
    }
}

/// The `Clusters` client the tests use.
pub type Clusters = ClustersClient<InterceptedService<Channel, Bearer>>;
/// The `NodePools` client the tests use.
pub type Pools = NodePoolsClient<InterceptedService<Channel, Bearer>>;
/// The `Nodes` client the tests use.
pub type Nodes = NodesClient<InterceptedService<Channel, Bearer>>;

#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    pub fn new(token: &str) -> Self {
        Self(format!("Bearer {token}").parse().unwrap())
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub fn create(name: &str) -> pb::CreateClusterRequest {
    pb::CreateClusterRequest {
        project: String::new(),
        name: name.to_owned(),
        labels: Default::default(),
        spec: Some(pb::ClusterSpec {
            region: "eu-iceland1".into(),
            network: Some(pb::ClusterNetwork {
                vpc_subnet: "10.0.0.0/16".into(),
                pod_cidr: "10.244.0.0/16".into(),
                service_cidr: "10.96.0.0/12".into(),
                node_cidr_mask_size: 24,
            }),
            ..Default::default()
        }),
    }
}

pub fn get(cluster: &str) -> pb::GetClusterRequest {
    pb::GetClusterRequest {
        project: String::new(),
        cluster: cluster.to_owned(),
    }
}

/// Every event stored in `ACCORD_EVENTS` now, oldest first.
pub async fn stored_events(bus: &Bus) -> Vec<CloudEvent> {
    let want = usize::try_from(bus.stream_state(EVENTS_STREAM).await.unwrap().messages).unwrap();
    let mut out = Vec::with_capacity(want);
    if want == 0 {
        return out;
    }
    let mut stream = bus
        .watch_events(&subjects::events_all(), StartAt::All)
        .await
        .unwrap();
    while out.len() < want {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap_or_else(|_| panic!("read {} of {want} stored events", out.len()));
        out.push(next.unwrap().unwrap());
    }
    out
}

/// How many stored events have type `accord.<kind>.v1` and, when given, this subject.
pub async fn count(bus: &Bus, kind: &str, subject: Option<&str>) -> usize {
    let ty = format!("accord.{kind}.v1");
    stored_events(bus)
        .await
        .iter()
        .filter(|e| e.r#type == ty && subject.is_none_or(|s| e.subject.as_deref() == Some(s)))
        .count()
}

/// Waits until at least one such event is stored; returns how many are.
pub async fn published(bus: &Bus, kind: &str, subject: Option<&str>) -> usize {
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, || async {
        match count(bus, kind, subject).await {
            0 => Err(0),
            n => Ok(n),
        }
    })
    .await
    .unwrap_or_else(|e| panic!("no {kind} event for {subject:?} was published: {e}"))
}

/// Waits until the cluster's control plane is ready and it is running.
pub async fn running(clusters: &mut Clusters, cluster: &str) -> pb::Cluster {
    eventually(default_deadline(), DEFAULT_POLL_INTERVAL, || {
        let mut clusters = clusters.clone();
        async move {
            let c = clusters
                .get_cluster(get(cluster))
                .await
                .map_err(|s| s.to_string())?
                .into_inner();
            let status = c.status.clone().unwrap_or_default();
            let ready = status
                .conditions
                .iter()
                .any(|k| k.r#type == "ControlPlaneReady" && k.status == "True");
            if ready && status.phase == "running" {
                Ok(c)
            } else {
                Err(format!("{status:?}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("cluster {cluster} never became ready: {e}"))
}

/// The image-builder binary.
pub const IMAGE_BUILDER_BIN: &str = env!("CARGO_BIN_EXE_accord-image-builder");

/// One run of a service binary configured through `ACCORD_<SERVICE>__…` variables; dropping it
/// kills and reaps it.
pub struct ServiceProc {
    pub child: Child,
    pub grpc_addr: String,
    log: PathBuf,
}

/// image-builder's runs.
pub type BuilderProc = ServiceProc;

impl Drop for ServiceProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServiceProc {
    /// Starts `bin` with variable prefix `prefix` (`ACCORD_STORAGE_CSI`) on `data`, on free
    /// ports and `nats`, plus `env`; waits for its `grpc_addr=` line (logs in `logs/<name>`).
    pub fn spawn(
        bin: &str,
        prefix: &str,
        nats: &NatsServer,
        data: &Path,
        logs: &Path,
        name: &str,
        env: &[(&str, String)],
    ) -> Self {
        let log = logs.join(format!("{name}.log"));
        let mut cmd = Command::new(bin);
        cmd.current_dir(logs)
            .env(format!("{prefix}__RUNTIME__GRPC_ADDR"), "127.0.0.1:0")
            .env(format!("{prefix}__RUNTIME__METRICS_ADDR"), "127.0.0.1:0")
            .env(format!("{prefix}__RUNTIME__NATS_URL"), nats.url())
            .env(format!("{prefix}__RUNTIME__DATA_DIR"), data)
            .env_remove(format!("{prefix}_CONFIG"));
        for (k, v) in env {
            cmd.env(format!("{prefix}__{k}"), v);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read every line for the process's whole life: a closed pipe would kill it at its
        // next print.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("grpc_addr=") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let grpc_addr = rx.recv_timeout(default_deadline()).unwrap_or_default();
        let p = Self {
            child,
            grpc_addr,
            log,
        };
        assert!(
            !p.grpc_addr.is_empty(),
            "{name} printed no grpc_addr; log:\n{}",
            std::fs::read_to_string(&p.log).unwrap_or_default()
        );
        p
    }

    /// `accord-image-builder` on `data` with the PKCS#8 key in `key` and `stage` per stage.
    pub fn start(
        nats: &NatsServer,
        data: &Path,
        key: &Path,
        logs: &Path,
        run: usize,
        stage: &str,
    ) -> Self {
        Self::spawn(
            IMAGE_BUILDER_BIN,
            "ACCORD_IMAGE_BUILDER",
            nats,
            data,
            logs,
            &format!("image-builder-{run}"),
            &[
                ("SIGNING_KEY_FILE", key.display().to_string()),
                ("STAGE_DURATION", stage.to_owned()),
            ],
        )
    }

    /// A channel to its gRPC server.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc_addr))
            .unwrap()
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap()
    }
}

/// An image-builder beside a standalone provisioner: its key written under `dir`, the binary
/// started on `dir/data`; returns it and the provisioner environment that trusts its key
/// (`ACCORD_PROVISIONER__IMAGE_PUBLIC_KEY_FILE`).
pub fn image_builder_beside(
    nats: &NatsServer,
    dir: &Path,
    logs: &Path,
) -> (BuilderProc, (&'static str, String)) {
    let key = accord_image::signing_key_from_seed([11; 32]);
    let (private, public) = (
        dir.join("image-signing.pem"),
        dir.join("image-signing.pub.pem"),
    );
    std::fs::write(&private, accord_image::signing_key_to_pem(&key).unwrap()).unwrap();
    std::fs::write(
        &public,
        accord_image::verifying_key_to_pem(&key.verifying_key()).unwrap(),
    )
    .unwrap();
    let proc = BuilderProc::start(nats, &dir.join("data"), &private, logs, 1, "10ms");
    (
        proc,
        (
            "ACCORD_PROVISIONER__IMAGE_PUBLIC_KEY_FILE",
            public.display().to_string(),
        ),
    )
}

/// A `nats://` URL on a free loopback port (for a server the test starts itself).
pub fn free_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("nats://127.0.0.1:{port}")
}
