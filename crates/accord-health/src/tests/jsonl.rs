//! Tests of the JSON Lines form: finding and error lines, bounds, and the shared fixture
//! (`tests/data/xid79.jsonl`, also read by the CLI's test of `accord health check`).

use std::io::Cursor;

use serde_json::{Value, json};

use super::{CLUSTER, NODE, SEC, T0, sample, with};
use crate::{HealthChecker, HealthConfig, JsonlSummary, MAX_LINE_BYTES, check_jsonl};

/// The fixture: a baseline, a blank line, XID 79 on GPU 3, a malformed line, a v2 sample, the
/// XID sample redelivered, and the next sample (its gauge still says 79; its count did not move).
pub const FIXTURE: &str = include_str!("../../tests/data/xid79.jsonl");

fn xid79(ts: i64) -> accord_core::telemetry::TelemetrySample {
    with(ts, |s| {
        s.gpus[3].xid_total = 1;
        s.gpus[3].xid_last = Some(79);
        s.gpus[3].util_pct = 0;
        s.gpus[3].power_w = 0.0;
        s.gpus[3].temp_c = 0;
        s.gpus[3].fb_used_mib = 0;
    })
}

fn encoded(s: &accord_core::telemetry::TelemetrySample) -> String {
    String::from_utf8(s.encode().unwrap()).unwrap()
}

/// What the fixture must be, line by line.
fn fixture_text() -> String {
    let v2 = encoded(&sample(T0 + 45 * SEC)).replacen("{\"v\":1,", "{\"v\":2,", 1);
    [
        encoded(&sample(T0)),
        String::new(),
        encoded(&xid79(T0 + 30 * SEC)),
        "{\"v\":1,\"ts_ms\":\"not a time\"".to_owned(),
        v2,
        encoded(&xid79(T0 + 30 * SEC)),
        encoded(&xid79(T0 + 60 * SEC)),
    ]
    .join("\n")
        + "\n"
}

fn run(input: &[u8]) -> (Vec<Value>, JsonlSummary) {
    let mut checker = HealthChecker::new(HealthConfig::default());
    let mut out = Vec::new();
    let summary = check_jsonl(&mut checker, Cursor::new(input), &mut out).unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, summary)
}

#[test]
fn the_fixture_is_samples_as_the_simulator_encodes_them() {
    assert_eq!(FIXTURE, fixture_text());
}

#[test]
fn one_line_per_finding_naming_its_input_line_and_one_per_bad_line() {
    let (lines, summary) = run(FIXTURE.as_bytes());
    assert_eq!(
        lines,
        vec![
            json!({
                "line": 3, "cluster": CLUSTER, "node": NODE, "check": "gpu-xid",
                "kind": "gpu-xid", "severity": "critical", "gpu": 3, "xid": 79,
                "evidence": {
                    "signal": "xid_total",
                    "previous": {"value": 0, "ts_ms": T0},
                    "current": {"value": 1, "ts_ms": T0 + 30 * SEC},
                    "count": 1,
                },
            }),
            json!({"line": 4, "error": "malformed telemetry sample: EOF while parsing an object at line 1 column 27"}),
            json!({"line": 5, "error": "telemetry schema version 2 is not supported (expected 1)"}),
        ]
    );
    assert_eq!(
        summary,
        JsonlSummary {
            samples: 3,
            ignored: 1,
            findings: 1,
            errors: 2,
        }
    );
    assert!(summary.has_errors());
}

#[test]
fn long_lines_are_refused_without_being_held_and_errors_are_bounded() {
    let mut input = Vec::new();
    input.extend_from_slice(encoded(&sample(T0)).as_bytes());
    input.push(b'\n');
    // A line one byte over the limit, then one at the limit (not JSON: bounded error).
    input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
    input.push(b'\n');
    let mut big = br#"{"v": 1, "cluster": ""#.to_vec();
    big.extend(std::iter::repeat_n(b'c', MAX_LINE_BYTES - big.len() - 2));
    big.extend_from_slice(b"\"}");
    assert_eq!(big.len(), MAX_LINE_BYTES);
    input.extend_from_slice(&big);
    input.push(b'\n');
    // The last line has no newline, and still counts.
    input.extend_from_slice(encoded(&xid79(T0 + 30 * SEC)).as_bytes());
    let (lines, summary) = run(&input);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        json!({"line": 2, "error": format!("line is longer than {MAX_LINE_BYTES} bytes")})
    );
    assert_eq!(lines[1]["line"], 3);
    let error = lines[1]["error"].as_str().unwrap();
    assert!(
        error.chars().count() <= crate::jsonl::MAX_ERROR_CHARS + 1,
        "{error}"
    );
    assert_eq!(lines[2]["line"], 4);
    assert_eq!(lines[2]["xid"], 79);
    assert_eq!((summary.samples, summary.errors), (2, 2));
}

#[test]
fn blank_and_whitespace_lines_are_skipped_but_counted_as_lines() {
    let input = format!(
        "  \n{}\n\t\r\n\n{}\r\n",
        encoded(&sample(T0)),
        encoded(&xid79(T0 + 30 * SEC))
    );
    let (lines, summary) = run(input.as_bytes());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["line"], 5);
    assert_eq!(summary.errors, 0);
}
