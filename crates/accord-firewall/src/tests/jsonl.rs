//! The JSON Lines contract of `accord firewall evaluate`.

use serde_json::{Value, json};

use crate::limits::MAX_LINE_BYTES;
use crate::{JsonlSummary, evaluate_jsonl};

const CLUSTER: &str = r#"{"vpc_subnet": "10.0.0.0/16", "pod_cidr": "10.244.0.0/16", "service_cidr": "10.96.0.0/12", "cni": {"tunnel": "geneve", "wireguard": true}}"#;

fn line(id: &str, rules: &str, packet: &str) -> String {
    format!(r#"{{"id": "{id}", "cluster": {CLUSTER}, "rules": {rules}, "packet": {packet}}}"#)
}

fn run(input: &str) -> (JsonlSummary, Vec<Value>) {
    let mut out = Vec::new();
    let summary = evaluate_jsonl(input.as_bytes(), &mut out).unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (summary, lines)
}

const LOCKDOWN: &str = r#"[{"name": "lockdown", "priority": 0, "direction": "ingress", "action": "deny", "protocol": "any", "sources": ["0.0.0.0/0"]}, {"name": "web", "priority": 10, "direction": "ingress", "action": "allow", "protocol": "tcp", "ports": [443, "8000-8100"], "sources": ["0.0.0.0/0"]}]"#;

#[test]
fn good_lines_answer_verdict_tier_and_rule() {
    let input = [
        line(
            "kubelet",
            LOCKDOWN,
            r#"{"direction": "ingress", "protocol": "tcp", "port": 10250, "from": "control-plane", "to": "node"}"#,
        ),
        line(
            "geneve",
            LOCKDOWN,
            r#"{"direction": "ingress", "protocol": "udp", "port": 6081, "from": "10.0.4.4", "to": "10.0.0.9"}"#,
        ),
        String::new(),
        line(
            "web",
            LOCKDOWN,
            r#"{"direction": "ingress", "protocol": "tcp", "port": 443, "from": "internet", "to": "node"}"#,
        ),
        line(
            "default-in",
            "[]",
            r#"{"direction": "ingress", "protocol": "icmp", "from": "internet", "to": "node"}"#,
        ),
        line(
            "default-out",
            "[]",
            r#"{"direction": "egress", "protocol": "tcp", "port": 443, "from": "node", "to": "internet"}"#,
        ),
    ]
    .join("\n");
    let (summary, lines) = run(&input);
    assert_eq!(
        lines,
        [
            json!({"id": "kubelet", "verdict": "allow", "tier": "provider", "rule": "accord-kubelet-ingress"}),
            json!({"id": "geneve", "verdict": "allow", "tier": "provider", "rule": "accord-cni-geneve-ingress"}),
            json!({"id": "web", "verdict": "deny", "tier": "customer", "rule": "lockdown"}),
            json!({"id": "default-in", "verdict": "deny", "tier": "default", "rule": "accord-default-deny-ingress"}),
            json!({"id": "default-out", "verdict": "allow", "tier": "default", "rule": "accord-default-allow-egress"}),
        ]
    );
    assert_eq!(
        summary,
        JsonlSummary {
            evaluated: 5,
            allowed: 3,
            denied: 2,
            errors: 0
        }
    );
    assert!(!summary.has_errors());
}

#[test]
fn bad_lines_answer_an_error_naming_the_field_and_count() {
    let bad_port = LOCKDOWN.replace("\"8000-8100\"", "\"8100-8000\"");
    let input = [
        line(
            "bad-rule",
            &bad_port,
            r#"{"direction": "ingress", "protocol": "tcp", "port": 443, "from": "internet", "to": "node"}"#,
        ),
        line(
            "bad-packet",
            "[]",
            r#"{"direction": "ingress", "protocol": "tcp", "from": "2001:db8::1", "to": "node"}"#,
        ),
        line(
            "unknown-field",
            "[]",
            r#"{"direction": "ingress", "protocol": "tcp", "port": 1, "prot": 2, "from": "internet", "to": "node"}"#,
        ),
        r#"{"cluster": {}}"#.to_owned(),
        "not json".to_owned(),
        "[1, 2]".to_owned(),
        line(
            "ok",
            "[]",
            r#"{"direction": "ingress", "protocol": "icmp", "from": "node", "to": "node"}"#,
        ),
    ]
    .join("\n");
    let (summary, lines) = run(&input);
    assert_eq!(lines.len(), 7);
    let error = |i: usize| lines[i]["error"].as_str().unwrap().to_owned();
    assert_eq!(lines[0]["id"], "bad-rule");
    assert!(
        error(0).starts_with("rules[1].ports[1]: range 8100-8000"),
        "{}",
        error(0)
    );
    assert_eq!(lines[0].as_object().unwrap().len(), 2, "{}", lines[0]);
    assert!(
        error(1).contains("packet.port: tcp and udp packets need a port"),
        "{}",
        error(1)
    );
    assert!(
        error(1).contains("packet.from: \"2001:db8::1\": IPv6 is not supported yet"),
        "{}",
        error(1)
    );
    assert!(
        error(2).starts_with("packet.prot: unknown field"),
        "{}",
        error(2)
    );
    assert_eq!(lines[3]["id"], Value::Null);
    assert!(error(3).contains("id: is required"), "{}", error(3));
    assert!(
        error(3).contains("cluster.vpc_subnet: is required"),
        "{}",
        error(3)
    );
    assert!(error(4).starts_with("not JSON"), "{}", error(4));
    assert_eq!(error(5), "a line must be a JSON object");
    assert_eq!(lines[6]["verdict"], "allow");
    assert_eq!(lines[6]["rule"], "accord-cni-icmp-ingress");
    assert_eq!(summary.errors, 6);
    assert_eq!(summary.evaluated, 1);
    assert!(summary.has_errors());
}

#[test]
fn an_overlong_line_is_refused_without_being_held() {
    let mut input = "x".repeat(MAX_LINE_BYTES + 1);
    input.push('\n');
    input.push_str(&line(
        "after",
        "[]",
        r#"{"direction": "egress", "protocol": "udp", "port": 53, "from": "node", "to": "internet"}"#,
    ));
    let (summary, lines) = run(&input);
    assert_eq!(
        lines[0],
        json!({"id": null, "error": format!("line is longer than {MAX_LINE_BYTES} bytes")})
    );
    assert_eq!(lines[1]["id"], "after");
    assert_eq!(summary.errors, 1);
    assert_eq!(summary.evaluated, 1);
}
