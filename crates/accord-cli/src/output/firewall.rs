//! A cluster's firewall as the CLI prints it: rule and status views (what `-o json|yaml`
//! prints, field names as in `accord.firewall.v1`), the `accord get firewall-rules` table with
//! its rule-set state line, and what `accord create firewall-rule` prints.
//!
//! Shapes:
//! - `get firewall-rules -o json`: `{"items": [rule, …], "status": status}`, required rules
//!   first, then the customer's in the server's order (evaluation order).
//! - `create firewall-rule -o json`: `{"rule": rule, "warnings": [{"kind", "message"}, …]}`.
//! - rule: `{"name", "tier", "priority", "direction", "action", "protocol", "ports",
//!   "sources", "destinations", "targets", "flow", "flow_description", "created_at"?,
//!   "created_by"}`; status: `{"revision", "applied_revision", "state", "message",
//!   "attempts", "last_applied_at"?, "drift_repairs"}`. Timestamps are RFC 3339 and left out
//!   when the server sent none.
//!
//! In the table a required rule's priority is `-` (the required tier is decided before any
//! priority; the wire says 0), an empty port list is `all`, and long port or peer lists are cut
//! to their first entries with `+N`.

use accord_proto::firewall::v1 as pb;
use serde::Serialize;

use super::{Resource, or_dash, rfc3339, tables::render};

/// The tier of the provider's required rules.
pub const PROVIDER_TIER: &str = "provider";

/// At most this many ports or peers per table cell; the rest is counted (`+N`).
pub const CELL_ITEMS: usize = 3;

/// A firewall rule (either tier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallRuleView {
    pub name: String,
    pub tier: String,
    pub priority: u32,
    pub direction: String,
    pub action: String,
    pub protocol: String,
    pub ports: Vec<String>,
    pub sources: Vec<String>,
    pub destinations: Vec<String>,
    pub targets: String,
    pub flow: String,
    pub flow_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub created_by: String,
}

impl FirewallRuleView {
    pub fn from_pb(r: &pb::FirewallRule) -> FirewallRuleView {
        FirewallRuleView {
            name: r.name.clone(),
            tier: r.tier.clone(),
            priority: r.priority,
            direction: r.direction.clone(),
            action: r.action.clone(),
            protocol: r.protocol.clone(),
            ports: r.ports.clone(),
            sources: r.sources.clone(),
            destinations: r.destinations.clone(),
            targets: r.targets.clone(),
            flow: r.flow.clone(),
            flow_description: r.flow_description.clone(),
            created_at: rfc3339(r.created_at.as_ref()),
            created_by: r.created_by.clone(),
        }
    }
}

impl Resource for FirewallRuleView {
    const KIND: &'static str = "firewallrule";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The rule set's state in the cloud's VPC firewall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallStatusView {
    pub revision: u64,
    pub applied_revision: u64,
    pub state: String,
    pub message: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<String>,
    pub drift_repairs: u32,
}

impl FirewallStatusView {
    pub fn from_pb(s: &pb::FirewallStatus) -> FirewallStatusView {
        FirewallStatusView {
            revision: s.revision,
            applied_revision: s.applied_revision,
            state: s.state.clone(),
            message: s.message.clone(),
            attempts: s.attempts,
            last_applied_at: rfc3339(s.last_applied_at.as_ref()),
            drift_repairs: s.drift_repairs,
        }
    }
}

/// `accord get firewall-rules -o json|yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirewallRuleListView {
    pub items: Vec<FirewallRuleView>,
    /// `null` only if the server sent no status.
    pub status: Option<FirewallStatusView>,
}

impl FirewallRuleListView {
    pub fn from_pb(r: &pb::ListFirewallRulesResponse) -> FirewallRuleListView {
        FirewallRuleListView {
            items: ordered(&r.rules)
                .into_iter()
                .map(FirewallRuleView::from_pb)
                .collect(),
            status: r.status.as_ref().map(FirewallStatusView::from_pb),
        }
    }
}

/// A warning of `CreateFirewallRule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WarningView {
    pub kind: String,
    pub message: String,
}

/// `accord create firewall-rule -o json|yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreatedFirewallRuleView {
    pub rule: FirewallRuleView,
    pub warnings: Vec<WarningView>,
}

impl CreatedFirewallRuleView {
    pub fn from_pb(r: &pb::CreateFirewallRuleResponse) -> CreatedFirewallRuleView {
        CreatedFirewallRuleView {
            rule: FirewallRuleView::from_pb(&r.rule.clone().unwrap_or_default()),
            warnings: r
                .warnings
                .iter()
                .map(|w| WarningView {
                    kind: w.kind.clone(),
                    message: w.message.clone(),
                })
                .collect(),
        }
    }
}

/// The rules with the required tier first; each tier keeps the server's order (the order the
/// rules are evaluated in).
pub fn ordered(rules: &[pb::FirewallRule]) -> Vec<&pb::FirewallRule> {
    let (mut out, customer): (Vec<&pb::FirewallRule>, Vec<&pb::FirewallRule>) =
        rules.iter().partition(|r| r.tier == PROVIDER_TIER);
    out.extend(customer);
    out
}

/// The first [`CELL_ITEMS`] items joined with `,`, then `+N` for the rest; `empty` when none.
fn cell(items: &[String], empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let mut text = items
        .iter()
        .take(CELL_ITEMS)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    if items.len() > CELL_ITEMS {
        text.push_str(&format!(",+{}", items.len() - CELL_ITEMS));
    }
    text
}

/// The peers of a rule: its sources (ingress) or destinations (egress).
fn peers(r: &pb::FirewallRule) -> String {
    let peers = match r.direction.as_str() {
        "egress" => &r.destinations,
        "ingress" => &r.sources,
        // Unknown direction: whichever the server filled.
        _ if r.sources.is_empty() => &r.destinations,
        _ => &r.sources,
    };
    cell(peers, "-")
}

fn row(r: &pb::FirewallRule) -> Vec<String> {
    let priority = if r.tier == PROVIDER_TIER {
        "-".to_owned()
    } else {
        r.priority.to_string()
    };
    let ports = match r.protocol.as_str() {
        "icmp" | "any" if r.ports.is_empty() => "-".to_owned(),
        _ => cell(&r.ports, "all"),
    };
    vec![
        r.name.clone(),
        or_dash(&r.tier),
        priority,
        or_dash(&r.direction),
        or_dash(&r.action),
        or_dash(&r.protocol),
        ports,
        peers(r),
        or_dash(&r.targets),
        or_dash(&r.flow),
    ]
}

/// The rule table (required rules first).
pub fn rules_table(rules: &[pb::FirewallRule]) -> String {
    render(
        &[
            "NAME",
            "TIER",
            "PRIORITY",
            "DIRECTION",
            "ACTION",
            "PROTOCOL",
            "PORTS",
            "PEERS",
            "TARGETS",
            "FLOW",
        ],
        ordered(rules).into_iter().map(row).collect(),
    )
}

/// The rule set's state in one line: `Rule set: revision 7, applied revision 7, state applied,
/// 0 drift repairs`, and the last error while failing.
pub fn status_line(status: Option<&pb::FirewallStatus>) -> String {
    let Some(s) = status else {
        return "Rule set: state unknown (the server sent none)".to_owned();
    };
    let mut line = format!(
        "Rule set: revision {}, applied revision {}, state {}, {} drift repair{}",
        s.revision,
        s.applied_revision,
        or_dash(&s.state),
        s.drift_repairs,
        if s.drift_repairs == 1 { "" } else { "s" }
    );
    if !s.message.is_empty() {
        line.push_str(&format!(
            "; last error (attempt {}): {}",
            s.attempts, s.message
        ));
    }
    line
}

/// `accord get firewall-rules` (table form): the rules, then the state line.
pub fn list_table(r: &pb::ListFirewallRulesResponse) -> String {
    format!(
        "{}\n\n{}",
        rules_table(&r.rules),
        status_line(r.status.as_ref())
    )
}

/// `accord create firewall-rule` (table form): `firewallrule/NAME created` and the rule's row.
pub fn created_table(rule: &pb::FirewallRule) -> String {
    format!(
        "firewallrule/{} created\n{}",
        rule.name,
        rules_table(std::slice::from_ref(rule))
    )
}

/// The stderr lines of a create's warnings: `warning: <message>`.
pub fn warning_lines(warnings: &[pb::Warning]) -> Vec<String> {
    warnings
        .iter()
        .map(|w| format!("warning: {}", w.message))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::output::timestamp;
    use time::macros::datetime;

    pub(crate) fn kubelet() -> pb::FirewallRule {
        pb::FirewallRule {
            name: "accord-kubelet".into(),
            tier: "provider".into(),
            priority: 0,
            direction: "ingress".into(),
            action: "allow".into(),
            protocol: "tcp".into(),
            ports: vec!["10250".into()],
            sources: vec!["198.18.0.0/24".into()],
            destinations: vec![],
            targets: "all-nodes".into(),
            flow: "kubelet".into(),
            flow_description: "the control plane reaches each kubelet".into(),
            created_at: None,
            created_by: String::new(),
        }
    }

    pub(crate) fn allow_https() -> pb::FirewallRule {
        pb::FirewallRule {
            name: "allow-https".into(),
            tier: "customer".into(),
            priority: 100,
            direction: "ingress".into(),
            action: "allow".into(),
            protocol: "tcp".into(),
            ports: vec!["443".into(), "8000-8100".into()],
            sources: vec!["0.0.0.0/0".into()],
            destinations: vec![],
            targets: "all-nodes".into(),
            flow: String::new(),
            flow_description: String::new(),
            created_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            created_by: "alice@example.com".into(),
        }
    }

    fn block_egress() -> pb::FirewallRule {
        pb::FirewallRule {
            name: "block-egress".into(),
            tier: "customer".into(),
            priority: 7,
            direction: "egress".into(),
            action: "deny".into(),
            protocol: "any".into(),
            ports: vec![],
            sources: vec![],
            destinations: (1..=5).map(|i| format!("10.{i}.0.0/16")).collect(),
            targets: "pool:gpu".into(),
            ..allow_https()
        }
    }

    pub(crate) fn status() -> pb::FirewallStatus {
        pb::FirewallStatus {
            revision: 7,
            applied_revision: 6,
            state: "applying".into(),
            message: String::new(),
            attempts: 1,
            last_applied_at: Some(timestamp(datetime!(2026-11-24 09:56:00 UTC))),
            drift_repairs: 1,
        }
    }

    fn listing() -> pb::ListFirewallRulesResponse {
        // A customer rule before the required one: the table still puts required rules first.
        pb::ListFirewallRulesResponse {
            rules: vec![allow_https(), kubelet(), block_egress()],
            status: Some(status()),
        }
    }

    #[test]
    fn table_puts_required_rules_first_with_their_flow_and_ends_with_the_state() {
        let text = list_table(&listing());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "NAME             TIER       PRIORITY   DIRECTION   ACTION   PROTOCOL   PORTS           PEERS                                    TARGETS     FLOW",
                "accord-kubelet   provider   -          ingress     allow    tcp        10250           198.18.0.0/24                            all-nodes   kubelet",
                "allow-https      customer   100        ingress     allow    tcp        443,8000-8100   0.0.0.0/0                                all-nodes   -",
                "block-egress     customer   7          egress      deny     any        -               10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,+2   pool:gpu    -",
                "",
                "Rule set: revision 7, applied revision 6, state applying, 1 drift repair",
            ],
            "{text}"
        );
    }

    #[test]
    fn state_line_shows_the_last_error_while_failing() {
        let mut s = status();
        s.state = "apply-failed".into();
        s.message = "vpc firewall: quota exceeded".into();
        s.attempts = 3;
        s.drift_repairs = 0;
        assert_eq!(
            status_line(Some(&s)),
            "Rule set: revision 7, applied revision 6, state apply-failed, 0 drift repairs; last error (attempt 3): vpc firewall: quota exceeded"
        );
        assert_eq!(
            status_line(None),
            "Rule set: state unknown (the server sent none)"
        );
    }

    #[test]
    fn tcp_without_ports_means_every_port() {
        let mut r = allow_https();
        r.ports.clear();
        assert_eq!(row(&r)[6], "all");
    }

    #[test]
    fn json_has_items_and_status_with_proto_field_names() {
        let value = serde_json::to_value(FirewallRuleListView::from_pb(&listing())).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "items": [
                    {
                        "name": "accord-kubelet",
                        "tier": "provider",
                        "priority": 0,
                        "direction": "ingress",
                        "action": "allow",
                        "protocol": "tcp",
                        "ports": ["10250"],
                        "sources": ["198.18.0.0/24"],
                        "destinations": [],
                        "targets": "all-nodes",
                        "flow": "kubelet",
                        "flow_description": "the control plane reaches each kubelet",
                        "created_by": ""
                    },
                    {
                        "name": "allow-https",
                        "tier": "customer",
                        "priority": 100,
                        "direction": "ingress",
                        "action": "allow",
                        "protocol": "tcp",
                        "ports": ["443", "8000-8100"],
                        "sources": ["0.0.0.0/0"],
                        "destinations": [],
                        "targets": "all-nodes",
                        "flow": "",
                        "flow_description": "",
                        "created_at": "2026-11-24T09:55:00Z",
                        "created_by": "alice@example.com"
                    },
                    FirewallRuleView::from_pb(&block_egress()),
                ],
                "status": {
                    "revision": 7,
                    "applied_revision": 6,
                    "state": "applying",
                    "message": "",
                    "attempts": 1,
                    "last_applied_at": "2026-11-24T09:56:00Z",
                    "drift_repairs": 1
                }
            })
        );
        let empty = serde_json::to_value(FirewallRuleListView::from_pb(
            &pb::ListFirewallRulesResponse::default(),
        ))
        .unwrap();
        assert_eq!(empty, serde_json::json!({"items": [], "status": null}));
    }

    #[test]
    fn create_shows_the_rule_and_the_warnings() {
        let response = pb::CreateFirewallRuleResponse {
            rule: Some(allow_https()),
            warnings: vec![pb::Warning {
                kind: "shadows".into(),
                message: "allow-https comes first and matches everything web does".into(),
            }],
        };
        assert_eq!(
            created_table(response.rule.as_ref().unwrap()),
            "firewallrule/allow-https created\n\
             NAME          TIER       PRIORITY   DIRECTION   ACTION   PROTOCOL   PORTS           PEERS       TARGETS     FLOW\n\
             allow-https   customer   100        ingress     allow    tcp        443,8000-8100   0.0.0.0/0   all-nodes   -"
        );
        assert_eq!(
            warning_lines(&response.warnings),
            ["warning: allow-https comes first and matches everything web does"]
        );
        let value = serde_json::to_value(CreatedFirewallRuleView::from_pb(&response)).unwrap();
        assert_eq!(value["rule"]["name"], "allow-https");
        assert_eq!(value["rule"]["created_by"], "alice@example.com");
        assert_eq!(
            value["warnings"],
            serde_json::json!([{
                "kind": "shadows",
                "message": "allow-https comes first and matches everything web does"
            }])
        );
    }
}
