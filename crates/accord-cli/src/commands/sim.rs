//! `accord sim inject <fault> …` and `accord sim list`: requests to the hardware simulator over
//! NATS (`accord.cmd.sim.fault.inject`, `accord.cmd.sim.fleet.list`).
//!
//! The simulator answers `{"ok":true,"message":…}` or `{"ok":false,"error":…}`; the fleet list
//! is a JSON array of [`FleetInstance`]s, printed as a table (a reply of another shape is shown
//! generically, one column per scalar field, so a newer simulator still prints something useful).
//!
//! Invariant: the request body is exactly what `accord_sim::Fault` deserialises (a test checks
//! every kind against it). Replica, component and firewall-drift faults need the cluster *id*;
//! a name is resolved through the API first.

use std::time::Duration;

use accord_bus::{BusError, subjects};
use accord_core::ids::ClusterId;
use accord_sim::FleetInstance;
use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;

use super::{Context, lookup};
use crate::cli::{Fault, OutputFormat, SimCommand};
use crate::output::{or_dash, short_id, structured, tables};

/// How long to wait for the simulator's reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `accord sim`.
pub async fn run(ctx: &Context, command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Inject(fault) => {
            let fault = with_cluster_id(ctx, fault).await?;
            inject(ctx, &fault).await
        }
        SimCommand::List => list(ctx).await,
    }
}

/// Replaces a cluster name in a replica or component fault by the cluster's id (the simulator
/// knows ids only).
async fn with_cluster_id(ctx: &Context, mut fault: Fault) -> anyhow::Result<Fault> {
    let (kind, cluster) = match &mut fault {
        Fault::ReplicaDown { cluster, .. } | Fault::ReplicaUp { cluster, .. } => {
            ("replica", cluster)
        }
        Fault::WebhookFailClosed { cluster, .. }
        | Fault::ApiFlood { cluster, .. }
        | Fault::FabricSaturation { cluster, .. }
        | Fault::ComponentFixed { cluster, .. } => ("component", cluster),
        Fault::FirewallDrift { cluster } => ("firewall-drift", cluster),
        _ => return Ok(fault),
    };
    if cluster.parse::<ClusterId>().is_ok() {
        return Ok(fault);
    }
    let api = ctx.api().await.with_context(|| {
        format!(
            "{kind} faults need the cluster id (cl-…); looking up cluster {cluster:?} by name \
             needs the API"
        )
    })?;
    let found = lookup::cluster(&api, cluster).await?;
    *cluster = found.metadata.map(|m| m.id).unwrap_or_default();
    Ok(fault)
}

/// The request body for a fault (`{"kind":"node-not-ready","node":"…"}`).
pub fn fault_body(fault: &Fault) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec(fault)?)
}

async fn request(ctx: &Context, subject: &str, body: Vec<u8>) -> anyhow::Result<Value> {
    // A connection authenticated by an API key may only read its project's events: the
    // server drops its requests without a word, so the time-out says why.
    let with_key = matches!(ctx.nats_auth()?, Some(accord_bus::BusAuth::Token(_)));
    let bus = ctx.bus().await?;
    let reply = bus
        .request(subject, body.into(), REPLY_TIMEOUT)
        .await
        .map_err(|error| match error {
            BusError::NoResponders { .. } => {
                anyhow!("nothing answers on {subject}: is the simulator running (`accord up`)?")
            }
            BusError::Timeout { .. } => anyhow!(
                "the simulator did not answer on {subject} within {}s{}",
                REPLY_TIMEOUT.as_secs(),
                if with_key {
                    " (NATS connections made with an API key may only read events: the \
                     simulator takes commands from an operator profile with nats_nkey_file, \
                     e.g. `accord --profile operator sim …` after `accord up`)"
                } else {
                    ""
                }
            ),
            other => anyhow::Error::new(other).context(format!("request {subject}")),
        })?;
    serde_json::from_slice(&reply)
        .map_err(|error| anyhow!("the simulator's reply on {subject} is not JSON: {error}"))
}

/// `Ok(message)` for `{"ok":true}`, the simulator's error otherwise.
pub fn check_reply(reply: &Value) -> anyhow::Result<Option<String>> {
    let text = |key: &str| reply.get(key).and_then(Value::as_str).map(str::to_owned);
    match reply.get("ok").and_then(Value::as_bool) {
        Some(true) => Ok(text("message")),
        Some(false) => bail!(
            "the simulator refused: {}",
            text("error").unwrap_or_else(|| "no reason given".into())
        ),
        // Replies without "ok" (e.g. a bare list) are data.
        None => Ok(None),
    }
}

async fn inject(ctx: &Context, fault: &Fault) -> anyhow::Result<()> {
    let subject = subjects::command("sim", "fault", "inject")?;
    let reply = request(ctx, &subject, fault_body(fault)?).await?;
    let message = check_reply(&reply)?;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(ctx.format, &reply)?),
        OutputFormat::Table | OutputFormat::Name => {
            ctx.out(&message.unwrap_or_else(|| "fault injected".to_owned()));
        }
    }
    Ok(())
}

/// The items of a fleet-list reply: the reply itself when it is an array, else its first array
/// field (preferring `nodes`, `fleet`, `instances`, `items`).
pub fn fleet_items(reply: &Value) -> Option<&Vec<Value>> {
    if let Some(items) = reply.as_array() {
        return Some(items);
    }
    let object = reply.as_object()?;
    ["nodes", "fleet", "instances", "items"]
        .iter()
        .find_map(|key| object.get(*key).and_then(Value::as_array))
        .or_else(|| object.values().find_map(Value::as_array))
}

/// `accord sim list` as a table.
pub fn fleet_table(instances: &[FleetInstance]) -> String {
    let rows = instances
        .iter()
        .map(|i| {
            vec![
                or_dash(&i.name),
                short_id(&i.node.to_string()),
                short_id(&i.cluster.to_string()),
                short_id(&i.pool.to_string()),
                or_dash(&i.instance_type),
                or_dash(&i.state),
                if i.ready { "yes" } else { "no" }.to_owned(),
                if i.drained { "yes" } else { "no" }.to_owned(),
                or_dash(&i.failure_domain),
                or_dash(&i.ip),
                if i.faults.is_empty() {
                    "-".to_owned()
                } else {
                    i.faults.join(",")
                },
            ]
        })
        .collect();
    tables::render(
        &[
            "NAME",
            "NODE",
            "CLUSTER",
            "POOL",
            "INSTANCE-TYPE",
            "STATE",
            "READY",
            "DRAINED",
            "FAILURE-DOMAIN",
            "IP",
            "FAULTS",
        ],
        rows,
    )
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let subject = subjects::command("sim", "fleet", "list")?;
    let reply = request(ctx, &subject, b"{}".to_vec()).await?;
    check_reply(&reply)?;
    let typed = serde_json::from_value::<Vec<FleetInstance>>(reply.clone()).ok();
    if let (Some(instances), OutputFormat::Table | OutputFormat::Name) = (&typed, ctx.format) {
        if instances.is_empty() {
            ctx.note("The simulated fleet is empty.");
        } else if ctx.format == OutputFormat::Name {
            let names: Vec<String> = instances
                .iter()
                .map(|i| format!("node/{}", i.name))
                .collect();
            ctx.out(&names.join("\n"));
        } else {
            ctx.out(&fleet_table(instances));
        }
        return Ok(());
    }
    let text = match (ctx.format, fleet_items(&reply)) {
        (OutputFormat::Json | OutputFormat::Yaml, _) | (_, None) => structured(ctx.format, &reply)?,
        (OutputFormat::Table, Some(items)) if items.is_empty() => {
            ctx.note("The simulated fleet is empty.");
            String::new()
        }
        (OutputFormat::Table, Some(items)) => tables::json_objects(items),
        (OutputFormat::Name, Some(items)) => items
            .iter()
            .filter_map(|item| {
                ["name", "node", "id", "instance_id"]
                    .iter()
                    .find_map(|key| item.get(*key).and_then(Value::as_str))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    ctx.out(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cli::{Cli, Command};

    fn fault(args: &[&str]) -> Fault {
        let mut argv = vec!["accord", "sim", "inject"];
        argv.extend_from_slice(args);
        match Cli::try_parse_with_sources(argv).unwrap().command {
            Command::Sim(SimCommand::Inject(fault)) => fault,
            other => panic!("not a fault: {other:?}"),
        }
    }

    fn body(args: &[&str]) -> Value {
        serde_json::from_slice(&fault_body(&fault(args)).unwrap()).unwrap()
    }

    #[test]
    fn fault_bodies() {
        assert_eq!(
            body(&["node-not-ready", "gpu-a-x1"]),
            json!({"kind": "node-not-ready", "node": "gpu-a-x1"})
        );
        assert_eq!(
            body(&["node-recover", "n1"]),
            json!({"kind": "node-recover", "node": "n1"})
        );
        assert_eq!(
            body(&["replica-down", "demo"]),
            json!({"kind": "replica-down", "cluster": "demo"})
        );
        assert_eq!(
            body(&["replica-up", "demo", "--replica", "cp-1"]),
            json!({"kind": "replica-up", "cluster": "demo", "replica": "cp-1"})
        );
        assert_eq!(
            body(&["gpu-xid", "n1", "--gpu", "3", "--xid", "79"]),
            json!({"kind": "gpu-xid", "node": "n1", "gpu": 3, "xid": 79})
        );
        assert_eq!(
            body(&["ib-link-down", "n1", "--port", "2"]),
            json!({"kind": "ib-link-down", "node": "n1", "port": 2})
        );
        assert_eq!(
            body(&["ib-link-up", "n1", "--port", "2"]),
            json!({"kind": "ib-link-up", "node": "n1", "port": 2})
        );
        assert_eq!(
            body(&["gpu-thermal", "n1", "--gpu", "0", "--temp-c", "95"]),
            json!({"kind": "gpu-thermal", "node": "n1", "gpu": 0, "temp_c": 95})
        );
        assert_eq!(
            body(&["fail-next-provisions", "2"]),
            json!({"kind": "fail-next-provisions", "count": 2})
        );
        assert_eq!(
            body(&["fail-next-repairs", "1"]),
            json!({"kind": "fail-next-repairs", "count": 1})
        );
        assert_eq!(
            body(&["hang-next-repairs", "3"]),
            json!({"kind": "hang-next-repairs", "count": 3})
        );
        assert_eq!(
            body(&["firewall-drift", "demo"]),
            json!({"kind": "firewall-drift", "cluster": "demo"})
        );
        assert_eq!(
            body(&["fail-next-firewall-applies", "--count", "3"]),
            json!({"kind": "fail-next-firewall-applies", "count": 3})
        );
        assert_eq!(
            body(&["storage-fail-next", "--operation", "copy", "--count", "2"]),
            json!({"kind": "storage-fail-next", "count": 2, "operation": "copy"})
        );
        assert_eq!(
            body(&["storage-fail-next", "--count", "1"]),
            json!({"kind": "storage-fail-next", "count": 1})
        );
        assert_eq!(
            body(&[
                "storage-hang-next",
                "--operation",
                "attach-volume",
                "--count",
                "1"
            ]),
            json!({"kind": "storage-hang-next", "count": 1, "operation": "attach-volume"})
        );
        assert_eq!(
            body(&["storage-hang-next", "--count", "0"]),
            json!({"kind": "storage-hang-next", "count": 0})
        );
        assert_eq!(
            body(&["storage-corrupt-copy", "--count", "3"]),
            json!({"kind": "storage-corrupt-copy", "count": 3})
        );
        for kind in [
            "webhook-fail-closed",
            "api-flood",
            "fabric-saturation",
            "component-fixed",
        ] {
            assert_eq!(
                body(&[kind, "--cluster", "demo", "--component", "policy-webhook"]),
                json!({"kind": kind, "cluster": "demo", "component": "policy-webhook"})
            );
        }
    }

    #[test]
    fn every_fault_body_is_what_the_simulator_reads() {
        let cluster = ClusterId::generate().to_string();
        let cases: Vec<Vec<&str>> = vec![
            vec!["node-not-ready", "n1"],
            vec!["node-recover", "n1"],
            vec!["replica-down", &cluster],
            vec!["replica-up", &cluster, "--replica", "cp-1"],
            vec!["gpu-xid", "n1", "--gpu", "3", "--xid", "79"],
            vec!["ib-link-down", "n1", "--port", "2"],
            vec!["ib-link-up", "n1", "--port", "2"],
            vec!["gpu-thermal", "n1", "--gpu", "0", "--temp-c", "95"],
            vec!["fail-next-provisions", "2"],
            vec!["fail-next-repairs", "1"],
            vec!["hang-next-repairs", "1"],
            vec![
                "webhook-fail-closed",
                "--cluster",
                &cluster,
                "--component",
                "hook",
            ],
            vec!["api-flood", "--cluster", &cluster, "--component", "op"],
            vec![
                "fabric-saturation",
                "--cluster",
                &cluster,
                "--component",
                "job",
            ],
            vec![
                "component-fixed",
                "--cluster",
                &cluster,
                "--component",
                "hook",
            ],
            vec!["firewall-drift", &cluster],
            vec!["fail-next-firewall-applies", "--count", "2"],
            vec!["storage-fail-next", "--count", "2"],
            vec!["storage-hang-next", "--count", "1"],
            vec!["storage-corrupt-copy", "--count", "3"],
        ];
        // Every storage operation the simulator knows is accepted, and read back as itself.
        let with_operation: Vec<Vec<&str>> = accord_sim::storage::OPERATION_NAMES
            .into_iter()
            .flat_map(|op| {
                ["storage-fail-next", "storage-hang-next"]
                    .map(|kind| vec![kind, "--operation", op, "--count", "1"])
            })
            .collect();
        let cases = cases.into_iter().chain(with_operation);
        for args in cases {
            let bytes = fault_body(&fault(&args)).unwrap();
            let parsed: accord_sim::Fault = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&bytes)));
            let round_trip: Value = serde_json::to_value(&parsed).unwrap();
            assert_eq!(
                round_trip,
                serde_json::from_slice::<Value>(&bytes).unwrap(),
                "{args:?}"
            );
        }
    }

    #[test]
    fn fleet_table_from_the_simulator_shape() {
        let node = accord_core::ids::NodeId::generate().to_string();
        let cluster = ClusterId::generate().to_string();
        let instance: FleetInstance = serde_json::from_value(json!({
            "node": node,
            "name": "gpu-a-x1",
            "cluster": cluster,
            "pool": accord_core::ids::NodePoolId::generate().to_string(),
            "instance_type": "h100-80gb-sxm-ib.8x",
            "instance_id": "i-1",
            "state": "running",
            "ready": false,
            "drained": false,
            "failure_domain": "fd-1",
            "ip": "10.0.1.5",
            "faults": ["kubelet-stopped", "gpu3-xid-79"],
        }))
        .unwrap();
        let text = fleet_table(&[instance]);
        let mut lines = text.lines();
        assert!(
            lines.next().unwrap().starts_with("NAME       NODE "),
            "{text}"
        );
        let row = lines.next().unwrap();
        assert!(
            row.starts_with(&format!(
                "gpu-a-x1   {}   {}",
                short_id(&node),
                short_id(&cluster)
            )),
            "{text}"
        );
        assert!(
            row.contains("   running   no      no        fd-1   "),
            "{text}"
        );
        assert!(row.ends_with("kubelet-stopped,gpu3-xid-79"), "{text}");
    }

    #[test]
    fn missing_fault_fields_are_usage_errors() {
        for args in [
            &["gpu-xid", "n1", "--gpu", "3"][..],
            &["ib-link-down", "n1"],
            &["gpu-thermal", "n1", "--gpu", "0"],
            &["node-not-ready"],
            &["fail-next-provisions", "many"],
            &["fail-next-repairs"],
            &["hang-next-repairs", "-1"],
            &["webhook-fail-closed", "--cluster", "demo"],
            &["api-flood", "--component", "op"],
            &["fabric-saturation", "demo", "--component", "job"],
            &["component-fixed"],
            &["firewall-drift"],
            &["fail-next-firewall-applies"],
            &["fail-next-firewall-applies", "2"],
            &["storage-fail-next"],
            &["storage-fail-next", "2"],
            &["storage-fail-next", "--operation", "copy"],
            &["storage-fail-next", "--operation", "format", "--count", "1"],
            &["storage-hang-next", "--count", "many"],
            &["storage-hang-next", "--operation", "Copy", "--count", "1"],
            &["storage-corrupt-copy"],
            &[
                "storage-corrupt-copy",
                "--operation",
                "copy",
                "--count",
                "1",
            ],
        ] {
            let mut argv = vec!["accord", "sim", "inject"];
            argv.extend_from_slice(args);
            assert!(Cli::try_parse_with_sources(argv).is_err(), "{args:?}");
        }
    }

    #[test]
    fn replies() {
        assert_eq!(
            check_reply(&json!({"ok": true, "message": "node n1 is NotReady"})).unwrap(),
            Some("node n1 is NotReady".into())
        );
        let err = check_reply(&json!({"ok": false, "error": "no node n9"})).unwrap_err();
        assert_eq!(err.to_string(), "the simulator refused: no node n9");
        assert_eq!(check_reply(&json!([1])).unwrap(), None);
    }

    #[test]
    fn fleet_items_are_found() {
        let bare = json!([{"name": "a"}]);
        assert_eq!(fleet_items(&bare).unwrap().len(), 1);
        let wrapped = json!({"ok": true, "nodes": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(fleet_items(&wrapped).unwrap().len(), 2);
        let other = json!({"ok": true, "machines": [{"name": "a"}]});
        assert_eq!(fleet_items(&other).unwrap().len(), 1);
        assert!(fleet_items(&json!({"ok": true})).is_none());
    }
}
