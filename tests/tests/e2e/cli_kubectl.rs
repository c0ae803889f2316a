//! The `accord` CLI's kubectl habits against a real deployment: `get clusters -o yaml | apply
//! -f -` writes nothing (the resource_version stays), an edited document is one update whose
//! stale copy the provisioner refuses, `-l` and `-o wide` shape the list, and `get --watch`
//! (with the API key as the NATS token, through the auth callout) prints a new cluster's rows.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_cli::output::{Captured, Printer};
use accord_cli::{Cli, commands, config::Settings};
use accord_e2e::{Env, cluster_id, cluster_request, is_running};
use accord_proto::provisioner::v1 as pb;

/// A CLI context as the customer's admin key, with its output captured.
fn context(env: &Env, args: &[&str]) -> (commands::Context, Cli, Arc<Mutex<Captured>>) {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_with_sources(argv).unwrap();
    let mut settings = Settings::new(
        format!("http://{}", env.grpc_addr),
        Some(env.admin_token.clone()),
    );
    settings.nats_url = env.nats.url();
    let (printer, captured) = Printer::capture();
    let ctx = commands::Context {
        settings,
        format: cli.global.output,
        printer,
    };
    (ctx, cli, captured)
}

/// Runs `accord <args>`: the outcome (rendered as the binary would), stdout and stderr.
async fn accord(env: &Env, args: &[&str]) -> (Result<(), String>, Captured) {
    let (ctx, cli, captured) = context(env, args);
    let result = commands::run(&ctx, cli.command)
        .await
        .map_err(|e| accord_cli::render_error(&e));
    let out = captured.lock().unwrap().clone();
    (result, out)
}

async fn apply(env: &Env, yaml: &str) -> (Result<(), String>, Captured) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    accord(env, &["apply", "-f", file.path().to_str().unwrap()]).await
}

async fn cluster(env: &Env, id: &str) -> pb::Cluster {
    env.admin()
        .unwrap()
        .clusters
        .get_cluster(pb::GetClusterRequest {
            project: String::new(),
            cluster: id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn get_yaml_applied_back_is_a_no_op_and_edits_carry_the_version() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let mut request = cluster_request("demo", "");
    request.labels.insert("team".into(), "ml".into());
    let created = admin
        .clusters
        .clone()
        .create_cluster(request)
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &id, "demo running", is_running)
        .await
        .unwrap();
    let before = cluster(&env, &id).await.metadata.unwrap().resource_version;

    let (result, listed) = accord(&env, &["get", "clusters", "-o", "yaml"]).await;
    assert_eq!(result, Ok(()), "{listed:?}");
    let (result, out) = apply(&env, &listed.out).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo unchanged\n");
    let after = cluster(&env, &id).await.metadata.unwrap();
    assert_eq!(
        after.resource_version, before,
        "apply of an unchanged document wrote"
    );

    // An edited label and AutoClusters setting: one update, accepted by the provisioner.
    let edited = listed
        .out
        .replace("team: ml", "team: research")
        .replace("max_unhealthy_percent: 20", "max_unhealthy_percent: 35");
    assert_ne!(edited, listed.out, "{}", listed.out);
    let (result, out) = apply(&env, &edited).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo configured\n");
    let now = cluster(&env, &id).await;
    let meta = now.metadata.clone().unwrap();
    assert!(meta.resource_version > before);
    assert_eq!(meta.labels["team"], "research");
    let autoclusters = now.spec.unwrap().autoclusters.unwrap();
    assert_eq!(autoclusters.max_unhealthy_percent, 35);

    // The first document is stale: the provisioner refuses it, nothing is overwritten.
    let (result, out) = apply(&env, &listed.out).await;
    assert_eq!(result, Err("1 of 1 objects were not applied".to_owned()));
    assert!(out.err.contains("cluster/demo: ABORTED"), "{}", out.err);
    let unchanged = cluster(&env, &id).await.metadata.unwrap();
    assert_eq!(unchanged.labels["team"], "research");
    assert_eq!(unchanged.resource_version, meta.resource_version);

    // An immutable field is refused by the CLI, naming it, before any call.
    let moved = edited.replace("pod_cidr: 10.244.0.0/16", "pod_cidr: 10.245.0.0/16");
    assert_ne!(moved, edited);
    let (result, out) = apply(&env, &moved).await;
    assert!(result.is_err());
    assert!(out.err.contains("spec.network (immutable)"), "{}", out.err);

    // Selectors and the wide table, on the real labels.
    let (_, out) = accord(
        &env,
        &["get", "clusters", "-l", "team=research", "-o", "name"],
    )
    .await;
    assert_eq!(out.out, "cluster/demo\n");
    let (_, out) = accord(&env, &["get", "clusters", "-l", "team=ml", "-o", "name"]).await;
    assert_eq!(out.out, "");
    let (_, out) = accord(&env, &["get", "clusters", "-o", "wide", "--no-headers"]).await;
    assert!(out.out.starts_with("demo "), "{}", out.out);
    assert!(out.out.contains(&id), "{}", out.out);
    assert!(out.out.contains("team=research"), "{}", out.out);
}

#[tokio::test]
async fn get_watch_follows_a_new_cluster_through_the_event_stream() {
    let env = Env::start().await.unwrap();
    let (ctx, cli, captured) = context(&env, &["get", "clusters", "-w"]);
    let watch = tokio::spawn(async move { commands::run(&ctx, cli.command).await });
    // The first list (empty: the note on stderr), then the live subscription.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !captured.lock().unwrap().err.contains("No clusters found.") {
        assert!(tokio::time::Instant::now() < deadline && !watch.is_finished());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The subscription is made after the list; give it a moment before the first event.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let admin = env.admin().unwrap();
    let created = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("watched", ""))
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    env.wait_cluster(&admin, &id, "watched running", is_running)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let out = captured.lock().unwrap().out.clone();
        let rows: Vec<&str> = out.lines().collect();
        if rows.iter().any(|r| r.contains("running")) {
            // The header once, when the first row came (the list was empty), then rows only.
            assert!(rows[0].starts_with("NAME "), "{out}");
            assert!(rows[1..].iter().all(|r| r.starts_with("watched ")), "{out}");
            assert_eq!(out.matches("NAME").count(), 1, "{out}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline && !watch.is_finished(),
            "no running row in {out:?} (stderr {:?})",
            captured.lock().unwrap().err
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watch.abort();
}
