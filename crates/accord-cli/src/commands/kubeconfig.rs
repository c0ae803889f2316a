//! `accord kubeconfig CLUSTER` and `accord credentials kubeconfig CLUSTER`: a cluster in the
//! user's kubeconfig the way managed-Kubernetes CLIs put it there (`aws eks update-kubeconfig`,
//! `gcloud container clusters get-credentials`).
//!
//! - By default the cluster, user and context are merged into the file kubectl writes to
//!   ([`kubeconfig_file`](super::kubeconfig_file) for the rules), its context is made current,
//!   nothing else is dropped and the file is mode 0600.
//! - The user entry is an `exec` credential plugin: kubectl runs `accord credentials kubeconfig
//!   <cluster id> …` whenever it needs credentials, which asks the API for a fresh client
//!   certificate valid for [`EXEC_CERT_TTL_SECONDS`] and prints it as a
//!   `client.authentication.k8s.io/v1` ExecCredential with its expiry. A revoked API key stops
//!   working for kubectl within the hour; no long-lived key sits in the kubeconfig.
//! - The plugin's arguments name what this command was run with, so it works from any
//!   directory: `--config <absolute path>` when a config file was read, `--profile <name>` when
//!   a profile was used, otherwise `--endpoint` (and `--ca-file`) — the API key then comes from
//!   the file's top level or `ACCORD_TOKEN` in kubectl's environment (the command says so).
//!   `--project` is kept for provider operators.
//! - `--static` embeds the 24-hour client certificate instead; an OIDC cluster keeps the
//!   identity provider's exec entry the API returns (`kubectl oidc-login`), and `credentials
//!   kubeconfig` refuses it with that explanation.
//! - `--print` prints the kubeconfig instead of merging (no file is touched).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use accord_proto::provisioner::v1 as pb;
use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_norway::{Mapping, Value};

use super::{Context, kubeconfig_file};
use crate::cli::{CredentialsCommand, CredentialsKubeconfigArgs, KubeconfigArgs};
use crate::output::rfc3339;

/// The lifetime asked for a certificate the exec plugin prints (kubectl asks again when it
/// expires).
pub const EXEC_CERT_TTL_SECONDS: u32 = 3600;

/// The shortest client certificate the API signs (`client_certificate_ttl_seconds`).
const SHORTEST_CERT_TTL_SECONDS: u32 = 300;

/// The `apiVersion` of the ExecCredential the plugin prints and the kubeconfig declares.
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1";

/// The command kubectl runs (found on `PATH`, as `aws` and `gke-gcloud-auth-plugin` are).
pub const EXEC_COMMAND: &str = "accord";

/// Runs `accord kubeconfig`.
pub async fn run(ctx: &Context, args: KubeconfigArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let cluster = super::lookup::cluster(&api, &args.cluster).await?;
    let cluster_id = cluster
        .metadata
        .as_ref()
        .map(|m| m.id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| args.cluster.clone());
    let response = api
        .call(api.clusters().get_kubeconfig(pb::GetKubeconfigRequest {
            project: api.project(),
            cluster: cluster_id.clone(),
            // With the exec plugin the certificate only tells an OIDC cluster (none) from
            // the others and is dropped: the shortest the API signs. `--static` keeps 24 h.
            client_certificate_ttl_seconds: if args.static_cert {
                0
            } else {
                SHORTEST_CERT_TTL_SECONDS
            },
        }))
        .await?;
    let mut doc = kubeconfig_file::parse(&response.kubeconfig)
        .context("the API returned a kubeconfig that cannot be read")?
        .context("the API returned an empty kubeconfig")?;
    let plugin = !args.static_cert && !response.client_certificate.is_empty();
    if plugin {
        let exec = exec_entry(ctx, &cluster_id)?;
        replace_users_with_exec(&mut doc, &exec.to_value()?);
    }
    if args.print {
        let text = serde_norway::to_string(&doc).context("serialise the kubeconfig")?;
        ctx.out(&text);
        return Ok(());
    }
    let context = doc
        .get("current-context")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .context("the API returned a kubeconfig without a current context")?;

    let kubeconfig_env = std::env::var_os("KUBECONFIG");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let explicit = args.file.as_deref();
    let target =
        kubeconfig_file::target_file(explicit, kubeconfig_env.as_deref(), home.as_deref())?;
    let existing = kubeconfig_file::read(&target)?;
    let context_file =
        kubeconfig_file::current_context_file(explicit, kubeconfig_env.as_deref(), &target);
    let current_here = (context_file == target).then_some(context.as_str());
    kubeconfig_file::write(
        &target,
        &kubeconfig_file::merge(existing, &doc, current_here),
    )?;
    if context_file != target {
        let other = kubeconfig_file::read(&context_file)?;
        kubeconfig_file::write(
            &context_file,
            &kubeconfig_file::set_current_context(other, &context),
        )?;
    }
    let credentials = if plugin {
        format!(
            "credentials: `{EXEC_COMMAND} credentials kubeconfig` mints a {}-minute client \
             certificate whenever kubectl needs one",
            EXEC_CERT_TTL_SECONDS / 60
        )
    } else {
        match rfc3339(response.client_certificate_expires_at.as_ref()) {
            Some(at) => format!("credentials: a client certificate that expires {at}"),
            None => "credentials: the cluster's OIDC identity provider (kubectl oidc-login)".into(),
        }
    };
    let export = match (explicit, &kubeconfig_env) {
        (Some(path), _) => format!(
            "\n  export KUBECONFIG={}",
            super::up::shell_word(&path.display().to_string())
        ),
        _ => String::new(),
    };
    ctx.note(&format!(
        "added cluster {} to {} and switched to context {context}\n  {credentials}{export}",
        args.cluster,
        target.display()
    ));
    if plugin && ctx.settings.profile.is_none() {
        ctx.note(
            "note: no config profile was used, so the exec plugin takes the API key from the \
             config file's top level or from ACCORD_TOKEN in kubectl's environment (or pass \
             --static)",
        );
    }
    Ok(())
}

/// Runs `accord credentials …`.
pub async fn credentials(ctx: &Context, command: CredentialsCommand) -> anyhow::Result<()> {
    match command {
        CredentialsCommand::Kubeconfig(args) => exec_credential(ctx, args).await,
    }
}

async fn exec_credential(ctx: &Context, args: CredentialsKubeconfigArgs) -> anyhow::Result<()> {
    let api = ctx.api().await?;
    let response = api
        .call(api.clusters().get_kubeconfig(pb::GetKubeconfigRequest {
            project: api.project(),
            cluster: args.cluster.clone(),
            client_certificate_ttl_seconds: EXEC_CERT_TTL_SECONDS,
        }))
        .await?;
    if response.client_certificate.is_empty() {
        bail!(
            "cluster {} signs users in with its OIDC identity provider, not client \
             certificates: run `accord kubeconfig {}` again to get its OIDC exec entry",
            args.cluster,
            args.cluster
        );
    }
    let expiration = rfc3339(response.client_certificate_expires_at.as_ref())
        .context("the API issued a client certificate without an expiry")?;
    let credential = ExecCredential {
        api_version: EXEC_API_VERSION,
        kind: "ExecCredential",
        status: ExecCredentialStatus {
            client_certificate_data: response.client_certificate,
            client_key_data: response.client_key,
            expiration_timestamp: expiration,
        },
    };
    ctx.out(&(serde_json::to_string(&credential)? + "\n"));
    Ok(())
}

/// `client.authentication.k8s.io/v1` ExecCredential (what kubectl reads from the plugin).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredential {
    api_version: &'static str,
    kind: &'static str,
    status: ExecCredentialStatus,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus {
    /// PEM (not base64: the ExecCredential carries the PEM text itself).
    client_certificate_data: String,
    client_key_data: String,
    expiration_timestamp: String,
}

/// A kubeconfig `users[].user.exec` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecEntry {
    pub api_version: &'static str,
    pub command: &'static str,
    pub args: Vec<String>,
    pub interactive_mode: &'static str,
    pub provide_cluster_info: bool,
    pub install_hint: &'static str,
}

impl ExecEntry {
    fn to_value(&self) -> anyhow::Result<Value> {
        Ok(serde_norway::to_value(self)?)
    }
}

/// The exec entry that runs `accord credentials kubeconfig <cluster>` with this invocation's
/// connection settings (module docs).
pub fn exec_entry(ctx: &Context, cluster_id: &str) -> anyhow::Result<ExecEntry> {
    let settings = &ctx.settings;
    let mut args = vec![
        "credentials".to_owned(),
        "kubeconfig".to_owned(),
        cluster_id.to_owned(),
    ];
    if let Some(config) = &settings.config_file {
        args.extend(["--config".to_owned(), absolute(config)?]);
    }
    match &settings.profile {
        Some(profile) => args.extend(["--profile".to_owned(), profile.clone()]),
        None => {
            args.extend(["--endpoint".to_owned(), settings.endpoint.clone()]);
            if let Some(ca) = &settings.ca_file {
                args.extend(["--ca-file".to_owned(), absolute(ca)?]);
            }
        }
    }
    if !settings.project.is_empty() {
        args.extend(["--project".to_owned(), settings.project.clone()]);
    }
    Ok(ExecEntry {
        api_version: EXEC_API_VERSION,
        command: EXEC_COMMAND,
        args,
        interactive_mode: "Never",
        provide_cluster_info: false,
        install_hint: "kubectl signs in to this cluster through the `accord` CLI: put it on \
                       PATH (cargo install --path crates/accord-cli), or run `accord kubeconfig \
                       CLUSTER --static` for a 24-hour certificate instead",
    })
}

fn absolute(path: &Path) -> anyhow::Result<String> {
    let path = std::path::absolute(path)
        .with_context(|| format!("the absolute path of {}", path.display()))?;
    path.into_os_string()
        .into_string()
        .map_err(|p: OsString| anyhow::anyhow!("{} is not UTF-8", PathBuf::from(p).display()))
}

/// Every user entry of `doc` becomes `{exec: …}` (the client certificate and key dropped).
fn replace_users_with_exec(doc: &mut Value, exec: &Value) {
    let Some(users) = doc.get_mut("users").and_then(Value::as_sequence_mut) else {
        return;
    };
    for entry in users {
        let mut user = Mapping::new();
        user.insert(Value::from("exec"), exec.clone());
        if let Value::Mapping(map) = entry {
            map.insert(Value::from("user"), Value::Mapping(user));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::output::{OutputFormat, Printer};

    fn ctx(settings: Settings) -> Context {
        Context {
            settings,
            format: OutputFormat::Table,
            printer: Printer::capture().0,
        }
    }

    #[test]
    fn the_plugin_carries_the_profile_or_the_endpoint() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("cli.toml");
        let mut settings = Settings::new("https://api.example:443", Some("t".into()));
        settings.config_file = Some(config.clone());
        settings.profile = Some("admin".into());
        settings.project = "prj-1".into();
        let entry = exec_entry(&ctx(settings), "cl-1").unwrap();
        assert_eq!(
            entry.args,
            [
                "credentials",
                "kubeconfig",
                "cl-1",
                "--config",
                config.to_str().unwrap(),
                "--profile",
                "admin",
                "--project",
                "prj-1"
            ]
        );
        let mut settings = Settings::new("https://api.example:443", Some("t".into()));
        settings.ca_file = Some(PathBuf::from("ca.pem"));
        let entry = exec_entry(&ctx(settings), "cl-1").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            entry.args,
            [
                "credentials",
                "kubeconfig",
                "cl-1",
                "--endpoint",
                "https://api.example:443",
                "--ca-file",
                cwd.join("ca.pem").to_str().unwrap()
            ]
        );
        // The args parse as an accord command line.
        let mut argv = vec!["accord".to_owned()];
        argv.extend(entry.args);
        let cli = crate::Cli::try_parse_with_sources(argv).unwrap();
        assert!(matches!(
            cli.command,
            crate::cli::Command::Credentials(CredentialsCommand::Kubeconfig(_))
        ));
    }

    #[test]
    fn users_become_exec_entries() {
        let mut doc: Value = serde_norway::from_str(
            "users:\n- name: a@demo\n  user:\n    client-certificate-data: x\n    client-key-data: y\n",
        )
        .unwrap();
        let entry = exec_entry(&ctx(Settings::new("http://127.0.0.1:1", None)), "cl-1").unwrap();
        replace_users_with_exec(&mut doc, &entry.to_value().unwrap());
        let user = &doc["users"][0]["user"];
        assert!(user.get("client-key-data").is_none());
        assert_eq!(user["exec"]["apiVersion"].as_str(), Some(EXEC_API_VERSION));
        assert_eq!(user["exec"]["command"].as_str(), Some("accord"));
        assert_eq!(user["exec"]["interactiveMode"].as_str(), Some("Never"));
        assert_eq!(user["exec"]["provideClusterInfo"].as_bool(), Some(false));
        assert_eq!(doc["users"][0]["name"].as_str(), Some("a@demo"));
    }
}
