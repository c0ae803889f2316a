//! JSON Lines in, JSON Lines out: `accord firewall evaluate`.
//!
//! Input, one object per line (the public contract of issue 12):
//! `{"id", "cluster": {"vpc_subnet", "pod_cidr", "service_cidr", "cni"?: {"tunnel":
//! "vxlan"|"geneve"|"native", "wireguard"?: bool, "hubble"?: bool}, "pools"?: [{"name",
//! "nodes": [address or CIDR]}]}, "rules": [customer rules], "packet": {"direction", "protocol",
//! "port"?, "from", "to"}}`. A customer rule is `{"name", "priority", "direction", "action",
//! "protocol", "ports"?, "sources"? | "destinations"?, "targets"?}` (ports as `"443"`,
//! `"8000-8100"` or a number). `from` / `to` is an IPv4 address or `node`, `control-plane`,
//! `internet` ([`crate::cluster`] says what they stand for; [`crate::packet`] the direction
//! rules).
//!
//! Output, one line per non-blank input line, in order: `{"id", "verdict": "allow"|"deny",
//! "tier": "provider"|"customer"|"default", "rule": NAME}`; a line that is not valid yields
//! `{"id", "error"}` (`id` null when the line has no usable one), the error naming every field
//! at fault (`rules[2].ports[1]: …`), and is counted so the caller exits non-zero at the end.
//!
//! Invariants: blank lines are skipped; every line is processed whatever came before; memory
//! is bounded by [`MAX_LINE_BYTES`] (a longer line is skipped without being held, and
//! answered with an error); unknown fields are refused by name; only IO errors stop the run.

use std::io::{self, BufRead, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cluster::{ClusterSpec, Cni, PoolSpec, Tunnel, validate_cluster};
use crate::error::FieldErrors;
use crate::eval::{Firewall, Verdict};
use crate::limits::{MAX_CIDRS_PER_RULE, MAX_LINE_BYTES, MAX_PORTS_PER_RULE};
use crate::packet::{PacketSpec, validate_packet};
use crate::validate::{RuleSpec, validate_rules};

/// Longest `id`, in characters.
pub const MAX_ID_CHARS: usize = 256;

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JsonlSummary {
    /// Packets evaluated.
    pub evaluated: usize,
    /// Of those, allowed.
    pub allowed: usize,
    /// Of those, denied.
    pub denied: usize,
    /// Lines refused (each produced an error line).
    pub errors: usize,
}

impl JsonlSummary {
    /// Whether any line was refused (the CLI then exits non-zero).
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }
}

#[derive(Serialize)]
struct DecisionLine<'a> {
    id: &'a Value,
    verdict: Verdict,
    tier: crate::eval::Tier,
    rule: &'a str,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    id: &'a Value,
    error: &'a str,
}

enum Line {
    Read,
    TooLong,
    End,
}

/// Reads one line into `buf` (cleared first), holding at most `MAX_LINE_BYTES` bytes of it.
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

/// Evaluates every line of `input` and writes one JSON line per non-blank input line to
/// `output`.
pub fn evaluate_jsonl(mut input: impl BufRead, mut output: impl Write) -> io::Result<JsonlSummary> {
    let mut summary = JsonlSummary::default();
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let (id, result) = match read_line(&mut input, &mut buf)? {
            Line::End => break,
            Line::TooLong => (
                Value::Null,
                Err(format!("line is longer than {MAX_LINE_BYTES} bytes")),
            ),
            Line::Read => {
                let bytes = buf.trim_ascii();
                if bytes.is_empty() {
                    continue;
                }
                evaluate_line(bytes)
            }
        };
        match result {
            Ok((verdict, tier, rule)) => {
                summary.evaluated += 1;
                match verdict {
                    Verdict::Allow => summary.allowed += 1,
                    Verdict::Deny => summary.denied += 1,
                }
                serde_json::to_writer(
                    &mut output,
                    &DecisionLine {
                        id: &id,
                        verdict,
                        tier,
                        rule: &rule,
                    },
                )?;
            }
            Err(error) => {
                summary.errors += 1;
                serde_json::to_writer(
                    &mut output,
                    &ErrorLine {
                        id: &id,
                        error: &error,
                    },
                )?;
            }
        }
        output.write_all(b"\n")?;
    }
    output.flush()?;
    Ok(summary)
}

type LineResult = Result<(Verdict, crate::eval::Tier, String), String>;

/// One line: its id (for the answer) and the decision or the error.
fn evaluate_line(bytes: &[u8]) -> (Value, LineResult) {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => return (Value::Null, Err(format!("not JSON: {e}"))),
    };
    let Value::Object(line) = value else {
        return (Value::Null, Err("a line must be a JSON object".to_owned()));
    };
    let mut errors = FieldErrors::new();
    let id = match line.get("id") {
        Some(Value::String(s)) if s.chars().count() <= MAX_ID_CHARS => Value::String(s.clone()),
        Some(Value::String(_)) => {
            errors.push("id", format!("at most {MAX_ID_CHARS} characters"));
            Value::Null
        }
        Some(Value::Number(n)) => Value::Number(n.clone()),
        Some(_) => {
            errors.push("id", "must be a string");
            Value::Null
        }
        None => {
            errors.push("id", "is required");
            Value::Null
        }
    };
    let mut read = Reader {
        errors: &mut errors,
    };
    read.keys(&line, "", &["id", "cluster", "rules", "packet"]);
    let cluster = read.object(&line, "", "cluster").map(|o| read.cluster(o));
    let rules = read.rules(&line);
    let packet = read.object(&line, "", "packet").map(|o| read.packet(o));
    if !errors.is_empty() {
        return (id, Err(errors.to_string()));
    }
    let (Some(cluster), Some(packet)) = (cluster, packet) else {
        return (id, Err("cluster and packet are required".to_owned()));
    };
    let cluster = match validate_cluster(&cluster, "cluster") {
        Ok(cluster) => Some(cluster),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let rules = match validate_rules(&rules) {
        Ok(rules) => Some(rules),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let packet = cluster
        .as_ref()
        .and_then(|c| match validate_packet(&packet, c, "packet") {
            Ok(p) => Some(p),
            Err(e) => {
                errors.extend(e);
                None
            }
        });
    match (cluster, rules, packet) {
        (Some(cluster), Some(rules), Some(packet)) if errors.is_empty() => {
            let firewall = Firewall::new(cluster, rules);
            let decision = firewall.evaluate(&packet);
            (
                id,
                Ok((decision.verdict, decision.tier, decision.rule.to_owned())),
            )
        }
        _ => (id, Err(errors.to_string())),
    }
}

/// Reads typed fields out of JSON objects, recording every misfit with its path.
struct Reader<'e> {
    errors: &'e mut FieldErrors,
}

fn path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Reader<'_> {
    fn keys(&mut self, object: &Map<String, Value>, prefix: &str, allowed: &[&str]) {
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.errors.push(
                    path(prefix, &accord_core::error::echo(key)),
                    format!("unknown field (expected {})", allowed.join(", ")),
                );
            }
        }
    }

    fn object<'v>(
        &mut self,
        object: &'v Map<String, Value>,
        prefix: &str,
        key: &str,
    ) -> Option<&'v Map<String, Value>> {
        match object.get(key) {
            Some(Value::Object(o)) => Some(o),
            Some(_) => {
                self.errors.push(path(prefix, key), "must be an object");
                None
            }
            None => {
                self.errors.push(path(prefix, key), "is required");
                None
            }
        }
    }

    fn string(
        &mut self,
        object: &Map<String, Value>,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> String {
        match object.get(key) {
            Some(Value::String(s)) => s.clone(),
            None if !required => String::new(),
            None => {
                self.errors.push(path(prefix, key), "is required");
                String::new()
            }
            Some(_) => {
                self.errors.push(path(prefix, key), "must be a string");
                String::new()
            }
        }
    }

    fn integer(&mut self, object: &Map<String, Value>, prefix: &str, key: &str) -> Option<i64> {
        match object.get(key) {
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Some(i),
                None => {
                    self.errors
                        .push(path(prefix, key), "must be a whole number in range");
                    None
                }
            },
            None => None,
            Some(_) => {
                self.errors.push(path(prefix, key), "must be a number");
                None
            }
        }
    }

    fn boolean(&mut self, object: &Map<String, Value>, prefix: &str, key: &str) -> bool {
        match object.get(key) {
            Some(Value::Bool(b)) => *b,
            None => false,
            Some(_) => {
                self.errors.push(path(prefix, key), "must be true or false");
                false
            }
        }
    }

    /// A list of strings (numbers too, when `numbers`); at most `max` entries are read.
    fn strings(
        &mut self,
        object: &Map<String, Value>,
        prefix: &str,
        key: &str,
        numbers: bool,
        max: usize,
    ) -> Vec<String> {
        let field = path(prefix, key);
        match object.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                // One past the limit, so validation reports the count without reading it all.
                let mut out = Vec::with_capacity(items.len().min(max + 1));
                for (i, item) in items.iter().enumerate() {
                    if i > max {
                        out.push(String::new());
                        continue;
                    }
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        Value::Number(n) if numbers => out.push(n.to_string()),
                        _ => {
                            self.errors.push(
                                format!("{field}[{i}]"),
                                if numbers {
                                    "must be a string or a number"
                                } else {
                                    "must be a string"
                                },
                            );
                            out.push(String::new());
                        }
                    }
                }
                out
            }
            Some(_) => {
                self.errors.push(field, "must be a list");
                Vec::new()
            }
        }
    }

    fn cluster(&mut self, o: &Map<String, Value>) -> ClusterSpec {
        let p = "cluster";
        self.keys(
            o,
            p,
            &["vpc_subnet", "pod_cidr", "service_cidr", "cni", "pools"],
        );
        let cni = match o.get("cni") {
            None => Cni::default(),
            Some(Value::Object(c)) => {
                let cp = "cluster.cni";
                self.keys(c, cp, &["tunnel", "wireguard", "hubble"]);
                let tunnel = match self.string(c, cp, "tunnel", true).as_str() {
                    "vxlan" => Tunnel::Vxlan,
                    "geneve" => Tunnel::Geneve,
                    "native" => Tunnel::Native,
                    "" => Tunnel::default(),
                    other => {
                        self.errors.push(
                            "cluster.cni.tunnel",
                            format!(
                                "{} must be one of vxlan, geneve, native",
                                accord_core::validation::quote(other)
                            ),
                        );
                        Tunnel::default()
                    }
                };
                Cni {
                    tunnel,
                    wireguard: self.boolean(c, cp, "wireguard"),
                    hubble: self.boolean(c, cp, "hubble"),
                }
            }
            Some(_) => {
                self.errors.push("cluster.cni", "must be an object");
                Cni::default()
            }
        };
        let pools = match o.get("pools") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .take(crate::limits::MAX_POOLS + 1)
                .map(|(i, item)| {
                    let pp = format!("cluster.pools[{i}]");
                    match item {
                        Value::Object(po) => {
                            self.keys(po, &pp, &["name", "nodes"]);
                            PoolSpec {
                                name: self.string(po, &pp, "name", true),
                                nodes: self.strings(
                                    po,
                                    &pp,
                                    "nodes",
                                    false,
                                    crate::limits::MAX_NODES_PER_POOL,
                                ),
                            }
                        }
                        _ => {
                            self.errors.push(pp, "must be an object");
                            PoolSpec::default()
                        }
                    }
                })
                .collect(),
            Some(_) => {
                self.errors.push("cluster.pools", "must be a list");
                Vec::new()
            }
        };
        ClusterSpec {
            vpc_subnet: self.string(o, p, "vpc_subnet", true),
            pod_cidr: self.string(o, p, "pod_cidr", true),
            service_cidr: self.string(o, p, "service_cidr", true),
            cni,
            pools,
        }
    }

    fn rules(&mut self, line: &Map<String, Value>) -> Vec<RuleSpec> {
        let items = match line.get("rules") {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.errors.push("rules", "must be a list");
                return Vec::new();
            }
        };
        if items.len() > crate::limits::MAX_RULES_PER_CLUSTER {
            self.errors.push(
                "rules",
                format!(
                    "at most {} rules per cluster (has {})",
                    crate::limits::MAX_RULES_PER_CLUSTER,
                    items.len()
                ),
            );
            return Vec::new();
        }
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("rules[{i}]");
                let Value::Object(o) = item else {
                    self.errors.push(p, "must be an object");
                    return RuleSpec::default();
                };
                self.keys(
                    o,
                    &p,
                    &[
                        "name",
                        "priority",
                        "direction",
                        "action",
                        "protocol",
                        "ports",
                        "sources",
                        "destinations",
                        "targets",
                    ],
                );
                let priority = match self.integer(o, &p, "priority") {
                    Some(priority) => priority,
                    None if o.contains_key("priority") => 0,
                    None => {
                        self.errors
                            .push(path(&p, "priority"), "is required (0-65535, lower wins)");
                        0
                    }
                };
                RuleSpec {
                    name: self.string(o, &p, "name", true),
                    priority,
                    direction: self.string(o, &p, "direction", true),
                    action: self.string(o, &p, "action", true),
                    protocol: self.string(o, &p, "protocol", true),
                    ports: self.strings(o, &p, "ports", true, MAX_PORTS_PER_RULE),
                    sources: self.strings(o, &p, "sources", false, MAX_CIDRS_PER_RULE),
                    destinations: self.strings(o, &p, "destinations", false, MAX_CIDRS_PER_RULE),
                    targets: self.string(o, &p, "targets", false),
                }
            })
            .collect()
    }

    fn packet(&mut self, o: &Map<String, Value>) -> PacketSpec {
        let p = "packet";
        self.keys(o, p, &["direction", "protocol", "port", "from", "to"]);
        PacketSpec {
            direction: self.string(o, p, "direction", true),
            protocol: self.string(o, p, "protocol", true),
            port: self.integer(o, p, "port"),
            from: self.string(o, p, "from", true),
            to: self.string(o, p, "to", true),
        }
    }
}
