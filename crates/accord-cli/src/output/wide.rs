//! `-o wide` tables of `accord get clusters|nodepools|nodes`: the usual columns with full ids,
//! plus endpoints, versions, images and labels; and `--no-headers` ([`without_header`]).

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use time::OffsetDateTime;

use super::tables::{
    NodeRow, PoolRow, cluster_version, control_plane_ready, node_pool, node_state,
    pool_autoscaling, pool_image, pool_ready, pool_update, render, render_by_cluster,
};
use super::{age, or_dash};

/// `key=value` pairs, sorted and comma-separated; `<none>` without labels (as kubectl).
fn labels(labels: &HashMap<String, String>) -> String {
    if labels.is_empty() {
        return "<none>".to_owned();
    }
    super::label_pairs(labels).join(",")
}

/// A rendered table without its first (header) line.
pub fn without_header(table: &str) -> String {
    table
        .split_once('\n')
        .map_or("", |(_, rows)| rows)
        .to_owned()
}

fn meta(
    meta: Option<&pb::ObjectMeta>,
) -> (String, String, String, Option<&prost_types::Timestamp>) {
    match meta {
        Some(m) => (
            or_dash(&m.name),
            or_dash(&m.id),
            labels(&m.labels),
            m.created_at.as_ref(),
        ),
        None => ("-".into(), "-".into(), "<none>".into(), None),
    }
}

/// `accord get clusters -o wide`.
pub fn clusters(items: &[pb::Cluster], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|c| {
            let (name, id, labels, created) = meta(c.metadata.as_ref());
            let status = c.status.clone().unwrap_or_default();
            let spec = c.spec.clone().unwrap_or_default();
            let cni = spec.cni.unwrap_or_default();
            let datapath = super::datapath(&cni, "+");
            vec![
                name,
                id,
                or_dash(&status.phase),
                control_plane_ready(c),
                cluster_version(c),
                or_dash(&spec.region),
                status.node_pool_count.to_string(),
                status.node_capacity.to_string(),
                or_dash(&status.api_endpoint),
                datapath,
                labels,
                age(created, now),
            ]
        })
        .collect();
    render(
        &[
            "NAME", "ID", "PHASE", "READY", "VERSION", "REGION", "POOLS", "CAPACITY", "ENDPOINT",
            "CNI", "LABELS", "AGE",
        ],
        rows,
    )
}

/// `accord get nodepools -o wide`.
pub fn node_pools(items: &[PoolRow<'_>], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|row| {
            let p = row.pool;
            let (name, id, labels, created) = meta(p.metadata.as_ref());
            let spec = p.spec.clone().unwrap_or_default();
            let status = p.status.clone().unwrap_or_default();
            let cells = vec![
                name,
                id,
                or_dash(&status.phase),
                pool_ready(p),
                or_dash(&spec.instance_type),
                pool_image(p),
                pool_update(p),
                pool_autoscaling(p),
                or_dash(&status.kubelet_version),
                or_dash(&status.driver_version),
                or_dash(&spec.driver_branch),
                or_dash(&spec.image_channel),
                labels,
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
            "KUBELET",
            "DRIVER",
            "BRANCH",
            "CHANNEL",
            "LABELS",
            "AGE",
        ],
        rows,
    )
}

/// `accord get nodes -o wide`.
pub fn nodes(items: &[NodeRow<'_>], now: OffsetDateTime) -> String {
    let rows = items
        .iter()
        .map(|row| {
            let n = row.node;
            let (name, id, labels, created) = meta(n.metadata.as_ref());
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
                or_dash(&spec.image_version),
                or_dash(&status.instance_id),
                or_dash(&status.cordoned_by),
                labels,
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
            "IMAGE",
            "INSTANCE-ID",
            "CORDONED-BY",
            "LABELS",
            "AGE",
        ],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fixtures;

    #[test]
    fn wide_clusters_show_full_ids_endpoints_and_labels() {
        let mut cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        cluster.metadata.as_mut().unwrap().labels.extend([
            ("team".to_owned(), "ml".to_owned()),
            ("a".to_owned(), "b".to_owned()),
        ]);
        let table = clusters(&[cluster], datetime!(2026-11-24 10:00:00 UTC));
        let mut lines = table.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("NAME"), "{table}");
        assert!(
            header.contains("ENDPOINT") && header.contains("LABELS"),
            "{table}"
        );
        let row = lines.next().unwrap();
        assert!(row.contains("cl-01jexample000000000demo001"), "{table}");
        assert!(row.contains("a=b,team=ml"), "{table}");
        assert!(row.contains("https://"), "{table}");
        assert_eq!(without_header(&table), row);
    }

    #[test]
    fn no_labels_and_no_rows() {
        assert_eq!(labels(&HashMap::new()), "<none>");
        assert_eq!(without_header("NAME   AGE"), "");
    }
}
