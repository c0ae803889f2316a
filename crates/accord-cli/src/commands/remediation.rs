//! `accord remediation decide`: runs a remediation policy component over JSON Lines of health
//! findings, offline (no API, no NATS) — for operators trying a policy before rolling it out.
//!
//! Every input line gets exactly one output line, in order. A line that is not a valid request
//! gets `{"id"?, "line", "error"}` and the command fails at the end (after answering the rest);
//! a policy failure on a valid line (trap, timeout, quarantine) is reported the same way.

use std::{
    io::{BufRead, Write},
    path::{Path, PathBuf},
};

use accord_core::remediation::{Finding, RemediationContext};
use accord_plugin_host::{HostConfig, PluginHost, PolicyPlugin};
use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cli::{DecideArgs, RemediationCommand};

/// File name of the shipped policy component.
pub const DEFAULT_POLICY: &str = "gpu_remediation.wasm";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    id: Value,
    event: Finding,
    #[serde(default)]
    context: RemediationContext,
}

/// Runs a `remediation` subcommand.
pub async fn run(command: RemediationCommand) -> anyhow::Result<()> {
    match command {
        RemediationCommand::Decide(args) => decide(args).await,
    }
}

/// Where the default policy lives: `$ACCORD_PLUGIN_DIR`, else the plugins build directory above
/// the current directory.
fn default_policy() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ACCORD_PLUGIN_DIR") {
        return Ok(PathBuf::from(dir).join(DEFAULT_POLICY));
    }
    let mut dir = std::env::current_dir()?;
    loop {
        let candidate = dir
            .join("plugins/target/wasm32-wasip2/release")
            .join(DEFAULT_POLICY);
        if candidate.is_file() {
            return Ok(candidate);
        }
        if !dir.pop() {
            bail!(
                "no policy given and {DEFAULT_POLICY} not found; pass --policy PATH or build the plugins with `cargo xtask plugins`"
            );
        }
    }
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

async fn decide(args: DecideArgs) -> anyhow::Result<()> {
    let policy_path = match args.policy {
        Some(p) => p,
        None => default_policy()?,
    };
    let wasm = std::fs::read(&policy_path)
        .with_context(|| format!("reading {}", policy_path.display()))?;
    let host = PluginHost::new(HostConfig::default()).context("starting the plugin host")?;
    let policy = tokio::task::spawn_blocking(move || host.load_policy(&wasm))
        .await?
        .with_context(|| format!("loading {}", policy_path.display()))?;
    eprintln!(
        "policy {} {} (sha256 {})",
        policy.info().name,
        policy.info().version,
        &policy.digest()[..12]
    );
    let lines = read_lines(&args.file)?;
    let (replies, failed) = decide_lines(&policy, &lines).await;
    let mut out = std::io::stdout();
    for reply in &replies {
        writeln!(out, "{reply}")?;
    }
    out.flush()?;
    let answered = replies.len();
    if failed > 0 {
        bail!("{failed} of {answered} lines could not be decided (see their \"error\" fields)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
