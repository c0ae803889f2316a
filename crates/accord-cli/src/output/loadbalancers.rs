//! A cluster's L4 load balancers as the CLI prints them: the view `-o json|yaml` prints (field
//! names as in `accord.firewall.v1.LoadBalancer`), the `accord get loadbalancers` table and
//! what `accord create loadbalancer` prints.
//!
//! Shapes:
//! - `get loadbalancers -o json`: `{"items": [load balancer, …]}` in the server's order.
//! - `create loadbalancer -o json`: the load balancer alone (as created, or as last seen with
//!   `--wait`).
//! - load balancer: `{"name", "cluster", "state", "address", "ports": [{"port", "protocol",
//!   "node_port"}], "source_ranges", "health_check": {"interval_seconds", "timeout_seconds",
//!   "healthy_threshold"} | null, "backends": [{"address", "node", "healthy"}],
//!   "firewall_rule", "created_at"?, "message"}`. `created_at` is RFC 3339 and left out when the
//!   server sent none; `health_check` is `null` only when the server sent none.
//!
//! In the table a port is `443→30443/tcp` (the first [`CELL_ITEMS`] of them, then `,+N`), no
//! source ranges is `any`, backends are `healthy/total healthy`, and an address not allocated
//! yet is `-`.

use accord_proto::firewall::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::firewall::CELL_ITEMS;
use super::{Resource, age, or_dash, rfc3339, tables::render};

/// The kind `-o name` prints (`loadbalancer/NAME`).
pub const KIND: &str = "loadbalancer";

/// The state in which a load balancer serves traffic.
pub const ACTIVE: &str = "active";

/// One port of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortView {
    pub port: u32,
    pub protocol: String,
    pub node_port: u32,
}

/// A load balancer's health check (0: the server's default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckView {
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub healthy_threshold: u32,
}

/// One backend: a Ready node's address and whether it passes the health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendView {
    pub address: String,
    pub node: String,
    pub healthy: bool,
}

/// A load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerView {
    pub name: String,
    pub cluster: String,
    pub state: String,
    pub address: String,
    pub ports: Vec<PortView>,
    pub source_ranges: Vec<String>,
    pub health_check: Option<HealthCheckView>,
    pub backends: Vec<BackendView>,
    pub firewall_rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub message: String,
}

impl LoadBalancerView {
    pub fn from_pb(lb: &pb::LoadBalancer) -> LoadBalancerView {
        LoadBalancerView {
            name: lb.name.clone(),
            cluster: lb.cluster.clone(),
            state: lb.state.clone(),
            address: lb.address.clone(),
            ports: lb
                .ports
                .iter()
                .map(|p| PortView {
                    port: p.port,
                    protocol: p.protocol.clone(),
                    node_port: p.node_port,
                })
                .collect(),
            source_ranges: lb.source_ranges.clone(),
            health_check: lb.health_check.map(|h| HealthCheckView {
                interval_seconds: h.interval_seconds,
                timeout_seconds: h.timeout_seconds,
                healthy_threshold: h.healthy_threshold,
            }),
            backends: lb
                .backends
                .iter()
                .map(|b| BackendView {
                    address: b.address.clone(),
                    node: b.node.clone(),
                    healthy: b.healthy,
                })
                .collect(),
            firewall_rule: lb.firewall_rule.clone(),
            created_at: rfc3339(lb.created_at.as_ref()),
            message: lb.message.clone(),
        }
    }
}

impl Resource for LoadBalancerView {
    const KIND: &'static str = KIND;
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// `accord get loadbalancers -o json|yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerListView {
    pub items: Vec<LoadBalancerView>,
}

impl LoadBalancerListView {
    pub fn from_pb(r: &pb::ListLoadBalancersResponse) -> LoadBalancerListView {
        LoadBalancerListView {
            items: r
                .load_balancers
                .iter()
                .map(LoadBalancerView::from_pb)
                .collect(),
        }
    }
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

/// `443→30443/tcp` (a protocol the server left empty is its default, tcp).
pub fn port(p: &pb::LoadBalancerPort) -> String {
    let protocol = if p.protocol.is_empty() {
        "tcp"
    } else {
        &p.protocol
    };
    format!("{}→{}/{protocol}", p.port, p.node_port)
}

/// The healthy backends and all of them: `(2, 3)`.
pub fn healthy_backends(lb: &pb::LoadBalancer) -> (usize, usize) {
    let healthy = lb.backends.iter().filter(|b| b.healthy).count();
    (healthy, lb.backends.len())
}

/// `2/3 healthy`.
pub fn backends_cell(lb: &pb::LoadBalancer) -> String {
    let (healthy, total) = healthy_backends(lb);
    format!("{healthy}/{total} healthy")
}

fn row(lb: &pb::LoadBalancer, now: OffsetDateTime) -> Vec<String> {
    let ports: Vec<String> = lb.ports.iter().map(port).collect();
    vec![
        lb.name.clone(),
        or_dash(&lb.state),
        or_dash(&lb.address),
        cell(&ports, "-"),
        cell(&lb.source_ranges, "any"),
        backends_cell(lb),
        age(lb.created_at.as_ref(), now),
    ]
}

/// The `accord get loadbalancers` table, in the server's order.
pub fn list_table(lbs: &[pb::LoadBalancer], now: OffsetDateTime) -> String {
    render(
        &[
            "NAME", "STATE", "ADDRESS", "PORTS", "SOURCES", "BACKENDS", "AGE",
        ],
        lbs.iter().map(|lb| row(lb, now)).collect(),
    )
}

/// `accord create loadbalancer` (table form): `loadbalancer/NAME created` and its row.
pub fn created_table(lb: &pb::LoadBalancer, now: OffsetDateTime) -> String {
    format!(
        "{KIND}/{} created\n{}",
        lb.name,
        list_table(std::slice::from_ref(lb), now)
    )
}

/// The stderr lines for load balancers that report an error while converging:
/// `warning: loadbalancer/NAME: <message>` (the table has no room for it).
pub fn message_lines(lbs: &[pb::LoadBalancer]) -> Vec<String> {
    lbs.iter()
        .filter(|lb| !lb.message.is_empty())
        .map(|lb| format!("warning: {KIND}/{}: {}", lb.name, lb.message))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::output::timestamp;
    use time::macros::datetime;

    fn backend(i: u8, healthy: bool) -> pb::Backend {
        pb::Backend {
            address: format!("10.0.0.{i}"),
            node: format!("gpu-a-{i}"),
            healthy,
        }
    }

    /// An active load balancer with two ports, two of three backends healthy.
    pub(crate) fn web() -> pb::LoadBalancer {
        pb::LoadBalancer {
            name: "web".into(),
            cluster: "demo".into(),
            state: "active".into(),
            address: "203.0.113.10".into(),
            ports: vec![
                pb::LoadBalancerPort {
                    port: 443,
                    protocol: "tcp".into(),
                    node_port: 30443,
                },
                pb::LoadBalancerPort {
                    port: 80,
                    protocol: "tcp".into(),
                    node_port: 30080,
                },
            ],
            source_ranges: vec![],
            health_check: Some(pb::HealthCheck {
                interval_seconds: 5,
                timeout_seconds: 5,
                healthy_threshold: 3,
            }),
            backends: vec![backend(1, true), backend(2, true), backend(3, false)],
            firewall_rule: "accord-lb-web".into(),
            created_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
            message: String::new(),
        }
    }

    /// A load balancer still provisioning: five udp ports, four source ranges, no address.
    fn dns() -> pb::LoadBalancer {
        pb::LoadBalancer {
            name: "dns".into(),
            state: "provisioning".into(),
            address: String::new(),
            ports: (0..5)
                .map(|i| pb::LoadBalancerPort {
                    port: 53 + i,
                    protocol: "udp".into(),
                    node_port: 30053 + i,
                })
                .collect(),
            source_ranges: (1..=4).map(|i| format!("10.{i}.0.0/16")).collect(),
            health_check: None,
            backends: vec![],
            firewall_rule: "accord-lb-dns".into(),
            created_at: None,
            message: "no address left in the pool".into(),
            ..web()
        }
    }

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

    #[test]
    fn table_shows_ports_sources_and_healthy_backends() {
        let text = list_table(&[web(), dns()], NOW);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "NAME   STATE          ADDRESS        PORTS                                       SOURCES                                  BACKENDS      AGE",
                "web    active         203.0.113.10   443→30443/tcp,80→30080/tcp                  any                                      2/3 healthy   5m",
                "dns    provisioning   -              53→30053/udp,54→30054/udp,55→30055/udp,+2   10.1.0.0/16,10.2.0.0/16,10.3.0.0/16,+1   0/0 healthy   -",
            ],
            "{text}"
        );
    }

    #[test]
    fn ports_cells_and_messages() {
        let mut p = web().ports[0].clone();
        assert_eq!(port(&p), "443→30443/tcp");
        p.protocol.clear();
        assert_eq!(port(&p), "443→30443/tcp", "empty protocol is tcp");
        assert_eq!(backends_cell(&web()), "2/3 healthy");
        assert_eq!(healthy_backends(&dns()), (0, 0));
        assert_eq!(
            message_lines(&[web(), dns()]),
            ["warning: loadbalancer/dns: no address left in the pool"]
        );
        assert_eq!(
            created_table(&web(), NOW).lines().next(),
            Some("loadbalancer/web created")
        );
        assert_eq!(created_table(&web(), NOW).lines().count(), 3);
    }

    #[test]
    fn json_has_items_with_proto_field_names() {
        let value = serde_json::to_value(LoadBalancerListView::from_pb(
            &pb::ListLoadBalancersResponse {
                load_balancers: vec![web(), dns()],
            },
        ))
        .unwrap();
        assert_eq!(
            value["items"][0],
            serde_json::json!({
                "name": "web",
                "cluster": "demo",
                "state": "active",
                "address": "203.0.113.10",
                "ports": [
                    {"port": 443, "protocol": "tcp", "node_port": 30443},
                    {"port": 80, "protocol": "tcp", "node_port": 30080}
                ],
                "source_ranges": [],
                "health_check": {"interval_seconds": 5, "timeout_seconds": 5, "healthy_threshold": 3},
                "backends": [
                    {"address": "10.0.0.1", "node": "gpu-a-1", "healthy": true},
                    {"address": "10.0.0.2", "node": "gpu-a-2", "healthy": true},
                    {"address": "10.0.0.3", "node": "gpu-a-3", "healthy": false}
                ],
                "firewall_rule": "accord-lb-web",
                "created_at": "2026-11-24T09:55:00Z",
                "message": ""
            })
        );
        let dns = &value["items"][1];
        assert_eq!(dns["health_check"], serde_json::Value::Null);
        assert!(dns.get("created_at").is_none(), "{dns}");
        assert_eq!(dns["address"], "");
        assert_eq!(dns["source_ranges"].as_array().unwrap().len(), 4);
        let empty = serde_json::to_value(LoadBalancerListView::from_pb(
            &pb::ListLoadBalancersResponse::default(),
        ))
        .unwrap();
        assert_eq!(empty, serde_json::json!({"items": []}));
        assert_eq!(LoadBalancerView::from_pb(&web()).name(), "web");
    }
}
