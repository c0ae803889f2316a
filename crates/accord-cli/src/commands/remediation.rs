//! `accord remediation decide`: runs a remediation policy component over JSON Lines of health
//! findings, locally (no API) — for operators trying a policy before rolling it out.
//!
//! Which policy: `--policy PATH` if given; else `policy.gpu-remediation` from the NATS plugin
//! bucket when NATS answers within [`NATS_TIMEOUT`] and one was pushed (so a pushed rebuild is
//! used at once, no restart); else the shipped file. One stderr note says which was used.
//!
//! Every input line gets exactly one output line, in order. A line that is not a valid request
//! gets `{"id"?, "line", "error"}` and the command fails at the end (after answering the rest);
//! a policy failure on a valid line (trap, timeout, quarantine) is reported the same way.
//!
//! Findings carry every kind and InfiniBand ports by name (`"port": "mlx5_0/1"`; a number still
//! reads), plus optional `signal` and `severity`. The shipped policy (`accord:plugin@0.2.0`)
//! decides all of them; a policy built against `accord:plugin@0.1.0` (`--policy`, or pushed)
//! still decides the four kinds it knows, with ports as HCA numbers, and every finding of a newer
//! kind gets an `error` line naming the kind and the interface (the note names the policy's
//! interface).

use std::{
    fmt,
    io::BufRead,
    path::{Path, PathBuf},
    time::Duration,
};

use accord_bus::{Bus, ConnectOptions};
use accord_core::remediation::{Finding, RemediationContext};
use accord_plugin_host::{HostConfig, PluginHost, PluginKind, PolicyPlugin};
use anyhow::{Context as _, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use accord_proto::provisioner::v1 as pb;

use super::{Context, plugin};
use crate::cli::{DecideArgs, RemediationCommand, ResolveArgs};
use crate::output::remediations::{self, RemediationView};
use crate::output::render_one;

/// File name of the shipped policy component.
pub const DEFAULT_POLICY: &str = "gpu_remediation.wasm";

/// Name of the policy looked up in the plugin bucket when no `--policy` is given.
pub const BUCKET_POLICY: &str = "gpu-remediation";

/// How long the plugin-bucket lookup may take (connect, then each request) before the shipped
/// file is used instead.
pub const NATS_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the policy came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    /// `--policy PATH`.
    Flag(PathBuf),
    /// The plugin bucket, this object.
    Bucket { object: String, nats_url: String },
    /// The shipped file, and why the bucket was not used.
    Shipped { path: PathBuf, why: String },
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicySource::Flag(path) => write!(f, "from {}", path.display()),
            PolicySource::Bucket { object, nats_url } => {
                write!(f, "from the plugin bucket ({object} at {nats_url})")
            }
            PolicySource::Shipped { path, why } => {
                write!(f, "from the shipped file {} ({why})", path.display())
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    id: Value,
    event: Finding,
    #[serde(default)]
    context: RemediationContext,
}

/// Runs a `remediation` subcommand.
pub async fn run(ctx: &Context, command: RemediationCommand) -> anyhow::Result<()> {
    match command {
        RemediationCommand::Decide(args) => decide(ctx, args).await.map(|_| ()),
        RemediationCommand::Approve(args) => resolve(ctx, args, true).await,
        RemediationCommand::Reject(args) => resolve(ctx, args, false).await,
    }
}

/// `accord remediation approve|reject ID`: the remediation after the decision, as
/// `accord describe remediation` prints it.
async fn resolve(ctx: &Context, args: ResolveArgs, approve: bool) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let req = pb::ResolveRemediationRequest {
        project: api.project(),
        id: args.id.clone(),
        reason: args.reason.clone(),
    };
    let mut client = api.remediations();
    let done = if approve {
        api.call(client.approve_remediation(req)).await?
    } else {
        api.call(client.reject_remediation(req)).await?
    };
    let view = RemediationView::from_pb(&done);
    let text = render_one(ctx.format, &view, || {
        remediations::describe(&done, ctx.now())
    })?;
    ctx.out(&text);
    Ok(())
}

/// The pushed `policy.gpu-remediation`, if NATS answers in time and it exists: `Ok(None)` when
/// there is none, `Err(why)` when the bucket could not be asked.
async fn bucket_policy(
    nats_url: &str,
    auth: Option<accord_bus::BusAuth>,
) -> Result<Option<(Vec<u8>, String)>, String> {
    let object = plugin::object_name(PluginKind::RemediationPolicy, BUCKET_POLICY);
    let options = ConnectOptions::default()
        .with_connect_timeout(NATS_TIMEOUT)
        .with_request_timeout(NATS_TIMEOUT)
        .with_auth(auth);
    let lookup = async {
        let bus = Bus::connect_with(nats_url, "accord-cli", options)
            .await
            .map_err(|_| format!("NATS at {nats_url} not reachable"))?;
        let store = match bus.existing_plugin_store().await {
            Ok(Some(store)) => store,
            Ok(None) => return Ok(None),
            Err(err) => return Err(format!("plugin bucket not readable: {err}")),
        };
        store
            .get(&object)
            .await
            .map(|bytes| bytes.map(|bytes| (bytes, object.clone())))
            .map_err(|err| format!("reading {object}: {err}"))
    };
    // Connect, open and read each have their own limit; this caps the sum.
    tokio::time::timeout(NATS_TIMEOUT * 4, lookup)
        .await
        .unwrap_or_else(|_| Err(format!("NATS at {nats_url} did not answer in time")))
}

/// The policy bytes to use and where they came from.
async fn resolve_policy(
    ctx: &Context,
    flag: Option<PathBuf>,
) -> anyhow::Result<(Vec<u8>, PolicySource)> {
    if let Some(path) = flag {
        let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((wasm, PolicySource::Flag(path)));
    }
    let nats_url = ctx.settings.nats_url.clone();
    let why = match bucket_policy(&nats_url, ctx.nats_auth()?).await {
        Ok(Some((wasm, object))) => return Ok((wasm, PolicySource::Bucket { object, nats_url })),
        Ok(None) => format!(
            "no {} pushed",
            plugin::object_name(PluginKind::RemediationPolicy, BUCKET_POLICY)
        ),
        Err(why) => why,
    };
    let path = default_policy()?;
    let wasm = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok((wasm, PolicySource::Shipped { path, why }))
}

/// Where the default policy lives: in [`super::shipped_plugin_dir`].
fn default_policy() -> anyhow::Result<PathBuf> {
    super::shipped_plugin_dir()
        .map(|dir| dir.join(DEFAULT_POLICY))
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no policy given and {DEFAULT_POLICY} not found; pass --policy PATH or build the plugins with `cargo xtask plugins`"
            )
        })
}

/// One reply per non-blank line, in order, and how many of them are errors.
pub async fn decide_lines(policy: &PolicyPlugin, lines: &[String]) -> (Vec<Value>, usize) {
    let mut replies = Vec::with_capacity(lines.len());
    let mut failed = 0;
    for (n, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<Request>(line) {
            Ok(req) => match policy.decide(&req.event, &req.context).await {
                Ok(d) => json!({
                    "id": req.id,
                    "action": d.action,
                    "responsibility": d.responsibility,
                    "reason": d.reason,
                }),
                Err(e) => {
                    failed += 1;
                    json!({"id": req.id, "line": n + 1, "error": format!("policy failed: {e}")})
                }
            },
            Err(e) => {
                failed += 1;
                let id = serde_json::from_str::<Value>(line)
                    .ok()
                    .and_then(|v| v.get("id").cloned());
                match id {
                    Some(id) => json!({"id": id, "line": n + 1, "error": e.to_string()}),
                    None => json!({"line": n + 1, "error": e.to_string()}),
                }
            }
        };
        replies.push(reply);
    }
    (replies, failed)
}

fn read_lines(file: &Path) -> anyhow::Result<Vec<String>> {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
        ))
    };
    reader
        .lines()
        .collect::<Result<_, _>>()
        .context("reading the findings")
}

/// Runs `decide`; returns where the policy came from and its digest (for tests).
async fn decide(ctx: &Context, args: DecideArgs) -> anyhow::Result<(PolicySource, String)> {
    let (wasm, source) = resolve_policy(ctx, args.policy).await?;
    let host = PluginHost::new(HostConfig::default()).context("starting the plugin host")?;
    let policy = tokio::task::spawn_blocking(move || host.load_policy(&wasm))
        .await?
        .with_context(|| format!("loading the policy {source}"))?;
    ctx.note(&format!(
        "policy {} {} ({}, sha256 {}) {source}",
        policy.info().name,
        policy.info().version,
        policy.interface(),
        policy.digest().get(..12).unwrap_or(policy.digest()),
    ));
    let lines = read_lines(&args.file)?;
    let (replies, failed) = decide_lines(&policy, &lines).await;
    let text: Vec<String> = replies.iter().map(Value::to_string).collect();
    if !text.is_empty() {
        ctx.out(&text.join("\n"));
    }
    let answered = replies.len();
    if failed > 0 {
        bail!("{failed} of {answered} lines could not be decided (see their \"error\" fields)");
    }
    Ok((source, policy.digest().to_owned()))
}

#[cfg(test)]
mod tests {
    use accord_plugin_host::PolicyInterface;

    use super::*;

    /// The shipped policy, as `cargo xtask test` builds it.
    fn shipped_policy() -> PolicyPlugin {
        let dir = std::env::var_os("ACCORD_PLUGIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../plugins/target/wasm32-wasip2/release")
            });
        let wasm = std::fs::read(dir.join(DEFAULT_POLICY)).unwrap_or_else(|e| {
            panic!(
                "{DEFAULT_POLICY} in {}: {e}; run `cargo xtask plugins` first",
                dir.display()
            )
        });
        PluginHost::new(HostConfig::default())
            .unwrap()
            .load_policy(&wasm)
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn one_reply_per_line_in_order_and_malformed_lines_are_reported() {
        let policy = tokio::task::spawn_blocking(shipped_policy).await.unwrap();
        let lines: Vec<String> = [
            r#"{"id": 1, "event": {"kind": "gpu-xid", "cluster": "c", "node": "n", "xid": 79, "gpu": 3}, "context": {"remediation_allowed": true, "pool_size": 8}}"#,
            r#"{"id": "x", "event": {"kind": "gpu-xid", "cluster": "c", "node": "n", "xid": 13, "gpu": 0}}"#,
            "",
            r#"{"id": "bad", "event": {"kind": "gpu-oops"}}"#,
            "not json",
            r#"{"id": 5, "event": {"kind": "node-not-ready", "cluster": "c", "node": "n", "minutes": 30}, "context": {"remediation_allowed": false}}"#,
        ]
        .map(String::from)
        .to_vec();
        let (replies, failed) = decide_lines(&policy, &lines).await;
        assert_eq!(replies.len(), 5, "blank lines get no reply: {replies:?}");
        assert_eq!(failed, 2);
        assert_eq!(replies[0]["id"], 1);
        assert_eq!(replies[0]["action"], "reboot-node");
        assert_eq!(replies[0]["responsibility"], "supported");
        assert_eq!(replies[1]["action"], "notify-customer");
        assert_eq!(replies[1]["responsibility"], "customer-owned");
        assert_eq!(replies[2]["id"], "bad");
        assert_eq!(replies[2]["line"], 4);
        assert!(replies[2]["error"].as_str().unwrap().contains("gpu-oops"));
        assert!(replies[3].get("id").is_none());
        assert_eq!(replies[3]["line"], 5);
        // Not allowed: the customer is notified instead of a reboot.
        assert_eq!(replies[4]["action"], "notify-customer");
        assert!(
            replies[4]["reason"]
                .as_str()
                .unwrap()
                .contains("not allowed")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn new_kinds_and_named_ports_are_decided_by_the_shipped_policy() {
        let policy = tokio::task::spawn_blocking(shipped_policy).await.unwrap();
        assert_eq!(policy.interface(), PolicyInterface::V0_2);
        let allowed = r#""context": {"remediation_allowed": true, "pool_size": 8}"#;
        let lines: Vec<String> = [
            r#"{"id": 1, "event": {"kind": "ib-link", "cluster": "c", "node": "n", "port": "mlx5_2/1", "state": "down"}, CTX}"#,
            r#"{"id": 2, "event": {"kind": "ib-link", "cluster": "c", "node": "n", "port": 2, "state": "down"}, CTX}"#,
            r#"{"id": 3, "event": {"kind": "gpu-ecc", "cluster": "c", "node": "n", "gpu": 3}, CTX}"#,
            r#"{"id": 4, "event": {"kind": "gpu-row-remap", "cluster": "c", "node": "n", "gpu": 1, "signal": "row_remap_failure", "severity": "critical"}, CTX}"#,
            r#"{"id": 5, "event": {"kind": "gpu-pcie", "cluster": "c", "node": "n", "gpu": 0}}"#,
        ]
        .map(|line| line.replace("CTX", allowed))
        .to_vec();
        let (replies, failed) = decide_lines(&policy, &lines).await;
        assert_eq!(failed, 0, "{replies:?}");
        // The output keeps its fields: id, action, responsibility, reason — nothing else.
        for reply in &replies {
            let mut keys: Vec<_> = reply.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            assert_eq!(
                keys,
                ["action", "id", "reason", "responsibility"],
                "{reply}"
            );
        }
        let reason = |i: usize| replies[i]["reason"].as_str().unwrap().to_owned();
        // accord:plugin@0.2.0 names the port as the agent does; a bare number is read as one.
        assert_eq!(replies[0]["action"], "reboot-node");
        assert!(
            reason(0).contains("InfiniBand port mlx5_2/1 is down"),
            "{}",
            replies[0]
        );
        assert_eq!(reason(0), reason(1));
        assert_eq!(replies[2]["id"], 3);
        assert_eq!(replies[2]["action"], "reset-gpu");
        assert_eq!(replies[2]["responsibility"], "supported");
        assert!(
            reason(2).starts_with("Double-bit ECC errors on GPU 3 (as XID 48)"),
            "{}",
            replies[2]
        );
        assert_eq!(replies[3]["action"], "reset-gpu");
        assert!(
            reason(3).contains("Row remap failure on GPU 1"),
            "{}",
            replies[3]
        );
        assert_eq!(replies[4]["action"], "notify-customer");
        assert!(reason(4).contains("PCIe replays"), "{}", replies[4]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_policy_of_the_older_interface_answers_old_kinds_and_reports_new_ones() {
        // The hostile test policy is built against accord:plugin@0.1.0.
        let dir = super::super::shipped_plugin_dir().unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/target/wasm32-wasip2/release")
        });
        let wasm = std::fs::read(dir.join("hostile_policy.wasm")).unwrap();
        let policy = tokio::task::spawn_blocking(move || {
            PluginHost::new(HostConfig::default())
                .unwrap()
                .load_policy(&wasm)
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(policy.interface(), PolicyInterface::V0_1);
        let lines: Vec<String> = [
            r#"{"id": 1, "event": {"kind": "ib-link", "cluster": "c", "node": "echo", "port": "mlx5_2/1", "state": "down"}}"#,
            r#"{"id": 2, "event": {"kind": "gpu-ecc", "cluster": "c", "node": "echo", "gpu": 3}}"#,
        ]
        .map(String::from)
        .to_vec();
        let (replies, failed) = decide_lines(&policy, &lines).await;
        assert_eq!(failed, 1);
        // Numbered ports, as before 0.2.0: mlx5_2/1 is 2.
        assert_eq!(
            replies[0]["reason"],
            "hostile-policy: echo kind=ib-link port=2"
        );
        let error = replies[1]["error"].as_str().unwrap();
        assert!(
            error.contains("gpu-ecc") && error.contains("accord:plugin@0.1.0"),
            "{error}"
        );
        assert_eq!(replies[1]["id"], 2);
    }

    /// The component with a custom section appended: still valid, another digest — a rebuilt
    /// policy.
    fn rebuilt(mut wasm: Vec<u8>, tag: &str) -> Vec<u8> {
        let name = b"accord-test";
        let mut section = vec![u8::try_from(name.len()).unwrap()];
        section.extend_from_slice(name);
        section.extend_from_slice(tag.as_bytes());
        wasm.push(0);
        wasm.push(u8::try_from(section.len()).unwrap());
        wasm.extend_from_slice(&section);
        wasm
    }

    fn ctx_for(
        nats_url: &str,
    ) -> (
        Context,
        std::sync::Arc<std::sync::Mutex<crate::output::Captured>>,
    ) {
        let (printer, captured) = crate::output::Printer::capture();
        let mut settings = crate::config::Settings::new("http://127.0.0.1:1", None);
        settings.nats_url = nats_url.to_owned();
        let ctx = Context {
            settings,
            format: crate::cli::OutputFormat::Table,
            printer,
        };
        (ctx, captured)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pushed_policy_is_used_without_restart_and_the_shipped_one_otherwise() {
        let server = accord_testkit::NatsServer::start().await.unwrap();
        let url = server.url();
        let findings = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            findings.path(),
            r#"{"id": 1, "event": {"kind": "gpu-xid", "cluster": "c", "node": "n", "xid": 79, "gpu": 3}, "context": {"remediation_allowed": true, "pool_size": 8}}"#,
        )
        .unwrap();
        let args = || DecideArgs {
            file: findings.path().to_owned(),
            policy: None,
        };
        let shipped = std::fs::read(default_policy().unwrap()).unwrap();

        // Nothing pushed yet: the shipped file, and the note says why.
        let (ctx, captured) = ctx_for(&url);
        let (source, shipped_digest) = decide(&ctx, args()).await.unwrap();
        assert!(
            matches!(&source, PolicySource::Shipped { why, .. } if why.contains("no policy.gpu-remediation pushed")),
            "{source:?}"
        );
        let captured = captured.lock().unwrap().clone();
        assert!(
            captured.err.contains("from the shipped file"),
            "{captured:?}"
        );
        assert!(captured.out.contains("reboot-node"), "{captured:?}");

        // Pushed (as `accord plugin push` does): the bucket's copy.
        let (loaded, bytes) = plugin::validate(
            PluginKind::RemediationPolicy,
            rebuilt(shipped.clone(), "v2"),
        )
        .await
        .unwrap();
        let bus = Bus::connect(&url, "test").await.unwrap();
        let store = bus.plugin_store().await.unwrap();
        let meta = |digest: &str| accord_bus::PluginMeta {
            kind: "remediation-policy".into(),
            version: loaded.version.clone(),
            digest: digest.to_owned(),
        };
        store
            .put("policy.gpu-remediation", bytes, &meta(&loaded.digest))
            .await
            .unwrap();
        let (ctx, captured) = ctx_for(&url);
        let (source, digest) = decide(&ctx, args()).await.unwrap();
        assert!(
            matches!(&source, PolicySource::Bucket { object, .. } if object == "policy.gpu-remediation"),
            "{source:?}"
        );
        assert_eq!(digest, loaded.digest);
        assert_ne!(digest, shipped_digest);
        let captured = captured.lock().unwrap().clone();
        assert!(
            captured.err.contains("from the plugin bucket"),
            "{captured:?}"
        );
        assert!(captured.err.contains(&loaded.digest[..12]), "{captured:?}");

        // Another rebuild pushed: the next run uses it — no restart of anything.
        let (v3, bytes) = plugin::validate(PluginKind::RemediationPolicy, rebuilt(shipped, "v3"))
            .await
            .unwrap();
        store
            .put("policy.gpu-remediation", bytes, &meta(&v3.digest))
            .await
            .unwrap();
        let (ctx, _) = ctx_for(&url);
        let (_, digest) = decide(&ctx, args()).await.unwrap();
        assert_eq!(digest, v3.digest);
        assert_ne!(digest, loaded.digest);

        // --policy always wins.
        let (ctx, _) = ctx_for(&url);
        let flagged = DecideArgs {
            policy: Some(default_policy().unwrap()),
            ..args()
        };
        let (source, digest) = decide(&ctx, flagged).await.unwrap();
        assert!(matches!(source, PolicySource::Flag(_)));
        assert_eq!(digest, shipped_digest);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unreachable_nats_falls_back_to_the_shipped_file_quickly() {
        let findings = tempfile::NamedTempFile::new().unwrap();
        // A port nothing listens on.
        let (ctx, captured) = ctx_for("nats://127.0.0.1:1");
        let started = std::time::Instant::now();
        let (source, _) = decide(
            &ctx,
            DecideArgs {
                file: findings.path().to_owned(),
                policy: None,
            },
        )
        .await
        .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(
            matches!(&source, PolicySource::Shipped { why, .. } if why.contains("not reachable")),
            "{source:?}"
        );
        let captured = captured.lock().unwrap().clone();
        assert!(captured.err.contains("not reachable"), "{captured:?}");
    }
}
