//! Everything the CLI prints: where it goes ([`Printer`]), the four formats ([`OutputFormat`]:
//! kubectl-like tables, full JSON / YAML documents, `kind/name` lines) and the helpers they
//! share (timestamps, ages, short ids).
//!
//! - [`views`]: serde view structs of the protobuf resources (prost types have no serde); what
//!   `-o json|yaml` prints. Field names are the proto field names; timestamps are RFC 3339.
//! - [`tables`]: the `get` tables and catalogue tables.
//! - [`describe`]: the `describe` documents.
//! - [`remediations`]: AutoClusters remediations (`get remediations`, `describe remediation`).
//! - [`webhooks`]: customer webhooks and their deliveries (`accord webhook …`).
//! - [`firewall`]: a cluster's firewall rules and their state (`get|create firewall-rule`).
//! - [`loadbalancers`]: a cluster's L4 load balancers (`get|create loadbalancer`).
//! - [`storage`]: volumes, snapshots, StorageClasses and NFS gates (`accord.storage.v1`).
//! - [`images`]: worker images, builds (with `--wait`'s stage transitions) and the image /
//!   rollout sections of node pools; [`image_views`]: their `-o json|yaml` views.
//! - [`migration`]: VirtioFS → NFS migrations: plans, progress, `describe` documents.
//! - [`wide`]: the `-o wide` tables of clusters, node pools and nodes; `--no-headers`.
//!
//! Invariants:
//! - Results go to stdout; progress, warnings and hints go to stderr, so `-o json` output can be
//!   piped as it is.
//! - Rendering is pure: functions take "now" as an argument and return strings.

pub mod addons;
pub mod describe;
pub mod firewall;
pub mod health;
pub mod image_views;
pub mod images;
pub mod loadbalancers;
pub mod migration;
pub mod remediations;
pub mod storage;
pub mod tables;
pub mod tickets;
pub mod views;
pub mod webhooks;
pub mod wide;

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use prost_types::Timestamp;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use crate::cli::OutputFormat;

/// Where output goes: the terminal, or (in tests) a buffer.
#[derive(Debug, Clone)]
pub struct Printer {
    capture: Option<Arc<Mutex<Captured>>>,
    closed: Arc<AtomicBool>,
}

/// What a capturing [`Printer`] collected.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

impl Default for Printer {
    fn default() -> Self {
        Printer::stdio()
    }
}

impl Printer {
    /// Prints to the process's stdout and stderr.
    pub fn stdio() -> Printer {
        Printer {
            capture: None,
            closed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Collects output in memory; read it back from the returned handle.
    pub fn capture() -> (Printer, Arc<Mutex<Captured>>) {
        let captured = Arc::new(Mutex::new(Captured::default()));
        let printer = Printer {
            capture: Some(Arc::clone(&captured)),
            closed: Arc::new(AtomicBool::new(false)),
        };
        (printer, captured)
    }

    /// Prints `text` on stdout, adding a final newline if it has none. Nothing for "".
    pub fn out(&self, text: &str) {
        self.write(text, true);
    }

    /// Writes `bytes` on stdout exactly as they are (no newline added): documents whose bytes
    /// matter, like a canonical manifest piped into `sha256sum`. A capturing printer keeps
    /// them as (lossy) UTF-8.
    pub fn raw(&self, bytes: &[u8]) {
        if let Some(capture) = &self.capture {
            if let Ok(mut captured) = capture.lock() {
                captured.out.push_str(&String::from_utf8_lossy(bytes));
            }
            return;
        }
        let mut out = std::io::stdout().lock();
        if let Err(error) = out.write_all(bytes).and_then(|()| out.flush())
            && error.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed.store(true, Ordering::Relaxed);
        }
    }

    /// Prints `text` on stderr, adding a final newline if it has none.
    pub fn err(&self, text: &str) {
        self.write(text, false);
    }

    /// True once stdout is gone (e.g. `accord events watch | head` after `head` exited).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Whether both stdout and stderr are terminals (progress bars are shown only then).
    pub fn is_terminal(&self) -> bool {
        self.capture.is_none() && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
    }

    fn write(&self, text: &str, stdout: bool) {
        if text.is_empty() {
            return;
        }
        let newline = if text.ends_with('\n') { "" } else { "\n" };
        if let Some(capture) = &self.capture {
            if let Ok(mut captured) = capture.lock() {
                let target = if stdout {
                    &mut captured.out
                } else {
                    &mut captured.err
                };
                target.push_str(text);
                target.push_str(newline);
            }
            return;
        }
        let result = if stdout {
            let mut out = std::io::stdout().lock();
            write!(out, "{text}{newline}").and_then(|()| out.flush())
        } else {
            write!(std::io::stderr().lock(), "{text}{newline}")
        };
        if let Err(error) = result
            && error.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed.store(true, Ordering::Relaxed);
        }
    }
}

/// A resource the CLI can print in every format.
pub trait Resource {
    /// Lowercase kind, as in `-o name` output (`cluster`).
    const KIND: &'static str;
    /// What `-o name` prints after the slash.
    fn name(&self) -> &str;
    /// The full resource as JSON (what `-o json|yaml` prints).
    fn to_value(&self) -> serde_json::Result<serde_json::Value>;
}

/// `-o json|yaml` rendering of any serialisable value.
pub fn structured(format: OutputFormat, value: &impl Serialize) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Yaml => serde_norway::to_string(value)?,
        _ => serde_json::to_string_pretty(value)?,
    })
}

/// One resource in `format`; `table` renders the human form.
pub fn render_one<R: Resource>(
    format: OutputFormat,
    item: &R,
    table: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Table => table(),
        OutputFormat::Name => format!("{}/{}", R::KIND, item.name()),
        OutputFormat::Json | OutputFormat::Yaml => structured(format, &item.to_value()?)?,
    })
}

/// A list in `format`: JSON/YAML as `{"kind": "List", "items": [...]}`.
pub fn render_list<R: Resource>(
    format: OutputFormat,
    items: &[R],
    table: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Table => table(),
        OutputFormat::Name => items
            .iter()
            .map(|item| format!("{}/{}", R::KIND, item.name()))
            .collect::<Vec<_>>()
            .join("\n"),
        OutputFormat::Json | OutputFormat::Yaml => {
            let items = items
                .iter()
                .map(Resource::to_value)
                .collect::<Result<Vec<_>, _>>()?;
            structured(
                format,
                &serde_json::json!({ "kind": "List", "items": items }),
            )?
        }
    })
}

/// A protobuf timestamp as a date-time (`None` when absent or out of range).
pub fn datetime(timestamp: Option<&Timestamp>) -> Option<OffsetDateTime> {
    let timestamp = timestamp?;
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// RFC 3339 (`2026-11-24T10:00:00Z`).
pub fn rfc3339(timestamp: Option<&Timestamp>) -> Option<String> {
    datetime(timestamp).and_then(|time| time.format(&Rfc3339).ok())
}

/// A date-time as a protobuf timestamp (for tests and request building).
pub fn timestamp(time: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: time.unix_timestamp(),
        nanos: i32::try_from(time.nanosecond()).unwrap_or(0),
    }
}

/// kubectl-style age of `timestamp` at `now` (`45s`, `5m30s`, `3h`, `12d`, `2y30d`), `-` if
/// absent.
pub fn age(timestamp: Option<&Timestamp>, now: OffsetDateTime) -> String {
    match datetime(timestamp) {
        Some(then) => human_duration((now - then).whole_seconds()),
        None => "-".to_owned(),
    }
}

/// kubectl's `HumanDuration`: coarser the older it is.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    let seconds = seconds.max(0);
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        }
    } else {
        format!("{}y", days / 365)
    }
}

/// `text`, trimmed, cut to `width` characters with `…` when cut (cells, and messages that
/// must not echo a long input).
pub fn truncate(text: &str, width: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `key=value` pairs of a map, sorted (labels, claims), for the caller to join.
pub fn label_pairs(map: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut pairs: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs
}

/// The cluster's Cilium datapath: its tunnel (`vxlan` unless set) and then the features on
/// (`wireguard`, `hubble`), joined by `separator`.
pub fn datapath(cni: &accord_proto::provisioner::v1::CniSettings, separator: &str) -> String {
    let tunnel = if cni.tunnel.is_empty() {
        "vxlan"
    } else {
        cni.tunnel.as_str()
    };
    let mut parts = vec![tunnel];
    for (on, what) in [(cni.wireguard, "wireguard"), (cni.hubble, "hubble")] {
        if on {
            parts.push(what);
        }
    }
    parts.join(separator)
}

/// `cl-…p4x7k2qz`: the kind prefix and the last 8 characters of a long id (the ULID's random
/// tail, which tells resources apart); short ids are returned as they are.
pub fn short_id(id: &str) -> String {
    let Some((prefix, rest)) = id.split_once('-') else {
        return id.to_owned();
    };
    if rest.len() <= 12 || !rest.is_ascii() {
        return id.to_owned();
    }
    format!("{prefix}-…{}", &rest[rest.len() - 8..])
}

/// A byte count in binary units with one decimal (`512 B`, `1.5 KiB`, `12.0 GiB`, `2.0 TiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `value`, or `-` when empty.
pub fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn ages_like_kubectl() {
        for (seconds, expected) in [
            (0, "0s"),
            (-1, "0s"),
            (-5, "<invalid>"),
            (119, "119s"),
            (120, "2m"),
            (330, "5m30s"),
            (600, "10m"),
            (179 * 60, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 5 * 60, "3h5m"),
            (20 * 3600, "20h"),
            (3 * 86_400, "3d"),
            (3 * 86_400 + 4 * 3600, "3d4h"),
            (100 * 86_400, "100d"),
            (3 * 365 * 86_400 + 10 * 86_400, "3y10d"),
            (10 * 365 * 86_400, "10y"),
        ] {
            assert_eq!(human_duration(seconds), expected, "{seconds}");
        }
    }

    #[test]
    fn timestamps() {
        let now = datetime!(2026-11-24 10:00:00 UTC);
        let ts = timestamp(datetime!(2026-11-24 09:55:00.5 UTC));
        assert_eq!(rfc3339(Some(&ts)).unwrap(), "2026-11-24T09:55:00.5Z");
        assert_eq!(age(Some(&ts), now), "4m59s");
        assert_eq!(age(None, now), "-");
        assert_eq!(rfc3339(None), None);
    }

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(100 << 30), "100.0 GiB");
        assert_eq!(human_bytes(3 << 40), "3.0 TiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("cl-01jexample0000000p4x7k2qz"), "cl-…p4x7k2qz");
        assert_eq!(short_id("gpu-a"), "gpu-a");
        assert_eq!(short_id("plain"), "plain");
    }

    #[test]
    fn capture_printer_adds_newlines() {
        let (printer, captured) = Printer::capture();
        printer.out("a");
        printer.out("b\n");
        printer.out("");
        printer.err("warn");
        let captured = captured.lock().unwrap().clone();
        assert_eq!(captured.out, "a\nb\n");
        assert_eq!(captured.err, "warn\n");
        assert!(!printer.is_terminal());
    }
}
