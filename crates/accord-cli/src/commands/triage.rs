//! `accord triage classify`: runs support-triage's classification engine over JSON Lines of
//! tickets, locally — no token, server or NATS — for support engineers trying a rule change
//! before it ships, and for scripts classifying tickets of another intake system.
//!
//! Which rules: `--rules PATH` if given, else the rules shipped with support-triage (embedded in
//! the binary). One stderr note says which were used, and one the totals at the end.
//!
//! Every non-blank input line gets exactly one output line, in order, written as soon as it is
//! classified (so `tail -f tickets.jsonl | accord triage classify -` streams). A line that is not
//! a valid ticket gets `{"id"?, "line", "error"}` and the command fails at the end, after
//! answering the rest (as `accord remediation decide` does). Only IO errors stop the run early;
//! a closed stdout (`| head`) ends it quietly.

use std::io::{self, Write};
use std::path::Path;

use accord_triage::{JsonlSummary, RuleSet, classify_jsonl};
use anyhow::{Context as _, bail};

use super::Context;
use crate::cli::{ClassifyArgs, TriageCommand};
use crate::output::Printer;

/// Runs a `triage` subcommand.
pub fn run(ctx: &Context, command: TriageCommand) -> anyhow::Result<()> {
    match command {
        TriageCommand::Classify(args) => classify(ctx, &args).map(|_| ()),
    }
}

/// The rules to use and where they came from.
fn rules(path: Option<&Path>) -> anyhow::Result<(RuleSet, String)> {
    match path {
        Some(path) => {
            let rules = RuleSet::load(path)
                .with_context(|| format!("loading the triage rules {}", path.display()))?;
            Ok((rules, format!("from {}", path.display())))
        }
        None => {
            let rules = RuleSet::shipped().context("the shipped triage rules are invalid")?;
            Ok((rules, "shipped with support-triage".to_owned()))
        }
    }
}

/// Runs `classify`; returns what the run did (for tests).
fn classify(ctx: &Context, args: &ClassifyArgs) -> anyhow::Result<JsonlSummary> {
    let (rules, source) = rules(args.rules.as_deref())?;
    ctx.note(&format!(
        "triage rules v{} ({} rules) {source}",
        rules.version(),
        rules.rules().len()
    ));
    let output = LineWriter::new(&ctx.printer);
    let result = if args.file == Path::new("-") {
        classify_jsonl(&rules, io::stdin().lock(), output)
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("opening {}", args.file.display()))?;
        classify_jsonl(&rules, io::BufReader::new(file), output)
    };
    let summary = match result {
        Ok(summary) => summary,
        // stdout went away (`| head`): nobody is reading the rest.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(JsonlSummary::default());
        }
        Err(error) => {
            return Err(error).with_context(|| format!("classifying {}", args.file.display()));
        }
    };
    let answered = summary.classified + summary.malformed;
    ctx.note(&format!(
        "{} of {answered} tickets classified, {} need review",
        summary.classified, summary.needs_review
    ));
    if summary.has_errors() {
        bail!(
            "{} of {answered} lines could not be classified (see their \"error\" fields)",
            summary.malformed
        );
    }
    Ok(summary)
}

/// A [`Write`] that hands complete lines to a [`Printer`] (so output streams line by line and
/// tests can capture it). A broken stdout becomes [`io::ErrorKind::BrokenPipe`]. Also used by
/// `accord health check`.
pub(crate) struct LineWriter<'a> {
    printer: &'a Printer,
    pending: Vec<u8>,
}

impl<'a> LineWriter<'a> {
    pub(crate) fn new(printer: &'a Printer) -> Self {
        LineWriter {
            printer,
            pending: Vec::with_capacity(1024),
        }
    }

    /// Prints everything up to the last newline (everything, with `all`).
    fn emit(&mut self, all: bool) -> io::Result<()> {
        let end = if all {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => return Ok(()),
            }
        };
        if end == 0 {
            return Ok(());
        }
        let chunk: Vec<u8> = self.pending.drain(..end).collect();
        self.printer.out(&String::from_utf8_lossy(&chunk));
        if self.printer.is_closed() {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        }
        Ok(())
    }
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if buf.contains(&b'\n') {
            self.emit(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(true)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::cli::{Cli, Command};

    const TICKETS: &str = r#"{"id": "t-1", "title": "kubectl hangs, API answers 503", "description": "Since 10:40 UTC every kubectl command hangs and then: Error from server (ServiceUnavailable): the server is currently unable to handle the request."}

{"id": "t-2", "title": "etcdserver: request timed out", "descripton": "typo in the field name"}
not json at all
{"id": "t-4", "title": "our istio sidecars crash", "description": "istio-proxy containers in CrashLoopBackOff after we upgraded istio", "cluster": "demo", "context": {"customer_components": ["istio"]}}
"#;

    use crate::commands::offline_testing::{context as ctx, file as tickets_file};

    fn lines(out: &str) -> Vec<Value> {
        out.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn one_line_per_ticket_in_order_and_malformed_lines_fail_the_command_at_the_end() {
        let file = tickets_file(TICKETS);
        let (ctx, captured) = ctx();
        let args = ClassifyArgs {
            file: file.path().to_owned(),
            rules: None,
        };
        let err = classify(&ctx, &args).unwrap_err().to_string();
        assert_eq!(
            err,
            "2 of 4 lines could not be classified (see their \"error\" fields)"
        );
        let captured = captured.lock().unwrap().clone();
        let replies = lines(&captured.out);
        assert_eq!(
            replies.len(),
            4,
            "blank lines get no reply: {}",
            captured.out
        );

        assert_eq!(replies[0]["id"], "t-1");
        assert_eq!(replies[0]["category"], "supported");
        assert_eq!(replies[0]["rule"]["id"], "sup-control-plane-api");

        // The misspelt field is refused, and the id is kept so the sender can find it.
        assert_eq!(replies[1]["id"], "t-2");
        assert_eq!(replies[1]["line"], 3);
        assert!(
            replies[1]["error"].as_str().unwrap().contains("descripton"),
            "{}",
            replies[1]
        );

        assert!(replies[2].get("id").is_none(), "{}", replies[2]);
        assert_eq!(replies[2]["line"], 4);

        assert_eq!(replies[3]["id"], "t-4");
        assert_eq!(replies[3]["category"], "customer-owned");
        assert!(!replies[3]["checklist"].as_array().unwrap().is_empty());

        assert!(
            captured.err.contains("shipped with support-triage"),
            "{}",
            captured.err
        );
        assert!(
            captured.err.contains("2 of 4 tickets classified"),
            "{}",
            captured.err
        );
    }

    #[test]
    fn a_clean_file_succeeds_and_rules_can_come_from_a_file() {
        let file = tickets_file(
            "{\"id\": \"a\", \"title\": \"etcdserver: mvcc: database space exceeded\"}\n",
        );
        let rules = tickets_file(accord_triage::SHIPPED_RULES);
        let (ctx, captured) = ctx();
        let summary = classify(
            &ctx,
            &ClassifyArgs {
                file: file.path().to_owned(),
                rules: Some(rules.path().to_owned()),
            },
        )
        .unwrap();
        assert_eq!(summary.classified, 1);
        assert_eq!(summary.malformed, 0);
        let captured = captured.lock().unwrap().clone();
        let replies = lines(&captured.out);
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0]["rule"]["id"], "sup-etcd");
        assert!(
            captured
                .err
                .contains(&format!("from {}", rules.path().display())),
            "{}",
            captured.err
        );
    }

    #[test]
    fn bad_rules_and_missing_files_name_the_path() {
        let file = tickets_file("");
        let rules = tickets_file("version: [not, a, number");
        let (ctx, _) = ctx();
        let err = format!(
            "{:#}",
            classify(
                &ctx,
                &ClassifyArgs {
                    file: file.path().to_owned(),
                    rules: Some(rules.path().to_owned()),
                },
            )
            .unwrap_err()
        );
        assert!(err.contains(&rules.path().display().to_string()), "{err}");
        assert!(err.contains("does not parse"), "{err}");

        let missing = PathBuf::from("/nonexistent/tickets.jsonl");
        let err = format!(
            "{:#}",
            classify(
                &ctx,
                &ClassifyArgs {
                    file: missing.clone(),
                    rules: None,
                },
            )
            .unwrap_err()
        );
        assert!(err.contains("opening /nonexistent/tickets.jsonl"), "{err}");
    }

    #[tokio::test]
    async fn the_whole_command_runs_without_token_server_or_nats() {
        let file = tickets_file(TICKETS.lines().next().unwrap());
        let path = file.path().to_str().unwrap();
        let cli = Cli::try_parse_with_sources(["accord", "triage", "classify", path]).unwrap();
        assert_eq!(
            cli.command,
            Command::Triage(TriageCommand::Classify(ClassifyArgs {
                file: file.path().to_owned(),
                rules: None,
            }))
        );
        let (ctx, captured) = ctx();
        crate::commands::run(&ctx, cli.command).await.unwrap();
        let captured = captured.lock().unwrap().clone();
        assert_eq!(lines(&captured.out)[0]["category"], "supported");

        let cli =
            Cli::try_parse_with_sources(["accord", "triage", "classify", "-", "--rules", "r.yaml"])
                .unwrap();
        assert_eq!(
            cli.command,
            Command::Triage(TriageCommand::Classify(ClassifyArgs {
                file: PathBuf::from("-"),
                rules: Some(PathBuf::from("r.yaml")),
            }))
        );
    }

    #[test]
    fn the_line_writer_prints_whole_lines() {
        let (printer, captured) = Printer::capture();
        let mut writer = LineWriter::new(&printer);
        writer.write_all(b"{\"a\":").unwrap();
        assert_eq!(captured.lock().unwrap().out, "");
        writer.write_all(b"1}\n{\"b\"").unwrap();
        assert_eq!(captured.lock().unwrap().out, "{\"a\":1}\n");
        writer.write_all(b":2}").unwrap();
        writer.flush().unwrap();
        assert_eq!(captured.lock().unwrap().out, "{\"a\":1}\n{\"b\":2}\n");
        writer.flush().unwrap();
        assert_eq!(captured.lock().unwrap().out, "{\"a\":1}\n{\"b\":2}\n");
    }
}
