//! An incident's evidence: time-stamped lines of what the platform saw, for whoever
//! investigates.
//!
//! Invariant: an incident never holds more than [`MAX_EVIDENCE_LINES`] lines, nor a line longer
//! than [`MAX_EVIDENCE_LINE_BYTES`]: the lines come from events (a check's log lines, a
//! remediation's steps) that repeat for as long as a fault lasts, and every line is copied into
//! each `ticket.*` event and API answer about the incident. When the incident is full, the
//! first [`KEPT_FIRST`] lines (what opened it) and the newest are kept, like a remediation's
//! timeline.

use accord_core::{limits::MAX_SHORT_TEXT_BYTES, support::Ticket};

use super::Ctx;

/// Most evidence lines an incident holds.
pub const MAX_EVIDENCE_LINES: usize = 100;

/// Lines at the start that are never dropped (what opened the incident).
pub const KEPT_FIRST: usize = 8;

/// Longest evidence line (longer ones are cut, ending in `…`).
pub const MAX_EVIDENCE_LINE_BYTES: usize = MAX_SHORT_TEXT_BYTES;

/// `now` as an evidence line's time stamp (RFC 3339).
pub fn stamp(ctx: &Ctx) -> String {
    ctx.now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| ctx.now.to_string())
}

/// `body` as a line stamped with the time of `ctx`.
pub fn stamped(ctx: &Ctx, body: &str) -> String {
    format!("{}: {body}", stamp(ctx))
}

/// Appends `line` (cut to [`MAX_EVIDENCE_LINE_BYTES`]) to `lines`, dropping the oldest line
/// after the first [`KEPT_FIRST`] when they are full.
pub fn push(lines: &mut Vec<String>, line: &str) {
    while lines.len() >= MAX_EVIDENCE_LINES {
        lines.remove(KEPT_FIRST.min(lines.len() - 1));
    }
    lines.push(cut(line, MAX_EVIDENCE_LINE_BYTES));
}

/// `lines` held to the bounds, in order (the first and the newest kept).
pub fn bounded(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    for l in lines {
        push(&mut out, &l);
    }
    out
}

/// Whether the ticket already carries a line saying `body` (whatever its time stamp): an event
/// that happens once per remediation and was delivered again adds nothing.
pub fn has(t: &Ticket, body: &str) -> bool {
    // A stamp (RFC 3339) has no ": ", so the first one ends it; a cut line ends in `…`.
    t.evidence.iter().any(|l| {
        let said = l.split_once(": ").map_or(l.as_str(), |(_, rest)| rest);
        said == body
            || said
                .strip_suffix('…')
                .is_some_and(|start| !start.is_empty() && body.starts_with(start))
    })
}

/// `s` cut to at most `max` bytes at a character boundary, ending in `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded_keeping_the_first_and_the_newest() {
        let lines = bounded((0..250).map(|i| format!("line {i}")));
        assert_eq!(lines.len(), MAX_EVIDENCE_LINES);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[KEPT_FIRST - 1], format!("line {}", KEPT_FIRST - 1));
        assert_eq!(lines[KEPT_FIRST], format!("line {}", 250 - 92));
        assert_eq!(lines[MAX_EVIDENCE_LINES - 1], "line 249");
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_EVIDENCE_LINE_BYTES);
        let c = cut(&long, MAX_EVIDENCE_LINE_BYTES);
        assert!(c.len() <= MAX_EVIDENCE_LINE_BYTES, "{}", c.len());
        assert!(c.ends_with('…'));
        assert_eq!(cut("short", MAX_EVIDENCE_LINE_BYTES), "short");
    }
}
