//! What the remediation policy is told about a finding's node, pool and cluster
//! ([`RemediationContext`]), computed from the provisioner's own state: its nodes and the
//! cluster's remediations. Pure: the caller reads the state, under the write lock, so the
//! counts agree with the commit that follows.
//!
//! - *unhealthy*: a node that is not ready, or is being remediated (a running remediation;
//!   the finding's own node always counts). A held remediation does not count by itself —
//!   its node counts if it is not ready — or held remediations would keep the breaker open
//!   for each other forever;
//! - *in flight*: remediations of the pool that are running;
//! - *the same XID on the same GPU in 24 h*: earlier remediations (one per finding) of the node
//!   with the same kind, GPU and XID, plus this one;
//! - *remediations in 7 days*: earlier remediations of the node that acted on it;
//! - *allowed*: the node's pool's opt-in when it sets one, else the cluster's.

use accord_core::{
    autoclusters::{Remediation, RemediationState, touches_node},
    cluster::Cluster,
    ids::NodeId,
    node::{Node, NodeState},
    remediation::{Finding, FindingKind, RemediationContext},
};
use time::{Duration, OffsetDateTime};

/// What the context is computed from.
pub struct Facts<'a> {
    /// The node's cluster.
    pub cluster: &'a Cluster,
    /// The node.
    pub node: &'a Node,
    /// The node's pool's override of the cluster's opt-in.
    pub pool_opt_in: Option<bool>,
    /// Every node of the cluster (all pools).
    pub cluster_nodes: &'a [Node],
    /// The cluster's remediations.
    pub remediations: &'a [Remediation],
    /// Now.
    pub now: OffsetDateTime,
}

/// A node that counts towards its pool's and cluster's size.
fn counts(n: &Node) -> bool {
    matches!(
        n.status.state,
        NodeState::Provisioning | NodeState::Ready | NodeState::NotReady
    ) && n.status.retiring.is_none()
}

fn saturating(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The context of `finding` on `facts.node`.
pub fn context(facts: &Facts<'_>, finding: &Finding) -> RemediationContext {
    let node = facts.node;
    let settings = &facts.cluster.spec.autoclusters;
    let open: Vec<NodeId> = facts
        .remediations
        .iter()
        .filter(|r| r.status.state == RemediationState::Running)
        .map(|r| r.spec.node)
        .collect();
    let unhealthy = |n: &Node| {
        n.metadata.id == node.metadata.id
            || n.status.state == NodeState::NotReady
            || open.contains(&n.metadata.id)
    };
    let pool_nodes: Vec<&Node> = facts
        .cluster_nodes
        .iter()
        .filter(|n| n.spec.pool == node.spec.pool && counts(n))
        .collect();
    let cluster_nodes: Vec<&Node> = facts.cluster_nodes.iter().filter(|n| counts(n)).collect();

    let day_ago = facts.now - Duration::hours(24);
    let week_ago = facts.now - Duration::days(7);
    let of_node = facts
        .remediations
        .iter()
        .filter(|r| r.spec.node == node.metadata.id);
    let same_fault = of_node
        .clone()
        .filter(|r| r.metadata.created_at >= day_ago && same_gpu_fault(&r.spec.finding, finding))
        .count();
    let acted = of_node
        .filter(|r| {
            r.metadata.created_at >= week_ago
                && touches_node(r.status.action)
                && matches!(
                    r.status.state,
                    RemediationState::Running
                        | RemediationState::Succeeded
                        | RemediationState::Failed
                )
        })
        .count();
    let in_flight = facts
        .remediations
        .iter()
        .filter(|r| r.spec.pool == node.spec.pool && r.status.state == RemediationState::Running)
        .count();

    RemediationContext {
        remediation_allowed: facts.pool_opt_in.unwrap_or(settings.remediation_enabled),
        xid_count_24h: saturating(same_fault).saturating_add(1),
        remediations_7d: saturating(acted),
        unhealthy_in_pool: saturating(pool_nodes.iter().filter(|n| unhealthy(n)).count()).max(1),
        pool_size: saturating(pool_nodes.len()).max(1),
        // MIG partitioning is not modelled yet: every GPU is whole.
        mig: false,
        in_flight_in_pool: saturating(in_flight),
        max_in_flight_per_pool: settings.max_in_flight_per_pool,
        unhealthy_in_cluster: saturating(cluster_nodes.iter().filter(|n| unhealthy(n)).count())
            .max(1),
        cluster_size: saturating(cluster_nodes.len()).max(1),
        max_unhealthy_percent: settings.max_unhealthy_percent,
        in_maintenance_window: settings.maintenance.open_at(facts.now),
    }
}

/// Whether `earlier` reports the same fault as `now` on the same GPU: the same kind and GPU,
/// and for XIDs the same code. Kinds without a GPU never repeat this way.
fn same_gpu_fault(earlier: &Finding, now: &Finding) -> bool {
    earlier.kind == now.kind
        && now.gpu.is_some()
        && earlier.gpu == now.gpu
        && (now.kind != FindingKind::GpuXid || earlier.xid == now.xid)
}
