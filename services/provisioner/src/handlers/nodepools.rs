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
    /// GPU driver branch (empty: production).
    pub driver_branch: String,
    /// Image channel (empty: stable).
    pub image_channel: String,
    pub rollout_policy: Option<accord_image::rollout::RolloutPolicy>,
}

fn branch_or_default(v: &mut Violations, branch: &str) -> String {
    if branch.is_empty() {
        return accord_core::nodepool::DEFAULT_DRIVER_BRANCH.to_owned();
    }
    if !accord_image::manifest::DRIVER_BRANCHES.contains(&branch) {
        v.add(
            "spec.driver_branch",
            format!(
                "{} must be one of {}",
                quote(branch),
                accord_image::manifest::DRIVER_BRANCHES.join(", ")
            ),
        );
    }
    branch.to_owned()
}

fn channel_or_default(v: &mut Violations, channel: &str) -> String {
    if channel.is_empty() {
        return accord_core::nodepool::DEFAULT_IMAGE_CHANNEL.to_owned();
    }
    if let Err(e) = channel.parse::<accord_image::Channel>() {
        v.add("spec.image_channel", e);
    }
    channel.to_owned()
}

fn check_policy(
    v: &mut Violations,
    cluster: &Cluster,
    policy: Option<&accord_image::rollout::RolloutPolicy>,
) {
    let Some(policy) = policy else { return };
    if let Err(accord_image::rollout::RolloutError::Invalid { field, reason }) = policy.validate() {
        v.add(format!("spec.rollout_policy.{field}"), reason);
    }
    if policy.only_in_windows && cluster.spec.autoclusters.maintenance.is_empty() {
        v.add(
            "spec.rollout_policy.only_in_maintenance_windows",
            "the cluster has no maintenance windows; set them first",
        );
    }
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
pub(crate) fn check_quota(
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

/// Room for a cycle (or a rollback) of `pool`: its count plus the nodes it surges by — the
/// pool's `max_surge`, or a rollout policy's `max_unavailable` replacements at once — within
/// the project's GPU quota and the cluster's address plan.
pub(crate) fn check_cycle_room(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    pool: &NodePool,
    policy: Option<&accord_image::rollout::RolloutPolicy>,
) -> Result<(), DomainError> {
    let surge = policy.map_or(pool.spec.rolling_update.max_surge, |p| {
        p.max_unavailable.max(pool.spec.rolling_update.max_surge)
    });
    let nodes = pool.spec.count + surge;
    check_quota(
        ctx,
        pool.metadata.project,
        Some(pool.metadata.id),
        &pool.spec.instance_type,
        nodes,
    )?;
    check_capacity(ctx, cluster, Some(pool.metadata.id), nodes)
}

/// Address plan: every pool's nodes of the cluster plus `nodes` must fit.
pub(crate) fn check_capacity(
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

pub(crate) fn live(cluster: &Cluster) -> Result<(), DomainError> {
    if cluster.status.phase == ClusterPhase::Deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted",
            cluster.metadata.name
        )));
    }
    Ok(())
}

pub(crate) fn not_deleting(pool: &NodePool) -> Result<(), DomainError> {
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
    let branch = branch_or_default(&mut v, &input.driver_branch);
    let channel = channel_or_default(&mut v, &input.image_channel);
    check_policy(&mut v, cluster, input.rollout_policy.as_ref());
    let kubelet = cluster
        .status
        .current_version
        .unwrap_or(cluster.spec.kubernetes_version);
    let images = crate::images::all(ctx.reader)?;
    let image = if input.image_version.is_empty() {
        crate::images::newest(
            &images,
            &branch,
            channel.parse().unwrap_or(accord_image::Channel::Stable),
            &input.instance_type,
            &kubelet.to_string(),
        )
        .map(|i| i.record.version.to_string())
    } else {
        match crate::images::resolve(&images, &input.image_version, &branch) {
            Some(i) if !accord_image::usable_for_new_nodes(&i.record) => {
                v.add(
                    "spec.image_version",
                    format!(
                        "image {} was withdrawn: {}",
                        quote(&input.image_version),
                        accord_image::update_required(&i.record).unwrap_or_default()
                    ),
                );
                None
            }
            Some(i) if !i.qualifies(&input.instance_type, &kubelet.to_string()) => {
                v.add(
                    "spec.image_version",
                    format!(
                        "image {} is not qualified for {} on Kubernetes {kubelet}",
                        quote(&input.image_version),
                        quote(&input.instance_type)
                    ),
                );
                None
            }
            Some(_) => Some(input.image_version.clone()),
            None => {
                v.add(
                    "spec.image_version",
                    format!(
                        "unknown image {} on driver branch {}",
                        quote(&input.image_version),
                        quote(&branch)
                    ),
                );
                None
            }
        }
    };
    v.into_result()?;
    let image = image.ok_or_else(|| {
        DomainError::Unavailable(format!(
            "no image of driver branch {branch} in channel {channel} is published for {} on \
             Kubernetes {kubelet} yet",
            input.instance_type
        ))
    })?;
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
            image_version: image.clone(),
            kubelet_version: kubelet,
            rolling_update: rolling,
            remediation_enabled: input.remediation_enabled,
            driver_branch: branch.clone(),
            image_channel: channel,
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
    let mut ch = Change::in_project(cluster.metadata.project);
    let mut rollout = crate::rollouts::PoolRollout {
        policy: input.rollout_policy.clone(),
        ..Default::default()
    };
    rollout.revision_for(
        &image,
        &crate::rollouts::driver_of(&images, &image, &branch),
        &kubelet.to_string(),
    );
    rollout.write(&pool, &mut ch)?;
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
pub const MUTABLE_PATHS: [&str; 8] = [
    "labels",
    "spec.node_labels",
    "spec.taints",
    "spec.autoscaling",
    "spec.rolling_update",
    "spec.remediation_enabled",
    "spec.image_channel",
    "spec.rollout_policy",
];

/// Applies the fields named in `mask`.
pub fn update_pool(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
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
    let mut rollout = crate::rollouts::PoolRollout::of(ctx.reader, pool)?;
    let mut rollout_changed = false;
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
            "spec.driver_branch" => v.add(
                path,
                "is chosen at creation (labels repeat across branches, so nodes could not tell \
                 the branches apart): create a pool on the other branch and move the workloads",
            ),
            "spec.image_channel" => {
                p.spec.image_channel = channel_or_default(&mut v, &input.image_channel);
                spec_changed = true;
            }
            "spec.rollout_policy" => {
                check_policy(&mut v, cluster, input.rollout_policy.as_ref());
                if rollout.running() {
                    v.add(
                        path,
                        "a rollout is under way; change the policy after it ends",
                    );
                }
                rollout.policy = input.rollout_policy.clone();
                rollout_changed = true;
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
    let expect = p.metadata.touch(ctx.now, spec_changed || rollout_changed);
    let mut ch = Change::in_project(p.metadata.project);
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    if rollout_changed {
        rollout.write(&p, &mut ch)?;
    }
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
        return Ok((Change::none(), pool.clone()));
    }
    if count > pool.spec.count {
        // New nodes boot the pool's image: a withdrawn one is refused for them.
        let images = crate::images::all(ctx.reader)?;
        if let Some(reason) =
            crate::images::resolve(&images, &pool.spec.image_version, &pool.spec.driver_branch)
                .and_then(|i| accord_image::update_required(&i.record))
        {
            return Err(DomainError::precondition(format!(
                "the pool's image {} was withdrawn ({reason}): cycle the pool to an update \
                 before adding nodes",
                pool.spec.image_version
            )));
        }
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
    let mut ch = Change::in_project(p.metadata.project);
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
    let kubelet = cluster
        .status
        .current_version
        .unwrap_or(cluster.spec.kubernetes_version);
    let images = crate::images::all(ctx.reader)?;
    let branch = &pool.spec.driver_branch;
    let target = if image.is_empty() {
        let channel = pool
            .spec
            .image_channel
            .parse()
            .unwrap_or(accord_image::Channel::Stable);
        crate::images::newest(
            &images,
            branch,
            channel,
            &pool.spec.instance_type,
            &kubelet.to_string(),
        )
        .map(|i| i.record.version.to_string())
        .ok_or_else(|| {
            DomainError::Unavailable(format!(
                "no image of driver branch {branch} in channel {} is published for {} yet",
                pool.spec.image_channel, pool.spec.instance_type
            ))
        })?
    } else {
        match crate::images::resolve(&images, image, branch) {
            Some(i) => {
                if let Some(reason) = accord_image::update_required(&i.record) {
                    return Err(DomainError::precondition(format!(
                        "image {} was withdrawn: {reason}",
                        quote(image)
                    )));
                }
                if !i.qualifies(&pool.spec.instance_type, &kubelet.to_string()) {
                    return Err(DomainError::invalid(
                        "image_version",
                        format!(
                            "image {} is not qualified for {} on Kubernetes {kubelet}",
                            quote(image),
                            quote(&pool.spec.instance_type)
                        ),
                    ));
                }
                image.to_owned()
            }
            None => {
                return Err(DomainError::invalid(
                    "image_version",
                    format!(
                        "unknown image {} on driver branch {}",
                        quote(image),
                        quote(branch)
                    ),
                ));
            }
        }
    };
    let mut rollout = crate::rollouts::PoolRollout::of(ctx.reader, pool)?;
    let from = rollout.revision_for(
        &pool.spec.image_version,
        &crate::rollouts::driver_of(&images, &pool.spec.image_version, branch),
        &pool.spec.kubelet_version.to_string(),
    );
    let to = rollout.revision_for(
        &target,
        &crate::rollouts::driver_of(&images, &target, branch),
        &kubelet.to_string(),
    );
    if to.disabled {
        return Err(DomainError::precondition(format!(
            "revision {} (image {target}) of {} was disabled by a halted rollout; cycle to \
             another image",
            to.revision, pool.metadata.name
        )));
    }
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
    check_cycle_room(ctx, cluster, pool, rollout.policy.as_ref())?;
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
    let mut ch = Change::in_project(p.metadata.project);
    ch.put(
        NODEPOOLS,
        &pool_key(p.spec.cluster, p.metadata.id),
        &p,
        Expect::Version(expect),
    )?;
    if let Some(policy) = rollout.policy.clone() {
        let from = accord_image::rollout::PoolRevision {
            active_nodes: pool.spec.count,
            ..from
        };
        let window = crate::rollouts::window_open(&policy, Some(cluster), ctx.now);
        let (state, actions) = accord_image::rollout::start(&policy, from, to, ctx.now, window)
            .map_err(
                |accord_image::rollout::RolloutError::Invalid { field, reason }| {
                    DomainError::invalid(format!("spec.rollout_policy.{field}"), reason)
                },
            )?;
        rollout.granted = actions
            .iter()
            .map(|a| match a {
                accord_image::rollout::Action::ReplaceNodes { count, to_revision }
                    if *to_revision == state.to.revision =>
                {
                    *count
                }
                _ => 0,
            })
            .sum();
        rollout.state = Some(state);
    } else {
        // A plain cycle: an earlier rollout is history, not what a rollback returns to.
        rollout.state = None;
        rollout.granted = 0;
    }
    rollout.write(&p, &mut ch)?;
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
        return Ok((Change::none(), pool.clone()));
    }
    let mut p = pool.clone();
    let expect = p.metadata.touch(ctx.now, false);
    p.status.phase = NodePoolPhase::Deleting;
    p.status.cycle = None;
    let mut ch = Change::in_project(p.metadata.project);
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
