//! `accord health …`. `get nodes` and `findings` read the telemetry service's Health API (its
//! package's endpoint in the profile, else `endpoint`): each node's verdict and failing checks,
//! and the findings raised on a cluster.
//!
//! `accord health check`: the telemetry service's health checks (the `accord-health` crate, same
//! checks, same defaults) over JSON Lines of telemetry samples, locally — no token, server or
//! NATS — for operators replaying a node's samples, trying a threshold before it ships, or
//! checking what a real agent sends.
//!
//! Which settings: `--config PATH` if given (YAML or JSON, at most
//! [`accord_health::config::MAX_CONFIG_BYTES`]), else the shipped defaults. One stderr note
//! says which, and one the totals at the end.
//!
//! Output: one line per finding as soon as its sample is read (`tail -f … | accord health check
//! -` streams), naming the input line that tripped it; a line that is not a sample gets
//! `{"line", "error"}` and the command fails at the end, after checking the rest (as `accord
//! triage classify` does). Only IO errors stop the run early; a closed stdout (`| head`) ends it
//! quietly.

use std::io::{self, Read as _};
use std::path::Path;

use accord_health::{
    HealthChecker, HealthConfig, JsonlSummary, check_jsonl, config::MAX_CONFIG_BYTES,
};
use anyhow::{Context as _, bail};

use accord_proto::telemetry::v1 as pb;

use super::Context;
use super::triage::LineWriter;
use crate::cli::{HealthCheckArgs, HealthCommand, HealthFindingsArgs, HealthGetCommand};
use crate::output::{
    OutputFormat,
    health::{FindingView, NodeHealthView, findings_table, nodes_table},
    render_list,
};

/// Runs a `health` subcommand.
pub async fn run(ctx: &Context, command: HealthCommand) -> anyhow::Result<()> {
    match command {
        HealthCommand::Check(args) => check(ctx, &args).map(|_| ()),
        HealthCommand::Get(HealthGetCommand::Nodes(args)) => nodes(ctx, &args.cluster).await,
        HealthCommand::Findings(args) => findings(ctx, args).await,
    }
}

/// `accord health get nodes --cluster C`.
async fn nodes(ctx: &Context, cluster: &str) -> anyhow::Result<()> {
    let api = ctx.telemetry_api().await?;
    let r = api
        .call(api.health().list_node_health(pb::ListNodeHealthRequest {
            project: api.project(),
            cluster: cluster.to_owned(),
        }))
        .await?;
    if r.nodes.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("no node of this cluster has reported telemetry since the service started");
        return Ok(());
    }
    let views: Vec<_> = r.nodes.iter().map(NodeHealthView::from_pb).collect();
    ctx.out(&render_list(ctx.format, &views, || nodes_table(&r.nodes))?);
    Ok(())
}

/// The `ListFindings` request of `accord health findings`, `now` being the time it is sent.
pub fn findings_request(
    project: String,
    args: &HealthFindingsArgs,
    now: time::OffsetDateTime,
) -> pb::ListFindingsRequest {
    let since = args.since.map(|ago| {
        let at = now - ago;
        prost_types::Timestamp {
            seconds: at.unix_timestamp(),
            nanos: i32::try_from(at.nanosecond()).unwrap_or(0),
        }
    });
    pb::ListFindingsRequest {
        project,
        cluster: args.target.cluster.clone(),
        since,
        limit: args.limit,
    }
}

/// `accord health findings --cluster C [--since D]`.
async fn findings(ctx: &Context, args: HealthFindingsArgs) -> anyhow::Result<()> {
    let api = ctx.telemetry_api().await?;
    let r = api
        .call(
            api.health()
                .list_findings(findings_request(api.project(), &args, ctx.now())),
        )
        .await?;
    if r.findings.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("no health findings");
        return Ok(());
    }
    let views: Vec<_> = r.findings.iter().map(FindingView::from_pb).collect();
    ctx.out(&render_list(ctx.format, &views, || {
        findings_table(&r.findings, ctx.now())
    })?);
    Ok(())
}

/// The settings to use and where they came from.
fn config(path: Option<&Path>) -> anyhow::Result<(HealthConfig, String)> {
    let Some(path) = path else {
        return Ok((HealthConfig::default(), "the shipped defaults".to_owned()));
    };
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // One byte more than allowed tells "too large" from "exactly the limit".
    let limit = u64::try_from(MAX_CONFIG_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut text = String::new();
    file.take(limit)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    let config = HealthConfig::from_yaml(&text)
        .with_context(|| format!("loading the health check settings {}", path.display()))?;
    Ok((config, format!("from {}", path.display())))
}

/// Runs `check`; returns what the run did (for tests).
fn check(ctx: &Context, args: &HealthCheckArgs) -> anyhow::Result<JsonlSummary> {
    let (config, source) = config(args.config.as_deref())?;
    ctx.note(&format!("health checks: {source}"));
    let mut checker = HealthChecker::new(config);
    let output = LineWriter::new(&ctx.printer);
    let result = if args.file == Path::new("-") {
        check_jsonl(&mut checker, io::stdin().lock(), output)
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        check_jsonl(&mut checker, io::BufReader::new(file), output)
    };
    let summary = match result {
        Ok(summary) => summary,
        // stdout went away (`| head`): nobody is reading the rest.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(JsonlSummary::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("checking {}", args.file.display()));
        }
    };
    ctx.note(&format!(
        "{} samples of {} nodes checked, {} findings, {} duplicate or out-of-order samples ignored",
        summary.samples,
        checker.nodes(),
        summary.findings,
        summary.ignored
    ));
    if summary.has_errors() {
        bail!(
            "{} lines were not telemetry samples (see their \"error\" fields)",
            summary.errors
        );
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cli::{Cli, Command};

    /// The samples `accord-health` tests with: a baseline, a blank line, XID 79 on GPU 3, a
    /// malformed line, a v2 sample, the XID sample redelivered, and the next sample.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../accord-health/tests/data/xid79.jsonl")
    }

    const CLUSTER: &str = "cl-01jd6v3xq5n8c7m2k4p9r0s1t2";
    const NODE: &str = "node-01jd6v3xq5n8c7m2k4p9r0s1t3";

    use crate::commands::offline_testing::{context as capture, file};

    #[tokio::test]
    async fn findings_and_bad_lines_are_exact_json_lines_and_the_command_fails_at_the_end() {
        let path = fixture();
        let cli =
            Cli::try_parse_with_sources(["accord", "health", "check", path.to_str().unwrap()])
                .unwrap();
        assert_eq!(
            cli.command,
            Command::Health(HealthCommand::Check(HealthCheckArgs {
                file: path.clone(),
                config: None,
            }))
        );
        let (ctx, captured) = capture();
        let err = crate::commands::run(&ctx, cli.command).await.unwrap_err();
        // `main` prints this after `error: ` and exits with status 1.
        assert_eq!(
            crate::render_error(&err),
            "2 lines were not telemetry samples (see their \"error\" fields)"
        );
        let captured = captured.lock().unwrap().clone();
        let expected = [
            format!(
                concat!(
                    r#"{{"line":3,"cluster":"{}","node":"{}","check":"gpu-xid","kind":"gpu-xid","#,
                    r#""severity":"critical","gpu":3,"xid":79,"evidence":{{"signal":"xid_total","#,
                    r#""previous":{{"value":0,"ts_ms":1790000000000}},"#,
                    r#""current":{{"value":1,"ts_ms":1790000030000}},"count":1}}}}"#
                ),
                CLUSTER, NODE
            ),
            r#"{"line":4,"error":"malformed telemetry sample: EOF while parsing an object at line 1 column 27"}"#.to_owned(),
            r#"{"line":5,"error":"telemetry schema version 2 is not supported (expected 1)"}"#.to_owned(),
        ];
        assert_eq!(captured.out.lines().collect::<Vec<_>>(), expected);
        assert!(
            captured.err.contains("health checks: the shipped defaults"),
            "{}",
            captured.err
        );
        assert!(
            captured
                .err
                .contains("3 samples of 1 nodes checked, 1 findings, 1 duplicate"),
            "{}",
            captured.err
        );
    }

    #[test]
    fn a_clean_file_succeeds_and_settings_come_from_a_file() {
        // The fixture's valid samples only.
        let text: String = std::fs::read_to_string(fixture())
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"v\":1,\"ts_ms\":17"))
            .map(|l| format!("{l}\n"))
            .collect();
        let samples = file(&text);
        let args = |config: Option<PathBuf>| HealthCheckArgs {
            file: samples.path().to_owned(),
            config,
        };
        let (ctx, captured) = capture();
        let summary = check(&ctx, &args(None)).unwrap();
        assert_eq!(
            (summary.samples, summary.findings, summary.errors),
            (3, 1, 0)
        );
        assert!(
            captured
                .lock()
                .unwrap()
                .out
                .contains("\"severity\":\"critical\"")
        );

        // XID 79 downgraded on that cluster.
        let settings = file(&format!(
            "clusters:\n  {CLUSTER}:\n    gpu-xid: {{severities: {{79: warning}}}}\n"
        ));
        let (ctx, captured) = capture();
        check(&ctx, &args(Some(settings.path().to_owned()))).unwrap();
        let captured = captured.lock().unwrap().clone();
        assert!(
            captured.out.contains("\"severity\":\"warning\""),
            "{}",
            captured.out
        );
        assert!(
            captured
                .err
                .contains(&format!("from {}", settings.path().display())),
            "{}",
            captured.err
        );

        // Disabled: nothing found.
        let settings = file("checks:\n  gpu-xid: {enabled: false}\n");
        let (ctx, captured) = capture();
        let summary = check(&ctx, &args(Some(settings.path().to_owned()))).unwrap();
        assert_eq!(summary.findings, 0);
        assert_eq!(captured.lock().unwrap().out, "");
    }

    #[test]
    fn bad_settings_and_missing_files_name_the_path() {
        let samples = file("");
        let settings = file("checks:\n  gpu-xid: {enabld: true}\n");
        let (ctx, _) = capture();
        let err = format!(
            "{:#}",
            check(
                &ctx,
                &HealthCheckArgs {
                    file: samples.path().to_owned(),
                    config: Some(settings.path().to_owned()),
                },
            )
            .unwrap_err()
        );
        assert!(
            err.contains(&settings.path().display().to_string()),
            "{err}"
        );
        assert!(err.contains("enabld"), "{err}");

        let err = format!(
            "{:#}",
            check(
                &ctx,
                &HealthCheckArgs {
                    file: PathBuf::from("/nonexistent/samples.jsonl"),
                    config: None,
                },
            )
            .unwrap_err()
        );
        assert!(err.contains("opening /nonexistent/samples.jsonl"), "{err}");

        let cli =
            Cli::try_parse_with_sources(["accord", "health", "check", "-", "--config", "c.yaml"])
                .unwrap();
        assert_eq!(
            cli.command,
            Command::Health(HealthCommand::Check(HealthCheckArgs {
                file: PathBuf::from("-"),
                config: Some(PathBuf::from("c.yaml")),
            }))
        );
    }

    #[test]
    fn findings_since_is_relative_to_now_and_get_nodes_names_the_cluster() {
        let cli = Cli::try_parse_with_sources([
            "accord",
            "health",
            "findings",
            "--cluster",
            "demo",
            "--since",
            "10m",
        ])
        .unwrap();
        let Command::Health(HealthCommand::Findings(args)) = cli.command else {
            panic!("{:?}", cli.command);
        };
        let now = time::OffsetDateTime::from_unix_timestamp(1_790_000_600).unwrap();
        let r = findings_request("p".into(), &args, now);
        assert_eq!(r.cluster, "demo");
        assert_eq!(r.limit, 100);
        assert_eq!(r.since.unwrap().seconds, 1_790_000_000);
        let all =
            Cli::try_parse_with_sources(["accord", "health", "findings", "-c", "demo"]).unwrap();
        let Command::Health(HealthCommand::Findings(args)) = all.command else {
            panic!("{:?}", all.command);
        };
        assert!(findings_request("p".into(), &args, now).since.is_none());

        let nodes =
            Cli::try_parse_with_sources(["accord", "health", "get", "nodes", "--cluster", "demo"])
                .unwrap();
        assert_eq!(
            nodes.command,
            Command::Health(HealthCommand::Get(HealthGetCommand::Nodes(
                crate::cli::HealthClusterArgs {
                    cluster: "demo".into()
                }
            )))
        );
    }
}
