//! Whole commands of the AutoClusters remediations, the webhook notifications and kubeconfig
//! output against the same fake as the parent module (and the fake's approval rule).

use super::*;

impl Fake {
    /// The provisioner's approval rule, as far as the CLI sees it: only `pending-approval`
    /// moves, to `state`, with a timeline entry `what` carrying the reason.
    pub(super) fn resolve(
        &self,
        request: Request<pb::ResolveRemediationRequest>,
        state: &str,
        what: &str,
    ) -> Result<Response<pb::Remediation>, Status> {
        authorize(&request)?;
        let r = request.into_inner();
        let mut guard = self.lock();
        let found = guard
            .remediations
            .iter_mut()
            .find(|x| x.id == r.id)
            .ok_or_else(|| Status::not_found(format!("remediation {} not found", r.id)))?;
        if found.state != "pending-approval" {
            return Err(Status::failed_precondition(format!(
                "remediation {} is {}, not pending-approval",
                r.id, found.state
            )));
        }
        found.state = state.to_owned();
        found.reason = format!("{what} by admin: {}", r.reason);
        found.timeline.push(pb::RemediationTimelineEntry {
            at: None,
            what: what.to_owned(),
            detail: found.reason.clone(),
        });
        Ok(Response::new(found.clone()))
    }
}

#[tokio::test]
async fn remediations_are_listed_and_described() {
    let server = start().await;
    let remediation = crate::output::remediations::tests::replacing();
    add_cluster(&server, "demo", &remediation.cluster);
    server.fake.lock().remediations.push(remediation.clone());

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "remediations", "--cluster", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert!(lines[0].starts_with("ID "), "{}", out.out);
    assert!(
        lines[1].starts_with(&format!(
            "{}   gpu-a-0   gpu-xid 79 gpu 3   replace-node",
            remediation.id
        )),
        "{}",
        out.out
    );
    let request = server.fake.lock().listed_remediations[0].clone();
    assert_eq!(
        (
            request.cluster.as_str(),
            request.state.as_str(),
            request.limit
        ),
        ("demo", "", 100)
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "get", "rem", "-c", "demo", "--state", "running", "--limit", "5", "-o", "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(list["items"][0]["id"], remediation.id.as_str());
    assert_eq!(list["items"][0]["node"], "gpu-a-0");
    assert_eq!(list["items"][0]["finding"]["xid"], 79);
    assert_eq!(list["items"][0]["decision"]["action"], "reboot-node");
    let request = server.fake.lock().listed_remediations[1].clone();
    assert_eq!((request.state.as_str(), request.limit), ("running", 5));

    // None in that state: a note on stderr, nothing on stdout.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "get",
            "remediations",
            "--cluster",
            "demo",
            "--state",
            "held",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "");
    assert_eq!(out.err, "No held remediations in cluster demo found.\n");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["describe", "remediation", &remediation.id],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert!(
        out.out
            .starts_with(&format!("Remediation:  {}\n", remediation.id)),
        "{}",
        out.out
    );
    assert!(out.out.contains("Timeline:\n  TIME "), "{}", out.out);
    assert!(
        out.out.ends_with(
            "Why:  XID 79: the GPU fell off the bus; a power cycle usually brings it back\n"
        ),
        "{}",
        out.out
    );

    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["describe", "remediation", "rem-01jd0000000000000000000000"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: remediation rem-01jd0000000000000000000000 not found".to_owned())
    );
}

#[tokio::test]
async fn webhook_create_prints_the_secret_once_and_how_to_verify_it() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "create", "https://hooks.example.com/accord"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let id = "wh-01jfake000000000000000000a";
    assert_eq!(id.len(), 29);
    let secret = format!("whsec_{}", "ab".repeat(32));
    assert!(
        out.out.starts_with(&format!(
            "webhook/{id} created\nWebhook:  {id}\nProject:  pj-key\nURL:      https://hooks.example.com/accord\nKinds:    all (including kinds added later)\n"
        )),
        "{}",
        out.out
    );
    assert!(
        out.out.ends_with(&format!(
            "\nSigning secret (shown only this once):\n\n    {secret}\n"
        )),
        "{}",
        out.out
    );
    assert!(out.err.contains("shown only once"), "{}", out.err);
    assert!(
        out.err.contains(
            "X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">"
        ),
        "{}",
        out.err
    );
    let request = server.fake.lock().created_webhooks[0].clone();
    assert_eq!(
        (request.project.as_str(), request.url.as_str()),
        ("", "https://hooks.example.com/accord")
    );
    assert!(request.kinds.is_empty());

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "webhook",
            "create",
            "https://hooks.example.com/ops",
            "--kinds",
            "remediation-failed,incident-opened",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let document: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(document["kind"], "Webhook");
    assert_eq!(document["id"], "wh-01jfake000000000000000001a");
    assert_eq!(document["url"], "https://hooks.example.com/ops");
    assert_eq!(
        document["kinds"],
        serde_json::json!(["remediation-failed", "incident-opened"])
    );
    assert_eq!(document["secret"], secret.as_str());
    assert!(out.err.contains("shown only once"), "{}", out.err);
    assert_eq!(
        server.fake.lock().created_webhooks[1].kinds,
        ["remediation-failed", "incident-opened"]
    );

    // -o name: stdout has only the name; the secret still reaches the user, on stderr.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "webhook",
            "create",
            "https://hooks.example.com/n",
            "-o",
            "name",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "webhook/wh-01jfake000000000000000002a\n");
    assert!(out.err.contains(&format!("    {secret}\n")), "{}", out.err);

    // The server's refusal, as it worded it.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "create", "http://hooks.example.com/accord"],
    )
    .await;
    assert_eq!(
        result,
        Err("INVALID_ARGUMENT: url: must be https:// to a public host (http:// only to loopback where the deployment allows it)".to_owned())
    );
    assert_eq!(out.out, "");
}

#[tokio::test]
async fn webhooks_are_listed_and_deleted_by_short_id() {
    let server = start().await;
    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["webhook", "list"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "");
    assert!(out.err.starts_with("no webhooks"), "{}", out.err);
    let (_, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "list", "-o", "json"],
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(list, serde_json::json!({"kind": "List", "items": []}));

    for (url, kinds) in [
        ("https://hooks.example.com/all", None),
        ("https://hooks.example.com/held", Some("remediation-held")),
    ] {
        let mut args = vec!["webhook", "create", url];
        if let Some(kinds) = kinds {
            args.extend(["--kinds", kinds]);
        }
        let (result, out) = accord(&server.endpoint, Some(TOKEN), &args).await;
        assert_eq!(result, Ok(()), "{out:?}");
    }

    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["webhook", "ls"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.out);
    assert!(lines[0].starts_with("ID             URL "), "{}", out.out);
    assert!(
        lines[1].starts_with("wh-…0000000a   https://hooks.example.com/all    all "),
        "{}",
        out.out
    );
    assert!(
        lines[2].starts_with("wh-…0000001a   https://hooks.example.com/held   remediation-held "),
        "{}",
        out.out
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "list", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["items"][1]["kind"], "Webhook");
    assert_eq!(
        list["items"][1]["kinds"],
        serde_json::json!(["remediation-held"])
    );
    // Listing never shows the secret.
    assert!(list["items"][0].get("secret").is_none(), "{list}");

    let (_, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "list", "-o", "name"],
    )
    .await;
    assert_eq!(
        out.out,
        "webhook/wh-01jfake000000000000000000a\nwebhook/wh-01jfake000000000000000001a\n"
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "delete", "wh-…0000000a"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "webhook/wh-01jfake000000000000000000a deleted\n");
    assert_eq!(
        server.fake.lock().deleted_webhooks[0].id,
        "wh-01jfake000000000000000000a"
    );
    assert_eq!(server.fake.lock().webhooks.len(), 1);

    // A full id goes to the server as it is; its NOT_FOUND is shown as worded.
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "rm", "wh-01jfake000000000000000000a"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: webhook wh-01jfake000000000000000000a not found".to_owned())
    );
    // A short form that names none is refused before any delete.
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "delete", "wh-…ffffffff"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: webhook wh-…ffffffff not found".to_owned())
    );
    assert_eq!(server.fake.lock().deleted_webhooks.len(), 2);

    let (result, _) = accord(
        &server.endpoint,
        Some("accord_wrong_token"),
        &["webhook", "list"],
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with("UNAUTHENTICATED: unknown API key\nhint: "),
        "{error}"
    );
}

#[tokio::test]
async fn webhook_deliveries_are_listed_with_filters() {
    use crate::output::webhooks::tests::{created_all, delivered, pending};

    let server = start().await;
    {
        let mut state = server.fake.lock();
        state
            .webhooks
            .push(pb_webhook_without_secret(created_all()));
        state.deliveries = vec![pending(), delivered()];
    }

    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["webhook", "deliveries"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.out);
    assert!(
        lines[0].starts_with("EVENT                         TYPE   "),
        "{}",
        out.out
    );
    assert!(
        lines[0].contains(
            "   WEBHOOK        STATE       ATTEMPTS   LAST STATUS   NEXT/DELIVERED   ERROR"
        ),
        "{}",
        out.out
    );
    assert!(
        lines[1].starts_with(
            "01jexampleevent000000000001   accord.remediation.failed.v1   wh-…0000ab12   pending     3          503  "
        ),
        "{}",
        out.out
    );
    assert!(
        lines[1].contains("HTTP 503 Service Unavailable"),
        "{}",
        out.out
    );
    assert!(lines[1].ends_with('…'), "{}", out.out);
    assert!(
        lines[2].contains("   delivered   1          204   "),
        "{}",
        out.out
    );
    let request = server.fake.lock().listed_deliveries[0].clone();
    assert_eq!(
        (
            request.project.as_str(),
            request.webhook.as_str(),
            request.state.as_str(),
            request.limit
        ),
        ("", "", "", 100)
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "webhook",
            "deliveries",
            "--webhook",
            "wh-…0000ab12",
            "--state",
            "pending",
            "--limit",
            "5",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let request = server.fake.lock().listed_deliveries[1].clone();
    assert_eq!(
        (
            request.webhook.as_str(),
            request.state.as_str(),
            request.limit
        ),
        ("wh-01jexample000000000000ab12", "pending", 5)
    );
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["kind"], "WebhookDelivery");
    assert_eq!(items[0]["event_id"], "01jexampleevent000000000001");
    assert_eq!(items[0]["event_type"], "accord.remediation.failed.v1");
    assert_eq!(items[0]["webhook"], "wh-01jexample000000000000ab12");
    assert_eq!(items[0]["notification_kind"], "remediation-failed");
    assert_eq!(items[0]["state"], "pending");
    assert_eq!(items[0]["attempts"], 3);
    assert_eq!(items[0]["last_status"], 503);
    assert_eq!(items[0]["next_attempt"], "2026-11-24T10:00:40Z");
    assert!(items[0]["delivered_at"].is_null());
    assert_eq!(items[0]["last_error"], pending().last_error.as_str());

    // None in that state: a note on stderr, nothing on stdout.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "deliveries", "--state", "failed"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "");
    assert_eq!(out.err, "no failed deliveries\n");

    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["webhook", "deliveries", "--webhook", "0000cd34"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: webhook 0000cd34 not found".to_owned())
    );
}

/// A created webhook as the store keeps it for listing (no secret).
fn pb_webhook_without_secret(w: support_pb::Webhook) -> support_pb::Webhook {
    support_pb::Webhook {
        secret: String::new(),
        ..w
    }
}

#[tokio::test]
async fn webhook_commands_use_the_support_endpoint_and_project_of_the_profile() {
    let server = start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.acme]\n\
             endpoint = \"http://127.0.0.1:1\"\n\
             token = \"{TOKEN}\"\n\
             [profiles.acme.endpoints]\n\
             \"accord.support.v1\" = \"{}\"\n",
            server.endpoint
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let cli = Cli::try_parse_with_sources([
        "accord",
        "--config",
        config,
        "--profile",
        "acme",
        "--project",
        "ml",
        "webhook",
        "list",
        "-o",
        "json",
    ])
    .unwrap();
    let env = crate::config::Environment {
        cwd: Some(dir.path().to_owned()),
        home: None,
        xdg_config_home: None,
    };
    let settings = crate::config::resolve(&cli.global, &env).unwrap();
    let (printer, captured) = Printer::capture();
    let ctx = Context {
        settings,
        format: cli.global.output,
        printer,
    };
    let result = commands::run(&ctx, cli.command)
        .await
        .map_err(|error| render_error(&error));
    assert_eq!(result, Ok(()), "{:?}", captured.lock().unwrap());
    assert_eq!(server.fake.lock().listed_webhooks[0].project, "ml");
}

#[tokio::test]
async fn pending_remediations_are_approved_or_rejected_with_a_reason() {
    let server = start().await;
    let mut pending = crate::output::remediations::tests::replacing();
    pending.state = "pending-approval".into();
    add_cluster(&server, "demo", &pending.cluster);
    server.fake.lock().remediations.push(pending.clone());

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "remediation",
            "approve",
            &pending.id,
            "--reason",
            "job drained",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(json["state"], "running", "{json}");
    assert!(
        json["reason"].as_str().unwrap().contains("job drained"),
        "{json}"
    );

    // Only a pending remediation can be decided on; the server's refusal is printed.
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["remediation", "reject", &pending.id],
    )
    .await;
    assert_eq!(
        result,
        Err(format!(
            "FAILED_PRECONDITION: remediation {} is running, not pending-approval",
            pending.id
        ))
    );
}

#[tokio::test]
async fn kubeconfig_merges_with_an_exec_plugin_or_prints() {
    let server = start().await;
    let id = "cl-01jfake0000000000000demo";
    server
        .fake
        .lock()
        .clusters
        .push(fixtures::cluster("demo", id));

    // --print --static: the API's kubeconfig as it is.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["kubeconfig", "demo", "--print", "--static"],
    )
    .await;
    assert_eq!(result, Ok(()));
    let printed: serde_norway::Value = serde_norway::from_str(&out.out).unwrap();
    assert_eq!(
        printed["users"][0]["user"]["client-certificate-data"].as_str(),
        Some("Q0VSVA==")
    );

    // Merged into an existing file: the other context stays, ours is current, exec user.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: 'https://p:6443'}\n\
         users:\n- name: me\n  user: {token: t}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: me}\n\
         current-context: prod\n",
    )
    .unwrap();
    let path_text = path.to_str().unwrap();
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["kubeconfig", "demo", "--file", path_text],
    )
    .await;
    assert_eq!(result, Ok(()), "{}", out.err);
    assert_eq!(out.out, "");
    assert!(
        out.err.contains("switched to context accord-"),
        "{}",
        out.err
    );
    assert!(out.err.contains("ACCORD_TOKEN"), "{}", out.err);
    let merged: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let contexts: Vec<_> = merged["contexts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(contexts, ["prod".to_owned(), format!("accord-{id}")]);
    assert_eq!(
        merged["current-context"].as_str(),
        Some(format!("accord-{id}").as_str())
    );
    let exec = &merged["users"][1]["user"]["exec"];
    assert_eq!(
        exec["apiVersion"].as_str(),
        Some("client.authentication.k8s.io/v1")
    );
    assert!(merged["users"][1]["user"].get("client-key-data").is_none());
    let args: Vec<_> = exec["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[..3], ["credentials", "kubeconfig", id]);
    assert_eq!(args[3..5], ["--endpoint", server.endpoint.as_str()]);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The plugin: an ExecCredential with the PEMs and the expiry, asking for one hour.
    let (result, out) = accord(&server.endpoint, Some(TOKEN), &args).await;
    assert_eq!(result, Ok(()), "{}", out.err);
    let credential: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(credential["kind"], "ExecCredential");
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(credential["status"]["clientCertificateData"], "CERT");
    assert_eq!(credential["status"]["clientKeyData"], "KEY");
    assert_eq!(
        credential["status"]["expirationTimestamp"],
        "2030-03-17T17:46:40Z"
    );
    assert_eq!(server.fake.lock().kubeconfig_ttls.last(), Some(&3600));
}
