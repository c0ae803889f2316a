//! What the infrastructure reports: replica and node state changes, applied to the store.
//!
//! Every function here is idempotent: the same event applied twice changes nothing the second
//! time (drivers may repeat themselves after a restart). Events about resources that no longer
//! exist are ignored.

use accord_core::{
    DomainError,
    cluster::{
        COND_CONTROL_PLANE_HEALTHY, COND_CONTROL_PLANE_READY, COND_FABRIC_HEALTHY, COND_READY,
        COND_UPGRADING, Cluster, ClusterEvent, ClusterPhase, ComponentImpactStatus, Replica,
    },
    infra::{CONTROL_PLANE_REPLICAS, ImpactKind, ImpactState, InfraEvent, ReplicaState},
    meta::ConditionStatus,
    node::{NodeEvent, NodeState},
};
use accord_store::Expect;
use time::OffsetDateTime;

use crate::{change::Change, trees::*};

/// Applies one infrastructure event. What to reconcile next follows from the change's events
/// (see `crate::controller::kicks_of`).
pub fn on_infra_event(
    reader: &Reader,
    now: OffsetDateTime,
    ev: &InfraEvent,
) -> Result<Change, DomainError> {
    match ev {
        InfraEvent::ReplicaChanged {
            cluster,
            replica,
            failure_domain,
            state,
            version,
        } => {
            let Some(c) = reader.get::<Cluster>(CLUSTERS, &cluster.to_string())? else {
                return Ok(Change::none());
            };
            let mut next = c.clone();
            let mut ch = Change::in_project(c.metadata.project);
            match next
                .status
                .control_plane
                .iter_mut()
                .find(|r| &r.name == replica)
            {
                Some(r) => {
                    let was = r.state;
                    r.state = *state;
                    r.version = *version;
                    r.failure_domain.clone_from(failure_domain);
                    match *state {
                        ReplicaState::Down if r.down_since.is_none() => r.down_since = Some(now),
                        ReplicaState::Running => {
                            if let Some(since) = r.down_since.take() {
                                // Down → Provisioning → Running is the provider's rebuild;
                                // Down → Running came back by itself.
                                ch.event(ClusterEvent::ReplicaRecovered {
                                    cluster: *cluster,
                                    project: c.metadata.project,
                                    replica: replica.clone(),
                                    failure_domain: failure_domain.clone(),
                                    down_ms: u64::try_from((now - since).whole_milliseconds())
                                        .unwrap_or(0),
                                    replaced: was == ReplicaState::Provisioning,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                None => next.status.control_plane.push(Replica {
                    name: replica.clone(),
                    failure_domain: failure_domain.clone(),
                    state: *state,
                    version: *version,
                    down_since: (*state == ReplicaState::Down).then_some(now),
                }),
            }
            next.status
                .control_plane
                .sort_by(|a, b| a.name.cmp(&b.name));
            refresh_cluster_status(&mut next, now, &mut ch);
            if next != c {
                let expect = next.metadata.resource_version;
                next.metadata.resource_version += 1;
                next.metadata.updated_at = now;
                ch.put(
                    CLUSTERS,
                    &cluster.to_string(),
                    &next,
                    Expect::Version(expect),
                )?;
            }
            Ok(ch)
        }
        InfraEvent::ControlPlaneDeleted { cluster } => {
            let Some(c) = reader.get::<Cluster>(CLUSTERS, &cluster.to_string())? else {
                return Ok(Change::none());
            };
            if c.status.phase != ClusterPhase::Deleting {
                return Ok(Change::none());
            }
            let mut ch = Change::in_project(c.metadata.project);
            ch.delete(CLUSTERS, &cluster.to_string(), Expect::Present)
                .delete(
                    NAMES,
                    &cluster_name_key(c.metadata.project, &c.metadata.name),
                    Expect::Any,
                )
                .delete(CLUSTER_CAS, &cluster.to_string(), Expect::Any);
            ch.event(ClusterEvent::Deleted {
                cluster: *cluster,
                project: c.metadata.project,
                name: c.metadata.name.clone(),
            });
            Ok(ch)
        }
        InfraEvent::NodeProvisioned {
            node,
            instance_id,
            failure_domain,
            internal_ip,
        } => update_node(reader, now, *node, |n, _| {
            n.status.instance_id.clone_from(instance_id);
            n.status.failure_domain.clone_from(failure_domain);
            n.status.internal_ip.clone_from(internal_ip);
        }),
        InfraEvent::NodeReadiness {
            node,
            ready,
            reason,
        } => update_node(reader, now, *node, |n, ch| {
            let gen_ = n.metadata.generation;
            match (n.status.state, *ready) {
                (NodeState::Provisioning | NodeState::NotReady, true) => {
                    n.status.state = NodeState::Ready;
                    if n.status.ready_at.is_none() {
                        n.status.ready_at = Some(now);
                    }
                    n.status.conditions.set(
                        "Ready",
                        ConditionStatus::True,
                        "KubeletReady",
                        "kubelet is posting ready status",
                        now,
                        gen_,
                    );
                    ch.event(NodeEvent::Ready {
                        node: n.metadata.id,
                        cluster: n.spec.cluster,
                        pool: n.spec.pool,
                        failure_domain: n.status.failure_domain.clone(),
                        internal_ip: n.status.internal_ip.clone(),
                    });
                }
                (NodeState::Ready, false) => {
                    n.status.state = NodeState::NotReady;
                    n.status.conditions.set(
                        "Ready",
                        ConditionStatus::False,
                        reason,
                        format!("node reported not ready: {reason}"),
                        now,
                        gen_,
                    );
                    ch.event(NodeEvent::NotReady {
                        node: n.metadata.id,
                        cluster: n.spec.cluster,
                        pool: n.spec.pool,
                        reason: reason.clone(),
                    });
                }
                _ => {}
            }
        }),
        InfraEvent::NodeDrained { node } => update_node(reader, now, *node, |n, ch| {
            if n.status.state == NodeState::Draining {
                n.status.state = NodeState::Terminating;
                ch.event(NodeEvent::Drained {
                    node: n.metadata.id,
                    cluster: n.spec.cluster,
                    pool: n.spec.pool,
                });
            }
        }),
        InfraEvent::NodeFailed { node, reason } => update_node(reader, now, *node, |n, ch| {
            if n.status.state == NodeState::Provisioning {
                n.status.state = NodeState::Failed;
                let gen_ = n.metadata.generation;
                n.status.conditions.set(
                    "Ready",
                    ConditionStatus::False,
                    "ProvisioningFailed",
                    reason.clone(),
                    now,
                    gen_,
                );
                ch.event(NodeEvent::Failed {
                    node: n.metadata.id,
                    cluster: n.spec.cluster,
                    reason: reason.clone(),
                });
            }
        }),
        InfraEvent::NodeTerminated { node } => {
            let Some(n) = reader.node(*node)? else {
                return Ok(Change::none());
            };
            let mut ch = Change::in_project(n.metadata.project);
            ch.delete(
                NODES,
                &node_key(n.spec.pool, n.metadata.id),
                Expect::Present,
            )
            .delete(NODE_INDEX, &node.to_string(), Expect::Any);
            ch.event(NodeEvent::Terminated {
                node: *node,
                cluster: n.spec.cluster,
                pool: n.spec.pool,
                name: n.metadata.name.clone(),
            });
            Ok(ch)
        }
        InfraEvent::ComponentImpact {
            cluster,
            component,
            impact,
            state,
            detail,
        } => {
            let Some(c) = reader.get::<Cluster>(CLUSTERS, &cluster.to_string())? else {
                return Ok(Change::none());
            };
            let mut next = c.clone();
            let mut ch = Change::in_project(c.metadata.project);
            if !apply_impact(&mut next, component, *impact, *state, detail, now, &mut ch) {
                return Ok(ch);
            }
            let expect = next.metadata.resource_version;
            next.metadata.resource_version += 1;
            next.metadata.updated_at = now;
            ch.put(
                CLUSTERS,
                &cluster.to_string(),
                &next,
                Expect::Version(expect),
            )?;
            Ok(ch)
        }
        // Repairs belong to remediations (`crate::autoclusters`), which the controller
        // routes them to.
        InfraEvent::RepairProgress { .. } | InfraEvent::RepairFinished { .. } => Ok(Change::none()),
    }
}

/// Applies one component impact report to a cluster's status: the impact list, its
/// condition (`ControlPlaneHealthy` or `FabricHealthy`: False while an impact there is
/// unmitigated) and a `cluster.component-impact` event. False when nothing changed (a repeated
/// report).
pub fn apply_impact(
    c: &mut Cluster,
    component: &str,
    impact: ImpactKind,
    state: ImpactState,
    detail: &str,
    now: OffsetDateTime,
    ch: &mut Change,
) -> bool {
    let pos = c
        .status
        .impacts
        .iter()
        .position(|i| i.component == component && i.impact == impact);
    match (pos, state) {
        (None, ImpactState::Cleared) => return false,
        (Some(i), s) if c.status.impacts[i].state == s => return false,
        (Some(i), ImpactState::Cleared) => {
            c.status.impacts.remove(i);
        }
        (Some(i), s) => {
            let entry = &mut c.status.impacts[i];
            entry.state = s;
            entry.detail = detail.to_owned();
            if s == ImpactState::Mitigated {
                entry.mitigated_at = Some(now);
            }
        }
        (None, s) => c.status.impacts.push(ComponentImpactStatus {
            component: component.to_owned(),
            impact,
            state: s,
            mitigation: impact.mitigation(),
            since: now,
            mitigated_at: (s == ImpactState::Mitigated).then_some(now),
            detail: detail.to_owned(),
        }),
    }
    ch.event(ClusterEvent::ComponentImpact {
        cluster: c.metadata.id,
        project: c.metadata.project,
        component: component.to_owned(),
        impact,
        state,
        mitigation: impact.mitigation(),
        detail: detail.to_owned(),
    });
    let (kind, area) = if impact.is_control_plane() {
        (COND_CONTROL_PLANE_HEALTHY, "control plane")
    } else {
        (COND_FABRIC_HEALTHY, "fabric")
    };
    let here: Vec<&ComponentImpactStatus> = c
        .status
        .impacts
        .iter()
        .filter(|i| i.impact.is_control_plane() == impact.is_control_plane())
        .collect();
    let degrading: Vec<String> = here
        .iter()
        .filter(|i| i.state == ImpactState::Degrading)
        .map(|i| format!("{} ({})", i.component, i.impact.as_str()))
        .collect();
    let mitigated: Vec<String> = here
        .iter()
        .filter(|i| i.state == ImpactState::Mitigated)
        .map(|i| format!("{} ({})", i.component, i.mitigation.as_str()))
        .collect();
    let (status, reason, message) = if !degrading.is_empty() {
        (
            ConditionStatus::False,
            "CustomerComponentDegrading",
            format!(
                "customer component(s) degrade the {area}: {}",
                degrading.join(", ")
            ),
        )
    } else if !mitigated.is_empty() {
        (
            ConditionStatus::True,
            "Mitigated",
            format!(
                "baseline restored by the provider while the customer fixes: {}",
                mitigated.join(", ")
            ),
        )
    } else {
        (
            ConditionStatus::True,
            "Healthy",
            format!("no customer component degrades the {area}"),
        )
    };
    let gen_ = c.metadata.generation;
    if c.status
        .conditions
        .set(kind, status, reason, message, now, gen_)
        && let Some(cond) = c.status.conditions.get(kind)
    {
        ch.event(ClusterEvent::ConditionChanged {
            cluster: c.metadata.id,
            project: c.metadata.project,
            condition: cond.clone(),
        });
    }
    true
}

fn update_node(
    reader: &Reader,
    now: OffsetDateTime,
    id: accord_core::ids::NodeId,
    f: impl FnOnce(&mut accord_core::node::Node, &mut Change),
) -> Result<Change, DomainError> {
    let Some(n) = reader.node(id)? else {
        return Ok(Change::none());
    };
    let mut next = n.clone();
    let mut ch = Change::in_project(n.metadata.project);
    f(&mut next, &mut ch);
    if next != n {
        let expect = next.metadata.touch(now, false);
        ch.put(
            NODES,
            &node_key(next.spec.pool, id),
            &next,
            Expect::Version(expect),
        )?;
    }
    Ok(ch)
}

/// Recomputes phase, versions and conditions of a cluster from its replicas, adding events for
/// condition changes and a finished upgrade.
pub fn refresh_cluster_status(c: &mut Cluster, now: OffsetDateTime, ch: &mut Change) {
    let replicas = &c.status.control_plane;
    let running = replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Running)
        .count();
    let down: Vec<&str> = replicas
        .iter()
        .filter(|r| r.state == ReplicaState::Down)
        .map(|r| r.name.as_str())
        .collect();
    let cp_ready = replicas.len() >= CONTROL_PLANE_REPLICAS && running == replicas.len();
    let all_same = replicas
        .first()
        .map(|f| f.version)
        .filter(|v| replicas.iter().all(|r| r.version == *v));
    let gen_ = c.metadata.generation;
    let id = c.metadata.id;
    let project = c.metadata.project;

    if c.status.phase != ClusterPhase::Deleting {
        if cp_ready {
            if let Some(v) = all_same {
                if c.status.phase == ClusterPhase::Upgrading && v == c.spec.kubernetes_version {
                    c.status.requested_version = None;
                    c.status.conditions.set(
                        COND_UPGRADING,
                        ConditionStatus::False,
                        "UpgradeComplete",
                        format!("every replica runs {v}"),
                        now,
                        gen_,
                    );
                    ch.event(ClusterEvent::Upgraded {
                        cluster: id,
                        version: v,
                    });
                }
                if c.status.current_version != Some(v)
                    && (c.status.phase != ClusterPhase::Upgrading || v == c.spec.kubernetes_version)
                {
                    c.status.current_version = Some(v);
                }
            }
            if c.status.phase != ClusterPhase::Upgrading || c.status.requested_version.is_none() {
                c.status.phase = ClusterPhase::Running;
            }
        } else if !down.is_empty()
            && c.status.phase != ClusterPhase::Upgrading
            && c.status.phase != ClusterPhase::Provisioning
        {
            c.status.phase = ClusterPhase::Degraded;
        } else if c.status.current_version.is_none() && all_same.is_some() && running > 0 {
            c.status.current_version = all_same;
        }
    }
    let (status, reason, message) = if cp_ready {
        (
            ConditionStatus::True,
            "AllReplicasRunning",
            format!("{} replicas running", replicas.len()),
        )
    } else if !down.is_empty() {
        (
            ConditionStatus::False,
            "ReplicaDown",
            format!("replica(s) down: {}", down.join(", ")),
        )
    } else if c.status.phase == ClusterPhase::Upgrading {
        (
            ConditionStatus::False,
            "Upgrading",
            "a replica is being replaced".to_owned(),
        )
    } else {
        (
            ConditionStatus::False,
            "Provisioning",
            format!("{running}/{CONTROL_PLANE_REPLICAS} replicas running"),
        )
    };
    if c.status
        .conditions
        .set(COND_CONTROL_PLANE_READY, status, reason, message, now, gen_)
        && let Some(cond) = c.status.conditions.get(COND_CONTROL_PLANE_READY)
    {
        ch.event(ClusterEvent::ConditionChanged {
            cluster: id,
            project,
            condition: cond.clone(),
        });
    }
    let ready = cp_ready && c.status.phase != ClusterPhase::Deleting;
    let (rs, rr, rm) = if ready {
        (
            ConditionStatus::True,
            "ControlPlaneReady",
            "the API server is available".to_owned(),
        )
    } else if c.status.phase == ClusterPhase::Deleting {
        (
            ConditionStatus::False,
            "Deleting",
            "the cluster is being deleted".to_owned(),
        )
    } else {
        (
            ConditionStatus::False,
            "ControlPlaneNotReady",
            "waiting for every control-plane replica".to_owned(),
        )
    };
    if c.status.conditions.set(COND_READY, rs, rr, rm, now, gen_)
        && let Some(cond) = c.status.conditions.get(COND_READY)
    {
        ch.event(ClusterEvent::ConditionChanged {
            cluster: id,
            project,
            condition: cond.clone(),
        });
    }
    c.status.observed_generation = gen_;
}
