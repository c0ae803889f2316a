//! `accord events watch`: follow the CloudEvents Accord publishes on NATS, one line each.
//!
//! Lines read `TIME  TYPE  SUBJECT  summary`, where TYPE drops the `accord.` prefix and the
//! version (`cluster.created`) and the summary lists the event's scalar fields (`name=demo`).
//! `-o json` prints each raw CloudEvent as one JSON line (jq-friendly).

use accord_bus::{Bus, BusAuth, BusError, CloudEvent, StartAt, subjects};
use accord_proto::provisioner::v1 as pb;
use anyhow::{Context as _, bail};
use futures::StreamExt;
use futures::stream::BoxStream;

use super::Context;
use crate::cli::{EventsCommand, EventsWatchArgs, OutputFormat};

/// Longest summary printed, in characters.
const SUMMARY_LIMIT: usize = 160;

/// Runs `accord events`.
pub async fn run(ctx: &Context, command: EventsCommand) -> anyhow::Result<()> {
    let EventsCommand::Watch(args) = command;
    watch(ctx, args).await
}

/// The resource kind for a user's spelling (`clusters`, `np`, … → `cluster`, `nodepool`).
pub fn resource_kind(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "cluster" | "clusters" | "cl" => "cluster".into(),
        "nodepool" | "nodepools" | "node-pool" | "node-pools" | "np" => "nodepool".into(),
        "node" | "nodes" | "no" => "node".into(),
        "project" | "projects" => "project".into(),
        _ => lower,
    }
}

/// The subject filter for the arguments: `accord.evt.<project or *>.<kind or >>…`.
pub fn filter(args: &EventsWatchArgs) -> anyhow::Result<String> {
    let filter = match (&args.project_id, &args.resource, &args.id) {
        (Some(p), Some(resource), Some(id)) => {
            subjects::events_in_about(p, &resource_kind(resource), id)
        }
        (Some(p), Some(resource), None) => subjects::events_in_of(p, &resource_kind(resource)),
        (Some(p), None, _) => subjects::events_in(p),
        (None, Some(resource), Some(id)) => subjects::events_about(&resource_kind(resource), id),
        (None, Some(resource), None) => subjects::events_of(&resource_kind(resource)),
        (None, None, _) => Ok(subjects::events_all()),
    };
    filter.context("invalid --project-id, --resource or --id")
}

/// A live subscription to events, and the connection it needs.
pub struct Subscription {
    /// The subject filter subscribed to.
    pub filter: String,
    /// The events, as they arrive.
    pub events: BoxStream<'static, Result<CloudEvent, BusError>>,
    /// Kept open for as long as the stream is read.
    _bus: Bus,
}

/// Subscribes to the events `args` select. With an API key (the NATS token) the subscription
/// is live and limited to the key's project (found with WhoAmI); with an operator's nkey it
/// reads the event stream (from now, or everything with `--all`).
pub async fn subscribe(ctx: &Context, mut args: EventsWatchArgs) -> anyhow::Result<Subscription> {
    let with_key = matches!(ctx.nats_auth()?, Some(BusAuth::Token(_)));
    if with_key {
        // The API key is the NATS token: the server lets a customer read its project's events
        // and nothing else (live, no stream), so the filter names the key's project.
        if args.all {
            bail!(
                "--all replays the event stream, which connections with an API key cannot read \
                 (they receive live events); an operator profile with nats_nkey_file can"
            );
        }
        let api = ctx.api().await?;
        let me = api
            .call(api.projects().who_am_i(pb::WhoAmIRequest {}))
            .await?;
        if me.party == "customer" {
            match &args.project_id {
                Some(p) if *p != me.project => bail!(
                    "the API key belongs to project {}: its events are the only ones it may read",
                    me.project
                ),
                _ => args.project_id = Some(me.project.clone()),
            }
        }
    }
    let filter = filter(&args)?;
    let bus = ctx.bus().await?;
    let events = if with_key {
        bus.live_events(&filter).await
    } else {
        let start = if args.all { StartAt::All } else { StartAt::New };
        bus.watch_events(&filter, start).await
    };
    let events = events.map_err(|error| {
        anyhow::Error::new(error).context(format!(
            "watch events on {filter} (is Accord running? the event stream is created at start-up)"
        ))
    })?;
    Ok(Subscription {
        filter,
        events,
        _bus: bus,
    })
}

async fn watch(ctx: &Context, args: EventsWatchArgs) -> anyhow::Result<()> {
    let Subscription {
        filter,
        mut events,
        _bus,
    } = subscribe(ctx, args).await?;
    if ctx.format == OutputFormat::Table {
        ctx.note(&format!("watching {filter} (Ctrl-C to stop)"));
    }
    loop {
        tokio::select! {
            item = events.next() => match item {
                None => break,
                Some(Ok(event)) => ctx.out(&render(ctx.format, &event)?),
                Some(Err(error)) => ctx.note(&format!("skipped a message: {error}")),
            },
            _ = tokio::signal::ctrl_c() => break,
        }
        if ctx.printer.is_closed() {
            break;
        }
    }
    Ok(())
}

/// One event in `format`.
pub fn render(format: OutputFormat, event: &CloudEvent) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Json => serde_json::to_string(event)?,
        OutputFormat::Yaml => format!("---\n{}", serde_norway::to_string(event)?),
        OutputFormat::Name => format!(
            "{}/{}",
            short_type(&event.r#type)
                .split('.')
                .next()
                .unwrap_or_default(),
            event.subject.as_deref().unwrap_or("-")
        ),
        OutputFormat::Table => format!(
            "{}  {:<28}  {:<30}  {}",
            event.time,
            short_type(&event.r#type),
            event.subject.as_deref().unwrap_or("-"),
            summary(&event.data)
        )
        .trim_end()
        .to_owned(),
    })
}

/// `accord.cluster.created.v1` → `cluster.created`.
pub fn short_type(event_type: &str) -> &str {
    let without_prefix = event_type.strip_prefix("accord.").unwrap_or(event_type);
    match without_prefix.rsplit_once('.') {
        Some((rest, version))
            if version.starts_with('v') && version[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            rest
        }
        _ => without_prefix,
    }
}

/// A short `key=value` summary of an event's data: its scalar fields, the name of an embedded
/// resource, and the type/status of an embedded condition.
pub fn summary(data: &serde_json::Value) -> String {
    let Some(object) = data.as_object() else {
        return match data {
            serde_json::Value::Null => String::new(),
            other => crate::output::truncate(&other.to_string(), SUMMARY_LIMIT),
        };
    };
    let mut parts = Vec::new();
    for (key, value) in object {
        if key == "event" {
            continue; // the tag, already in the type
        }
        match value {
            serde_json::Value::String(s) => parts.push(format!("{key}={s}")),
            serde_json::Value::Number(n) => parts.push(format!("{key}={n}")),
            serde_json::Value::Bool(b) => parts.push(format!("{key}={b}")),
            serde_json::Value::Object(inner) => {
                if let Some(name) = inner
                    .get("metadata")
                    .and_then(|m| m.get("name"))
                    .and_then(serde_json::Value::as_str)
                {
                    parts.push(format!("{key}={name}"));
                } else if let (Some(t), Some(s)) = (
                    inner.get("type").and_then(serde_json::Value::as_str),
                    inner.get("status"),
                ) {
                    let status = s
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| s.to_string());
                    parts.push(format!("{key}={t}={status}"));
                }
            }
            serde_json::Value::Array(_) | serde_json::Value::Null => {}
        }
    }
    crate::output::truncate(&parts.join(" "), SUMMARY_LIMIT)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(data: serde_json::Value) -> CloudEvent {
        CloudEvent {
            specversion: "1.0".into(),
            id: "01JEVENT000000000000000000".into(),
            source: "/accord/provisioner".into(),
            r#type: "accord.cluster.condition-changed.v1".into(),
            subject: Some("cl-01jexample000000000demo001".into()),
            time: "2026-11-24T10:00:00Z".into(),
            datacontenttype: "application/json".into(),
            data,
            traceparent: None,
            project: Some("prj-01jexample000000000proj01".into()),
        }
    }

    #[test]
    fn types_are_shortened() {
        assert_eq!(short_type("accord.cluster.created.v1"), "cluster.created");
        assert_eq!(
            short_type("accord.nodepool.cycle-started.v12"),
            "nodepool.cycle-started"
        );
        assert_eq!(short_type("com.example.thing"), "com.example.thing");
        assert_eq!(short_type("accord.cluster.vip"), "cluster.vip");
    }

    #[test]
    fn summaries() {
        let data = json!({
            "event": "condition-changed",
            "cluster": "cl-1",
            "project": "pr-1",
            "condition": {"type": "Ready", "status": "False", "reason": "ReplicaDown"},
        });
        assert_eq!(
            summary(&data),
            "cluster=cl-1 condition=Ready=False project=pr-1"
        );
        let created = json!({"event": "created", "cluster": {"metadata": {"name": "demo"}}, "gpus_per_node": 8});
        assert_eq!(summary(&created), "cluster=demo gpus_per_node=8");
        assert_eq!(summary(&serde_json::Value::Null), "");
        let long = json!({"message": "x".repeat(500)});
        assert_eq!(summary(&long).chars().count(), SUMMARY_LIMIT);
    }

    #[test]
    fn event_lines() {
        let e = event(json!({"cluster": "cl-1"}));
        assert_eq!(
            render(OutputFormat::Table, &e).unwrap(),
            "2026-11-24T10:00:00Z  cluster.condition-changed     cl-01jexample000000000demo001   cluster=cl-1"
        );
        let line = render(OutputFormat::Json, &e).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(CloudEvent::from_json_bytes(line.as_bytes()).unwrap(), e);
        assert_eq!(
            render(OutputFormat::Name, &e).unwrap(),
            "cluster/cl-01jexample000000000demo001"
        );
    }

    #[test]
    fn filters() {
        let args =
            |project: Option<&str>, resource: Option<&str>, id: Option<&str>| EventsWatchArgs {
                resource: resource.map(str::to_owned),
                id: id.map(str::to_owned),
                project_id: project.map(str::to_owned),
                all: false,
            };
        assert_eq!(filter(&args(None, None, None)).unwrap(), "accord.evt.>");
        assert_eq!(
            filter(&args(None, Some("np"), None)).unwrap(),
            "accord.evt.*.nodepool.>"
        );
        assert_eq!(
            filter(&args(None, Some("clusters"), Some("cl-1"))).unwrap(),
            "accord.evt.*.cluster.*.cl-1"
        );
        assert_eq!(
            filter(&args(Some("prj-1"), None, None)).unwrap(),
            "accord.evt.prj-1.>"
        );
        assert_eq!(
            filter(&args(Some("prj-1"), Some("np"), None)).unwrap(),
            "accord.evt.prj-1.nodepool.>"
        );
        assert_eq!(
            filter(&args(Some("prj-1"), Some("cl"), Some("cl-1"))).unwrap(),
            "accord.evt.prj-1.cluster.*.cl-1"
        );
        assert!(filter(&args(None, Some("a.b"), None)).is_err());
        assert!(filter(&args(Some("prj.1"), None, None)).is_err());
    }
}
