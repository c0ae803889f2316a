//! kubectl-style tables: upper-case headers, no borders, columns three spaces apart, short ids,
//! ages instead of timestamps.

use accord_proto::provisioner::v1 as pb;
use comfy_table::{ContentArrangement, Table, presets};
use time::OffsetDateTime;

use super::views::role_name;
use super::{age, or_dash, short_id};

/// Renders rows under headers, kubectl style. Trailing spaces are trimmed.
pub fn render(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    table
        .lines()
        .map(|line| line.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders rows of resources that may belong to different clusters: a leading CLUSTER column
/// when any row names its cluster (a listing across clusters).
pub fn render_by_cluster(headers: &[&str], rows: Vec<(Option<&str>, Vec<String>)>) -> String {
    if rows.iter().all(|(cluster, _)| cluster.is_none()) {
        return render(headers, rows.into_iter().map(|(_, cells)| cells).collect());
    }
    let headers: Vec<&str> = std::iter::once("CLUSTER")
        .chain(headers.iter().copied())
        .collect();
    let rows = rows
        .into_iter()
        .map(|(cluster, cells)| {
            std::iter::once(or_dash(cluster.unwrap_or_default()))
                .chain(cells)
                .collect()
        })
        .collect();
    render(&headers, rows)
}

/// `ready/total`.
fn ratio(ready: impl std::fmt::Display, total: impl std::fmt::Display) -> String {
    format!("{ready}/{total}")
}

/// The version a cluster runs, with the target while an upgrade is pending (`1.32 -> 1.33`).
pub fn cluster_version(cluster: &pb::Cluster) -> String {
    let spec_version = cluster
        .spec
        .as_ref()
        .map(|s| s.kubernetes_version.as_str())
        .unwrap_or_default();
    let Some(status) = &cluster.status else {
        return or_dash(spec_version);
    };
    let current = if status.current_version.is_empty() {
        spec_version
    } else {
        status.current_version.as_str()
    };
    if !status.requested_version.is_empty() && status.requested_version != current {
        format!("{} -> {}", or_dash(current), status.requested_version)
    } else {
        or_dash(current)
    }
}

/// Running control-plane replicas out of all (`3/3`).
pub fn control_plane_ready(cluster: &pb::Cluster) -> String {
    let replicas = cluster
        .status
        .as_ref()
        .map(|s| s.control_plane.as_slice())
        .unwrap_or_default();
    let running = replicas.iter().filter(|r| r.state == "running").count();
    ratio(running, replicas.len())
}

fn meta(meta: Option<&pb::ObjectMeta>) -> (String, String, Option<&prost_types::Timestamp>) {
    match meta {
        Some(m) => (m.name.clone(), short_id(&m.id), m.created_at.as_ref()),
        None => ("-".into(), "-".into(), None),
    }
}

/// `accord get clusters`.
pub fn clusters(items: &[pb::Cluster], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|c| {
            let (name, id, created) = meta(c.metadata.as_ref());
            let status = c.status.clone().unwrap_or_default();
            let region = c
                .spec
                .as_ref()
                .map(|s| s.region.as_str())
                .unwrap_or_default();
            vec![
                name,
                id,
                or_dash(&status.phase),
                control_plane_ready(c),
                cluster_version(c),
                or_dash(region),
                status.node_pool_count.to_string(),
                age(created, now),
            ]
        })
        .collect();
    render(
        &[
            "NAME", "ID", "PHASE", "READY", "VERSION", "REGION", "POOLS", "AGE",
        ],
        rows,
    )
}

/// A node pool and, when listing across clusters, the cluster's name.
#[derive(Debug, Clone, Copy)]
pub struct PoolRow<'a> {
    /// The pool.
    pub pool: &'a pb::NodePool,
    /// Its cluster's name (shown only when listing across clusters).
    pub cluster: Option<&'a str>,
}

/// The image column: the pool's image, `(latest)` when it runs the latest.
pub fn pool_image(pool: &pb::NodePool) -> String {
    let spec_image = pool
        .spec
        .as_ref()
        .map(|s| s.image_version.as_str())
        .unwrap_or_default();
    or_dash(spec_image)
}

/// The update column: `required: <reason>` when the pool's image was withdrawn, else the
/// newer image when one is available.
pub fn pool_update(pool: &pb::NodePool) -> String {
    if let Some(update) = super::images::pool_update_column(pool) {
        return update;
    }
    match &pool.status {
        Some(s) if s.update_available => or_dash(&s.latest_image_version),
        _ => "-".into(),
    }
}

/// `ready/desired` nodes of a pool.
pub fn pool_ready(pool: &pb::NodePool) -> String {
    let ready = pool.status.as_ref().map(|s| s.ready_nodes).unwrap_or(0);
    let count = pool.spec.as_ref().map(|s| s.count).unwrap_or(0);
    ratio(ready, count)
}

/// `min-max` when autoscaling, else `-`.
pub fn pool_autoscaling(pool: &pb::NodePool) -> String {
    match pool.spec.as_ref().and_then(|s| s.autoscaling.as_ref()) {
        Some(a) if a.enabled => format!("{}-{}", a.min_count, a.max_count),
        _ => "-".into(),
    }
}

/// `accord get nodepools`.
pub fn node_pools(items: &[PoolRow<'_>], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|row| {
            let p = row.pool;
            let (name, id, created) = meta(p.metadata.as_ref());
            let phase = p
                .status
                .as_ref()
                .map(|s| s.phase.as_str())
                .unwrap_or_default();
            let instance_type = p
                .spec
                .as_ref()
                .map(|s| s.instance_type.as_str())
                .unwrap_or_default();
            let cells = vec![
                name,
                id,
                or_dash(phase),
                pool_ready(p),
                or_dash(instance_type),
                pool_image(p),
                pool_update(p),
                pool_autoscaling(p),
                age(created, now),
            ];
            (row.cluster, cells)
        })
        .collect();
    render_by_cluster(
        &[
            "NAME",
            "ID",
            "PHASE",
            "READY",
            "INSTANCE-TYPE",
            "IMAGE",
            "UPDATE",
            "AUTOSCALING",
            "AGE",
        ],
        rows,
    )
}

/// A node, the name of its pool, and (when listing across clusters) its cluster's name.
#[derive(Debug, Clone, Copy)]
pub struct NodeRow<'a> {
    /// The node.
    pub node: &'a pb::Node,
    /// Its pool's name, when known.
    pub pool: Option<&'a str>,
    /// Its cluster's name (shown only when listing across clusters).
    pub cluster: Option<&'a str>,
}

/// The node's state, with `,cordoned` when cordoned in another state.
pub fn node_state(node: &pb::Node) -> String {
    match &node.status {
        Some(s) if s.cordoned && s.state != "cordoned" => format!("{},cordoned", or_dash(&s.state)),
        Some(s) => or_dash(&s.state),
        None => "-".into(),
    }
}

/// The pool column of a node: its pool's name, else the pool's short id.
pub fn node_pool(row: &NodeRow<'_>) -> String {
    match row.pool {
        Some(name) => or_dash(name),
        None => or_dash(&short_id(
            row.node
                .spec
                .as_ref()
                .map(|s| s.node_pool_id.as_str())
                .unwrap_or_default(),
        )),
    }
}

/// `accord get nodes`.
pub fn nodes(items: &[NodeRow<'_>], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|row| {
            let n = row.node;
            let (name, id, created) = meta(n.metadata.as_ref());
            let spec = n.spec.clone().unwrap_or_default();
            let status = n.status.clone().unwrap_or_default();
            let cells = vec![
                name,
                id,
                node_state(n),
                node_pool(row),
                or_dash(&spec.instance_type),
                or_dash(&status.failure_domain),
                or_dash(&status.internal_ip),
                or_dash(&spec.kubelet_version),
                age(created, now),
            ];
            (row.cluster, cells)
        })
        .collect();
    render_by_cluster(
        &[
            "NAME",
            "ID",
            "STATE",
            "POOL",
            "INSTANCE-TYPE",
            "FAILURE-DOMAIN",
            "IP",
            "VERSION",
            "AGE",
        ],
        rows,
    )
}

/// `accord get projects`.
pub fn projects(items: &[pb::Project], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|p| {
            let (name, id, created) = meta(p.metadata.as_ref());
            let quota = p.spec.as_ref().map(|s| s.gpu_quota).unwrap_or(0);
            let status = p.status.unwrap_or_default();
            vec![
                name,
                id,
                ratio(status.gpus_requested, quota),
                status.cluster_count.to_string(),
                status.member_count.to_string(),
                age(created, now),
            ]
        })
        .collect();
    render(&["NAME", "ID", "GPUS", "CLUSTERS", "MEMBERS", "AGE"], rows)
}

/// `accord get members`.
pub fn members(items: &[pb::Member], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|m| {
            vec![
                or_dash(&m.user),
                role_name(m.role).to_owned(),
                short_id(&m.user_id),
                age(m.added_at.as_ref(), now),
            ]
        })
        .collect();
    render(&["USER", "ROLE", "USER-ID", "AGE"], rows)
}

/// `accord get apikeys`.
pub fn api_keys(items: &[pb::ApiKey], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|k| {
            vec![
                or_dash(&k.name),
                short_id(&k.id),
                or_dash(&k.user),
                if k.revoked { "revoked" } else { "active" }.to_owned(),
                or_dash(&k.created_by),
                age(k.created_at.as_ref(), now),
            ]
        })
        .collect();
    render(&["NAME", "ID", "USER", "STATUS", "CREATED-BY", "AGE"], rows)
}

/// `accord catalog versions`.
pub fn versions(response: &pb::ListKubernetesVersionsResponse) -> String {
    let rows = response
        .versions
        .iter()
        .map(|v| {
            let default = if *v == response.default_version {
                "*"
            } else {
                ""
            };
            vec![v.clone(), default.to_owned()]
        })
        .collect();
    render(&["VERSION", "DEFAULT"], rows)
}

/// `accord catalog regions`.
pub fn regions(items: &[pb::Region]) -> String {
    let rows = items
        .iter()
        .map(|r| vec![r.name.clone(), r.failure_domains.join(",")])
        .collect();
    render(&["NAME", "FAILURE-DOMAINS"], rows)
}

/// `accord catalog instance-types`.
pub fn instance_types(items: &[pb::InstanceType]) -> String {
    let rows = items
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.gpu_count.to_string(),
                or_dash(&t.gpu_model),
                if t.infiniband { "yes" } else { "no" }.to_owned(),
                t.vcpus.to_string(),
                format!("{}Gi", t.memory_gib),
            ]
        })
        .collect();
    render(
        &["NAME", "GPUS", "GPU-MODEL", "INFINIBAND", "VCPUS", "MEMORY"],
        rows,
    )
}

/// Fields that identify an item: shown first in [`json_objects`] tables.
const IDENTITY_FIELDS: [&str; 4] = ["name", "node", "id", "cluster"];

/// A generic table from JSON objects (for replies whose shape the CLI does not own, like the
/// simulator's fleet list): one column per scalar field, identifying fields first, the others in
/// first-seen order.
pub fn json_objects(items: &[serde_json::Value]) -> String {
    let mut columns: Vec<String> = IDENTITY_FIELDS
        .iter()
        .filter(|field| {
            items.iter().any(|item| {
                item.get(**field)
                    .is_some_and(|v| !v.is_object() && !v.is_array())
            })
        })
        .map(|field| (*field).to_owned())
        .collect();
    for item in items {
        if let Some(object) = item.as_object() {
            for (key, value) in object {
                if !value.is_object() && !value.is_array() && !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    let rows = items
        .iter()
        .map(|item| {
            columns
                .iter()
                .map(|column| match item.get(column) {
                    None | Some(serde_json::Value::Null) => "-".to_owned(),
                    Some(serde_json::Value::String(s)) => or_dash(s),
                    Some(other) => other.to_string(),
                })
                .collect()
        })
        .collect();
    let headers: Vec<String> = columns
        .iter()
        .map(|c| c.to_ascii_uppercase().replace('_', "-"))
        .collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    render(&headers, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, NOW};

    #[test]
    fn cluster_table() {
        let mut upgrading = fixtures::cluster("train", "cl-01jexample00000000train001");
        if let Some(status) = upgrading.status.as_mut() {
            status.requested_version = "1.33".into();
            status.control_plane[2].state = "upgrading".into();
        }
        let text = clusters(
            &[
                fixtures::cluster("demo", "cl-01jexample000000000demo001"),
                upgrading,
            ],
            NOW,
        );
        let expected = "\
NAME    ID             PHASE     READY   VERSION        REGION        POOLS   AGE
demo    cl-…0demo001   running   3/3     1.32           eu-iceland1   2       5m
train   cl-…train001   running   2/3     1.32 -> 1.33   eu-iceland1   2       5m";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn pool_table_with_and_without_cluster_column() {
        let pool = fixtures::node_pool("gpu-a");
        let text = node_pools(
            &[PoolRow {
                pool: &pool,
                cluster: None,
            }],
            NOW,
        );
        let expected = "\
NAME    ID             PHASE   READY   INSTANCE-TYPE         IMAGE     UPDATE    AUTOSCALING   AGE
gpu-a   np-…00000001   ready   2/2     h100-80gb-sxm-ib.8x   2026.10   2026.11   1-4           2m";
        assert_eq!(text, expected, "\n{text}");
        let text = node_pools(
            &[PoolRow {
                pool: &pool,
                cluster: Some("demo"),
            }],
            NOW,
        );
        assert!(text.starts_with("CLUSTER   NAME"), "\n{text}");
        assert!(
            text.lines().nth(1).unwrap().starts_with("demo      gpu-a"),
            "\n{text}"
        );
    }

    #[test]
    fn node_table_marks_cordoned_nodes() {
        let mut node = fixtures::node("gpu-a-x1");
        if let Some(status) = node.status.as_mut() {
            status.cordoned = true;
        }
        let text = nodes(
            &[NodeRow {
                node: &node,
                pool: Some("gpu-a"),
                cluster: None,
            }],
            NOW,
        );
        let expected = "\
NAME       ID               STATE            POOL    INSTANCE-TYPE         FAILURE-DOMAIN   IP         VERSION   AGE
gpu-a-x1   node-…00000001   ready,cordoned   gpu-a   h100-80gb-sxm-ib.8x   fd-1             10.0.1.5   1.32      90s";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn iam_tables() {
        let text = members(
            &[fixtures::member("alice@example.com", pb::Role::Editor)],
            NOW,
        );
        assert_eq!(
            text,
            "USER                ROLE     USER-ID        AGE\n\
             alice@example.com   editor   us-…00000001   5m"
        );
        let mut key = fixtures::api_key("ci");
        key.revoked = true;
        let text = api_keys(&[key], NOW);
        assert!(text.lines().nth(1).unwrap().contains("revoked"), "\n{text}");
        let text = projects(&[fixtures::project("ml")], NOW);
        assert!(text.lines().nth(1).unwrap().contains("16/64"), "\n{text}");
    }

    #[test]
    fn empty_table_has_headers_only() {
        assert_eq!(clusters(&[], NOW).lines().count(), 1);
    }

    #[test]
    fn generic_json_table() {
        let items = vec![
            serde_json::json!({"node": "n1", "state": "ready", "gpus": 8, "extra": {"x": 1}}),
            serde_json::json!({"node": "n2", "state": "", "fault": "gpu-xid"}),
        ];
        let text = json_objects(&items);
        let expected = "\
NODE   GPUS   STATE   FAULT
n1     8      ready   -
n2     -      -       gpu-xid";
        assert_eq!(text, expected, "\n{text}");
    }
}
