//! Add-on views (what `-o json|yaml` prints) and tables.

use accord_proto::addons::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Resource, age, or_dash, rfc3339, tables::render};

/// An ownership enum value as its kebab-case name.
pub fn ownership_name(value: i32) -> &'static str {
    match pb::Ownership::try_from(value) {
        Ok(pb::Ownership::ProviderManaged) => "provider-managed",
        Ok(pb::Ownership::Shared) => "shared",
        Ok(pb::Ownership::CustomerOwned) => "customer-owned",
        _ => "unknown",
    }
}

/// One rendered file.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestView {
    pub name: String,
    pub format: String,
    pub content: String,
}

/// An installation.
#[derive(Debug, Clone, Serialize)]
pub struct AddonView {
    pub kind: &'static str,
    pub cluster: String,
    pub cluster_id: String,
    pub project: String,
    pub name: String,
    pub version: String,
    /// The overrides as JSON (not a string), so YAML shows them as a document.
    pub config: serde_json::Value,
    pub ownership: &'static str,
    pub ownership_reason: String,
    pub source: String,
    pub installer: String,
    pub generation: u64,
    pub plugin_digest: String,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
    pub manifests: Vec<ManifestView>,
}

impl AddonView {
    pub fn from_pb(i: &pb::AddonInstallation) -> AddonView {
        AddonView {
            kind: "AddonInstallation",
            cluster: i.cluster_name.clone(),
            cluster_id: i.cluster_id.clone(),
            project: i.project.clone(),
            name: i.name.clone(),
            version: i.version.clone(),
            config: serde_json::from_str(&i.config)
                .unwrap_or_else(|_| serde_json::Value::String(i.config.clone())),
            ownership: ownership_name(i.ownership),
            ownership_reason: i.ownership_reason.clone(),
            source: i.source.clone(),
            installer: i.installer.clone(),
            generation: i.generation,
            plugin_digest: i.plugin_digest.clone(),
            created_at: rfc3339(i.created_at.as_ref()).unwrap_or_default(),
            updated_at: rfc3339(i.updated_at.as_ref()).unwrap_or_default(),
            updated_by: i.updated_by.clone(),
            manifests: i
                .manifests
                .iter()
                .map(|m| ManifestView {
                    name: m.name.clone(),
                    format: m.format.clone(),
                    content: m.content.clone(),
                })
                .collect(),
        }
    }
}

impl Resource for AddonView {
    const KIND: &'static str = "addon";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// An add-on of the catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct AvailableView {
    pub name: String,
    pub description: String,
    pub plugin_version: String,
    pub versions: Vec<String>,
    pub default_version: String,
    pub default_config: serde_json::Value,
    pub required_with_infiniband: bool,
    pub installer: String,
    pub customer_knobs: Vec<String>,
    pub plugin_digest: String,
    pub plugin_state: String,
}

impl AvailableView {
    pub fn from_pb(a: &pb::AvailableAddon) -> AvailableView {
        AvailableView {
            name: a.name.clone(),
            description: a.description.clone(),
            plugin_version: a.plugin_version.clone(),
            versions: a.versions.clone(),
            default_version: a.default_version.clone(),
            default_config: serde_json::from_str(&a.default_config)
                .unwrap_or_else(|_| serde_json::Value::String(a.default_config.clone())),
            required_with_infiniband: a.required_with_infiniband,
            installer: a.installer.clone(),
            customer_knobs: a.customer_knobs.clone(),
            plugin_digest: a.plugin_digest.clone(),
            plugin_state: a.plugin_state.clone(),
        }
    }
}

impl Resource for AvailableView {
    const KIND: &'static str = "addon";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// `accord addon available`.
pub fn available_table(items: &[AvailableView]) -> String {
    render(
        &[
            "NAME",
            "DEFAULT",
            "VERSIONS",
            "INSTALLER",
            "INFINIBAND",
            "PLUGIN",
            "KNOBS",
        ],
        items
            .iter()
            .map(|a| {
                vec![
                    a.name.clone(),
                    a.default_version.clone(),
                    a.versions.len().to_string(),
                    a.installer.clone(),
                    if a.required_with_infiniband {
                        "required"
                    } else {
                        "-"
                    }
                    .to_owned(),
                    a.plugin_state.clone(),
                    or_dash(&a.customer_knobs.join(",")),
                ]
            })
            .collect(),
    )
}

/// `accord addon list`.
pub fn list_table(items: &[pb::AddonInstallation], now: OffsetDateTime) -> String {
    render(
        &[
            "NAME",
            "VERSION",
            "OWNERSHIP",
            "SOURCE",
            "INSTALLER",
            "GEN",
            "AGE",
        ],
        items
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    i.version.clone(),
                    ownership_name(i.ownership).to_owned(),
                    i.source.clone(),
                    i.installer.clone(),
                    i.generation.to_string(),
                    age(i.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

/// `accord addon get` (table form): the installation, why it is owned as it is, its files.
pub fn describe(i: &pb::AddonInstallation, now: OffsetDateTime) -> String {
    let mut out = list_table(std::slice::from_ref(i), now);
    out.push_str(&format!(
        "\n\nOwnership:  {} — {}\nConfig:     {}\nUpdated by: {} ({})\nManifests:  {}\n",
        ownership_name(i.ownership),
        i.ownership_reason,
        i.config,
        or_dash(&i.updated_by),
        age(i.updated_at.as_ref(), now),
        if i.manifests.is_empty() {
            "- (nothing rendered: a self-managed installation)".to_owned()
        } else {
            i.manifests
                .iter()
                .map(|m| format!("{} ({})", m.name, m.format))
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    out.push_str("(-o yaml shows the rendered manifests)");
    out
}
