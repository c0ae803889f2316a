//! `apply` of a `kind: Cluster` document: CreateCluster, or UpdateCluster of its labels, OIDC
//! and AutoClusters settings (the fields `-o yaml` shows of them).

use std::collections::HashMap;

use accord_proto::provisioner::v1 as pb;
use anyhow::anyhow;
use serde::Deserialize;
use serde_json::Value;

use super::{
    Field, Outcome, changed_fields, field, found, id_or_name, overlay_spec, resource_version,
};
use crate::client::Api;
use crate::commands::lookup;
use crate::output::Resource;

/// Maps of user data in a cluster's spec: taken whole, never laid over the server's.
const WHOLE: &[&str] = &["/spec/oidc/required_claims"];

/// The fields of a cluster document `apply` compares.
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
        pointer: "/spec/oidc",
        mask: "spec.oidc",
    },
    Field::Mutable {
        pointer: "/spec/autoclusters",
        mask: "spec.autoclusters",
    },
    Field::Fixed {
        pointer: "/spec/kubernetes_version",
        instead: "`accord upgrade` moves it one minor version at a time",
    },
    Field::Fixed {
        pointer: "/spec/region",
        instead: "immutable",
    },
    Field::Fixed {
        pointer: "/spec/network",
        instead: "immutable",
    },
    Field::Fixed {
        pointer: "/spec/addons",
        instead: "`accord addon` installs and removes add-ons",
    },
];

/// `spec.oidc` as printed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct OidcDoc {
    issuer_url: String,
    client_id: String,
    username_claim: String,
    groups_claim: String,
    required_claims: HashMap<String, String>,
}

impl From<OidcDoc> for pb::OidcConfig {
    fn from(o: OidcDoc) -> Self {
        pb::OidcConfig {
            issuer_url: o.issuer_url,
            client_id: o.client_id,
            username_claim: o.username_claim,
            groups_claim: o.groups_claim,
            required_claims: o.required_claims,
        }
    }
}

/// `spec.autoclusters` as printed (a subset: the mode, windows and policy are not shown, so
/// they are kept as the server has them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct AutoClustersDoc {
    remediation_enabled: Option<bool>,
    max_unhealthy_percent: Option<u32>,
    max_in_flight_per_pool: Option<u32>,
}

impl AutoClustersDoc {
    fn onto(self, mut settings: pb::AutoClustersSettings) -> pb::AutoClustersSettings {
        if let Some(v) = self.remediation_enabled {
            settings.remediation_enabled = v;
        }
        if let Some(v) = self.max_unhealthy_percent {
            settings.max_unhealthy_percent = v;
        }
        if let Some(v) = self.max_in_flight_per_pool {
            settings.max_in_flight_per_pool = v;
        }
        settings
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct NetworkDoc {
    vpc_subnet: String,
    pod_cidr: String,
    service_cidr: String,
    node_cidr_mask_size: u32,
}

/// `spec` as printed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SpecDoc {
    kubernetes_version: String,
    region: String,
    network: Option<NetworkDoc>,
    oidc: Option<OidcDoc>,
    addons: Vec<String>,
    autoclusters: Option<AutoClustersDoc>,
}

/// What applying a cluster document asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// It does not exist yet.
    Create(pb::CreateClusterRequest),
    /// It differs in the masked fields.
    Update(pb::UpdateClusterRequest),
    /// Nothing to write.
    Unchanged,
}

/// The change `document` asks for, given the server's `current` cluster (if any).
pub fn plan(
    project: &str,
    document: &Value,
    current: Option<&pb::Cluster>,
) -> anyhow::Result<Change> {
    let labels: HashMap<String, String> =
        field::<Option<_>>(document, "/metadata/labels")?.unwrap_or_default();
    let Some(current) = current else {
        let name: String = field::<Option<String>>(document, "/metadata/name")?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| anyhow!("a new cluster needs metadata.name"))?;
        let spec: SpecDoc = field::<Option<_>>(document, "/spec")?.unwrap_or_default();
        let autoclusters = spec
            .autoclusters
            .map(|a| a.onto(pb::AutoClustersSettings::default()));
        return Ok(Change::Create(pb::CreateClusterRequest {
            project: project.to_owned(),
            name,
            labels,
            spec: Some(pb::ClusterSpec {
                kubernetes_version: spec.kubernetes_version,
                region: spec.region,
                network: spec.network.map(|n| pb::ClusterNetwork {
                    vpc_subnet: n.vpc_subnet,
                    pod_cidr: n.pod_cidr,
                    service_cidr: n.service_cidr,
                    node_cidr_mask_size: n.node_cidr_mask_size,
                }),
                oidc: spec.oidc.map(Into::into),
                addons: spec.addons,
                autoclusters,
                cni: None,
            }),
        }));
    };
    let printed = current.to_value()?;
    let document = &overlay_spec(document, &printed, WHOLE);
    let masks = changed_fields(document, &printed, FIELDS)?;
    if masks.is_empty() {
        return Ok(Change::Unchanged);
    }
    let current_spec = current.spec.clone().unwrap_or_default();
    let mut spec = pb::ClusterSpec::default();
    for mask in &masks {
        match *mask {
            "spec.oidc" => {
                spec.oidc = field::<Option<OidcDoc>>(document, "/spec/oidc")?.map(Into::into);
            }
            "spec.autoclusters" => {
                let wanted: AutoClustersDoc =
                    field::<Option<_>>(document, "/spec/autoclusters")?.unwrap_or_default();
                spec.autoclusters =
                    Some(wanted.onto(current_spec.autoclusters.clone().unwrap_or_default()));
            }
            _ => {}
        }
    }
    let meta = current.metadata.clone().unwrap_or_default();
    Ok(Change::Update(pb::UpdateClusterRequest {
        project: project.to_owned(),
        cluster: meta.id,
        resource_version: resource_version(document)?,
        update_mask: masks.iter().map(|m| (*m).to_owned()).collect(),
        labels,
        spec: Some(spec),
    }))
}

/// Applies one cluster document.
pub async fn apply(api: &Api, document: &Value) -> anyhow::Result<Outcome> {
    let current = found(lookup::cluster(api, &id_or_name(document)?).await)?;
    let outcome = |name: String, verb| Outcome {
        kind: "cluster",
        name,
        verb,
    };
    match plan(&api.project(), document, current.as_ref())? {
        Change::Unchanged => Ok(outcome(
            current.map(|c| c.name().to_owned()).unwrap_or_default(),
            "unchanged",
        )),
        Change::Create(request) => {
            let cluster = api.call(api.clusters().create_cluster(request)).await?;
            Ok(outcome(cluster.name().to_owned(), "created"))
        }
        Change::Update(request) => {
            let cluster = api.call(api.clusters().update_cluster(request)).await?;
            Ok(outcome(cluster.name().to_owned(), "configured"))
        }
    }
}
