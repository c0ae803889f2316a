//! `accord describe`: kubectl-describe-style documents — aligned `Key: value` fields in
//! sections, small tables for replicas, conditions, node pools and nodes.

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use time::OffsetDateTime;

use super::tables::{self, NodeRow, PoolRow};
use super::views::role_name;
use super::{age, datetime, rfc3339};

/// A document under construction.
#[derive(Debug, Default)]
pub struct Doc {
    lines: Vec<Line>,
}

#[derive(Debug)]
enum Line {
    Field {
        indent: usize,
        key: String,
        value: String,
    },
    Text {
        indent: usize,
        text: String,
    },
}

const NONE: &str = "<none>";

impl Doc {
    /// `Key:  value` at `indent` levels (two spaces each); an empty value prints `<none>`.
    pub fn field(&mut self, indent: usize, key: &str, value: impl Into<String>) -> &mut Self {
        let value = value.into();
        self.lines.push(Line::Field {
            indent,
            key: key.to_owned(),
            value: if value.is_empty() {
                NONE.to_owned()
            } else {
                value
            },
        });
        self
    }

    /// `Title:` starting a section.
    pub fn heading(&mut self, indent: usize, title: &str) -> &mut Self {
        self.text(indent, &format!("{title}:"))
    }

    /// A line of text.
    pub fn text(&mut self, indent: usize, text: &str) -> &mut Self {
        self.lines.push(Line::Text {
            indent,
            text: text.to_owned(),
        });
        self
    }

    /// A table (or `<none>` when it has no rows), indented.
    pub fn table(&mut self, indent: usize, headers: &[&str], rows: Vec<Vec<String>>) -> &mut Self {
        if rows.is_empty() {
            return self.text(indent, NONE);
        }
        for line in tables::render(headers, rows).lines() {
            self.text(indent, line);
        }
        self
    }

    /// Pre-rendered table text, indented.
    fn block(&mut self, indent: usize, text: &str) -> &mut Self {
        for line in text.lines() {
            self.text(indent, line);
        }
        self
    }

    /// The text: values of consecutive fields at the same indent are aligned.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut i = 0;
        while i < self.lines.len() {
            match &self.lines[i] {
                Line::Text { indent, text } => {
                    push_line(&mut out, *indent, text);
                    i += 1;
                }
                Line::Field { indent, .. } => {
                    let level = *indent;
                    let run: Vec<(&str, &str)> = self.lines[i..]
                        .iter()
                        .map_while(|line| match line {
                            Line::Field { indent, key, value } if *indent == level => {
                                Some((key.as_str(), value.as_str()))
                            }
                            _ => None,
                        })
                        .collect();
                    let width = run.iter().map(|(key, _)| key.len() + 1).max().unwrap_or(0);
                    for (key, value) in &run {
                        let key = format!("{key}:");
                        push_line(&mut out, level, &format!("{key:<width$}  {value}"));
                    }
                    i += run.len();
                }
            }
        }
        out
    }
}

fn push_line(out: &mut String, indent: usize, text: &str) {
    out.push_str(&"  ".repeat(indent));
    out.push_str(text.trim_end());
    out.push('\n');
}

/// `k=v, k2=v2` sorted (empty without any).
fn labels(map: &HashMap<String, String>) -> String {
    super::label_pairs(map).join(", ")
}

/// `2026-11-24T09:55:00Z (5m ago)`.
/// `value`, or `default` when the server left it empty.
fn or_default(value: &str, default: &str) -> String {
    if value.is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}

fn when(timestamp: Option<&prost_types::Timestamp>, now: OffsetDateTime) -> String {
    match rfc3339(timestamp) {
        Some(text) => format!("{text} ({} ago)", age(timestamp, now)),
        None => String::new(),
    }
}

fn metadata(doc: &mut Doc, meta: Option<&pb::ObjectMeta>, now: OffsetDateTime) {
    let meta = meta.cloned().unwrap_or_default();
    doc.field(0, "Name", meta.name.clone())
        .field(0, "ID", meta.id.clone())
        .field(0, "Project", meta.project.clone())
        .field(0, "Labels", labels(&meta.labels))
        .field(0, "Created", when(meta.created_at.as_ref(), now))
        .field(0, "Updated", when(meta.updated_at.as_ref(), now))
        .field(
            0,
            "Resource Version",
            format!("{} (generation {})", meta.resource_version, meta.generation),
        );
}

fn conditions(doc: &mut Doc, list: &[pb::Condition], now: OffsetDateTime) {
    doc.heading(0, "Conditions");
    let rows = list
        .iter()
        .map(|c| {
            vec![
                c.r#type.clone(),
                c.status.clone(),
                c.reason.clone(),
                if datetime(c.last_transition_time.as_ref()).is_some() {
                    age(c.last_transition_time.as_ref(), now)
                } else {
                    "-".into()
                },
                c.message.clone(),
            ]
        })
        .collect();
    doc.table(1, &["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"], rows);
}

/// `accord describe cluster`; `pools` are listed when known.
pub fn cluster(c: &pb::Cluster, pools: Option<&[pb::NodePool]>, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    metadata(&mut doc, c.metadata.as_ref(), now);
    let spec = c.spec.clone().unwrap_or_default();
    let status = c.status.clone().unwrap_or_default();

    doc.heading(0, "Spec")
        .field(1, "Kubernetes Version", spec.kubernetes_version.clone())
        .field(1, "Region", spec.region.clone())
        .field(1, "Add-ons", spec.addons.join(", "));
    let network = spec.network.clone().unwrap_or_default();
    doc.heading(1, "Network")
        .field(2, "VPC Subnet", network.vpc_subnet)
        .field(2, "Pod CIDR", network.pod_cidr)
        .field(2, "Service CIDR", network.service_cidr)
        .field(
            2,
            "Node CIDR Mask",
            format!("/{}", network.node_cidr_mask_size),
        );
    let cni = spec.cni.clone().unwrap_or_default();
    doc.field(
        2,
        "CNI",
        format!("cilium ({})", super::datapath(&cni, ", ")),
    );
    match spec.oidc.as_ref().filter(|o| !o.issuer_url.is_empty()) {
        Some(oidc) => {
            doc.heading(1, "OIDC")
                .field(2, "Issuer URL", oidc.issuer_url.clone())
                .field(2, "Client ID", oidc.client_id.clone())
                .field(2, "Username Claim", oidc.username_claim.clone())
                .field(2, "Groups Claim", oidc.groups_claim.clone())
                .field(2, "Required Claims", labels(&oidc.required_claims));
        }
        None => {
            doc.field(1, "OIDC", "");
        }
    }
    let auto = spec.autoclusters.unwrap_or_default();
    doc.heading(1, "AutoClusters")
        .field(
            2,
            "Remediation",
            if auto.remediation_enabled {
                "enabled"
            } else {
                "disabled"
            },
        )
        .field(
            2,
            "Max Unhealthy",
            format!("{}%", auto.max_unhealthy_percent),
        )
        .field(
            2,
            "Max In Flight/Pool",
            auto.max_in_flight_per_pool.to_string(),
        )
        .field(2, "Mode", or_default(&auto.mode, "auto"))
        .field(2, "Policy", or_default(&auto.policy, "gpu-remediation"))
        .field(
            2,
            "Maintenance Windows",
            if auto.maintenance_windows.is_empty() {
                "<none>".to_owned()
            } else {
                auto.maintenance_windows
                    .iter()
                    .map(|w| w.text.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        );
    for e in &auto.maintenance_exclusions {
        let t = |t: &Option<prost_types::Timestamp>| {
            crate::output::rfc3339(t.as_ref()).unwrap_or_default()
        };
        let reason = if e.reason.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.reason)
        };
        doc.field(
            2,
            "Maintenance Exclusion",
            format!("{}/{}{reason}", t(&e.start), t(&e.end)),
        );
    }

    doc.heading(0, "Status")
        .field(1, "Phase", status.phase.clone())
        .field(1, "Current Version", status.current_version.clone())
        .field(1, "Requested Version", status.requested_version.clone())
        .field(1, "API Endpoint", status.api_endpoint.clone())
        .field(1, "Node Pools", status.node_pool_count.to_string())
        .field(1, "Node Capacity", status.node_capacity.to_string())
        .field(
            1,
            "Observed Generation",
            status.observed_generation.to_string(),
        );

    doc.heading(0, "Control Plane Replicas");
    let replicas = status
        .control_plane
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.failure_domain.clone(),
                r.state.clone(),
                r.version.clone(),
            ]
        })
        .collect();
    doc.table(1, &["NAME", "FAILURE-DOMAIN", "STATE", "VERSION"], replicas);
    conditions(&mut doc, &status.conditions, now);

    if let Some(pools) = pools {
        doc.heading(0, "Node Pools");
        if pools.is_empty() {
            doc.text(1, NONE);
        } else {
            let rows: Vec<PoolRow<'_>> = pools
                .iter()
                .map(|pool| PoolRow {
                    pool,
                    cluster: None,
                })
                .collect();
            doc.block(1, &tables::node_pools(&rows, now));
        }
    }
    doc.render()
}

/// `accord describe nodepool`; `nodes` are listed when known.
pub fn node_pool(
    p: &pb::NodePool,
    cluster_name: Option<&str>,
    nodes: Option<&[pb::Node]>,
    now: OffsetDateTime,
) -> String {
    let mut doc = Doc::default();
    metadata(&mut doc, p.metadata.as_ref(), now);
    let spec = p.spec.clone().unwrap_or_default();
    let status = p.status.clone().unwrap_or_default();
    let pool_name = p
        .metadata
        .as_ref()
        .map(|m| m.name.as_str())
        .unwrap_or_default();

    let cluster = match cluster_name {
        Some(name) => format!("{name} ({})", spec.cluster_id),
        None => spec.cluster_id.clone(),
    };
    doc.heading(0, "Spec")
        .field(1, "Cluster", cluster)
        .field(1, "Instance Type", spec.instance_type.clone())
        .field(1, "Count", spec.count.to_string())
        .field(
            1,
            "Autoscaling",
            match &spec.autoscaling {
                Some(a) if a.enabled => {
                    format!("enabled, {} to {} nodes", a.min_count, a.max_count)
                }
                _ => "disabled".to_owned(),
            },
        )
        .field(1, "Node Labels", labels(&spec.node_labels))
        .field(
            1,
            "Taints",
            spec.taints
                .iter()
                .map(|t| {
                    if t.value.is_empty() {
                        format!("{}:{}", t.key, t.effect)
                    } else {
                        format!("{}={}:{}", t.key, t.value, t.effect)
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
        .field(1, "Image Version", spec.image_version.clone());
    let rolling = spec.rolling_update.unwrap_or_default();
    doc.field(
        1,
        "Rolling Update",
        format!(
            "max surge {}, max unavailable {}",
            rolling.max_surge, rolling.max_unavailable
        ),
    );
    super::images::pool_spec_fields(&mut doc, &spec);

    doc.heading(0, "Status")
        .field(1, "Phase", status.phase.clone())
        .field(
            1,
            "Nodes",
            format!(
                "{} ready, {} total, {} desired",
                status.ready_nodes, status.total_nodes, spec.count
            ),
        )
        .field(1, "Kubelet Version", status.kubelet_version.clone())
        .field(1, "Latest Image", status.latest_image_version.clone());
    super::images::pool_status_fields(&mut doc, &spec, &status);
    // The image-builder's newest image of the pool's channel and branch, else the catalogue's.
    let available = Some(status.update_available_version.as_str())
        .filter(|v| !v.is_empty())
        .unwrap_or(status.latest_image_version.as_str());
    let update = if status.update_available || !status.update_available_version.is_empty() {
        let mut text = format!(
            "yes: {} -> {available} (apply with `accord cycle nodepool {pool_name}",
            spec.image_version
        );
        if let Some(name) = cluster_name {
            text.push_str(&format!(" --cluster {name}"));
        }
        text.push_str("`)");
        text
    } else {
        "no".to_owned()
    };
    doc.field(1, "Update Available", update);
    match status.cycle.as_ref().filter(|c| c.in_progress) {
        Some(cycle) => {
            doc.field(
                1,
                "Cycle",
                format!(
                    "in progress to {}: {}/{} nodes replaced, started {}",
                    cycle.target_image_version,
                    cycle.nodes_replaced,
                    cycle.nodes_total,
                    when(cycle.started_at.as_ref(), now)
                ),
            );
        }
        None => {
            doc.field(1, "Cycle", "none in progress");
        }
    }
    doc.field(
        1,
        "Observed Generation",
        status.observed_generation.to_string(),
    );
    conditions(&mut doc, &status.conditions, now);
    super::images::pool_revisions(&mut doc, &status);

    if let Some(nodes) = nodes {
        doc.heading(0, "Nodes");
        if nodes.is_empty() {
            doc.text(1, NONE);
        } else {
            let rows: Vec<NodeRow<'_>> = nodes
                .iter()
                .map(|node| NodeRow {
                    node,
                    pool: Some(pool_name),
                    cluster: None,
                })
                .collect();
            doc.block(1, &tables::nodes(&rows, now));
        }
    }
    doc.render()
}

/// `accord describe node`.
pub fn node(
    n: &pb::Node,
    pool_name: Option<&str>,
    cluster_name: Option<&str>,
    now: OffsetDateTime,
) -> String {
    let mut doc = Doc::default();
    metadata(&mut doc, n.metadata.as_ref(), now);
    let spec = n.spec.clone().unwrap_or_default();
    let status = n.status.clone().unwrap_or_default();
    let named = |name: Option<&str>, id: &str| match name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_owned(),
    };
    doc.heading(0, "Spec")
        .field(1, "Cluster", named(cluster_name, &spec.cluster_id))
        .field(1, "Node Pool", named(pool_name, &spec.node_pool_id))
        .field(1, "Instance Type", spec.instance_type.clone())
        .field(1, "Image Version", spec.image_version.clone())
        .field(1, "Kubelet Version", spec.kubelet_version.clone());
    let cordoned = if status.cordoned {
        format!("yes, by the {}", status.cordoned_by)
    } else {
        "no".to_owned()
    };
    doc.heading(0, "Status")
        .field(1, "State", status.state.clone())
        .field(1, "Cordoned", cordoned)
        .field(1, "Failure Domain", status.failure_domain.clone())
        .field(1, "Internal IP", status.internal_ip.clone())
        .field(1, "Instance ID", status.instance_id.clone())
        .field(1, "Ready Since", when(status.ready_at.as_ref(), now));
    conditions(&mut doc, &status.conditions, now);
    doc.render()
}

/// `accord describe project`.
pub fn project(p: &pb::Project, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    metadata(&mut doc, p.metadata.as_ref(), now);
    let quota = p.spec.as_ref().map(|s| s.gpu_quota).unwrap_or(0);
    let status = p.status.unwrap_or_default();
    doc.heading(0, "Spec")
        .field(1, "GPU Quota", quota.to_string());
    doc.heading(0, "Status")
        .field(
            1,
            "GPUs Requested",
            format!("{} of {quota}", status.gpus_requested),
        )
        .field(1, "Clusters", status.cluster_count.to_string())
        .field(1, "Members", status.member_count.to_string());
    doc.render()
}

/// `accord describe member`.
pub fn member(m: &pb::Member, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    doc.field(0, "User", m.user.clone())
        .field(0, "User ID", m.user_id.clone())
        .field(0, "Project", m.project.clone())
        .field(0, "Role", role_name(m.role))
        .field(0, "Added", when(m.added_at.as_ref(), now));
    doc.render()
}

/// `accord describe apikey`.
pub fn api_key(k: &pb::ApiKey, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Name", k.name.clone())
        .field(0, "ID", k.id.clone())
        .field(0, "Project", k.project.clone())
        .field(0, "User", k.user.clone())
        .field(0, "Created By", k.created_by.clone())
        .field(0, "Created", when(k.created_at.as_ref(), now))
        .field(
            0,
            "Revoked",
            if k.revoked {
                when(k.revoked_at.as_ref(), now)
            } else {
                "no".into()
            },
        );
    doc.render()
}

/// `accord whoami`.
pub fn whoami(w: &pb::WhoAmIResponse) -> String {
    let mut doc = Doc::default();
    doc.field(0, "Party", w.party.clone())
        .field(0, "User", w.user.clone())
        .field(0, "Project", w.project.clone())
        .field(0, "Role", if w.role == 0 { "" } else { role_name(w.role) })
        .field(0, "API Key", w.key.clone());
    doc.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, NOW};

    #[test]
    fn aligned_fields_and_sections() {
        let mut doc = Doc::default();
        doc.field(0, "Name", "demo")
            .field(0, "Resource Version", "3")
            .heading(0, "Spec")
            .field(1, "Region", "eu")
            .field(1, "Add-ons", "");
        assert_eq!(
            doc.render(),
            "Name:              demo\n\
             Resource Version:  3\n\
             Spec:\n\
             \x20 Region:   eu\n\
             \x20 Add-ons:  <none>\n"
        );
    }

    #[test]
    fn cluster_document() {
        let cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        let pools = [fixtures::node_pool("gpu-a")];
        let text = super::cluster(&cluster, Some(&pools), NOW);
        for expected in [
            "Name:              demo\n",
            "  Kubernetes Version:  1.32\n",
            "    Pod CIDR:        10.244.0.0/16\n",
            "Control Plane Replicas:\n  NAME   FAILURE-DOMAIN   STATE     VERSION\n  cp-0   fd-1             running   1.32\n",
            "Conditions:\n  TYPE                STATUS   REASON",
            "  Ready               True     ControlPlaneServing",
            "Node Pools:\n  NAME    ID",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn node_pool_document_shows_the_update() {
        let pool = fixtures::node_pool("gpu-a");
        let nodes = [fixtures::node("gpu-a-x1")];
        let text = super::node_pool(&pool, Some("demo"), Some(&nodes), NOW);
        assert!(
            text.contains(
                "Update Available:     yes: 2026.10 -> 2026.11 (apply with `accord cycle nodepool gpu-a --cluster demo`)"
            ),
            "{text}"
        );
        assert!(
            text.contains("  Taints:          nvidia.com/gpu=present:NoSchedule\n"),
            "{text}"
        );
        assert!(text.contains("Nodes:\n  NAME       ID"), "{text}");
    }

    #[test]
    fn node_document() {
        let mut node = fixtures::node("gpu-a-x1");
        if let Some(status) = node.status.as_mut() {
            status.cordoned = true;
            status.cordoned_by = "customer".into();
        }
        let text = super::node(&node, Some("gpu-a"), Some("demo"), NOW);
        assert!(
            text.contains("Cordoned:        yes, by the customer"),
            "{text}"
        );
        assert!(text.contains("Node Pool:        gpu-a (np-"), "{text}");
    }
}
