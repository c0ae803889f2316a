//! Process-level crash tests of the `accord-provisioner` binary against a real nats-server.
//!
//! The binary is started the way an operator would (environment configuration, a data
//! directory), its machine-readable start-up lines are read from stdout, and it is stopped with
//! SIGTERM, killed with SIGKILL, or made to abort between a commit and the publication of its
//! events (`ACCORD_FAILPOINT=abort-after-commit`). What must hold afterwards: every
//! acknowledged or committed change survives, and its event reaches `ACCORD_EVENTS` exactly once.
//!
//! Every child is killed and reaped when its guard drops, so a failing assertion leaves no
//! process behind; its stderr goes to a log file quoted in failure messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    collections::HashMap,
    fs::File,
    io::{BufRead as _, BufReader},
    os::unix::process::ExitStatusExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use accord_bus::{Bus, CloudEvent, EVENTS_STREAM, StartAt, subjects};
use accord_proto::provisioner::v1::{self as pb, clusters_client::ClustersClient};
use accord_testkit::{DEFAULT_POLL_INTERVAL, NatsServer, default_deadline, eventually};
use futures::StreamExt as _;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, Endpoint},
};

const BIN: &str = env!("CARGO_BIN_EXE_accord-provisioner");
const SIGABRT: i32 = 6;
const SIGKILL: i32 = 9;

/// One run of the binary. Dropping it kills (SIGKILL) and reaps the process.
struct Proc {
    child: Child,
    run: usize,
    lines: HashMap<String, String>,
    log: PathBuf,
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
    async fn start(
        nats: &NatsServer,
        data: &Path,
        logs: &Path,
        run: usize,
        failpoint: bool,
        bootstrap: bool,
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
            .env("ACCORD_PROVISIONER__RUNTIME__NATS_URL", nats.url())
            .env("ACCORD_PROVISIONER__RUNTIME__DATA_DIR", data)
            .env("ACCORD_PROVISIONER__RUNTIME__SHUTDOWN_GRACE", "5s")
            .env("ACCORD_PROVISIONER__SIM_CLOCK_FACTOR", "0.001")
            .env("ACCORD_PROVISIONER__RESYNC_INTERVAL", "200ms")
            .env_remove("ACCORD_PROVISIONER_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap());
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

    fn line(&self, key: &str) -> String {
        self.lines.get(key).cloned().unwrap_or_default()
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A `Clusters` client presenting `token`.
    async fn clusters(&self, token: &str) -> Clusters {
        let channel = Endpoint::from_shared(format!("http://{}", self.line("grpc_addr")))
            .unwrap()
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("run {}: cannot connect: {e}", self.run));
        ClustersClient::with_interceptor(channel, Bearer::new(token))
    }

    /// Sends SIGTERM (graceful shutdown) with the `kill` command.
    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed: {status}");
    }

    /// Waits (with the default deadline) until the process has exited.
    async fn exited(&mut self) -> ExitStatus {
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
type Clusters = ClustersClient<InterceptedService<Channel, Bearer>>;

#[derive(Clone)]
struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    fn new(token: &str) -> Self {
        Self(format!("Bearer {token}").parse().unwrap())
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

fn create(name: &str) -> pb::CreateClusterRequest {
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

fn get(cluster: &str) -> pb::GetClusterRequest {
    pb::GetClusterRequest {
        project: String::new(),
        cluster: cluster.to_owned(),
    }
}

/// Every event stored in `ACCORD_EVENTS` now, oldest first.
async fn stored_events(bus: &Bus) -> Vec<CloudEvent> {
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
async fn count(bus: &Bus, kind: &str, subject: Option<&str>) -> usize {
    let ty = format!("accord.{kind}.v1");
    stored_events(bus)
        .await
        .iter()
        .filter(|e| e.r#type == ty && subject.is_none_or(|s| e.subject.as_deref() == Some(s)))
        .count()
}

/// Waits until at least one such event is stored; returns how many are.
async fn published(bus: &Bus, kind: &str, subject: Option<&str>) -> usize {
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
async fn running(clusters: &mut Clusters, cluster: &str) -> pb::Cluster {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_between_commit_and_publish_publishes_the_event_exactly_once_after_restart() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "process-test").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    // Run 1: an empty data dir mints credentials; SIGTERM stops it cleanly.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 1, false, true).await;
    let token = p.line("admin_token");
    assert!(token.starts_with("accord_"), "{token:?}");
    assert!(p.line("project").starts_with("prj-"), "{:?}", p.lines);
    let listed = p
        .clusters(&token)
        .await
        .list_clusters(pb::ListClustersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.clusters.is_empty());
    assert_eq!(published(&bus, "project.created", None).await, 1);
    p.sigterm();
    let status = p.exited().await;
    assert!(
        status.success(),
        "SIGTERM must stop run 1 cleanly: {status}; log:\n{}",
        p.log_text()
    );
    drop(p);

    // Run 2: the failpoint aborts right after the first commit that carries events.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 2, true, false).await;
    let reply = p
        .clusters(&token)
        .await
        .create_cluster(create("crash"))
        .await;
    assert!(
        reply.is_err(),
        "the process must abort before answering: {reply:?}"
    );
    let status = p.exited().await;
    assert_eq!(
        status.signal(),
        Some(SIGABRT),
        "run 2 must die by SIGABRT, got {status}; log:\n{}",
        p.log_text()
    );
    drop(p);
    // Nobody runs now, so this is the final word on what run 2 published.
    assert_eq!(
        count(&bus, "cluster.created", None).await,
        0,
        "published before the abort"
    );
    assert_eq!(count(&bus, "project.created", None).await, 1);

    // Run 3: the committed cluster is there; its event is published once; its control plane,
    // never requested from the infrastructure before the crash, comes up.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 3, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let crashed = clusters
        .get_cluster(get("crash"))
        .await
        .unwrap()
        .into_inner();
    let id = crashed.metadata.unwrap().id;
    assert_eq!(published(&bus, "cluster.created", Some(&id)).await, 1);
    running(&mut clusters, &id).await;
    p.sigterm();
    let status = p.exited().await;
    assert!(status.success(), "run 3: {status}; log:\n{}", p.log_text());
    drop(p);

    // Run 4: a restart republishes nothing already published. The marker's event is behind any
    // leftover outbox entry, so once it is stored the relay has drained everything older.
    let mut p = Proc::start(&nats, data.path(), logs.path(), 4, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let marker = clusters
        .create_cluster(create("marker"))
        .await
        .unwrap()
        .into_inner();
    let marker_id = marker.metadata.unwrap().id;
    assert_eq!(
        published(&bus, "cluster.created", Some(&marker_id)).await,
        1
    );
    assert_eq!(count(&bus, "cluster.created", Some(&id)).await, 1);
    assert_eq!(count(&bus, "project.created", None).await, 1);
    let events = stored_events(&bus).await;
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "an event id is stored twice");
    assert!(clusters.get_cluster(get(&id)).await.is_ok());
    p.sigterm();
    assert!(p.exited().await.success(), "run 4; log:\n{}", p.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_idle_loses_no_committed_cluster() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "process-test").await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    let mut p = Proc::start(&nats, data.path(), logs.path(), 1, false, true).await;
    let token = p.line("admin_token");
    let mut clusters = p.clusters(&token).await;
    let created = clusters
        .create_cluster(create("sturdy"))
        .await
        .unwrap()
        .into_inner();
    let id = created.metadata.unwrap().id;
    let before = running(&mut clusters, &id).await;
    assert_eq!(published(&bus, "cluster.created", Some(&id)).await, 1);
    p.child.kill().unwrap();
    let status = p.exited().await;
    assert_eq!(status.signal(), Some(SIGKILL), "{status}");
    drop(p);

    let mut p = Proc::start(&nats, data.path(), logs.path(), 2, false, false).await;
    let mut clusters = p.clusters(&token).await;
    let after = clusters
        .get_cluster(get("sturdy"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.metadata.as_ref().unwrap().id, id);
    assert_eq!(after.spec, before.spec);
    assert_eq!(running(&mut clusters, &id).await.metadata.unwrap().id, id);
    // The restarted service takes writes and publishes them; nothing was published twice.
    clusters
        .update_cluster(pb::UpdateClusterRequest {
            cluster: id.clone(),
            update_mask: vec!["labels".into()],
            labels: [("survived".to_owned(), "sigkill".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(published(&bus, "cluster.updated", Some(&id)).await, 1);
    assert_eq!(count(&bus, "cluster.created", Some(&id)).await, 1);
    p.sigterm();
    assert!(p.exited().await.success(), "log:\n{}", p.log_text());
}
