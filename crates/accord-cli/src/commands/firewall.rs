//! `accord firewall evaluate`: runs the network-firewall's engine (`accord-firewall`) over
//! JSON Lines of packets, locally — no token, server or NATS — for operators and support
//! asking "would this packet get through, and which rule decides".
//!
//! Every non-blank input line gets exactly one output line, in order, written as soon as it is
//! decided. An invalid line gets `{"id", "error"}` and the command fails at the end, after
//! answering the rest (as `accord triage classify` does). Only IO errors stop the run early; a
//! closed stdout (`| head`) ends it quietly. One stderr note gives the totals.

use std::io;
use std::path::Path;

use accord_firewall::{JsonlSummary, evaluate_jsonl};
use anyhow::{Context as _, bail};

use super::Context;
use super::triage::LineWriter;
use crate::cli::{FirewallCommand, FirewallEvaluateArgs};

/// Runs a `firewall` subcommand.
pub fn run(ctx: &Context, command: FirewallCommand) -> anyhow::Result<()> {
    match command {
        FirewallCommand::Evaluate(args) => evaluate(ctx, &args).map(|_| ()),
    }
}

/// Runs `evaluate`; returns what the run did (for tests).
fn evaluate(ctx: &Context, args: &FirewallEvaluateArgs) -> anyhow::Result<JsonlSummary> {
    let output = LineWriter::new(&ctx.printer);
    let result = if args.file == Path::new("-") {
        evaluate_jsonl(io::stdin().lock(), output)
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        evaluate_jsonl(io::BufReader::new(file), output)
    };
    let summary = match result {
        Ok(summary) => summary,
        // stdout went away (`| head`): nobody is reading the rest.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(JsonlSummary::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("evaluating {}", args.file.display()));
        }
    };
    let answered = summary.evaluated + summary.errors;
    ctx.note(&format!(
        "{} of {answered} packets evaluated: {} allowed, {} denied",
        summary.evaluated, summary.allowed, summary.denied
    ));
    if summary.has_errors() {
        bail!(
            "{} of {answered} lines could not be evaluated (see their \"error\" fields)",
            summary.errors
        );
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::commands::offline_testing::{context as ctx, file as packets_file};

    const CLUSTER: &str = r#""cluster": {"vpc_subnet": "10.0.0.0/16", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/12", "cni": {"tunnel": "vxlan"}}"#;
    const LOCKDOWN: &str = r#""rules": [{"name": "lockdown", "priority": 0, "direction": "ingress", "action": "deny", "protocol": "any", "sources": ["0.0.0.0/0"]}]"#;

    fn packets() -> String {
        [
            format!(
                r#"{{"id": "kubelet", {CLUSTER}, {LOCKDOWN}, "packet": {{"direction": "ingress", "protocol": "tcp", "port": 10250, "from": "control-plane", "to": "node"}}}}"#
            ),
            String::new(),
            format!(
                r#"{{"id": "ssh", {CLUSTER}, {LOCKDOWN}, "packet": {{"direction": "ingress", "protocol": "tcp", "port": 22, "from": "internet", "to": "node"}}}}"#
            ),
            format!(
                r#"{{"id": "bad", {CLUSTER}, "rules": [{{"name": "x", "priority": 70000, "direction": "ingress", "action": "deny", "protocol": "tcp", "sources": ["0.0.0.0/0"]}}], "packet": {{"direction": "ingress", "protocol": "tcp", "port": 22, "from": "internet", "to": "node"}}}}"#
            ),
        ]
        .join("\n")
    }

    fn lines(out: &str) -> Vec<Value> {
        out.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn one_line_per_packet_and_invalid_lines_fail_the_command_at_the_end() {
        let file = packets_file(&packets());
        let (ctx, captured) = ctx();
        let args = FirewallEvaluateArgs {
            file: file.path().to_owned(),
        };
        let err = evaluate(&ctx, &args).unwrap_err().to_string();
        assert_eq!(
            err,
            "1 of 3 lines could not be evaluated (see their \"error\" fields)"
        );
        let captured = captured.lock().unwrap().clone();
        let replies = lines(&captured.out);
        assert_eq!(
            replies,
            [
                json!({"id": "kubelet", "verdict": "allow", "tier": "provider", "rule": "accord-kubelet-ingress"}),
                json!({"id": "ssh", "verdict": "deny", "tier": "customer", "rule": "lockdown"}),
                json!({"id": "bad", "error": "rules[0].priority: 70000 is out of range 0-65535 (lower wins)"}),
            ]
        );
        assert!(
            captured
                .err
                .contains("2 of 3 packets evaluated: 1 allowed, 1 denied"),
            "{}",
            captured.err
        );
    }

    #[test]
    fn a_clean_file_succeeds_and_a_missing_one_is_named() {
        let first = packets().lines().next().unwrap().to_owned();
        let file = packets_file(&first);
        let (ctx, _) = ctx();
        let summary = evaluate(
            &ctx,
            &FirewallEvaluateArgs {
                file: file.path().to_owned(),
            },
        )
        .unwrap();
        assert_eq!((summary.evaluated, summary.errors), (1, 0));

        let err = format!(
            "{:#}",
            evaluate(
                &ctx,
                &FirewallEvaluateArgs {
                    file: PathBuf::from("/nonexistent/packets.jsonl"),
                },
            )
            .unwrap_err()
        );
        assert!(err.contains("opening /nonexistent/packets.jsonl"), "{err}");
    }

    #[tokio::test]
    async fn the_whole_command_runs_without_token_server_or_nats() {
        let file = packets_file(packets().lines().next().unwrap());
        let path = file.path().to_str().unwrap();
        let cli = Cli::try_parse_with_sources(["accord", "firewall", "evaluate", path]).unwrap();
        assert_eq!(
            cli.command,
            Command::Firewall(FirewallCommand::Evaluate(FirewallEvaluateArgs {
                file: file.path().to_owned(),
            }))
        );
        let (ctx, captured) = ctx();
        crate::commands::run(&ctx, cli.command).await.unwrap();
        let captured = captured.lock().unwrap().clone();
        assert_eq!(lines(&captured.out)[0]["tier"], "provider");

        let cli = Cli::try_parse_with_sources(["accord", "firewall", "evaluate", "-"]).unwrap();
        assert_eq!(
            cli.command,
            Command::Firewall(FirewallCommand::Evaluate(FirewallEvaluateArgs {
                file: PathBuf::from("-"),
            }))
        );
    }
}
