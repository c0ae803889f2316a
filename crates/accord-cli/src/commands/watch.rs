//! `accord get cluster|nodepool|node … --watch`: after the list, follow the event stream and
//! print what changed, as `kubectl get -w` does.
//!
//! The events are a trigger, not the data: on an event about a relevant kind (a cluster event
//! for clusters; node pool and node events for pools and nodes) the CLI waits [`DEBOUNCE`] for
//! the burst to settle, lists again (with the same name, cluster and selector filters) and
//! prints the resources whose `resource_version` moved, then the ones that disappeared (with
//! phase / state `deleted`). Tables print rows only (no header again); `-o json|yaml|name`
//! print each changed resource as one document / line. Right after subscribing it lists once
//! more, so a change made between the first list and the subscription is not missed.
//!
//! Invariant: the subscription is the one `accord events watch` makes
//! ([`super::events::subscribe`]): with an API key, live events of the key's project only;
//! with `--project`, that project's events only.
//! Ctrl-C (also while waiting or listing), the end of the stream or a closed stdout ends the
//! watch.

use std::collections::BTreeMap;
use std::time::Duration;

use accord_bus::CloudEvent;
use accord_proto::provisioner::v1 as pb;
use futures::StreamExt;
use futures::future::BoxFuture;

use super::Context;
use super::events::{self, Subscription};
use super::lookup::{FoundNode, FoundPool};
use crate::cli::{EventsWatchArgs, OutputFormat};
use crate::output::{Resource, render_one};

/// How long a burst of events may last before the list is fetched again.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// A resource `get --watch` follows.
pub trait Watched: Clone {
    /// The `Resource` printed for `-o json|yaml|name`.
    type Printed: Resource + Clone;
    /// Event resource kinds (`accord.<kind>.<event>.v1`) that may change it.
    const EVENT_KINDS: &'static [&'static str];
    /// Its metadata (id and resource_version tell changes apart).
    fn meta(&self) -> Option<&pb::ObjectMeta>;
    /// The resource as printed.
    fn printed(&self) -> &Self::Printed;
    /// Marks it as gone (its phase or state reads `deleted`).
    fn mark_deleted(&mut self);
}

impl Watched for pb::Cluster {
    type Printed = pb::Cluster;
    const EVENT_KINDS: &'static [&'static str] = &["cluster", "nodepool"];
    fn meta(&self) -> Option<&pb::ObjectMeta> {
        self.metadata.as_ref()
    }
    fn printed(&self) -> &pb::Cluster {
        self
    }
    fn mark_deleted(&mut self) {
        self.status.get_or_insert_with(Default::default).phase = "deleted".into();
    }
}

impl Watched for FoundPool {
    type Printed = pb::NodePool;
    const EVENT_KINDS: &'static [&'static str] = &["nodepool", "node"];
    fn meta(&self) -> Option<&pb::ObjectMeta> {
        self.pool.metadata.as_ref()
    }
    fn printed(&self) -> &pb::NodePool {
        &self.pool
    }
    fn mark_deleted(&mut self) {
        self.pool.status.get_or_insert_with(Default::default).phase = "deleted".into();
    }
}

impl Watched for FoundNode {
    type Printed = pb::Node;
    const EVENT_KINDS: &'static [&'static str] = &["node", "nodepool"];
    fn meta(&self) -> Option<&pb::ObjectMeta> {
        self.node.metadata.as_ref()
    }
    fn printed(&self) -> &pb::Node {
        &self.node
    }
    fn mark_deleted(&mut self) {
        self.node.status.get_or_insert_with(Default::default).state = "deleted".into();
    }
}

fn key<T: Watched>(item: &T) -> (String, u64) {
    item.meta()
        .map(|m| (m.id.clone(), m.resource_version))
        .unwrap_or_default()
}

/// What changed between the last list (`seen`, updated in place) and `current`: new resources
/// and those whose resource_version moved, in `current`'s order, then the ones that are gone
/// (marked deleted).
pub fn changes<T: Watched>(seen: &mut BTreeMap<String, T>, current: Vec<T>) -> Vec<T> {
    let mut changed = Vec::new();
    let mut present = BTreeMap::new();
    for item in current {
        let (id, version) = key(&item);
        let moved = seen.get(&id).is_none_or(|old| key(old).1 != version);
        if moved {
            changed.push(item.clone());
        }
        present.insert(id, item);
    }
    for (id, mut gone) in std::mem::take(seen) {
        if !present.contains_key(&id) {
            gone.mark_deleted();
            changed.push(gone);
        }
    }
    *seen = present;
    changed
}

/// Whether `event` is about one of `kinds` (`accord.cluster.created.v1` → `cluster`).
pub fn relevant(event: &CloudEvent, kinds: &[&str]) -> bool {
    let kind = events::short_type(&event.r#type)
        .split('.')
        .next()
        .unwrap_or_default();
    kinds.contains(&kind)
}

/// Rows or documents for `changed`, in the context's format; "" when nothing changed. Table
/// rows come with the header only when `header` (none was printed yet).
pub fn render_changes<T: Watched>(
    format: OutputFormat,
    changed: &[T],
    table: &(dyn Fn(&[T]) -> String + Sync),
    header: bool,
) -> anyhow::Result<String> {
    if changed.is_empty() {
        return Ok(String::new());
    }
    Ok(match format {
        OutputFormat::Table if header => table(changed),
        OutputFormat::Table => crate::output::wide::without_header(&table(changed)),
        OutputFormat::Yaml => {
            let mut text = String::new();
            for item in changed {
                text.push_str("---\n");
                text.push_str(&render_one(format, item.printed(), String::new)?);
            }
            text
        }
        OutputFormat::Json | OutputFormat::Name => changed
            .iter()
            .map(|item| render_one(format, item.printed(), String::new))
            .collect::<anyhow::Result<Vec<_>>>()?
            .join("\n"),
    })
}

/// Follows the event stream after the first list (`initial`), printing changes until Ctrl-C
/// or the end of the stream. `list` lists again with the command's filters; `table` renders
/// rows, with its header only while `needs_header` (the first list printed none, and
/// `--no-headers` was not given).
pub async fn follow<T: Watched>(
    ctx: &Context,
    initial: Vec<T>,
    mut list: impl FnMut() -> BoxFuture<'static, anyhow::Result<Vec<T>>> + Send,
    table: &(dyn Fn(&[T]) -> String + Sync),
    mut needs_header: bool,
) -> anyhow::Result<()> {
    let args = EventsWatchArgs {
        resource: None,
        id: None,
        project_id: selected_project_id(ctx).await?,
        all: false,
    };
    let Subscription {
        filter, mut events, ..
    } = events::subscribe(ctx, args).await?;
    let mut seen: BTreeMap<String, T> = initial
        .into_iter()
        .map(|item| (key(&item).0, item))
        .collect();
    tracing::debug!(%filter, "get --watch subscribed");
    // One Ctrl-C for the whole watch, also heard while waiting or listing.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // The first pass lists again at once: what changed between the first list and the
    // subscription has no event left to wake the watch.
    let mut stale = true;
    loop {
        if stale {
            stale = false;
            let listed = tokio::select! {
                listed = list() => listed,
                _ = &mut ctrl_c => break,
            };
            match listed {
                Ok(current) => {
                    let changed = changes(&mut seen, current);
                    ctx.out(&render_changes(ctx.format, &changed, table, needs_header)?);
                    needs_header &= changed.is_empty();
                }
                Err(error) => ctx.note(&format!("warning: listing again failed: {error:#}")),
            }
            if ctx.printer.is_closed() {
                break;
            }
        }
        tokio::select! {
            item = events.next() => match item {
                None => break,
                Some(Ok(event)) if relevant(&event, T::EVENT_KINDS) => {
                    // Let the burst settle, then drop what arrived meanwhile: one list covers it.
                    tokio::select! {
                        () = tokio::time::sleep(DEBOUNCE) => {}
                        _ = &mut ctrl_c => break,
                    }
                    while let Some(Some(_)) = futures::FutureExt::now_or_never(events.next()) {}
                    stale = true;
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => ctx.note(&format!("skipped a message: {error}")),
            },
            _ = &mut ctrl_c => break,
        }
    }
    Ok(())
}

/// The id of the project `--project` selects (the event subjects name projects by id), so an
/// operator watching one project is not woken by every other project's events; `None`
/// without `--project` (an API key's own project is found by [`events::subscribe`]).
async fn selected_project_id(ctx: &Context) -> anyhow::Result<Option<String>> {
    if ctx.settings.project.is_empty() {
        return Ok(None);
    }
    let project = super::lookup::project(&ctx.api().await?).await?;
    Ok(project.metadata.map(|m| m.id).filter(|id| !id.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn cluster(name: &str, id: &str, version: u64) -> pb::Cluster {
        let mut cluster = fixtures::cluster(name, id);
        cluster.metadata.as_mut().unwrap().resource_version = version;
        cluster
    }

    #[test]
    fn changes_are_new_moved_and_gone() {
        let mut seen: BTreeMap<String, pb::Cluster> = [
            ("cl-a".to_owned(), cluster("a", "cl-a", 1)),
            ("cl-b".to_owned(), cluster("b", "cl-b", 1)),
        ]
        .into_iter()
        .collect();
        let changed = changes(
            &mut seen,
            vec![cluster("a", "cl-a", 1), cluster("c", "cl-c", 1)],
        );
        let names: Vec<(&str, &str)> = changed
            .iter()
            .map(|c| {
                (
                    c.metadata.as_ref().unwrap().name.as_str(),
                    c.status.as_ref().unwrap().phase.as_str(),
                )
            })
            .collect();
        assert_eq!(names, vec![("c", "running"), ("b", "deleted")]);
        // The same list again: nothing to print.
        assert!(
            changes(
                &mut seen,
                vec![cluster("a", "cl-a", 1), cluster("c", "cl-c", 1)]
            )
            .is_empty()
        );
        // A moved resource_version is a change.
        let changed = changes(
            &mut seen,
            vec![cluster("a", "cl-a", 2), cluster("c", "cl-c", 1)],
        );
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].metadata.as_ref().unwrap().name, "a");
    }

    #[test]
    fn rows_without_header_and_documents() {
        let changed = vec![cluster("a", "cl-a", 2)];
        let now = time::OffsetDateTime::now_utc();
        let table = |items: &[pb::Cluster]| crate::output::tables::clusters(items, now);
        let rows = render_changes(OutputFormat::Table, &changed, &table, false).unwrap();
        assert!(rows.starts_with("a "), "{rows}");
        assert!(!rows.contains("NAME"), "{rows}");
        let first = render_changes(OutputFormat::Table, &changed, &table, true).unwrap();
        assert_eq!(first.lines().count(), 2, "{first}");
        assert!(first.starts_with("NAME "), "{first}");
        let yaml = render_changes(OutputFormat::Yaml, &changed, &table, false).unwrap();
        assert!(yaml.starts_with("---\nkind: Cluster"), "{yaml}");
        assert_eq!(
            render_changes(OutputFormat::Name, &changed, &table, true).unwrap(),
            "cluster/a"
        );
        assert_eq!(
            render_changes::<pb::Cluster>(OutputFormat::Table, &[], &table, true).unwrap(),
            ""
        );
    }

    #[test]
    fn only_events_of_the_watched_kinds_trigger() {
        let event = |t: &str| CloudEvent {
            specversion: "1.0".into(),
            id: "1".into(),
            source: "/accord/provisioner".into(),
            r#type: t.into(),
            subject: None,
            time: "2026-11-24T10:00:00Z".into(),
            datacontenttype: "application/json".into(),
            data: serde_json::Value::Null,
            traceparent: None,
            project: None,
        };
        assert!(relevant(
            &event("accord.cluster.created.v1"),
            pb::Cluster::EVENT_KINDS
        ));
        assert!(relevant(
            &event("accord.node.ready.v1"),
            FoundPool::EVENT_KINDS
        ));
        assert!(!relevant(
            &event("accord.ticket.filed.v1"),
            pb::Cluster::EVENT_KINDS
        ));
        assert!(!relevant(
            &event("accord.node.ready.v1"),
            pb::Cluster::EVENT_KINDS
        ));
    }
}
