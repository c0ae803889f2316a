//! Add-on views (what `-o json|yaml` prints) and tables: installations, and the automatic
//! installs that failed and are being retried (shown as rows with status `install-failed`).

use accord_proto::addons::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Resource, age, datetime, human_duration, or_dash, rfc3339, tables::render, truncate};

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

/// Status of an installed add-on's row.
pub const INSTALLED: &str = "installed";
/// Status of a failed automatic install's row.
pub const INSTALL_FAILED: &str = "install-failed";

/// How much of a failed install's error a table row shows (`-o json|yaml` has all of it).
const ERROR_WIDTH: usize = 80;

/// An installation.
#[derive(Debug, Clone, Serialize)]
pub struct AddonView {
    pub kind: &'static str,
    /// Always `installed` (failed automatic installs are [`PendingView`]s).
    pub status: &'static str,
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
            status: INSTALLED,
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

/// An automatic install that failed and is being retried (no installation exists).
#[derive(Debug, Clone, Serialize)]
pub struct PendingView {
    pub kind: &'static str,
    /// Always `install-failed`.
    pub status: &'static str,
    pub cluster: String,
    pub cluster_id: String,
    pub project: String,
    pub name: String,
    pub source: String,
    pub attempts: u32,
    pub last_error: String,
    pub first_failed_at: String,
    pub last_failed_at: String,
    pub next_attempt_at: String,
}

impl PendingView {
    pub fn from_pb(p: &pb::PendingInstall) -> PendingView {
        PendingView {
            kind: "PendingAddonInstall",
            status: INSTALL_FAILED,
            cluster: p.cluster_name.clone(),
            cluster_id: p.cluster_id.clone(),
            project: p.project.clone(),
            name: p.name.clone(),
            source: p.source.clone(),
            attempts: p.attempts,
            last_error: p.last_error.clone(),
            first_failed_at: rfc3339(p.first_failed_at.as_ref()).unwrap_or_default(),
            last_failed_at: rfc3339(p.last_failed_at.as_ref()).unwrap_or_default(),
            next_attempt_at: rfc3339(p.next_attempt_at.as_ref()).unwrap_or_default(),
        }
    }
}

/// One item of `accord addon list`: an installation or a failed automatic install.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AddonRow {
    Installed(AddonView),
    Pending(PendingView),
}

impl AddonRow {
    /// The installations, then the failed automatic installs.
    pub fn of(r: &pb::ListAddonsResponse) -> Vec<AddonRow> {
        r.addons
            .iter()
            .map(|i| AddonRow::Installed(AddonView::from_pb(i)))
            .chain(
                r.pending
                    .iter()
                    .map(|p| AddonRow::Pending(PendingView::from_pb(p))),
            )
            .collect()
    }
}

impl Resource for AddonRow {
    const KIND: &'static str = "addon";
    fn name(&self) -> &str {
        match self {
            AddonRow::Installed(v) => &v.name,
            AddonRow::Pending(v) => &v.name,
        }
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// The status column of a failed automatic install:
/// `install-failed (attempt 3, retry in 2m): <error>`.
pub fn pending_status(p: &pb::PendingInstall, now: OffsetDateTime) -> String {
    let retry = match datetime(p.next_attempt_at.as_ref()) {
        Some(next) if next > now => {
            format!("retry in {}", human_duration((next - now).whole_seconds()))
        }
        Some(_) => "retrying now".to_owned(),
        None => "retry time unknown".to_owned(),
    };
    format!(
        "{INSTALL_FAILED} (attempt {}, {retry}): {}",
        p.attempts,
        truncate(&p.last_error, ERROR_WIDTH)
    )
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

/// `accord addon list`: the installations, then the automatic installs that failed (their age
/// counts from the first failure).
pub fn list_table(
    items: &[pb::AddonInstallation],
    pending: &[pb::PendingInstall],
    now: OffsetDateTime,
) -> String {
    let installed = items.iter().map(|i| {
        vec![
            i.name.clone(),
            i.version.clone(),
            ownership_name(i.ownership).to_owned(),
            i.source.clone(),
            i.installer.clone(),
            i.generation.to_string(),
            age(i.created_at.as_ref(), now),
            INSTALLED.to_owned(),
        ]
    });
    let failed = pending.iter().map(|p| {
        vec![
            p.name.clone(),
            "-".to_owned(),
            "-".to_owned(),
            p.source.clone(),
            "-".to_owned(),
            "-".to_owned(),
            age(p.first_failed_at.as_ref(), now),
            pending_status(p, now),
        ]
    });
    render(
        &[
            "NAME",
            "VERSION",
            "OWNERSHIP",
            "SOURCE",
            "INSTALLER",
            "GEN",
            "AGE",
            "STATUS",
        ],
        installed.chain(failed).collect(),
    )
}

/// `accord addon get` (table form): the installation, why it is owned as it is, its files.
pub fn describe(i: &pb::AddonInstallation, now: OffsetDateTime) -> String {
    let mut out = list_table(std::slice::from_ref(i), &[], now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{OutputFormat, render_list, timestamp};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

    fn response() -> pb::ListAddonsResponse {
        pb::ListAddonsResponse {
            addons: vec![pb::AddonInstallation {
                name: "cilium".into(),
                version: "1.16.5".into(),
                ownership: pb::Ownership::ProviderManaged.into(),
                source: "opted-in".into(),
                installer: "provider".into(),
                generation: 1,
                created_at: Some(timestamp(datetime!(2026-11-24 09:55:00 UTC))),
                ..Default::default()
            }],
            pending: vec![pb::PendingInstall {
                cluster_name: "train".into(),
                name: "watch-agent".into(),
                source: "opted-in".into(),
                attempts: 3,
                last_error: format!(
                    "invalid argument: name: no add-on named \"watch-agent\" (available: {})",
                    "cilium, ".repeat(20)
                ),
                first_failed_at: Some(timestamp(datetime!(2026-11-24 09:56:00 UTC))),
                last_failed_at: Some(timestamp(datetime!(2026-11-24 09:59:30 UTC))),
                next_attempt_at: Some(timestamp(datetime!(2026-11-24 10:01:30 UTC))),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn failed_automatic_installs_are_listed_with_their_attempt_retry_and_error() {
        let r = response();
        let table = list_table(&r.addons, &r.pending, NOW);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        assert!(lines[0].ends_with("STATUS"), "{table}");
        assert!(lines[1].starts_with("cilium") && lines[1].ends_with("installed"));
        assert!(lines[2].starts_with("watch-agent"), "{table}");
        // Its age counts from the first failure.
        assert_eq!(lines[2].split_whitespace().nth(6), Some("4m"), "{table}");
        assert!(
            lines[2].contains(
                "install-failed (attempt 3, retry in 90s): invalid argument: name: no add-on named \"watch-agent\""
            ),
            "{table}"
        );
        // The table cuts the error; it ends with an ellipsis.
        assert!(lines[2].ends_with('…'), "{table}");
        // Due already: said so.
        let late = list_table(&[], &r.pending, datetime!(2026-11-24 10:05:00 UTC));
        assert!(late.contains("(attempt 3, retrying now)"), "{late}");
    }

    #[test]
    fn json_lists_failed_installs_as_items_with_the_whole_error() {
        let r = response();
        let rows = AddonRow::of(&r);
        let json = render_list(OutputFormat::Json, &rows, String::new).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["status"], "installed");
        assert_eq!(items[0]["kind"], "AddonInstallation");
        assert_eq!(items[1]["kind"], "PendingAddonInstall");
        assert_eq!(items[1]["status"], "install-failed");
        assert_eq!(items[1]["attempts"], 3);
        assert_eq!(items[1]["next_attempt_at"], "2026-11-24T10:01:30Z");
        assert_eq!(items[1]["last_error"], r.pending[0].last_error.as_str());
        let names = render_list(OutputFormat::Name, &rows, String::new).unwrap();
        assert_eq!(names, "addon/cilium\naddon/watch-agent");
    }
}
