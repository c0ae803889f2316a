//! JSON Lines in, JSON Lines out: the form `accord health check` runs the checks in.
//!
//! Input: one sample per line, exactly as published on `accord.tel.<cluster>.<node>`, in file
//! order. Output: one line per finding,
//! `{"line", "cluster", "node", "check", "kind", "severity", "gpu"?, "xid"?, "port"?,
//! "evidence"}`, where `line` is the 1-based input line whose sample tripped it; a line that is
//! not a sample this version understands (malformed, another schema version, longer than
//! [`MAX_LINE_BYTES`]) yields `{"line", "error"}` and is counted.
//!
//! Invariants: blank (whitespace-only) lines are skipped; every line is processed, in order,
//! whatever came before; memory is bounded by [`MAX_LINE_BYTES`] (a longer line is skipped
//! without being held); an error message is at most [`MAX_ERROR_CHARS`] characters and never
//! quotes the line beyond what the decoder's message does within that bound. Only IO errors
//! stop the run.

use std::io::{self, BufRead, Write};

use accord_core::{
    ids::{ClusterId, NodeId},
    remediation::FindingKind,
    telemetry::{self, IbPortName},
};
use serde::Serialize;

use crate::{
    check::{CheckId, Severity},
    checker::HealthChecker,
    finding::{Evidence, HealthFinding},
};

/// Longest input line, in bytes (a sample of a 16-GPU node is about 8 KiB).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Longest error message, in characters.
pub const MAX_ERROR_CHARS: usize = 200;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JsonlSummary {
    /// Samples checked (first samples of a node included).
    pub samples: usize,
    /// Samples ignored as duplicates or out of order.
    pub ignored: usize,
    /// Findings written.
    pub findings: usize,
    /// Lines that were not samples (each produced an error line).
    pub errors: usize,
}

impl JsonlSummary {
    /// Whether any line was an error (the CLI then exits non-zero).
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }
}

/// One finding line (the public contract of `accord health check`).
#[derive(Serialize)]
struct FindingLine<'a> {
    line: usize,
    cluster: &'a ClusterId,
    node: &'a NodeId,
    check: CheckId,
    kind: FindingKind,
    severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<&'a IbPortName>,
    evidence: &'a Evidence,
}

impl<'a> FindingLine<'a> {
    fn new(line: usize, f: &'a HealthFinding) -> Self {
        FindingLine {
            line,
            cluster: &f.cluster,
            node: &f.node,
            check: f.check,
            kind: f.kind,
            severity: f.severity,
            gpu: f.gpu,
            xid: f.xid,
            port: f.port.as_ref(),
            evidence: &f.evidence,
        }
    }
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    line: usize,
    error: &'a str,
}

/// What reading one line found.
enum Line {
    /// A line (without its newline) is in the buffer.
    Read,
    /// The line had more than [`MAX_LINE_BYTES`] bytes; it was skipped.
    TooLong,
    /// End of input.
    End,
}

/// Reads one line into `buf` (cleared first), holding at most `MAX_LINE_BYTES + 1` bytes of it.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    buf.clear();
    let mut any = false;
    let mut too_long = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], at + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + chunk.len() > MAX_LINE_BYTES {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        input.consume(used);
        if done {
            break;
        }
    }
    Ok(match (any, too_long) {
        (false, _) => Line::End,
        (true, true) => Line::TooLong,
        (true, false) => Line::Read,
    })
}

/// `message`, cut to [`MAX_ERROR_CHARS`] characters.
fn bounded(message: &str) -> String {
    match message.char_indices().nth(MAX_ERROR_CHARS) {
        Some((at, _)) => format!("{}…", &message[..at]),
        None => message.to_owned(),
    }
}

/// Runs `checker` over every sample of `input` and writes one JSON line per finding (or per bad
/// line) to `output`.
pub fn check_jsonl(
    checker: &mut HealthChecker,
    mut input: impl BufRead,
    mut output: impl Write,
) -> io::Result<JsonlSummary> {
    let mut summary = JsonlSummary::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut findings = Vec::new();
    let mut line = 0usize;
    loop {
        let error = match read_line(&mut input, &mut buf)? {
            Line::End => break,
            Line::TooLong => {
                line += 1;
                Some(format!("line is longer than {MAX_LINE_BYTES} bytes"))
            }
            Line::Read => {
                line += 1;
                let bytes = buf.trim_ascii();
                if bytes.is_empty() {
                    continue;
                }
                match telemetry::decode(bytes) {
                    Ok(sample) => {
                        findings.clear();
                        if checker.observe(&sample, &mut findings).checked() {
                            summary.samples += 1;
                        } else {
                            summary.ignored += 1;
                        }
                        for finding in &findings {
                            serde_json::to_writer(&mut output, &FindingLine::new(line, finding))?;
                            output.write_all(b"\n")?;
                        }
                        summary.findings += findings.len();
                        None
                    }
                    Err(e) => Some(bounded(&e.to_string())),
                }
            }
        };
        if let Some(error) = error {
            summary.errors += 1;
            serde_json::to_writer(
                &mut output,
                &ErrorLine {
                    line,
                    error: &error,
                },
            )?;
            output.write_all(b"\n")?;
        }
    }
    output.flush()?;
    Ok(summary)
}
