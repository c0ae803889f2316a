//! `accord sim inject <fault> …` and `accord sim list`: requests to the hardware simulator over
//! NATS (`accord.cmd.sim.fault.inject`, `accord.cmd.sim.fleet.list`).
//!
//! The simulator answers `{"ok":true,"message":…}` or `{"ok":false,"error":…}`; the fleet list
//! carries its items in an array, which is printed as a table with one column per scalar field
//! (the CLI does not own that shape, so it does not hard-code it).

use std::time::Duration;

use accord_bus::{BusError, subjects};
use anyhow::{anyhow, bail};
use serde_json::Value;

use super::Context;
use crate::cli::{Fault, OutputFormat, SimCommand};
use crate::output::{structured, tables};

/// How long to wait for the simulator's reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `accord sim`.
pub async fn run(ctx: &Context, command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Inject(fault) => inject(ctx, &fault).await,
        SimCommand::List => list(ctx).await,
    }
}

/// The request body for a fault (`{"kind":"node-not-ready","node":"…"}`).
pub fn fault_body(fault: &Fault) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec(fault)?)
}

async fn request(ctx: &Context, subject: &str, body: Vec<u8>) -> anyhow::Result<Value> {
    let bus = ctx.bus().await?;
    let reply = bus
        .request(subject, body.into(), REPLY_TIMEOUT)
        .await
        .map_err(|error| match error {
            BusError::NoResponders { .. } => {
                anyhow!("nothing answers on {subject}: is the simulator running (`accord up`)?")
            }
            BusError::Timeout { .. } => anyhow!(
                "the simulator did not answer on {subject} within {}s",
                REPLY_TIMEOUT.as_secs()
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

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let subject = subjects::command("sim", "fleet", "list")?;
    let reply = request(ctx, &subject, b"{}".to_vec()).await?;
    check_reply(&reply)?;
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
    }

    #[test]
    fn missing_fault_fields_are_usage_errors() {
        for args in [
            &["gpu-xid", "n1", "--gpu", "3"][..],
            &["ib-link-down", "n1"],
            &["gpu-thermal", "n1", "--gpu", "0"],
            &["node-not-ready"],
            &["fail-next-provisions", "many"],
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
