//! The Python example `examples/python/watch_events.py` (nats-py, from
//! `xtask/requirements-test.txt`, run with `$ACCORD_PYTHON`) against a deployment whose NATS
//! requires authentication ([`SecuredEnv`]): with a customer's API key as the token it prints its
//! project's events and none of another project's, and it exits non-zero with the server's
//! reason when the token or the subscription is refused.

use std::{path::PathBuf, process::Stdio, time::Duration};

use accord_e2e::{SecuredEnv, cluster_id, cluster_request};
use accord_proto::provisioner::v1 as pb;
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader, Lines},
    process::{Child, ChildStderr, ChildStdout, Command},
    time::timeout,
};

/// How long any one line (or the exit) of the script may take.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

fn python() -> PathBuf {
    std::env::var_os("ACCORD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "ACCORD_PYTHON is unset: run the tests with `cargo xtask test`, which points it at \
             .accord/tools/venv/bin/python with nats-py from xtask/requirements-test.txt"
            )
        })
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/python/watch_events.py")
}

/// The script running as a child process (killed on drop), its output read line by line.
struct Script {
    what: String,
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Lines<BufReader<ChildStderr>>,
    /// Every stderr line read so far.
    said: Vec<String>,
}

/// What the script left behind when it exited.
struct Exited {
    success: bool,
    code: Option<i32>,
    events: Vec<Value>,
    stderr: String,
}

impl Script {
    /// `watch_events.py --server <nats_url> --token <token> --project <project> --json <extra>`.
    fn spawn(what: &str, nats_url: &str, token: &str, project: &str, extra: &[&str]) -> Script {
        let mut child = Command::new(python())
            .arg(script())
            .args(["--server", nats_url, "--token", token, "--project", project])
            .args(["--json", "--connect-timeout", "10"])
            .args(extra)
            .env_remove("ACCORD_TOKEN")
            .env_remove("ACCORD_PROJECT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "starting {} with {}: {e}",
                    script().display(),
                    python().display()
                )
            });
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        Script {
            what: what.to_owned(),
            child,
            stdout,
            stderr,
            said: Vec::new(),
        }
    }

    /// Reads stderr until a line contains `needle`; panics at its end or after [`READ_TIMEOUT`].
    async fn wait_stderr(&mut self, needle: &str) {
        loop {
            let line = timeout(READ_TIMEOUT, self.stderr.next_line())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "{}: no {needle:?} on stderr within {READ_TIMEOUT:?}; it said {:?}",
                        self.what, self.said
                    )
                })
                .unwrap();
            let Some(line) = line else {
                panic!(
                    "{}: stderr ended before {needle:?}; it said {:?}",
                    self.what, self.said
                );
            };
            let found = line.contains(needle);
            self.said.push(line);
            if found {
                return;
            }
        }
    }

    /// Waits until the subscription is in place (the script's readiness line).
    async fn subscribed(&mut self) {
        self.wait_stderr("watch_events: subscribed to accord.evt.")
            .await;
    }

    /// Waits for the exit (at most [`READ_TIMEOUT`]) and reads the rest of both streams.
    async fn exit(mut self) -> Exited {
        let status = timeout(READ_TIMEOUT, self.child.wait())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{}: still running after {READ_TIMEOUT:?}; it said {:?}",
                    self.what, self.said
                )
            })
            .unwrap();
        let mut events = Vec::new();
        while let Some(line) = timeout(READ_TIMEOUT, self.stdout.next_line())
            .await
            .unwrap()
            .unwrap()
        {
            let event: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("{}: {line:?} is not JSON: {e}", self.what));
            events.push(event);
        }
        while let Some(line) = timeout(READ_TIMEOUT, self.stderr.next_line())
            .await
            .unwrap()
            .unwrap()
        {
            self.said.push(line);
        }
        Exited {
            success: status.success(),
            code: status.code(),
            events,
            stderr: self.said.join("\n"),
        }
    }
}

fn field<'a>(event: &'a Value, name: &str) -> &'a str {
    event.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A second project with its own Admin key: (project id, token).
async fn rival_project(env: &SecuredEnv) -> (String, String) {
    let created = env
        .api(&env.admin_token)
        .unwrap()
        .projects
        .create_project(pb::CreateProjectRequest {
            name: "rival".into(),
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    let id = created
        .project
        .and_then(|p| p.metadata)
        .map(|m| m.id)
        .expect("CreateProject returns the project with its id");
    (id, created.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_prints_its_projects_events_and_no_other_projects() {
    let env = SecuredEnv::start(Duration::from_secs(30)).await.unwrap();
    let (rival, rival_token) = rival_project(&env).await;
    assert_ne!(rival, env.project);

    // Our cluster's cluster.created and at least one condition change follow its creation.
    let mut ours = Script::spawn(
        "the bootstrap project's watcher",
        &env.nats_url,
        &env.admin_token,
        &env.project,
        &["--count", "2"],
    );
    let mut theirs = Script::spawn(
        "the rival project's watcher",
        &env.nats_url,
        &rival_token,
        &rival,
        &["--count", "1"],
    );
    ours.subscribed().await;
    theirs.subscribed().await;

    // The rival's cluster first: once its cluster.created has reached the rival's watcher, it
    // has been delivered to every connection allowed to see it, ours included if it were.
    let foreign = env
        .api(&rival_token)
        .unwrap()
        .clusters
        .create_cluster(cluster_request("ml", ""))
        .await
        .unwrap()
        .into_inner();
    let foreign_id = cluster_id(&foreign).unwrap();
    let theirs = theirs.exit().await;
    assert!(theirs.success, "exit {:?}: {}", theirs.code, theirs.stderr);
    assert_eq!(theirs.events.len(), 1, "{:?}", theirs.events);
    let seen = &theirs.events[0];
    assert_eq!(field(seen, "type"), "accord.cluster.created.v1", "{seen}");
    assert_eq!(field(seen, "subject"), foreign_id, "{seen}");
    assert_eq!(field(seen, "project"), rival, "{seen}");

    let own = env
        .api(&env.admin_token)
        .unwrap()
        .clusters
        .create_cluster(cluster_request("ml", ""))
        .await
        .unwrap()
        .into_inner();
    let own_id = cluster_id(&own).unwrap();
    let ours = ours.exit().await;
    assert!(ours.success, "exit {:?}: {}", ours.code, ours.stderr);
    assert_eq!(ours.events.len(), 2, "{:?}", ours.events);
    for e in &ours.events {
        assert_eq!(field(e, "specversion"), "1.0", "{e}");
        assert_eq!(
            field(e, "project"),
            env.project,
            "another project's event: {e}"
        );
        assert_ne!(field(e, "subject"), foreign_id, "the rival's cluster: {e}");
        assert!(
            field(e, "type").starts_with("accord.") && field(e, "type").ends_with(".v1"),
            "{e}"
        );
        assert!(
            !field(e, "id").is_empty() && !field(e, "time").is_empty(),
            "{e}"
        );
    }
    assert!(
        ours.events
            .iter()
            .any(|e| field(e, "type") == "accord.cluster.created.v1"
                && field(e, "subject") == own_id),
        "no cluster.created for {own_id} in {:?}",
        ours.events
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_exits_non_zero_when_the_server_refuses_it() {
    let env = SecuredEnv::start(Duration::from_secs(30)).await.unwrap();

    // Not a key: the auth callout refuses the connection.
    let bogus = "accord_key-01jd0000000000000000000000_notasecret";
    let refused = Script::spawn("a bogus token", &env.nats_url, bogus, &env.project, &[])
        .exit()
        .await;
    assert!(!refused.success, "{}", refused.stderr);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("Authorization Violation"),
        "{}",
        refused.stderr
    );
    assert!(refused.events.is_empty(), "{:?}", refused.events);

    // A real key asking for another project's events: the subscription is refused.
    let (rival, _) = rival_project(&env).await;
    let denied = Script::spawn(
        "the bootstrap key on the rival's subject",
        &env.nats_url,
        &env.admin_token,
        &rival,
        &[],
    )
    .exit()
    .await;
    assert_eq!(denied.code, Some(1), "{}", denied.stderr);
    assert!(
        denied.stderr.contains("refused the subscription"),
        "{}",
        denied.stderr
    );
    assert!(denied.events.is_empty(), "{:?}", denied.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_connects_again_when_its_grant_expires() {
    // Grants of 3 s: the server closes the connection ("User Authentication Expired") and the
    // script asks for a new grant with the same key; the next expiry is 3 s away, plenty for one
    // cluster's creation to reach it.
    let env = SecuredEnv::start(Duration::from_secs(3)).await.unwrap();
    let mut ours = Script::spawn(
        "the bootstrap project's watcher",
        &env.nats_url,
        &env.admin_token,
        &env.project,
        &["--count", "1"],
    );
    ours.subscribed().await;
    ours.wait_stderr("watch_events: subscribed again to accord.evt.")
        .await;
    let own = env
        .api(&env.admin_token)
        .unwrap()
        .clusters
        .create_cluster(cluster_request("ml", ""))
        .await
        .unwrap()
        .into_inner();
    let own_id = cluster_id(&own).unwrap();
    let ours = ours.exit().await;
    assert!(ours.success, "exit {:?}: {}", ours.code, ours.stderr);
    assert_eq!(ours.events.len(), 1, "{:?}", ours.events);
    assert_eq!(
        field(&ours.events[0], "subject"),
        own_id,
        "{:?}",
        ours.events
    );
    assert!(
        ours.stderr.contains("user authentication expired"),
        "{}",
        ours.stderr
    );
}
