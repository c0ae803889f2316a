//! Clusters: creation, updates, deletion and the two halves of a version upgrade.
//!
//! Rules: the region and the address plan are immutable; deletion waits until no node pools
//! remain; an upgrade is requested by the customer (one minor up, kubelet skew respected) and
//! executed by the provider.

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    cluster::{
        AutoClustersSettings, COND_CONTROL_PLANE_READY, COND_READY, COND_UPGRADING, CORE_ADDONS,
        Cluster, ClusterEvent, ClusterPhase, ClusterSpec, ClusterStatus, MAX_IN_FLIGHT_PER_POOL,
        OidcConfig,
    },
    error::{Violations, echo},
    ids::{ClusterId, ProjectId},
    meta::{ConditionStatus, Conditions, Metadata},
    validation::{
        KubeVersion, NetworkPlan, dns_label, kubelet_skew, oidc_claim_name, oidc_claim_value,
        oidc_client_id, oidc_issuer_url, quote, upgrade_step,
    },
};
use accord_store::Expect;

use super::{Ctx, check_labels};
use crate::{change::Change, kubeconfig, trees::*};

/// What a customer sends to create a cluster (strings as on the wire; validated here).
#[derive(Debug, Clone, Default)]
pub struct ClusterInput {
    pub kubernetes_version: String,
    pub region: String,
    pub vpc_subnet: String,
    pub pod_cidr: String,
    pub service_cidr: String,
    pub node_cidr_mask_size: u32,
    pub oidc: Option<OidcInput>,
    pub addons: Vec<String>,
    pub autoclusters: Option<AutoClustersSettings>,
    pub cni: Option<accord_core::cluster::CniSettings>,
}

/// OIDC settings as sent.
#[derive(Debug, Clone, Default)]
pub struct OidcInput {
    pub issuer_url: String,
    pub client_id: String,
    pub username_claim: String,
    pub groups_claim: String,
    pub required_claims: BTreeMap<String, String>,
}

/// OIDC settings end up as the API server's flags: every string is checked so that none can
/// carry a control or invisible character, and claim names are plain names (no paths, no list
/// or flag syntax).
fn check_oidc(v: &mut Violations, field: &str, o: &OidcInput) -> Option<OidcConfig> {
    let mut ok = true;
    let mut check = |name: String, result: Result<(), String>| {
        if let Err(e) = result {
            v.add(format!("{field}.{name}"), e);
            ok = false;
        }
    };
    check("issuer_url".into(), oidc_issuer_url(&o.issuer_url));
    check("client_id".into(), oidc_client_id(&o.client_id));
    if !o.username_claim.is_empty() {
        check("username_claim".into(), oidc_claim_name(&o.username_claim));
    }
    if !o.groups_claim.is_empty() {
        check("groups_claim".into(), oidc_claim_name(&o.groups_claim));
    }
    for (key, value) in &o.required_claims {
        let name = format!("required_claims[{}]", echo(key));
        check(name.clone(), oidc_claim_name(key));
        check(name, oidc_claim_value(value));
    }
    ok.then(|| OidcConfig {
        issuer_url: o.issuer_url.clone(),
        client_id: o.client_id.clone(),
        username_claim: if o.username_claim.is_empty() {
            "sub".into()
        } else {
            o.username_claim.clone()
        },
        groups_claim: if o.groups_claim.is_empty() {
            "groups".into()
        } else {
            o.groups_claim.clone()
        },
        required_claims: o.required_claims.clone(),
    })
}

fn check_autoclusters(v: &mut Violations, a: &AutoClustersSettings) {
    if !(1..=100).contains(&a.max_unhealthy_percent) {
        v.add(
            "spec.autoclusters.max_unhealthy_percent",
            "must be between 1 and 100",
        );
    }
    if !(1..=MAX_IN_FLIGHT_PER_POOL).contains(&a.max_in_flight_per_pool) {
        v.add(
            "spec.autoclusters.max_in_flight_per_pool",
            format!("must be between 1 and {MAX_IN_FLIGHT_PER_POOL}"),
        );
    }
    a.maintenance.check(
        v,
        "spec.autoclusters.maintenance_windows",
        "spec.autoclusters.maintenance_exclusions",
    );
    if !a.policy.is_empty() {
        v.check(
            "spec.autoclusters.policy",
            accord_core::validation::dns_label(&a.policy),
        );
    }
}

/// The API endpoint of a cluster.
pub fn api_endpoint(id: ClusterId, name: &str, region: &str) -> String {
    let short = id.to_string();
    let tail = &short[short.len() - 6..];
    format!("https://{name}-{tail}.{region}.k8s.accord.internal:6443")
}

/// Creates a cluster and its CA; the control plane is requested by the reconciler.
pub fn create_cluster(
    ctx: &Ctx<'_>,
    project: ProjectId,
    name: &str,
    labels: BTreeMap<String, String>,
    input: &ClusterInput,
) -> Result<(Change, Cluster), DomainError> {
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
    let version = v.check(
        "spec.kubernetes_version",
        KubeVersion::parse_supported(&input.kubernetes_version),
    );
    if ctx.catalog.region(&input.region).is_none() {
        let names: Vec<_> = ctx
            .catalog
            .regions
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        v.add(
            "spec.region",
            format!(
                "unknown region {}; choose one of {}",
                quote(&input.region),
                names.join(", ")
            ),
        );
    }
    let plan = match NetworkPlan::parse(
        &input.vpc_subnet,
        &input.pod_cidr,
        &input.service_cidr,
        input.node_cidr_mask_size,
    ) {
        Ok(p) => Some(p),
        Err(errs) => {
            for (f, m) in errs {
                v.add(format!("spec.network.{f}"), m);
            }
            None
        }
    };
    let oidc = input
        .oidc
        .as_ref()
        .and_then(|o| check_oidc(&mut v, "spec.oidc", o));
    let mut addons = Vec::new();
    for (i, a) in input.addons.iter().enumerate() {
        if !CORE_ADDONS.contains(&a.as_str()) {
            v.add(
                format!("spec.addons[{i}]"),
                format!(
                    "unknown core add-on {}; choose from {}",
                    quote(a),
                    CORE_ADDONS.join(", ")
                ),
            );
        } else if addons.contains(a) {
            v.add(format!("spec.addons[{i}]"), format!("{a} is listed twice"));
        } else {
            addons.push(a.clone());
        }
    }
    let autoclusters = input.autoclusters.clone().unwrap_or_default();
    check_autoclusters(&mut v, &autoclusters);
    v.into_result()?;
    let (Some(version), Some(network)) = (version, plan) else {
        return Err(DomainError::internal("validation passed without values"));
    };
    if ctx.reader.name_taken(&cluster_name_key(project, name))? {
        return Err(DomainError::AlreadyExists {
            kind: "cluster",
            name: name.to_owned(),
        });
    }
    let id = ClusterId::generate();
    let ca = kubeconfig::new_cluster_ca(id, name)?;
    let mut metadata = Metadata::new(id, name, project, ctx.now);
    metadata.labels = labels;
    let mut conditions = Conditions::default();
    conditions.set(
        COND_CONTROL_PLANE_READY,
        ConditionStatus::False,
        "Provisioning",
        "control plane replicas are being created",
        ctx.now,
        1,
    );
    conditions.set(
        COND_READY,
        ConditionStatus::False,
        "Provisioning",
        "waiting for the control plane",
        ctx.now,
        1,
    );
    let cluster = Cluster {
        metadata,
        spec: ClusterSpec {
            kubernetes_version: version,
            region: input.region.clone(),
            network,
            oidc,
            addons,
            autoclusters,
            cni: input.cni.unwrap_or_default(),
        },
        status: ClusterStatus {
            phase: ClusterPhase::Provisioning,
            current_version: None,
            requested_version: None,
            control_plane: Vec::new(),
            api_endpoint: api_endpoint(id, name, &input.region),
            observed_generation: 1,
            conditions,
            impacts: Vec::new(),
        },
    };
    let mut ch = Change::in_project(cluster.metadata.project);
    ch.put(CLUSTERS, &id.to_string(), &cluster, Expect::Absent)?
        .put(
            NAMES,
            &cluster_name_key(project, name),
            &id.to_string(),
            Expect::Absent,
        )?
        .put(CLUSTER_CAS, &id.to_string(), &ca, Expect::Absent)?;
    ch.event(ClusterEvent::Created {
        cluster: Box::new(cluster.clone()),
    });
    Ok((ch, cluster))
}

/// Paths of `UpdateCluster.update_mask`.
pub const MUTABLE_PATHS: [&str; 3] = ["labels", "spec.oidc", "spec.autoclusters"];

/// Applies the fields named in `mask`; immutable fields are refused by name.
pub fn update_cluster(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    rv: u64,
    mask: &[String],
    labels: BTreeMap<String, String>,
    oidc: Option<OidcInput>,
    autoclusters: Option<AutoClustersSettings>,
) -> Result<(Change, Cluster), DomainError> {
    cluster.metadata.check_version(rv)?;
    if cluster.status.phase == ClusterPhase::Deleting {
        return Err(DomainError::precondition(format!(
            "cluster {} is being deleted",
            cluster.metadata.name
        )));
    }
    if mask.is_empty() {
        return Err(DomainError::invalid(
            "update_mask",
            format!("name the fields to change: {}", MUTABLE_PATHS.join(", ")),
        ));
    }
    let mut v = Violations::new();
    let mut c = cluster.clone();
    let mut spec_changed = false;
    for path in mask {
        match path.as_str() {
            "labels" => {
                check_labels(&mut v, "labels", &labels);
                c.metadata.labels = labels.clone();
            }
            "spec.oidc" => {
                c.spec.oidc = match &oidc {
                    Some(o) => check_oidc(&mut v, "spec.oidc", o),
                    None => None,
                };
                spec_changed = true;
            }
            "spec.autoclusters" => {
                let a = autoclusters.clone().unwrap_or_default();
                check_autoclusters(&mut v, &a);
                c.spec.autoclusters = a;
                spec_changed = true;
            }
            "spec.kubernetes_version" => {
                v.add(path, "field is immutable here; use RequestClusterUpgrade")
            }
            "spec.addons" => v.add(
                path,
                "field is immutable here; add-ons are managed by the addon-manager",
            ),
            p if p == "spec.region"
                || p == "spec.network"
                || p.starts_with("spec.network.")
                || p == "name" =>
            {
                v.add(p, "field is immutable")
            }
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
    let expect = c.metadata.touch(ctx.now, spec_changed);
    c.status.observed_generation = c.metadata.generation;
    let mut ch = Change::in_project(c.metadata.project);
    ch.put(
        CLUSTERS,
        &c.metadata.id.to_string(),
        &c,
        Expect::Version(expect),
    )?;
    ch.event(ClusterEvent::Updated {
        cluster: Box::new(c.clone()),
    });
    Ok((ch, c))
}

/// Starts deletion; refused while node pools remain.
pub fn delete_cluster(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    rv: u64,
) -> Result<(Change, Cluster), DomainError> {
    cluster.metadata.check_version(rv)?;
    if cluster.status.phase == ClusterPhase::Deleting {
        return Ok((Change::none(), cluster.clone()));
    }
    let pools = ctx.reader.pools(cluster.metadata.id)?;
    if !pools.is_empty() {
        let names: Vec<_> = pools.iter().map(|p| p.metadata.name.as_str()).collect();
        return Err(DomainError::precondition(format!(
            "cluster {} still has node pools: {}; delete them first (node pools are the customer's to remove)",
            cluster.metadata.name,
            names.join(", ")
        )));
    }
    let mut c = cluster.clone();
    let expect = c.metadata.touch(ctx.now, false);
    c.status.phase = ClusterPhase::Deleting;
    let gen_ = c.metadata.generation;
    c.status.conditions.set(
        COND_READY,
        ConditionStatus::False,
        "Deleting",
        "the cluster is being deleted",
        ctx.now,
        gen_,
    );
    let mut ch = Change::in_project(c.metadata.project);
    ch.put(
        CLUSTERS,
        &c.metadata.id.to_string(),
        &c,
        Expect::Version(expect),
    )?;
    ch.event(ClusterEvent::DeletionStarted {
        cluster: c.metadata.id,
    });
    Ok((ch, c))
}

fn check_pool_skew(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    target: KubeVersion,
) -> Result<(), DomainError> {
    for pool in ctx.reader.pools(cluster.metadata.id)? {
        kubelet_skew(target, pool.spec.kubelet_version).map_err(|e| {
            DomainError::precondition(format!(
                "node pool {} runs kubelet {}: {e}; cycle the pool first",
                pool.metadata.name, pool.spec.kubelet_version
            ))
        })?;
        for node in ctx.reader.nodes(pool.metadata.id)? {
            kubelet_skew(target, node.spec.kubelet_version).map_err(|e| {
                DomainError::precondition(format!(
                    "node {} runs kubelet {}: {e}",
                    node.metadata.name, node.spec.kubelet_version
                ))
            })?;
        }
    }
    Ok(())
}

/// What both halves of an upgrade require: a healthy running control plane, a one-minor step
/// up, and every pool's kubelets within the supported skew of the target.
fn check_upgrade(ctx: &Ctx<'_>, cluster: &Cluster, target: KubeVersion) -> Result<(), DomainError> {
    if cluster.status.phase != ClusterPhase::Running {
        return Err(DomainError::precondition(format!(
            "cluster {} is {}; upgrades start only from a healthy, running control plane",
            cluster.metadata.name,
            cluster.status.phase.as_str()
        )));
    }
    upgrade_step(cluster.spec.kubernetes_version, target).map_err(DomainError::precondition)?;
    check_pool_skew(ctx, cluster, target)
}

/// The customer asks for the next minor version.
pub fn request_upgrade(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    target: &str,
    rv: u64,
) -> Result<(Change, Cluster), DomainError> {
    cluster.metadata.check_version(rv)?;
    let target: KubeVersion = target
        .parse()
        .map_err(|e: String| DomainError::invalid("kubernetes_version", e))?;
    if target == cluster.spec.kubernetes_version.next_minor() && !target.is_supported() {
        return Err(DomainError::invalid(
            "kubernetes_version",
            format!("Kubernetes {target} is not offered yet"),
        ));
    }
    let current = cluster.spec.kubernetes_version;
    check_upgrade(ctx, cluster, target)?;
    let mut c = cluster.clone();
    let expect = c.metadata.touch(ctx.now, false);
    c.status.requested_version = Some(target);
    let gen_ = c.metadata.generation;
    c.status.conditions.set(
        COND_UPGRADING,
        ConditionStatus::True,
        "UpgradeRequested",
        format!("{current} → {target} requested; the provider executes it"),
        ctx.now,
        gen_,
    );
    let mut ch = Change::in_project(c.metadata.project);
    ch.put(
        CLUSTERS,
        &c.metadata.id.to_string(),
        &c,
        Expect::Version(expect),
    )?;
    ch.event(ClusterEvent::UpgradeRequested {
        cluster: c.metadata.id,
        from: current,
        to: target,
        requested_by: ctx.principal.display_name().to_owned(),
    });
    Ok((ch, c))
}

/// The provider carries out a requested upgrade.
pub fn execute_upgrade(
    ctx: &Ctx<'_>,
    cluster: &Cluster,
    rv: u64,
) -> Result<(Change, Cluster), DomainError> {
    cluster.metadata.check_version(rv)?;
    let Some(target) = cluster.status.requested_version else {
        return Err(DomainError::precondition(format!(
            "the customer has not requested an upgrade of cluster {}",
            cluster.metadata.name
        )));
    };
    check_upgrade(ctx, cluster, target)?;
    let mut c = cluster.clone();
    let expect = c.metadata.touch(ctx.now, true);
    c.spec.kubernetes_version = target;
    c.status.phase = ClusterPhase::Upgrading;
    let gen_ = c.metadata.generation;
    c.status.conditions.set(
        COND_UPGRADING,
        ConditionStatus::True,
        "UpgradeRunning",
        format!("rolling the control plane to {target}"),
        ctx.now,
        gen_,
    );
    let mut ch = Change::in_project(c.metadata.project);
    ch.put(
        CLUSTERS,
        &c.metadata.id.to_string(),
        &c,
        Expect::Version(expect),
    )?;
    ch.event(ClusterEvent::UpgradeStarted {
        cluster: c.metadata.id,
        to: target,
        executed_by: ctx.principal.display_name().to_owned(),
    });
    Ok((ch, c))
}
