//! Node pools: creation, updates, scaling, cycling and deletion.
//!
//! Rules: the instance type and cluster never change; `min ≤ count ≤ max` with autoscaling;
//! `max_surge` and `max_unavailable` are not both 0; the project's GPU quota covers every pool
//! (and a cycle's surge); the cluster's address plan must have room for every node; no two
//! taints share a key and an effect (Kubernetes refuses such a node). Nodes themselves are
//! created and removed by the reconciler, never here.

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    cluster::{Cluster, ClusterPhase},
    error::Violations,
    ids::{NodePoolId, ProjectId},
    meta::{Conditions, Metadata},
    nodepool::{
        Autoscaling, CycleState, NodePool, NodePoolEvent, NodePoolPhase, NodePoolSpec,
        NodePoolStatus, RollingUpdate, Taint,
    },
    validation::{dns_label, quote, taint},
};
use accord_store::Expect;

use super::{Ctx, check_labels};
use crate::{change::Change, trees::*};

/// Largest pool.
pub const MAX_POOL_SIZE: u32 = 1000;

/// A pool as sent by the customer.
#[derive(Debug, Clone, Default)]
pub struct PoolInput {
    pub instance_type: String,
    pub count: u32,
    pub autoscaling: Option<Autoscaling>,
    pub node_labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    pub image_version: String,
    pub rolling_update: Option<RollingUpdate>,
    /// The pool's AutoClusters opt-in (`None`: the cluster's).
    pub remediation_enabled: Option<bool>,
}

fn check_bounds(v: &mut Violations, count: u32, a: Option<Autoscaling>) {
    if count > MAX_POOL_SIZE {
        v.add("spec.count", format!("must be at most {MAX_POOL_SIZE}"));
    }
    if let Some(a) = a {
        if a.max_count == 0 {
            v.add("spec.autoscaling.max_count", "must be at least 1");
        }
        if a.min_count > a.max_count {
            v.add(
                "spec.autoscaling.min_count",
                format!("min {} is above max {}", a.min_count, a.max_count),
            );
        } else if count < a.min_count || count > a.max_count {
            v.add(
                "spec.count",
                format!(
                    "{count} is outside the autoscaling bounds {}..{}",
                    a.min_count, a.max_count
                ),
            );
        }
        if a.max_count > MAX_POOL_SIZE {
            v.add(
                "spec.autoscaling.max_count",
                format!("must be at most {MAX_POOL_SIZE}"),
            );
        }
    }
}

fn check_rolling(v: &mut Violations, r: RollingUpdate) {
    if r.max_surge == 0 && r.max_unavailable == 0 {
        v.add(
            "spec.rolling_update",
            "max_surge and max_unavailable cannot both be 0: a cycle could never replace a node",
        );
    }
    if r.max_surge > 100 || r.max_unavailable > 100 {
        v.add(
            "spec.rolling_update",
            "max_surge and max_unavailable must be at most 100",
        );
    }
}

fn check_taints(v: &mut Violations, taints: &[Taint]) {
    let mut seen = std::collections::HashMap::new();
    for (i, t) in taints.iter().enumerate() {
        if let Err(e) = taint(&t.key, &t.value, &t.effect) {
            v.add(format!("spec.taints[{i}]"), e);
        } else if let Some(first) = seen.insert((t.key.as_str(), t.effect.as_str()), i) {
            v.add(
                format!("spec.taints[{i}]"),
                format!(
                    "repeats the key {} and effect {} of spec.taints[{first}]; a node has one taint per key and effect",
                    quote(&t.key),
                    t.effect
                ),
            );
        }
    }
}

/// Quota: GPUs of every other pool of the project plus `nodes` of this pool's type.
fn check_quota(
    ctx: &Ctx<'_>,
    project: ProjectId,
    pool: Option<NodePoolId>,
    instance_type: &str,
    nodes: u32,
) -> Result<(), DomainError> {
    let gpus = ctx
        .catalog
        .instance_type(instance_type)
        .map_or(0, |t| t.gpu_count);
    if gpus == 0 {
        return Ok(());
    }
    let quota = ctx.reader.project(project)?.spec.gpu_quota;
    let others = ctx.reader.gpus_requested(project, ctx.catalog, pool)?;
    let wanted = nodes.saturating_mul(gpus);
    if others.saturating_add(wanted) > quota {
        return Err(DomainError::ResourceExhausted(format!(
            "GPU quota exceeded: {wanted} GPUs requested ({nodes} × {gpus}), {others} already held, quota {quota}; ask the provider for more"
        )));
    }
    Ok(())
}

/// Address plan: every pool's nodes of the cluster plus `nodes` must fit.
fn check_capacity(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    pool: Option<NodePoolId>,
    nodes: u32,
) -> Result<(), DomainError> {
    let others: u32 = ctx
        .reader
        .pools(cluster.metadata.id)?
        .iter()
        .filter(|p| Some(p.metadata.id) != pool)
        .map(|p| p.spec.count)
        .sum();
    let cap = cluster.spec.network.node_capacity();
    if others.saturating_add(nodes) > cap {
        return Err(DomainError::precondition(format!(
            "cluster {}'s address plan (pod CIDR {} with /{} per node, VPC subnet {}) has room for {cap} nodes; {others} are used and {nodes} more were asked for",
            cluster.metadata.name,
            cluster.spec.network.pod_cidr,
            cluster.spec.network.node_cidr_mask_size,
            cluster.spec.network.vpc_subnet
        )));
    }
    Ok(())
}

fn live(cluster: &Cluster) -> Result<(), DomainError> {
    if cluster.status.phase == ClusterPhase::Deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted",
            cluster.metadata.name
        )));
    }
    Ok(())
}

fn not_deleting(pool: &NodePool) -> Result<(), DomainError> {
    if pool.status.phase == NodePoolPhase::Deleting {
        return Err(DomainError::precondition(format!(
            "node pool {} is being deleted",
            pool.metadata.name
        )));
    }
    Ok(())
}

/// Creates a pool; the reconciler then provisions its nodes.
pub fn create_pool(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    name: &str,
    labels: BTreeMap<String, String>,
    input: &PoolInput,
) -> Result<(Change, NodePool), DomainError> {
    live(cluster)?;
    let mut v = Violations::new();
    v.check(
        "name",
        dns_label(name).and_then(|()| {
            if name.len() > 40 {
                Err("must be at most 40 characters".to_string())
            } else {
                Ok(())
            }
        }),
    );
    check_labels(&mut v, "labels", &labels);
    check_labels(&mut v, "spec.node_labels", &input.node_labels);
    check_pool_label(&mut v, &input.node_labels, name);
    check_taints(&mut v, &input.taints);
    if ctx.catalog.instance_type(&input.instance_type).is_none() {
        let names: Vec<_> = ctx
            .catalog
            .instance_types
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        v.add(
            "spec.instance_type",
            format!(
                "unknown instance type {}; choose one of {}",
                quote(&input.instance_type),
                names.join(", ")
            ),
        );
    }
    check_bounds(&mut v, input.count, input.autoscaling);
    let rolling = input.rolling_update.unwrap_or_default();
    check_rolling(&mut v, rolling);
    let image = if input.image_version.is_empty() {
        ctx.catalog.latest_image().map(|i| i.version.clone())
    } else if ctx.catalog.image(&input.image_version).is_some() {
        Some(input.image_version.clone())
    } else {
        v.add(
            "spec.image_version",
            format!("unknown image {}", quote(&input.image_version)),
        );
        None
    };
    v.into_result()?;
    let image =
        image.ok_or_else(|| DomainError::Unavailable("no base image is published yet".into()))?;
    if ctx
        .reader
        .name_taken(&pool_name_key(cluster.metadata.id, name))?
    {
        return Err(DomainError::AlreadyExists {
            kind: "node pool",
            name: name.to_owned(),
        });
    }
    check_quota(
        ctx,
        cluster.metadata.project,
        None,
        &input.instance_type,
        input.count,
    )?;
    check_capacity(ctx, cluster, None, input.count)?;
    let id = NodePoolId::generate();
    let mut metadata = Metadata::new(id, name, cluster.metadata.project, ctx.now);
    metadata.labels = labels;
    let pool = NodePool {
        metadata,
        spec: NodePoolSpec {
            cluster: cluster.metadata.id,
            instance_type: input.instance_type.clone(),
            count: input.count,
            autoscaling: input.autoscaling,
            node_labels: with_pool_label(&input.node_labels, name),
            taints: input.taints.clone(),
            image_version: image,
            kubelet_version: cluster
                .status
                .current_version
                .unwrap_or(cluster.spec.kubernetes_version),
            rolling_update: rolling,
            remediation_enabled: input.remediation_enabled,
        },
        status: NodePoolStatus {
            phase: NodePoolPhase::Provisioning,
            ready_nodes: 0,
            total_nodes: 0,
            cycle: None,
            observed_generation: 1,
            conditions: Conditions::default(),
        },
    };
    let it = ctx.catalog.instance_type(&input.instance_type);
    let mut ch = Change::new();
    ch.put(
        NODEPOOLS,
        &pool_key(cluster.metadata.id, id),
        &pool,
        Expect::Absent,
    )?
    .put(
        NAMES,
        &pool_name_key(cluster.metadata.id, name),
        &id.to_string(),
        Expect::Absent,
    )?;
    ch.event(NodePoolEvent::Created {
        pool: Box::new(pool.clone()),
        gpus_per_node: it.map_or(0, |t| t.gpu_count),
        infiniband: it.is_some_and(|t| t.infiniband),
        gpu_model: it.map(|t| t.gpu_model.clone()).unwrap_or_default(),
    });
    Ok((ch, pool))
}

/// Node label every node of a pool carries (its value is the pool's name); add-ons select
/// pool nodes with it (the Network Operator's per-pool policies, GPU tolerations …).
pub const POOL_LABEL: &str = "accord.dev/pool";

/// The pool label is the platform's: a customer may repeat it with the pool's name, nothing else.
fn check_pool_label(v: &mut Violations, labels: &BTreeMap<String, String>, pool: &str) {
    if let Some(value) = labels.get(POOL_LABEL)
        && value != pool
    {
        v.add(
            format!("spec.node_labels.{POOL_LABEL}"),
            format!(
                "is set by the platform to the pool's name ({}); remove it or use that value",
                quote(pool)
            ),
        );
    }
}

fn with_pool_label(labels: &BTreeMap<String, String>, pool: &str) -> BTreeMap<String, String> {
    let mut out = labels.clone();
    out.insert(POOL_LABEL.to_owned(), pool.to_owned());
    out
}

/// Paths of `UpdateNodePool.update_mask`.
pub const MUTABLE_PATHS: [&str; 6] = [
    "labels",
    "spec.node_labels",
    "spec.taints",
    "spec.autoscaling",
    "spec.rolling_update",
    "spec.remediation_enabled",
];

/// Applies the fields named in `mask`.
pub fn update_pool(
    ctx: &Ctx<'_>,
    pool: &NodePool,
    rv: u64,
    mask: &[String],
    labels: BTreeMap<String, String>,
    input: &PoolInput,
) -> Result<(Change, NodePool), DomainError> {
    pool.metadata.check_version(rv)?;
    not_deleting(pool)?;
    if mask.is_empty() {
        return Err(DomainError::invalid(
            "update_mask",
            format!("name the fields to change: {}", MUTABLE_PATHS.join(", ")),
        ));
    }
    let mut v = Violations::new();
    let mut p = pool.clone();
    let mut spec_changed = false;
    for path in mask {
        match path.as_str() {
            "labels" => {
                check_labels(&mut v, "labels", &labels);
                p.metadata.labels = labels.clone();
            }
            "spec.node_labels" => {
                check_labels(&mut v, "spec.node_labels", &input.node_labels);
                check_pool_label(&mut v, &input.node_labels, &p.metadata.name);
                p.spec.node_labels = with_pool_label(&input.node_labels, &p.metadata.name);
                spec_changed = true;
            }
            "spec.taints" => {
                check_taints(&mut v, &input.taints);
                p.spec.taints = input.taints.clone();
                spec_changed = true;
            }
            "spec.autoscaling" => {
                p.spec.autoscaling = input.autoscaling;
                check_bounds(&mut v, p.spec.count, p.spec.autoscaling);
                spec_changed = true;
            }
            "spec.rolling_update" => {
                let r = input.rolling_update.unwrap_or_default();
                check_rolling(&mut v, r);
                p.spec.rolling_update = r;
                spec_changed = true;
            }
            "spec.remediation_enabled" => {
                p.spec.remediation_enabled = input.remediation_enabled;
                spec_changed = true;
            }
            "spec.count" => v.add(path, "use ScaleNodePool to change the count"),
            "spec.image_version" => v.add(path, "use CycleNodePool to move nodes to another image"),
            "spec.instance_type" | "spec.cluster_id" | "name" => v.add(path, "field is immutable"),
            other => v.add(
                "update_mask",
                format!(
                    "unknown field path {}; mutable: {}",
                    quote(other),
                    MUTABLE_PATHS.join(", ")
                ),
            ),
        }
    }
    v.into_result()?;
    let expect = p.metadata.touch(ctx.now, spec_changed);
    let mut ch = Change::new();
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    ch.event(NodePoolEvent::Updated {
        pool: Box::new(p.clone()),
    });
    Ok((ch, p))
}

/// Changes the desired count.
pub fn scale_pool(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    pool: &NodePool,
    count: u32,
    rv: u64,
) -> Result<(Change, NodePool), DomainError> {
    pool.metadata.check_version(rv)?;
    live(cluster)?;
    not_deleting(pool)?;
    let mut v = Violations::new();
    check_bounds(&mut v, count, pool.spec.autoscaling);
    v.into_result()?;
    if pool.status.cycle.is_some() {
        return Err(DomainError::precondition(format!(
            "node pool {} is cycling; scale it after the cycle completes",
            pool.metadata.name
        )));
    }
    if count == pool.spec.count {
        return Ok((Change::new(), pool.clone()));
    }
    if count > pool.spec.count {
        check_quota(
            ctx,
            pool.metadata.project,
            Some(pool.metadata.id),
            &pool.spec.instance_type,
            count,
        )?;
        check_capacity(ctx, cluster, Some(pool.metadata.id), count)?;
    }
    let mut p = pool.clone();
    let expect = p.metadata.touch(ctx.now, true);
    let from = p.spec.count;
    p.spec.count = count;
    p.status.phase = NodePoolPhase::Scaling;
    let mut ch = Change::new();
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    ch.event(NodePoolEvent::Scaled {
        pool: p.metadata.id,
        cluster: p.spec.cluster,
        from,
        to: count,
    });
    Ok((ch, p))
}

/// Starts a rolling replacement of every node whose image or kubelet differs from the target.
pub fn cycle_pool(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    pool: &NodePool,
    image: &str,
    rv: u64,
) -> Result<(Change, NodePool), DomainError> {
    pool.metadata.check_version(rv)?;
    live(cluster)?;
    not_deleting(pool)?;
    if pool.status.cycle.is_some() {
        return Err(DomainError::precondition(format!(
            "node pool {} is already cycling",
            pool.metadata.name
        )));
    }
    let target = if image.is_empty() {
        ctx.catalog
            .latest_image()
            .map(|i| i.version.clone())
            .ok_or_else(|| DomainError::Unavailable("no base image is published yet".into()))?
    } else if ctx.catalog.image(image).is_some() {
        image.to_owned()
    } else {
        return Err(DomainError::invalid(
            "image_version",
            format!("unknown image {}", quote(image)),
        ));
    };
    let kubelet = cluster
        .status
        .current_version
        .unwrap_or(cluster.spec.kubernetes_version);
    let nodes = ctx.reader.nodes(pool.metadata.id)?;
    let old = nodes
        .iter()
        .filter(|n| n.spec.image_version != target || n.spec.kubelet_version != kubelet)
        .count();
    let old = u32::try_from(old).unwrap_or(u32::MAX);
    if old == 0 && pool.spec.image_version == target && pool.spec.kubelet_version == kubelet {
        return Err(DomainError::precondition(format!(
            "every node of {} already runs image {target} with kubelet {kubelet}",
            pool.metadata.name
        )));
    }
    let surge = pool.spec.rolling_update.max_surge;
    check_quota(
        ctx,
        pool.metadata.project,
        Some(pool.metadata.id),
        &pool.spec.instance_type,
        pool.spec.count + surge,
    )?;
    check_capacity(
        ctx,
        cluster,
        Some(pool.metadata.id),
        pool.spec.count + surge,
    )?;
    let mut p = pool.clone();
    let expect = p.metadata.touch(ctx.now, true);
    p.spec.image_version = target.clone();
    p.spec.kubelet_version = kubelet;
    p.status.phase = NodePoolPhase::Cycling;
    p.status.cycle = Some(CycleState {
        target_image_version: target.clone(),
        target_kubelet_version: kubelet,
        nodes_replaced: 0,
        nodes_total: old,
        started_at: ctx.now,
    });
    let mut ch = Change::new();
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    ch.event(NodePoolEvent::CycleStarted {
        pool: p.metadata.id,
        cluster: p.spec.cluster,
        image_version: target,
        nodes: old,
    });
    Ok((ch, p))
}

/// Starts deletion: the reconciler drains and terminates every node, then removes the pool.
pub fn delete_pool(
    ctx: &Ctx<'_>,
    pool: &NodePool,
    rv: u64,
) -> Result<(Change, NodePool), DomainError> {
    pool.metadata.check_version(rv)?;
    if pool.status.phase == NodePoolPhase::Deleting {
        return Ok((Change::new(), pool.clone()));
    }
    let mut p = pool.clone();
    let expect = p.metadata.touch(ctx.now, false);
    p.status.phase = NodePoolPhase::Deleting;
    p.status.cycle = None;
    let mut ch = Change::new();
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    ch.event(NodePoolEvent::DeletionStarted {
        pool: p.metadata.id,
        cluster: p.spec.cluster,
    });
    Ok((ch, p))
}
