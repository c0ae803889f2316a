//! The classic Prometheus text format, version 0.0.4 (`text/plain; version=0.0.4`).
//!
//! Written here because `prometheus-client` writes only OpenMetrics: the format is a few lines
//! per family — `# HELP`, `# TYPE`, then `name{label="value",…} value` per series — and this
//! writer covers exactly what [`super::build`] produces (gauges and counters, no timestamps, no
//! exemplars). A counter's HELP, TYPE and samples all use its `_total` name, as client_golang
//! writes them. Label values escape `\`, `"` and newline; HELP texts are constants with none
//! of the characters the format escapes there (`\`, newline), which a test checks.

use std::fmt::Write;

use super::{Family, Kind, Value};

/// The families as classic text.
pub(super) fn write(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let suffix = match family.kind {
            Kind::Gauge => "",
            Kind::Counter => "_total",
        };
        let kind = match family.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let name = family.name;
        // `write!` to a String cannot fail.
        let _ = writeln!(out, "# HELP {name}{suffix} {}", family.help);
        let _ = writeln!(out, "# TYPE {name}{suffix} {kind}");
        for series in &family.series {
            out.push_str(name);
            out.push_str(suffix);
            if !series.labels.is_empty() {
                out.push('{');
                for (i, (label, value)) in series.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(label);
                    out.push_str("=\"");
                    escape_label_value(&mut out, value);
                    out.push('"');
                }
                out.push('}');
            }
            let _ = match series.value {
                Value::Int(v) => writeln!(out, " {v}"),
                // Rust prints the shortest text that reads back as the same f64, never with an
                // exponent or as `inf` (non-finite values are not built).
                Value::Float(v) => writeln!(out, " {v}"),
            };
        }
    }
    out
}

/// `value` with `\`, `"` and newline escaped, as both text formats want label values.
pub(super) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}
