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

use super::Context;
use super::triage::LineWriter;
use crate::cli::{HealthCheckArgs, HealthCommand};

/// Runs a `health` subcommand.
pub fn run(ctx: &Context, command: HealthCommand) -> anyhow::Result<()> {
    match command {
        HealthCommand::Check(args) => check(ctx, &args).map(|_| ()),
    }
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
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::cli::{Cli, Command, OutputFormat};
    use crate::output::{Captured, Printer};

    /// The samples `accord-health` tests with: a baseline, a blank line, XID 79 on GPU 3, a
    /// malformed line, a v2 sample, the XID sample redelivered, and the next sample.
    fn fixture() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../accord-health/tests/data/xid79.jsonl")
    }

    const CLUSTER: &str = "cl-01jd6v3xq5n8c7m2k4p9r0s1t2";
    const NODE: &str = "node-01jd6v3xq5n8c7m2k4p9r0s1t3";

    fn capture() -> (Context, Arc<Mutex<Captured>>) {
        let (printer, captured) = Printer::capture();
        let ctx = Context {
            // Nothing listens there and there is no token: the command must not need either.
            settings: crate::config::Settings::new("http://127.0.0.1:1", None),
            format: OutputFormat::Table,
            printer,
        };
        (ctx, captured)
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

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
}
