//! `accord sim` and `accord events watch` against a real nats-server (spawned per test by
//! accord-testkit), with a stand-in simulator answering the command subjects.

use std::time::Duration;

use accord_bus::{Bus, CloudEvent, subjects};
use accord_core::cluster::ClusterEvent;
use accord_core::ids::ClusterId;
use accord_testkit::NatsServer;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::cli::Cli;
use crate::commands::{self, Context};
use crate::config::Settings;
use crate::output::{Captured, Printer};
use crate::render_error;

type Prepared = (
    Context,
    crate::cli::Command,
    std::sync::Arc<std::sync::Mutex<Captured>>,
);

fn context(nats_url: &str, args: &[&str]) -> Prepared {
    context_with_api(nats_url, None, args)
}

/// A context for `accord <args>` with NATS at `nats_url` and, optionally, the fake API.
fn context_with_api(nats_url: &str, api: Option<&str>, args: &[&str]) -> Prepared {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_with_sources(argv).unwrap();
    let (printer, captured) = Printer::capture();
    let mut settings = match api {
        Some(endpoint) => Settings::new(endpoint, Some(super::fake_api::TOKEN.to_owned())),
        None => Settings::new("http://127.0.0.1:1", None),
    };
    settings.nats_url = nats_url.to_owned();
    let ctx = Context {
        settings,
        format: cli.global.output,
        printer,
    };
    (ctx, cli.command, captured)
}

async fn accord(nats_url: &str, args: &[&str]) -> (Result<(), String>, Captured) {
    let (ctx, command, captured) = context(nats_url, args);
    let result = commands::run(&ctx, command)
        .await
        .map_err(|error| render_error(&error));
    let captured = captured.lock().unwrap().clone();
    (result, captured)
}

/// A stand-in simulator: answers fault injections by echoing the kind, refuses unknown nodes,
/// and lists a two-node fleet.
async fn fake_simulator(bus: &Bus) -> (accord_bus::ServeHandle, accord_bus::ServeHandle) {
    let inject = bus
        .serve(
            &subjects::command("sim", "fault", "inject").unwrap(),
            "sim",
            |payload: Bytes| async move {
                let request: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
                let reply = if request["node"] == "n9" {
                    json!({"ok": false, "error": "no node n9"})
                } else {
                    let target = request["node"].as_str().or(request["cluster"].as_str());
                    json!({"ok": true, "message": format!("injected {} on {}", request["kind"].as_str().unwrap_or("?"), target.unwrap_or("-"))})
                };
                Bytes::from(reply.to_string())
            },
        )
        .await
        .unwrap();
    let list = bus
        .serve(
            &subjects::command("sim", "fleet", "list").unwrap(),
            "sim",
            |_payload: Bytes| async move {
                Bytes::from(
                    json!({"ok": true, "nodes": [
                        {"name": "n1", "instance_type": "h100-80gb-sxm-ib.8x", "state": "ready"},
                        {"name": "n2", "instance_type": "l40s.10x", "state": "not-ready"},
                    ]})
                    .to_string(),
                )
            },
        )
        .await
        .unwrap();
    (inject, list)
}

#[tokio::test]
async fn sim_inject_and_list() {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&server.url(), "fake-sim").await.unwrap();
    let _handles = fake_simulator(&bus).await;

    let (result, out) = accord(
        &server.url(),
        &[
            "sim", "inject", "gpu-xid", "n1", "--gpu", "3", "--xid", "79",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "injected gpu-xid on n1\n");

    let (result, _) = accord(&server.url(), &["sim", "inject", "node-not-ready", "n9"]).await;
    assert_eq!(result, Err("the simulator refused: no node n9".into()));

    let (result, out) = accord(&server.url(), &["sim", "list"]).await;
    assert_eq!(result, Ok(()));
    assert_eq!(
        out.out,
        "NAME   INSTANCE-TYPE         STATE\n\
         n1     h100-80gb-sxm-ib.8x   ready\n\
         n2     l40s.10x              not-ready\n"
    );
    let (_, out) = accord(&server.url(), &["sim", "list", "-o", "name"]).await;
    assert_eq!(out.out, "n1\nn2\n");
}

#[tokio::test]
async fn sim_without_a_simulator_says_so() {
    let server = NatsServer::start().await.unwrap();
    let (result, _) = accord(&server.url(), &["sim", "list"]).await;
    assert_eq!(
        result,
        Err(
            "nothing answers on accord.cmd.sim.fleet.list: is the simulator running (`accord up`)?"
                .into()
        )
    );
}

#[tokio::test]
async fn events_watch_prints_one_line_per_event() {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&server.url(), "publisher").await.unwrap();
    bus.ensure_streams().await.unwrap();
    let cluster = ClusterId::generate();
    let event = CloudEvent::new(
        "/accord/provisioner",
        accord_core::events::Scope::Project(accord_core::ids::ProjectId::generate()),
        &ClusterEvent::DeletionStarted { cluster },
    )
    .unwrap();
    bus.publish_entry(&event.outbox_entry().unwrap())
        .await
        .unwrap();

    for (format, expected) in [
        (
            "table",
            format!("  cluster.deletion-started      {cluster}"),
        ),
        ("json", format!("\"subject\":\"{cluster}\"")),
    ] {
        let (ctx, command, captured) = context(
            &server.url(),
            &[
                "events",
                "watch",
                "--resource",
                "clusters",
                "--all",
                "-o",
                format,
            ],
        );
        let watch = tokio::spawn(async move { commands::run(&ctx, command).await });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let out = captured.lock().unwrap().out.clone();
            if out.contains(&expected) {
                if format == "json" {
                    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
                    assert_eq!(line["type"], "accord.cluster.deletion-started.v1");
                    assert_eq!(line["data"]["cluster"], cluster.to_string());
                } else {
                    assert!(out.contains(&format!("cluster={cluster}")), "{out}");
                }
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline && !watch.is_finished(),
                "no {expected:?} in {out:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        watch.abort();
    }
}

#[tokio::test]
async fn replica_faults_resolve_cluster_names_to_ids() {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&server.url(), "fake-sim").await.unwrap();
    let _handles = fake_simulator(&bus).await;
    let api = super::fake_api::start().await;
    let id = ClusterId::generate().to_string();
    super::fake_api::add_cluster(&api, "demo", &id);

    for target in ["demo", id.as_str()] {
        let (ctx, command, captured) = context_with_api(
            &server.url(),
            Some(&api.endpoint),
            &["sim", "inject", "replica-down", target, "--replica", "cp-1"],
        );
        commands::run(&ctx, command).await.unwrap();
        assert_eq!(
            captured.lock().unwrap().out,
            format!("injected replica-down on {id}\n")
        );
    }

    // Without a token a name cannot be resolved; the error says why.
    let (result, _) = accord(&server.url(), &["sim", "inject", "replica-up", "demo"]).await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with("replica faults need the cluster id"),
        "{error}"
    );
}
