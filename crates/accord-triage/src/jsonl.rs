//! JSON Lines in, JSON Lines out: the batch form the CLI uses.
//!
//! Invariants: one output line per non-blank input line, in input order; blank (whitespace-only)
//! lines are skipped; a line that is not a valid [`Ticket`] yields an error line
//! `{"id": …, "line": <1-based>, "error": "…"}` (with `id` only when the line was a JSON object
//! with a string `id`) and is counted, so the caller can exit non-zero after the whole input was
//! processed. Only IO errors stop the run. Lines need not be valid UTF-8 to be reported.

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::{rules::RuleSet, ticket::Ticket};

/// What a JSON Lines run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JsonlSummary {
    /// Tickets classified.
    pub classified: usize,
    /// Of those, how many need review.
    pub needs_review: usize,
    /// Lines that were not valid tickets (each produced an error line).
    pub malformed: usize,
}

impl JsonlSummary {
    /// Whether any line was malformed (the CLI then exits non-zero).
    pub fn has_errors(&self) -> bool {
        self.malformed > 0
    }
}

#[derive(Serialize)]
struct LineError<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    line: usize,
    error: String,
}

/// Classifies every ticket of `input` (one JSON object per line) and writes one JSON line per
/// ticket to `output`.
pub fn classify_jsonl(
    rules: &RuleSet,
    mut input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<JsonlSummary> {
    let mut summary = JsonlSummary::default();
    let mut buf = Vec::with_capacity(4096);
    let mut line = 0usize;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        line += 1;
        let bytes = buf.trim_ascii();
        if bytes.is_empty() {
            continue;
        }
        // serde would also accept a struct written as a JSON array; a ticket is an object.
        let parsed = if bytes.first() == Some(&b'{') {
            serde_json::from_slice::<Ticket>(bytes).map_err(|e| e.to_string())
        } else {
            Err("a ticket must be a JSON object".to_string())
        };
        match parsed {
            Ok(ticket) => {
                let answer = rules.classify(&ticket);
                summary.classified += 1;
                if answer.needs_review {
                    summary.needs_review += 1;
                }
                serde_json::to_writer(&mut output, &answer)?;
            }
            Err(err) => {
                summary.malformed += 1;
                let value = serde_json::from_slice::<serde_json::Value>(bytes).ok();
                let id = value
                    .as_ref()
                    .and_then(|v| v.get("id"))
                    .and_then(|v| v.as_str());
                serde_json::to_writer(
                    &mut output,
                    &LineError {
                        id,
                        line,
                        error: err,
                    },
                )?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}
