//! `GetKubeconfig`: a client certificate signed by the cluster's own CA naming the user and the
//! role, checked with `openssl verify` and x509-parser; an exec plugin instead once OIDC is set.

use std::{path::Path, process::Command};

use accord_e2e::{Env, cluster_id};
use accord_proto::provisioner::v1 as pb;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_norway::Value;
use x509_parser::prelude::*;

async fn kubeconfig(api: &accord_e2e::Api, cluster: &str) -> pb::GetKubeconfigResponse {
    api.clusters
        .clone()
        .get_kubeconfig(pb::GetKubeconfigRequest {
            project: String::new(),
            cluster: cluster.to_owned(),
            client_certificate_ttl_seconds: 0,
        })
        .await
        .unwrap()
        .into_inner()
}

fn yaml(doc: &str) -> Value {
    serde_norway::from_str(doc).unwrap_or_else(|e| panic!("kubeconfig is not YAML: {e}\n{doc}"))
}

fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(*key))
}

/// The first `clusters[].cluster`, `users[].user` and `contexts[].context` entries.
fn entries(doc: &Value) -> (&Value, &Value, &Value) {
    let first = |list: &str, key: &str| {
        doc.get(list)
            .and_then(|l| l.get(0))
            .and_then(|e| e.get(key))
            .unwrap_or_else(|| panic!("kubeconfig has no {list}[0].{key}: {doc:?}"))
    };
    (
        first("clusters", "cluster"),
        first("users", "user"),
        first("contexts", "context"),
    )
}

fn decode_b64(v: &Value, what: &str) -> String {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string"));
    String::from_utf8(
        STANDARD
            .decode(text)
            .unwrap_or_else(|e| panic!("{what} is not base64: {e}")),
    )
    .unwrap()
}

/// Runs `openssl` with `args` in `dir`; `Err(output)` on a non-zero exit. A missing binary fails
/// the test with an explanation instead of skipping the check.
fn openssl(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs the `openssl` command to verify certificates independently of \
                 the Rust code under test, and running it failed ({e}); install OpenSSL (e.g. \
                 `apt-get install openssl`)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn first_attr<'a>(
    mut it: impl Iterator<Item = &'a AttributeTypeAndValue<'a>>,
    what: &str,
) -> &'a str {
    it.next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_else(|| panic!("certificate subject has no {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_client_cert_chains_to_its_own_cluster_ca_and_names_user_and_role() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "kube", "").await.unwrap();
    let other = env.running_cluster(&admin, "other", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();

    let resp = kubeconfig(&admin, &id).await;
    let doc = yaml(&resp.kubeconfig);
    assert_eq!(doc.get("kind").and_then(Value::as_str), Some("Config"));
    let (c, user, ctx) = entries(&doc);
    assert_eq!(
        c.get("server").and_then(Value::as_str),
        Some(cluster.status.as_ref().unwrap().api_endpoint.as_str())
    );
    assert!(ctx.get("user").is_some() && ctx.get("cluster").is_some());
    let ca_pem = decode_b64(c.get("certificate-authority-data").unwrap(), "the CA data");
    assert_eq!(
        ca_pem, resp.ca_certificate,
        "embedded CA differs from the response's"
    );
    let cert_pem = decode_b64(
        user.get("client-certificate-data")
            .unwrap_or_else(|| panic!("no client certificate: {user:?}")),
        "the client certificate",
    );
    let key_pem = decode_b64(user.get("client-key-data").unwrap(), "the client key");
    assert_eq!(
        resp.client_certificate, cert_pem,
        "the response's PEM differs"
    );
    assert_eq!(resp.client_key, key_pem, "the response's key differs");
    assert!(user.get("exec").is_none());
    let other_ca = kubeconfig(&admin, &cluster_id(&other).unwrap())
        .await
        .ca_certificate;
    assert_ne!(other_ca, ca_pem, "two clusters share a CA");

    // openssl, independently of the Rust crypto stack.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(dir.path().join("other-ca.pem"), &other_ca).unwrap();
    std::fs::write(dir.path().join("client.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("client.key"), &key_pem).unwrap();
    let ok = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "client.pem"])
        .unwrap_or_else(|out| panic!("openssl does not accept the client cert: {out}"));
    assert!(ok.contains("client.pem: OK"), "{ok}");
    let wrong = openssl(
        dir.path(),
        &["verify", "-CAfile", "other-ca.pem", "client.pem"],
    );
    assert!(
        wrong.is_err(),
        "another cluster's CA accepted the client cert: {wrong:?}"
    );
    let cert_pub = openssl(
        dir.path(),
        &["x509", "-in", "client.pem", "-pubkey", "-noout"],
    )
    .unwrap();
    let key_pub = openssl(dir.path(), &["pkey", "-in", "client.key", "-pubout"]).unwrap();
    assert_eq!(
        cert_pub, key_pub,
        "the client key does not belong to the certificate"
    );

    // x509-parser: signature, subject, validity.
    let (_, ca) = parse_x509_pem(ca_pem.as_bytes()).unwrap();
    let ca = ca.parse_x509().unwrap();
    let (_, cert) = parse_x509_pem(cert_pem.as_bytes()).unwrap();
    let cert = cert.parse_x509().unwrap();
    assert!(ca.is_ca());
    assert!(!cert.is_ca());
    assert_eq!(cert.issuer(), ca.subject());
    cert.verify_signature(Some(ca.public_key())).unwrap();
    let (_, other_ca_pem) = parse_x509_pem(other_ca.as_bytes()).unwrap();
    let other_ca_x = other_ca_pem.parse_x509().unwrap();
    assert!(
        cert.verify_signature(Some(other_ca_x.public_key()))
            .is_err()
    );
    assert_eq!(first_attr(cert.subject().iter_common_name(), "CN"), "admin");
    assert_eq!(
        first_attr(cert.subject().iter_organization(), "O"),
        "accord:admin"
    );
    assert!(cert.validity().is_valid());
    let expires = resp.client_certificate_expires_at.unwrap();
    assert_eq!(cert.validity().not_after.timestamp(), expires.seconds);

    // Another user gets their own name and role.
    let ed = env
        .api(
            &env.mint_key("ed@example.com", pb::Role::Editor)
                .await
                .unwrap()
                .token,
        )
        .unwrap();
    let doc = yaml(&kubeconfig(&ed, &id).await.kubeconfig);
    let (_, user, _) = entries(&doc);
    let ed_pem = decode_b64(user.get("client-certificate-data").unwrap(), "cert");
    let (_, ed_cert) = parse_x509_pem(ed_pem.as_bytes()).unwrap();
    let ed_cert = ed_cert.parse_x509().unwrap();
    ed_cert.verify_signature(Some(ca.public_key())).unwrap();
    assert_eq!(
        first_attr(ed_cert.subject().iter_common_name(), "CN"),
        "ed@example.com"
    );
    assert_eq!(
        first_attr(ed_cert.subject().iter_organization(), "O"),
        "accord:editor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_cluster_kubeconfig_uses_an_exec_plugin_and_issues_no_client_cert() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "sso", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();
    let mut clusters = admin.clusters.clone();

    let updated = clusters
        .update_cluster(pb::UpdateClusterRequest {
            cluster: id.clone(),
            update_mask: vec!["spec.oidc".into()],
            spec: Some(pb::ClusterSpec {
                oidc: Some(pb::OidcConfig {
                    issuer_url: "https://login.example.com/realms/ml".into(),
                    client_id: "accord-kube".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let oidc = updated.spec.as_ref().unwrap().oidc.clone().unwrap();
    assert_eq!(oidc.issuer_url, "https://login.example.com/realms/ml");

    let resp = kubeconfig(&admin, &id).await;
    assert!(resp.client_certificate_expires_at.is_none());
    assert!(resp.client_certificate.is_empty() && resp.client_key.is_empty());
    let doc = yaml(&resp.kubeconfig);
    let (c, user, _) = entries(&doc);
    assert!(c.get("certificate-authority-data").is_some());
    assert!(
        user.get("client-certificate-data").is_none() && user.get("client-key-data").is_none(),
        "an OIDC kubeconfig must not carry a client certificate: {user:?}"
    );
    let exec = user
        .get("exec")
        .unwrap_or_else(|| panic!("no exec entry: {user:?}"));
    assert!(field(exec, &["command"]).and_then(Value::as_str).is_some());
    assert!(
        field(exec, &["apiVersion"])
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("client.authentication.k8s.io/"))
    );
    let args: Vec<&str> = exec
        .get("args")
        .and_then(Value::as_sequence)
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        args.contains(&"--oidc-issuer-url=https://login.example.com/realms/ml")
            && args.contains(&"--oidc-client-id=accord-kube"),
        "{args:?}"
    );
    // The CLI keeps that entry when merging and its certificate plugin refuses the cluster.
    let endpoint = format!("http://{}", env.grpc_addr);
    let base = ["--endpoint", &endpoint, "--token", &env.admin_token];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    let argv = |rest: &[&str]| -> Vec<String> {
        base.iter().chain(rest).map(|s| (*s).to_owned()).collect()
    };
    accord(&argv(&[
        "kubeconfig",
        &id,
        "--file",
        file.to_str().unwrap(),
    ]))
    .await
    .unwrap();
    let merged = yaml(&std::fs::read_to_string(&file).unwrap());
    let (_, user, _) = entries(&merged);
    let merged_args = field(user, &["exec", "args"]).and_then(Value::as_sequence);
    assert!(
        merged_args.is_some_and(|a| a.iter().any(|v| v.as_str() == Some("oidc-login"))),
        "{user:?}"
    );
    let refused = accord(&argv(&["credentials", "kubeconfig", &id]))
        .await
        .unwrap_err();
    assert!(refused.contains("OIDC"), "{refused}");

    // Clearing OIDC brings the certificate back.
    clusters
        .update_cluster(pb::UpdateClusterRequest {
            cluster: id.clone(),
            update_mask: vec!["spec.oidc".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let doc = yaml(&kubeconfig(&admin, &id).await.kubeconfig);
    let (_, user, _) = entries(&doc);
    assert!(user.get("client-certificate-data").is_some() && user.get("exec").is_none());
}

/// Runs the `accord` command line in this process (`argv` without the program name) with the
/// settings it resolves itself, as the binary would; its stdout, or the rendered error.
async fn accord(argv: &[String]) -> Result<String, String> {
    use accord_cli::{Cli, commands, config, output::Printer};
    let mut full = vec!["accord".to_owned()];
    full.extend_from_slice(argv);
    let cli = Cli::try_parse_with_sources(full).map_err(|e| e.to_string())?;
    let settings = config::resolve(&cli.global, &config::Environment::current())
        .map_err(|e| format!("{e:#}"))?;
    let (printer, captured) = Printer::capture();
    let ctx = commands::Context {
        settings,
        format: cli.global.output,
        printer,
    };
    commands::run(&ctx, cli.command)
        .await
        .map_err(|e| accord_cli::render_error(&e))?;
    let out = captured.lock().unwrap().out.clone();
    Ok(out)
}

fn kubectl(args: &[&str]) -> String {
    let tool = std::env::var_os("ACCORD_KUBECTL").unwrap_or_else(|| {
        panic!("ACCORD_KUBECTL is not set: run the tests with `cargo xtask test`")
    });
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("kubectl {args:?}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `kubectl config view --raw -o json` of `file`.
fn kubectl_view(file: &str) -> serde_json::Value {
    let view = kubectl(&[
        "config",
        "view",
        "--raw",
        "-o",
        "json",
        "--kubeconfig",
        file,
    ]);
    serde_json::from_str(&view).unwrap_or_else(|e| panic!("kubectl printed no JSON: {e}\n{view}"))
}

/// The entry called `name` of `list` (`users`, `clusters`, `contexts`) in a kubectl view.
fn named<'a>(view: &'a serde_json::Value, list: &str, name: &str) -> &'a serde_json::Value {
    view[list]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no {list} entry {name}: {view}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accord_kubeconfig_merges_and_its_exec_plugin_mints_fresh_certificates() {
    let env = Env::start().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = env.running_cluster(&admin, "demo", "").await.unwrap();
    let id = cluster_id(&cluster).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cli_config = dir.path().join("cli.toml");
    std::fs::write(
        &cli_config,
        format!(
            "[profiles.admin]\nendpoint = \"http://{}\"\ntoken = \"{}\"\n",
            env.grpc_addr, env.admin_token
        ),
    )
    .unwrap();
    let kubeconfig_path = dir.path().join("kube/config");
    std::fs::create_dir_all(kubeconfig_path.parent().unwrap()).unwrap();
    std::fs::write(
        &kubeconfig_path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://prod.example:6443\n\
         users:\n- name: alice\n  user:\n    token: abc\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: alice\n\
         current-context: prod\n",
    )
    .unwrap();
    let file = kubeconfig_path.to_str().unwrap().to_owned();
    let config = cli_config.to_str().unwrap().to_owned();
    let args = |rest: &[&str]| -> Vec<String> {
        ["--config", &config, "--profile", "admin"]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned())
            .collect()
    };

    accord(&args(&["kubeconfig", "demo", "--file", &file]))
        .await
        .unwrap();
    // kubectl reads the merged file: both contexts, ours current.
    let contexts = kubectl(&[
        "config",
        "get-contexts",
        "-o",
        "name",
        "--kubeconfig",
        &file,
    ]);
    let mut names: Vec<_> = contexts.lines().collect();
    names.sort_unstable();
    assert_eq!(names, ["accord-demo", "prod"], "{contexts}");
    assert_eq!(
        kubectl(&["config", "current-context", "--kubeconfig", &file]).trim(),
        "accord-demo"
    );
    let view = kubectl_view(&file);
    let user = named(&view, "users", "admin@demo");
    let exec = &user["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(exec["command"], "accord");
    assert!(user["user"].get("client-key-data").is_none(), "{user}");
    let alice = named(&view, "users", "alice");
    assert_eq!(alice["user"]["token"], "abc");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&kubeconfig_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // What kubectl would run: the exec entry's arguments, from any directory.
    let exec_args: Vec<String> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(exec_args[..3], ["credentials", "kubeconfig", id.as_str()]);
    let credential: serde_json::Value =
        serde_json::from_str(&accord(&exec_args).await.unwrap()).unwrap();
    assert_eq!(credential["kind"], "ExecCredential");
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1");
    let status = &credential["status"];
    let cert_pem = status["clientCertificateData"].as_str().unwrap();
    let key_pem = status["clientKeyData"].as_str().unwrap();
    let expiry = ::time::OffsetDateTime::parse(
        status["expirationTimestamp"].as_str().unwrap(),
        &::time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let lifetime = expiry - ::time::OffsetDateTime::now_utc();
    assert!(
        lifetime <= ::time::Duration::hours(1) && lifetime > ::time::Duration::minutes(50),
        "{lifetime}"
    );

    // openssl: the certificate chains to the CA in the merged kubeconfig; the key is its own.
    let cluster_entry = named(&view, "clusters", "accord-demo");
    let ca_pem = String::from_utf8(
        STANDARD
            .decode(
                cluster_entry["cluster"]["certificate-authority-data"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    let certs = tempfile::tempdir().unwrap();
    std::fs::write(certs.path().join("ca.pem"), &ca_pem).unwrap();
    std::fs::write(certs.path().join("client.pem"), cert_pem).unwrap();
    std::fs::write(certs.path().join("client.key"), key_pem).unwrap();
    let ok = openssl(certs.path(), &["verify", "-CAfile", "ca.pem", "client.pem"])
        .unwrap_or_else(|out| panic!("openssl does not accept the plugin's cert: {out}"));
    assert!(ok.contains("client.pem: OK"), "{ok}");
    let cert_pub = openssl(
        certs.path(),
        &["x509", "-in", "client.pem", "-pubkey", "-noout"],
    )
    .unwrap();
    let key_pub = openssl(certs.path(), &["pkey", "-in", "client.key", "-pubout"]).unwrap();
    assert_eq!(cert_pub, key_pub);
    // kubectl itself reads the ExecCredential and presents its certificate in the TLS handshake.
    let presented = kubectl_presents(&credential.to_string(), &ca_pem, certs.path());
    assert!(
        presented.contains("CN = admin, O = accord:admin"),
        "{presented}"
    );
    // Each run mints a new certificate.
    let again: serde_json::Value =
        serde_json::from_str(&accord(&exec_args).await.unwrap()).unwrap();
    assert_ne!(
        again["status"]["clientCertificateData"].as_str(),
        Some(cert_pem)
    );

    // Running it again refreshes the entries instead of duplicating them; --static embeds.
    accord(&args(&["kubeconfig", "demo", "--file", &file, "--static"]))
        .await
        .unwrap();
    let contexts = kubectl(&[
        "config",
        "get-contexts",
        "-o",
        "name",
        "--kubeconfig",
        &file,
    ]);
    assert_eq!(contexts.lines().count(), 2, "{contexts}");
    let view = kubectl_view(&file);
    let user = named(&view, "users", "admin@demo");
    assert!(
        user["user"]["client-certificate-data"].is_string(),
        "{user}"
    );
    assert!(user["user"].get("exec").is_none(), "{user}");

    // A lifetime outside the bounds is refused naming the field.
    let status = admin
        .clusters
        .clone()
        .get_kubeconfig(pb::GetKubeconfigRequest {
            project: String::new(),
            cluster: id.clone(),
            client_certificate_ttl_seconds: 10,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("client_certificate_ttl_seconds"),
        "{}",
        status.message()
    );
}

/// Runs `kubectl get namespaces` against `openssl s_server`, which demands a client certificate
/// signed by `ca_pem`, with a kubeconfig whose exec plugin prints `credential` (what `accord
/// credentials kubeconfig` printed): what the server logged about the certificate kubectl
/// presented. Proves kubectl accepts the ExecCredential as written, not only that it parses as
/// JSON. (The server cannot prove who it is to kubectl — its certificate is not signed by the
/// cluster CA — so this kubeconfig skips server verification; the client side is under test.)
fn kubectl_presents(credential: &str, ca_pem: &str, dir: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("cluster-ca.pem"), ca_pem).unwrap();
    std::fs::write(dir.join("credential.json"), credential).unwrap();
    let plugin = dir.join("plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\ncat '{}'\n",
            dir.join("credential.json").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.join("s_server.log")).unwrap();
    let mut server = Command::new("openssl")
        .args([
            "s_server",
            "-accept",
            &port.to_string(),
            "-cert",
            "server.pem",
        ])
        .args([
            "-key",
            "server.key",
            "-Verify",
            "1",
            "-CAfile",
            "cluster-ca.pem",
            "-www",
        ])
        .current_dir(dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // Until it accepts connections (bounded: a server that never starts fails below).
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let kubeconfig = dir.join("kubectl-check.yaml");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    \
             server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n\
             - name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      \
             command: {}\n      interactiveMode: Never\ncontexts:\n- name: local\n  context:\n    \
             cluster: local\n    user: plugin\ncurrent-context: local\n",
            plugin.display()
        ),
    )
    .unwrap();
    let tool = std::env::var_os("ACCORD_KUBECTL").unwrap_or_else(|| {
        panic!("ACCORD_KUBECTL is not set: run the tests with `cargo xtask test`")
    });
    // The server answers with an HTML page, so kubectl fails after the handshake; what counts
    // is the certificate it presented.
    let out = Command::new(tool)
        .args(["--kubeconfig", kubeconfig.to_str().unwrap()])
        .args(["get", "namespaces", "--request-timeout=10s"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let logged = std::fs::read_to_string(dir.join("s_server.log")).unwrap();
    assert!(
        !logged.contains("verify error"),
        "the server refused kubectl's certificate:\n{logged}"
    );
    format!(
        "{logged}\nkubectl: {}",
        String::from_utf8_lossy(&out.stderr)
    )
}
