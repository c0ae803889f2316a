//! `apply` of a `kind: NodePool` document: CreateNodePool, or UpdateNodePool of the fields
//! UpdateNodePool changes (labels, node labels, taints, autoscaling, rolling update, driver
//! branch, image channel, rollout policy). The count goes through `accord scale`, the image
//! through `accord cycle`.

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use anyhow::anyhow;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Field, Outcome, changed_fields, field, found, id_or_name, overlay_spec, resource_version,
};
use crate::client::Api;
use crate::output::Resource;

/// Maps of user data in a pool's spec: taken whole, never laid over the server's.
const WHOLE: &[&str] = &["/spec/node_labels"];

/// The fields of a node-pool document `apply` compares.
pub const FIELDS: &[Field] = &[
    Field::Fixed {
        pointer: "/metadata/name",
        instead: "immutable",
    },
    Field::Mutable {
        pointer: "/metadata/labels",
        mask: "labels",
    },
    Field::Mutable {
        pointer: "/spec/node_labels",
        mask: "spec.node_labels",
    },
    Field::Mutable {
        pointer: "/spec/taints",
        mask: "spec.taints",
    },
    Field::Mutable {
        pointer: "/spec/autoscaling",
        mask: "spec.autoscaling",
    },
    Field::Mutable {
        pointer: "/spec/rolling_update",
        mask: "spec.rolling_update",
    },
    Field::Mutable {
        pointer: "/spec/driver_branch",
        mask: "spec.driver_branch",
    },
    Field::Mutable {
        pointer: "/spec/image_channel",
        mask: "spec.image_channel",
    },
    Field::Mutable {
        pointer: "/spec/rollout_policy",
        mask: "spec.rollout_policy",
    },
    Field::Fixed {
        pointer: "/spec/cluster_id",
        instead: "immutable",
    },
    Field::Fixed {
        pointer: "/spec/instance_type",
        instead: "immutable",
    },
    Field::Fixed {
        pointer: "/spec/count",
        instead: "`accord scale nodepool` changes it",
    },
    Field::Fixed {
        pointer: "/spec/image_version",
        instead: "`accord cycle nodepool` moves nodes to a newer image",
    },
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AutoscalingDoc {
    enabled: bool,
    min_count: u32,
    max_count: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct TaintDoc {
    key: String,
    value: String,
    effect: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RollingUpdateDoc {
    max_surge: u32,
    max_unavailable: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RolloutPolicyDoc {
    wave_percentages: Vec<u32>,
    batch_size: u32,
    soak_seconds: u32,
    max_unavailable: u32,
    only_in_maintenance_windows: bool,
    ready_timeout_seconds: u32,
}

/// `spec` as printed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SpecDoc {
    cluster_id: String,
    instance_type: String,
    count: u32,
    autoscaling: Option<AutoscalingDoc>,
    node_labels: HashMap<String, String>,
    taints: Vec<TaintDoc>,
    image_version: String,
    rolling_update: Option<RollingUpdateDoc>,
    driver_branch: String,
    image_channel: String,
    rollout_policy: Option<RolloutPolicyDoc>,
}

impl From<SpecDoc> for pb::NodePoolSpec {
    fn from(s: SpecDoc) -> Self {
        pb::NodePoolSpec {
            cluster_id: s.cluster_id,
            instance_type: s.instance_type,
            count: s.count,
            autoscaling: s.autoscaling.map(|a| pb::Autoscaling {
                enabled: a.enabled,
                min_count: a.min_count,
                max_count: a.max_count,
            }),
            node_labels: s.node_labels,
            taints: s
                .taints
                .into_iter()
                .map(|t| pb::Taint {
                    key: t.key,
                    value: t.value,
                    effect: t.effect,
                })
                .collect(),
            image_version: s.image_version,
            rolling_update: s.rolling_update.map(|r| pb::RollingUpdate {
                max_surge: r.max_surge,
                max_unavailable: r.max_unavailable,
            }),
            remediation_enabled: None,
            driver_branch: s.driver_branch,
            image_channel: s.image_channel,
            rollout_policy: s.rollout_policy.map(|p| pb::RolloutPolicy {
                wave_percentages: p.wave_percentages,
                batch_size: p.batch_size,
                soak_seconds: p.soak_seconds,
                max_unavailable: p.max_unavailable,
                only_in_maintenance_windows: p.only_in_maintenance_windows,
                ready_timeout_seconds: p.ready_timeout_seconds,
            }),
        }
    }
}

/// What applying a node-pool document asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// It does not exist yet.
    Create(pb::CreateNodePoolRequest),
    /// It differs in the masked fields.
    Update(pb::UpdateNodePoolRequest),
    /// Nothing to write.
    Unchanged,
}

/// The pool's cluster, from the document.
fn cluster_of(document: &Value) -> anyhow::Result<String> {
    field::<Option<String>>(document, "/spec/cluster_id")?
        .filter(|c| !c.is_empty())
        .ok_or_else(|| anyhow!("a node pool document needs spec.cluster_id"))
}

/// The change `document` asks for, given the server's `current` pool (if any).
pub fn plan(
    project: &str,
    document: &Value,
    current: Option<&pb::NodePool>,
) -> anyhow::Result<Change> {
    let cluster = cluster_of(document)?;
    let labels: HashMap<String, String> =
        field::<Option<_>>(document, "/metadata/labels")?.unwrap_or_default();
    let spec = |document: &Value| -> anyhow::Result<pb::NodePoolSpec> {
        Ok(field::<Option<SpecDoc>>(document, "/spec")?
            .unwrap_or_default()
            .into())
    };
    let Some(current) = current else {
        let name: String = field::<Option<String>>(document, "/metadata/name")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| anyhow!("a new node pool needs metadata.name"))?;
        return Ok(Change::Create(pb::CreateNodePoolRequest {
            project: project.to_owned(),
            cluster,
            name,
            labels,
            spec: Some(spec(document)?),
        }));
    };
    let printed = current.to_value()?;
    let document = &overlay_spec(document, &printed, WHOLE);
    let masks = changed_fields(document, &printed, FIELDS)?;
    if masks.is_empty() {
        return Ok(Change::Unchanged);
    }
    Ok(Change::Update(pb::UpdateNodePoolRequest {
        project: project.to_owned(),
        cluster,
        node_pool: current.metadata.clone().unwrap_or_default().id,
        resource_version: resource_version(document)?,
        update_mask: masks.iter().map(|m| (*m).to_owned()).collect(),
        labels,
        spec: Some(spec(document)?),
    }))
}

/// Applies one node-pool document.
pub async fn apply(api: &Api, document: &Value) -> anyhow::Result<Outcome> {
    let request = pb::GetNodePoolRequest {
        project: api.project(),
        cluster: cluster_of(document)?,
        node_pool: id_or_name(document)?,
    };
    let current = found(api.call(api.node_pools().get_node_pool(request)).await)?;
    let outcome = |name: String, verb| Outcome {
        kind: "nodepool",
        name,
        verb,
    };
    match plan(&api.project(), document, current.as_ref())? {
        Change::Unchanged => Ok(outcome(
            current.map(|p| p.name().to_owned()).unwrap_or_default(),
            "unchanged",
        )),
        Change::Create(request) => {
            let pool = api.call(api.node_pools().create_node_pool(request)).await?;
            Ok(outcome(pool.name().to_owned(), "created"))
        }
        Change::Update(request) => {
            let pool = api.call(api.node_pools().update_node_pool(request)).await?;
            Ok(outcome(pool.name().to_owned(), "configured"))
        }
    }
}
