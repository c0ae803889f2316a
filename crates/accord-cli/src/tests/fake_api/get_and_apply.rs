//! `get` and `apply` against the fake API: tables, JSON, YAML and names; `-l`, `-o wide` and
//! `--no-headers`; `get --watch` printing rows as events arrive on a real nats-server; and
//! `get -o yaml | apply -f -` writing nothing, while a changed document is one update carrying
//! its resource_version (a stale one is refused).

use std::time::Duration;

use accord_bus::{Bus, CloudEvent};
use accord_testkit::NatsServer;

use super::*;

/// The fake's UpdateCluster: refuses a stale resource_version (ABORTED, as the provisioner),
/// applies the masked labels / OIDC / AutoClusters settings and bumps the version.
pub(super) fn update_cluster(
    fake: &Fake,
    request: pb::UpdateClusterRequest,
) -> Result<pb::Cluster, Status> {
    let mut state = fake.lock();
    let Some(cluster) = state
        .clusters
        .iter_mut()
        .find(|c| matches(c.metadata.as_ref(), &request.cluster))
    else {
        return Err(Status::not_found(format!(
            "cluster {} not found",
            request.cluster
        )));
    };
    let meta = cluster.metadata.as_mut().unwrap();
    if request.resource_version != 0 && request.resource_version != meta.resource_version {
        return Err(Status::aborted(format!(
            "cluster {} was changed (resource_version {} is now {}): get it again",
            meta.name, request.resource_version, meta.resource_version
        )));
    }
    let spec = request.spec.unwrap_or_default();
    for mask in &request.update_mask {
        match mask.as_str() {
            "labels" => meta.labels.clone_from(&request.labels),
            "spec.oidc" => cluster.spec.as_mut().unwrap().oidc.clone_from(&spec.oidc),
            "spec.autoclusters" => {
                cluster
                    .spec
                    .as_mut()
                    .unwrap()
                    .autoclusters
                    .clone_from(&spec.autoclusters);
            }
            other => return Err(Status::invalid_argument(format!("mask {other}"))),
        }
    }
    meta.resource_version += 1;
    Ok(cluster.clone())
}

#[tokio::test]
async fn get_prints_tables_json_yaml_and_names() {
    let server = start().await;
    server
        .fake
        .lock()
        .clusters
        .push(fixtures::cluster("demo", "cl-01jexample000000000demo001"));

    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["get", "clusters"]).await;
    assert_eq!(result, Ok(()));
    let mut lines = out.out.lines();
    assert!(
        lines.next().unwrap().starts_with("NAME   ID"),
        "{}",
        out.out
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("demo   cl-…0demo001   running   3/3     1.32      eu-iceland1   2"),
        "{}",
        out.out
    );

    let (_, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "clusters", "-o", "json"],
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["kind"], "Cluster");
    assert_eq!(list["items"][0]["metadata"]["name"], "demo");
    assert_eq!(
        list["items"][0]["spec"]["network"]["service_cidr"],
        "10.96.0.0/12"
    );
    assert_eq!(list["items"][0]["status"]["conditions"][1]["type"], "Ready");
    assert_eq!(
        list["items"][0]["metadata"]["created_at"],
        "2026-11-24T09:55:00Z"
    );

    let (_, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "cluster", "demo", "-o", "yaml"],
    )
    .await;
    // Keys are sorted, as kubectl prints them.
    assert!(
        out.out
            .starts_with("kind: Cluster\nmetadata:\n  created_at: 2026-11-24T09:55:00Z\n"),
        "{}",
        out.out
    );
    assert!(
        out.out.contains("\n  id: cl-01jexample000000000demo001\n"),
        "{}",
        out.out
    );
    assert!(
        out.out.contains("\nspec:\n  addons:\n  - cilium\n"),
        "{}",
        out.out
    );

    let (_, out) = accord(&server.endpoint, Some(TOKEN), &["get", "cl", "-o", "name"]).await;
    assert_eq!(out.out, "cluster/demo\n");
}

fn version_of(server: &Server, name: &str) -> u64 {
    server
        .fake
        .lock()
        .clusters
        .iter()
        .find(|c| c.metadata.as_ref().unwrap().name == name)
        .unwrap()
        .metadata
        .as_ref()
        .unwrap()
        .resource_version
}

/// What `accord get cluster demo -o yaml` printed.
async fn demo_yaml(server: &Server) -> Captured {
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "cluster", "demo", "-o", "yaml"],
    )
    .await;
    assert_eq!(result, Ok(()), "{}", out.err);
    out
}

async fn apply(server: &Server, yaml: &str) -> (Result<(), String>, Captured) {
    let file = crate::commands::offline_testing::file(yaml);
    let path = file.path().to_str().unwrap().to_owned();
    accord(&server.endpoint, Some(TOKEN), &["apply", "-f", &path]).await
}

#[tokio::test]
async fn get_yaml_applied_back_is_a_no_op() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    add_cluster(&server, "other", "cl-01jfake000000000000other");
    let (result, listed) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "clusters", "-o", "yaml"],
    )
    .await;
    assert_eq!(result, Ok(()));
    let (result, out) = apply(&server, &listed.out).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo unchanged\ncluster/other unchanged\n");
    assert_eq!(version_of(&server, "demo"), 7);
    assert_eq!(version_of(&server, "other"), 7);
    // One object, as `get cluster demo -o json` prints it.
    let (_, one) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "cluster", "demo", "-o", "json"],
    )
    .await;
    let (result, out) = apply(&server, &one.out).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo unchanged\n");
    assert_eq!(version_of(&server, "demo"), 7);
}

#[tokio::test]
async fn a_changed_document_updates_once_and_a_stale_one_is_refused() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    let listed = demo_yaml(&server).await;
    let changed = listed.out.replace("team: ml", "team: research");
    assert_ne!(changed, listed.out);
    let (result, out) = apply(&server, &changed).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo configured\n");
    assert_eq!(version_of(&server, "demo"), 8);
    let labels = server.fake.lock().clusters[0]
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone();
    assert_eq!(labels["team"], "research");
    // The same document again: nothing differs any more.
    let (result, out) = apply(&server, &changed).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo unchanged\n");
    // The first document is stale now (resource_version 7): refused, not overwritten.
    let (result, out) = apply(&server, &listed.out).await;
    assert_eq!(result, Err("1 of 1 objects were not applied".to_owned()));
    assert!(
        out.err.contains("error: cluster/demo: ABORTED"),
        "{}",
        out.err
    );
    assert!(
        out.err.contains("resource_version 7 is now 8"),
        "{}",
        out.err
    );
    assert_eq!(version_of(&server, "demo"), 8);
}

#[tokio::test]
async fn a_document_of_another_project_never_changes_this_ones_resources() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    let listed = demo_yaml(&server).await;
    let project = "pr-01jexample00000000000001";
    assert!(listed.out.contains(project), "{}", listed.out);
    // Same id and name, another project, other labels: refused (as kubectl refuses another
    // namespace's object), never an update of this project's cluster nor a copy into it.
    let foreign = listed
        .out
        .replace(project, "pr-01jother0000000000000001")
        .replace("team: ml", "team: research");
    let (result, out) = apply(&server, &foreign).await;
    assert_eq!(result, Err("1 of 1 objects were not applied".to_owned()));
    assert!(
        out.err
            .contains("belongs to project \"pr-01jother0000000000000001\"")
            && out.err.contains("--project"),
        "{}",
        out.err
    );
    assert_eq!(version_of(&server, "demo"), 7);
    let labels = server.fake.lock().clusters[0]
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone();
    assert_eq!(labels["team"], "ml");
}

#[tokio::test]
async fn errors_do_not_echo_long_input() {
    let server = start().await;
    let long = "k".repeat(100_000);
    let (result, out) = apply(
        &server,
        &format!("kind: {long}\n---\nkind: Cluster\nmetadata: {{name: x, labels: {long}}}\n"),
    )
    .await;
    assert_eq!(result, Err("2 of 2 objects were not applied".to_owned()));
    assert!(
        out.err.contains("cannot be applied"),
        "{}",
        &out.err[..out.err.len().min(2000)]
    );
    assert!(
        out.err.contains("metadata.labels is not valid"),
        "{}",
        &out.err[..out.err.len().min(2000)]
    );
    assert!(out.err.len() < 2000, "{} bytes of errors", out.err.len());
}

#[tokio::test]
async fn a_document_without_a_kind_is_refused_and_the_next_still_applied() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    let listed = demo_yaml(&server).await;
    let (result, out) = apply(
        &server,
        &format!("metadata: {{name: x}}\n---\n{}", listed.out),
    )
    .await;
    assert_eq!(result, Err("1 of 2 objects were not applied".to_owned()));
    assert!(out.err.contains("error: object/x: no kind"), "{}", out.err);
    assert!(out.out.contains("cluster/demo unchanged"), "{}", out.out);
}

#[tokio::test]
async fn unsupported_kinds_and_oversized_input_are_refused() {
    let server = start().await;
    let (result, out) = apply(&server, "kind: Member\nmetadata:\n  name: x\n").await;
    assert_eq!(result, Err("1 of 1 objects were not applied".to_owned()));
    assert!(
        out.err.contains("kind \"Member\" cannot be applied"),
        "{}",
        out.err
    );
    let (result, _) = apply(&server, "# nothing\n").await;
    assert!(result.unwrap_err().ends_with("holds no objects to apply"));
    let big = format!("kind: Cluster\n#{}\n", "x".repeat(4 << 20));
    let (result, _) = apply(&server, &big).await;
    assert!(result.unwrap_err().ends_with("is larger than 4 MiB"));
}

#[tokio::test]
async fn selectors_wide_and_headerless_tables() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    add_cluster(&server, "other", "cl-01jfake000000000000other");
    server.fake.lock().clusters[1]
        .metadata
        .as_mut()
        .unwrap()
        .labels
        .insert("team".into(), "infra".into());
    let get = |args: &'static [&'static str]| accord(&server.endpoint, Some(TOKEN), args);
    let (result, out) = get(&["get", "clusters", "-l", "team=ml", "-o", "name"]).await;
    assert_eq!(result, Ok(()));
    assert_eq!(out.out, "cluster/demo\n");
    let (_, out) = get(&["get", "clusters", "-l", "team!=ml", "-o", "name"]).await;
    assert_eq!(out.out, "cluster/other\n");
    let (_, out) = get(&["get", "clusters", "--selector", "team,!spot", "-o", "name"]).await;
    assert_eq!(out.out, "cluster/demo\ncluster/other\n");
    let (result, out) = get(&["get", "clusters", "-l", "team=none"]).await;
    assert_eq!(result, Ok(()));
    assert_eq!(out.out, "");
    assert_eq!(out.err, "No clusters matching team=none found.\n");

    let (_, out) = get(&["get", "clusters", "--no-headers"]).await;
    assert_eq!(out.out.lines().count(), 2, "{}", out.out);
    assert!(out.out.starts_with("demo "), "{}", out.out);
    let (_, out) = get(&["get", "clusters", "-o", "wide"]).await;
    let header = out.out.lines().next().unwrap();
    assert!(
        header.contains("ENDPOINT") && header.contains("LABELS"),
        "{header}"
    );
    assert!(
        out.out.contains("cl-01jfake0000000000000demo"),
        "{}",
        out.out
    );
    let (_, out) = get(&["get", "cluster", "demo", "-o", "wide", "--no-headers"]).await;
    assert!(out.out.starts_with("demo "), "{}", out.out);
    assert!(out.out.contains("team=ml"), "{}", out.out);
    // Without -o wide: short ids and no labels column.
    let (_, out) = get(&["get", "clusters"]).await;
    assert!(!out.out.contains("LABELS"), "{}", out.out);

    // A bad selector is a usage error naming the rule.
    let error =
        Cli::try_parse_with_sources(["accord", "get", "clusters", "-l", "a b"]).unwrap_err();
    assert!(error.to_string().contains("expected key=value"), "{error}");
}

#[test]
fn w_is_watch_and_wait_has_no_short() {
    let cli = Cli::try_parse_with_sources(["accord", "get", "np", "-w", "-c", "demo"]).unwrap();
    let crate::cli::Command::Get(crate::cli::GetKind::Nodepool(query)) = cli.command else {
        panic!("expected get nodepools");
    };
    assert!(query.list.watch);
    for args in [
        &["accord", "create", "cluster", "demo", "-w"][..],
        &[
            "accord", "scale", "np", "gpu", "-c", "demo", "--count", "2", "-w",
        ],
    ] {
        let error = Cli::try_parse_with_sources(args).unwrap_err();
        assert!(error.to_string().contains("'-w'"), "{error}");
    }
    let wide = Cli::try_parse_with_sources(["accord", "get", "nodes", "-o", "wide"]).unwrap();
    assert_eq!(wide.global.output, OutputFormat::Table);
    let crate::cli::Command::Get(crate::cli::GetKind::Node(query)) = wide.command else {
        panic!("expected get nodes");
    };
    assert!(query.list.wide);
}

#[tokio::test]
async fn get_watch_prints_changed_rows_as_events_arrive() {
    let nats = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&nats.url(), "publisher").await.unwrap();
    bus.ensure_streams().await.unwrap();
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");

    let cli = Cli::try_parse_with_sources(["accord", "get", "clusters", "--watch"]).unwrap();
    let (printer, captured) = Printer::capture();
    let mut settings = Settings::new(&server.endpoint, Some(TOKEN.to_owned()));
    settings.nats_url = nats.url();
    let ctx = Context {
        settings,
        format: cli.global.output,
        printer,
    };
    let watch = tokio::spawn(async move { commands::run(&ctx, cli.command).await });
    let wait_for = |needle: &'static str| {
        let captured = Arc::clone(&captured);
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let out = captured.lock().unwrap().out.clone();
                if out.contains(needle) {
                    return out;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no {needle:?} in {out:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let first = wait_for("NAME").await;
    assert_eq!(first.lines().count(), 2, "{first}");

    // A new cluster and its event (in the key's project, as WhoAmI says): one more row, no
    // header again. The live subscription may not be in place yet: publish until it shows.
    add_cluster(&server, "second", "cl-01jfake00000000000second");
    let event = CloudEvent {
        specversion: "1.0".into(),
        id: "01JEVENT000000000000000000".into(),
        source: "/accord/provisioner".into(),
        r#type: "accord.cluster.created.v1".into(),
        subject: Some("cl-01jfake00000000000second".into()),
        time: "2026-11-24T10:00:00Z".into(),
        datacontenttype: "application/json".into(),
        data: serde_json::json!({"cluster": "cl-01jfake00000000000second"}),
        traceparent: None,
        project: Some("pr-01jexample00000000000001".into()),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        bus.publish_entry(&event.outbox_entry().unwrap())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let out = captured.lock().unwrap().out.clone();
        if out.contains("\nsecond ") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline && !watch.is_finished(),
            "{out}"
        );
    }
    // A deletion: the row comes back as deleted; nothing else is repeated.
    server
        .fake
        .lock()
        .clusters
        .retain(|c| c.metadata.as_ref().unwrap().name != "demo");
    bus.publish_entry(&event.outbox_entry().unwrap())
        .await
        .unwrap();
    let out = wait_for("deleted").await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(
        lines[1].starts_with("demo ") && lines[1].contains("running"),
        "{out}"
    );
    assert!(lines[2].starts_with("second "), "{out}");
    assert!(
        lines[3].starts_with("demo ") && lines[3].contains("deleted"),
        "{out}"
    );
    assert_eq!(out.matches("NAME").count(), 1, "{out}");
    watch.abort();
}
