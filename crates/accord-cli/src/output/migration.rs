//! VirtioFS → NFS migrations as the CLI prints them: the view `-o json|yaml` prints (field names
//! as in `accord.storage.v1`), the plan `accord migration plan` prints, the progress formatter
//! `--wait` shows, the `describe` document and the `get migrations` table.
//!
//! Shape: `{"id", "name", "project", "state", "batch_size", "volumes": [{"name", "cluster",
//! "size_bytes", "batch", "state", "bytes_copied", "failure"}], "estimate": {"volumes",
//! "bytes", "batches", "duration_seconds"}, "bytes_copied", "bytes_total", "current_batch",
//! "by_state": {state: count}, "created_at"?, "created_by", "dry_run"}`; `estimate` is `null`
//! only if the server sent none.
//!
//! Batches are 0-based on the wire and 1-based on screen (`batch 2/3` is the wire's batch 1).
//! Per-state counts are listed in the order a volume moves through the states.

use std::collections::BTreeMap;

use accord_proto::storage::v1 as pb;
use serde::Serialize;
use time::OffsetDateTime;

use super::describe::Doc;
use super::tables::render;
use super::{Resource, age, human_bytes, or_dash, rfc3339};
use crate::wait::percent;

/// The state of a migration that has nothing left to do.
pub const FINISHED: &str = "finished";
/// The state of a volume whose migration failed.
pub const VOLUME_FAILED: &str = "failed";

/// The states of a migrating volume, in the order it moves through them.
pub const VOLUME_STATES: [&str; 11] = [
    "pending",
    "copying",
    "copied",
    "verifying",
    "verified",
    "cutting-over",
    "releasing",
    "done",
    "rolling-back",
    "rolled-back",
    "failed",
];

/// Width of the text progress bar, in characters between the brackets.
pub const BAR_WIDTH: usize = 24;

/// One volume of a migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationVolumeView {
    pub name: String,
    pub cluster: String,
    pub size_bytes: u64,
    pub batch: u32,
    pub state: String,
    pub bytes_copied: u64,
    pub failure: String,
}

/// A plan's estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EstimateView {
    pub volumes: u32,
    pub bytes: u64,
    pub batches: u32,
    pub duration_seconds: u64,
}

/// A migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationView {
    pub id: String,
    pub name: String,
    pub project: String,
    pub state: String,
    pub batch_size: u32,
    pub volumes: Vec<MigrationVolumeView>,
    pub estimate: Option<EstimateView>,
    pub bytes_copied: u64,
    pub bytes_total: u64,
    pub current_batch: i32,
    pub by_state: BTreeMap<String, u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub created_by: String,
    pub dry_run: bool,
}

impl MigrationView {
    pub fn from_pb(m: &pb::Migration) -> MigrationView {
        MigrationView {
            id: m.id.clone(),
            name: m.name.clone(),
            project: m.project.clone(),
            state: m.state.clone(),
            batch_size: m.batch_size,
            volumes: m
                .volumes
                .iter()
                .map(|v| MigrationVolumeView {
                    name: v.name.clone(),
                    cluster: v.cluster.clone(),
                    size_bytes: v.size_bytes,
                    batch: v.batch,
                    state: v.state.clone(),
                    bytes_copied: v.bytes_copied,
                    failure: v.failure.clone(),
                })
                .collect(),
            estimate: m.estimate.as_ref().map(|e| EstimateView {
                volumes: e.volumes,
                bytes: e.bytes,
                batches: e.batches,
                duration_seconds: e.duration_seconds,
            }),
            bytes_copied: m.bytes_copied,
            bytes_total: m.bytes_total,
            current_batch: m.current_batch,
            by_state: m.by_state.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            created_at: rfc3339(m.created_at.as_ref()),
            created_by: m.created_by.clone(),
            dry_run: m.dry_run,
        }
    }
}

impl Resource for pb::Migration {
    const KIND: &'static str = "migration";
    fn name(&self) -> &str {
        &self.name
    }
    fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(MigrationView::from_pb(self))
    }
}

/// A duration estimate for people: `45s`, `12m`, `2h 5m`, `3d 4h` (the two largest units).
pub fn human_estimate(seconds: u64) -> String {
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        (seconds % 86_400) / 3600,
        (seconds % 3600) / 60,
        seconds % 60,
    );
    let parts: Vec<String> = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
        .into_iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// `CLUSTER/NAME` of a migrating volume.
fn volume_ref(v: &pb::MigrationVolume) -> String {
    if v.cluster.is_empty() {
        v.name.clone()
    } else {
        format!("{}/{}", v.cluster, v.name)
    }
}

/// How many batches: the estimate's count, else one past the highest batch of a volume.
pub fn batch_count(m: &pb::Migration) -> u32 {
    m.estimate
        .as_ref()
        .map(|e| e.batches)
        .filter(|b| *b > 0)
        .unwrap_or_else(|| m.volumes.iter().map(|v| v.batch + 1).max().unwrap_or(0))
}

/// `accord migration plan` (table form): what was planned, the estimate, the batches and their
/// volumes.
pub fn plan_text(m: &pb::Migration) -> String {
    let mut out = if m.dry_run || m.id.is_empty() {
        format!("migration/{} (dry run: nothing stored)\n", m.name)
    } else {
        format!("migration/{} planned (id {})\n", m.name, m.id)
    };
    let estimate = m.estimate.unwrap_or_default();
    let batches = batch_count(m);
    out.push_str(&format!(
        "Estimate: {} volume{}, {} in {} batch{} of up to {}, about {}\n",
        estimate.volumes,
        if estimate.volumes == 1 { "" } else { "s" },
        human_bytes(estimate.bytes),
        batches,
        if batches == 1 { "" } else { "es" },
        m.batch_size,
        human_estimate(estimate.duration_seconds)
    ));
    if m.volumes.is_empty() {
        out.push_str("\nNo volumes to migrate.\n");
        return out;
    }
    out.push('\n');
    out.push_str(&batches_table(m));
    out.push_str("\n\n");
    out.push_str(&render(
        &["BATCH", "VOLUME", "SIZE"],
        m.volumes
            .iter()
            .map(|v| {
                vec![
                    (v.batch + 1).to_string(),
                    volume_ref(v),
                    human_bytes(v.size_bytes),
                ]
            })
            .collect(),
    ));
    out.push('\n');
    out
}

/// BATCH VOLUMES BYTES: one row per batch.
fn batches_table(m: &pb::Migration) -> String {
    let mut per_batch: BTreeMap<u32, (usize, u64)> = BTreeMap::new();
    for v in &m.volumes {
        let entry = per_batch.entry(v.batch).or_default();
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(v.size_bytes);
    }
    render(
        &["BATCH", "VOLUMES", "BYTES"],
        per_batch
            .into_iter()
            .map(|(batch, (count, bytes))| {
                vec![
                    (batch + 1).to_string(),
                    count.to_string(),
                    human_bytes(bytes),
                ]
            })
            .collect(),
    )
}

/// The per-state counts in pipeline order (`copying 2, done 3, failed 1`), zero counts left
/// out; states this CLI does not know come last, alphabetically.
pub fn state_counts(m: &pb::Migration) -> String {
    let mut counts: BTreeMap<&str, u32> = m
        .by_state
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    let mut parts = Vec::new();
    for state in VOLUME_STATES {
        if let Some(n) = counts.remove(state) {
            parts.push(format!("{state} {n}"));
        }
    }
    parts.extend(counts.into_iter().map(|(state, n)| format!("{state} {n}")));
    if parts.is_empty() {
        "no volumes".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Where the batches are: `batch 2/3`, or `no batch running`.
pub fn batch_position(m: &pb::Migration) -> String {
    match u32::try_from(m.current_batch) {
        Ok(batch) => format!("batch {}/{}", batch + 1, batch_count(m).max(batch + 1)),
        Err(_) => "no batch running".to_owned(),
    }
}

/// What `--wait` shows besides the bytes: `running, batch 2/3: copying 2, done 3`.
pub fn progress_summary(m: &pb::Migration) -> String {
    let state = if m.state.is_empty() {
        "pending"
    } else {
        &m.state
    };
    format!("{state}, {}: {}", batch_position(m), state_counts(m))
}

/// A text bar of `done` out of `total`: `[=========>              ]`.
pub fn text_bar(done: u64, total: u64) -> String {
    let filled = if total == 0 {
        0
    } else {
        let scaled = u128::from(done.min(total)) * BAR_WIDTH as u128 / u128::from(total);
        usize::try_from(scaled).unwrap_or(BAR_WIDTH)
    };
    let mut bar = "=".repeat(filled);
    if filled < BAR_WIDTH {
        if filled > 0 {
            bar.pop();
            bar.push('>');
        }
        bar.push_str(&" ".repeat(BAR_WIDTH - filled));
    }
    format!("[{bar}]")
}

/// The whole progress in one line: `[=====>     ] 12.0 GiB/40.0 GiB (30%), running, batch 2/3:
/// copying 2, done 3`.
pub fn progress_line(m: &pb::Migration) -> String {
    format!(
        "{} {}/{} ({}%), {}",
        text_bar(m.bytes_copied, m.bytes_total),
        human_bytes(m.bytes_copied),
        human_bytes(m.bytes_total),
        percent(m.bytes_copied, m.bytes_total),
        progress_summary(m)
    )
}

/// The volumes that ended `failed`.
pub fn failed_volumes(m: &pb::Migration) -> Vec<&pb::MigrationVolume> {
    m.volumes
        .iter()
        .filter(|v| v.state == VOLUME_FAILED)
        .collect()
}

/// Why a finished migration counts as failed: `2 of 5 volumes failed: demo/a (copy: …); …`,
/// or `None` when none failed.
pub fn failure_summary(m: &pb::Migration) -> Option<String> {
    let failed = failed_volumes(m);
    let counted = m.by_state.get(VOLUME_FAILED).copied().unwrap_or(0) as usize;
    let count = failed.len().max(counted);
    if count == 0 {
        return None;
    }
    let total = m.volumes.len().max(count);
    let details: Vec<String> = failed
        .iter()
        .map(|v| format!("{} ({})", volume_ref(v), or_dash(&v.failure)))
        .collect();
    let mut text = format!(
        "migration {}: {count} of {total} volume{} failed",
        m.name,
        if total == 1 { "" } else { "s" }
    );
    if !details.is_empty() {
        text.push_str(": ");
        text.push_str(&details.join("; "));
    }
    Some(text)
}

/// `accord migration describe` / `accord describe migration` (table form).
pub fn describe(m: &pb::Migration, now: OffsetDateTime) -> String {
    let mut doc = Doc::default();
    let created = match rfc3339(m.created_at.as_ref()) {
        Some(at) => format!("{at} ({} ago)", age(m.created_at.as_ref(), now)),
        None => String::new(),
    };
    doc.field(0, "Name", m.name.clone())
        .field(0, "ID", m.id.clone())
        .field(0, "Project", m.project.clone())
        .field(0, "State", m.state.clone())
        .field(0, "Batch size", m.batch_size.to_string())
        .field(0, "Created", created)
        .field(0, "Created by", m.created_by.clone())
        .field(0, "Progress", progress_line(m));
    if let Some(e) = &m.estimate {
        doc.field(
            0,
            "Estimate",
            format!(
                "{} volumes, {} in {} batches, about {}",
                e.volumes,
                human_bytes(e.bytes),
                e.batches,
                human_estimate(e.duration_seconds)
            ),
        );
    }
    doc.heading(0, "Volumes");
    doc.table(
        1,
        &["BATCH", "VOLUME", "SIZE", "STATE", "COPIED", "FAILURE"],
        m.volumes
            .iter()
            .map(|v| {
                vec![
                    (v.batch + 1).to_string(),
                    volume_ref(v),
                    human_bytes(v.size_bytes),
                    or_dash(&v.state),
                    human_bytes(v.bytes_copied),
                    or_dash(&v.failure),
                ]
            })
            .collect(),
    );
    doc.render()
}

/// `accord get migrations`: NAME ID STATE VOLUMES PROGRESS BATCH AGE.
pub fn migrations_table(migrations: &[pb::Migration], now: OffsetDateTime) -> String {
    render(
        &["NAME", "ID", "STATE", "VOLUMES", "PROGRESS", "BATCH", "AGE"],
        migrations
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    or_dash(&m.id),
                    or_dash(&m.state),
                    m.volumes.len().to_string(),
                    format!(
                        "{}/{} ({}%)",
                        human_bytes(m.bytes_copied),
                        human_bytes(m.bytes_total),
                        percent(m.bytes_copied, m.bytes_total)
                    ),
                    match u32::try_from(m.current_batch) {
                        Ok(batch) => format!("{}/{}", batch + 1, batch_count(m).max(batch + 1)),
                        Err(_) => "-".to_owned(),
                    },
                    age(m.created_at.as_ref(), now),
                ]
            })
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::fixtures::NOW;
    use crate::output::timestamp;

    const GIB: u64 = 1 << 30;

    fn volume(name: &str, batch: u32, state: &str, size: u64, copied: u64) -> pb::MigrationVolume {
        pb::MigrationVolume {
            name: name.into(),
            cluster: "demo".into(),
            size_bytes: size,
            batch,
            state: state.into(),
            bytes_copied: copied,
            failure: String::new(),
        }
    }

    pub(crate) fn running() -> pb::Migration {
        pb::Migration {
            id: "mig-01jexample000000000000001".into(),
            name: "to-nfs".into(),
            project: "acme".into(),
            state: "running".into(),
            batch_size: 2,
            volumes: vec![
                volume("a", 0, "done", 4 * GIB, 4 * GIB),
                volume("b", 0, "done", 4 * GIB, 4 * GIB),
                volume("c", 1, "copying", 8 * GIB, 2 * GIB),
                volume("d", 1, "pending", 8 * GIB, 0),
                volume("e", 2, "pending", 8 * GIB, 0),
            ],
            estimate: Some(pb::Estimate {
                volumes: 5,
                bytes: 32 * GIB,
                batches: 3,
                duration_seconds: 2 * 3600 + 5 * 60 + 7,
            }),
            bytes_copied: 10 * GIB,
            bytes_total: 32 * GIB,
            current_batch: 1,
            by_state: HashMap::from([
                ("done".to_owned(), 2),
                ("copying".to_owned(), 1),
                ("pending".to_owned(), 2),
                ("failed".to_owned(), 0),
            ]),
            created_at: Some(timestamp(NOW - time::Duration::minutes(30))),
            created_by: "alice@acme.example".into(),
            dry_run: false,
        }
    }

    #[test]
    fn estimates_read_like_durations() {
        assert_eq!(human_estimate(0), "0s");
        assert_eq!(human_estimate(45), "45s");
        assert_eq!(human_estimate(12 * 60), "12m");
        assert_eq!(human_estimate(2 * 3600 + 5 * 60 + 7), "2h 5m");
        assert_eq!(human_estimate(3600 + 7), "1h");
        assert_eq!(human_estimate(3 * 86_400 + 4 * 3600 + 1), "3d 4h");
    }

    #[test]
    fn progress_formatter_shows_bytes_states_and_batch() {
        let m = running();
        assert_eq!(
            progress_summary(&m),
            "running, batch 2/3: pending 2, copying 1, done 2"
        );
        assert_eq!(
            progress_line(&m),
            "[======>                 ] 10.0 GiB/32.0 GiB (31%), running, batch 2/3: pending 2, copying 1, done 2"
        );
        let mut idle = m.clone();
        idle.current_batch = -1;
        idle.state = "planned".into();
        idle.by_state.clear();
        idle.bytes_copied = 0;
        assert_eq!(
            progress_line(&idle),
            "[                        ] 0 B/32.0 GiB (0%), planned, no batch running: no volumes"
        );
        assert_eq!(text_bar(0, 0), format!("[{}]", " ".repeat(BAR_WIDTH)));
        assert_eq!(text_bar(5, 5), format!("[{}]", "=".repeat(BAR_WIDTH)));
        let mut odd = m;
        odd.by_state.insert("paused".into(), 1);
        assert!(state_counts(&odd).ends_with("done 2, paused 1"));
    }

    #[test]
    fn plan_lists_batches_bytes_and_the_estimate() {
        let mut plan = running();
        plan.state = "planned".into();
        plan.id.clear();
        plan.dry_run = true;
        let text = plan_text(&plan);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "migration/to-nfs (dry run: nothing stored)");
        assert_eq!(
            lines[1],
            "Estimate: 5 volumes, 32.0 GiB in 3 batches of up to 2, about 2h 5m"
        );
        assert_eq!(lines[3], "BATCH   VOLUMES   BYTES");
        assert_eq!(lines[4], "1       2         8.0 GiB");
        assert_eq!(lines[5], "2       2         16.0 GiB");
        assert_eq!(lines[6], "3       1         8.0 GiB");
        assert_eq!(lines[8], "BATCH   VOLUME   SIZE");
        assert_eq!(lines[9], "1       demo/a   4.0 GiB");
        let stored = running();
        assert!(
            plan_text(&stored)
                .starts_with("migration/to-nfs planned (id mig-01jexample000000000000001)\n")
        );
    }

    #[test]
    fn failures_are_summarised_with_their_reasons() {
        let mut m = running();
        assert_eq!(failure_summary(&m), None);
        m.state = FINISHED.into();
        m.volumes[2].state = VOLUME_FAILED.into();
        m.volumes[2].failure = "verify: checksum mismatch".into();
        m.by_state.insert("failed".into(), 1);
        assert_eq!(
            failure_summary(&m).unwrap(),
            "migration to-nfs: 1 of 5 volumes failed: demo/c (verify: checksum mismatch)"
        );
        let text = describe(&m, NOW);
        assert!(text.contains("verify: checksum mismatch"), "{text}");
        assert!(text.contains("Progress:"), "{text}");
        assert!(text.contains("2026-11-24T09:30:00Z (30m ago)"), "{text}");
    }

    #[test]
    fn json_uses_the_proto_field_names() {
        let value = running().to_value().unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "batch_size",
                "by_state",
                "bytes_copied",
                "bytes_total",
                "created_at",
                "created_by",
                "current_batch",
                "dry_run",
                "estimate",
                "id",
                "name",
                "project",
                "state",
                "volumes",
            ]
        );
        assert_eq!(value["by_state"]["copying"], 1);
        assert_eq!(value["estimate"]["duration_seconds"], 7507);
        assert_eq!(value["volumes"][2]["bytes_copied"], 2 * GIB);
        assert_eq!(value["current_batch"], 1);
    }

    #[test]
    fn list_table() {
        let text = migrations_table(&[running()], NOW);
        assert_eq!(
            text,
            "NAME     ID                              STATE     VOLUMES   PROGRESS                  BATCH   AGE\n\
             to-nfs   mig-01jexample000000000000001   running   5         10.0 GiB/32.0 GiB (31%)   2/3     30m"
        );
    }
}
