//! `accord plugin push FILE --kind …` and `accord plugin list`: the NATS plugin bucket
//! (`ACCORD_PLUGINS`) that every service replica watches.
//!
//! Invariants:
//! - Nothing is pushed that does not load here first: the component is compiled, checked
//!   against the world `--kind` names (another world is an error) and `describe()`d by the
//!   plugin host; the replicas validate it again before they swap it in.
//! - Objects are named `policy.<name>` / `addon.<name>` after the plugin's own name, with kind,
//!   version and SHA-256 (hex) as metadata.

use std::collections::BTreeMap;

use std::path::Path;
use std::sync::Arc;

use accord_bus::{PluginMeta, PluginObject};
use accord_plugin_host::{HostConfig, Loaded, PluginHost, PluginKind, PluginRegistry, kind_name};
use anyhow::Context as _;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Context;
use crate::cli::{OutputFormat, PluginCommand, PluginKindArg};
use crate::output::{human_duration, structured, tables};

/// Object-name prefix of remediation policies in the bucket.
pub const POLICY_PREFIX: &str = "policy";
/// Object-name prefix of add-ons in the bucket.
pub const ADDON_PREFIX: &str = "addon";

/// Runs `accord plugin`.
pub async fn run(ctx: &Context, command: PluginCommand) -> anyhow::Result<()> {
    match command {
        PluginCommand::Push(args) => push(ctx, &args.file, args.kind.into()).await,
        PluginCommand::List => list(ctx).await,
    }
}

impl From<PluginKindArg> for PluginKind {
    fn from(kind: PluginKindArg) -> Self {
        match kind {
            PluginKindArg::Addon => PluginKind::Addon,
            PluginKindArg::RemediationPolicy => PluginKind::RemediationPolicy,
        }
    }
}

/// The bucket object name of plugin `name` of `kind` (`policy.gpu-remediation`, `addon.cilium`).
pub fn object_name(kind: PluginKind, name: &str) -> String {
    let prefix = match kind {
        PluginKind::RemediationPolicy => POLICY_PREFIX,
        PluginKind::Addon => ADDON_PREFIX,
    };
    format!("{prefix}.{name}")
}

/// Loads `wasm` with the plugin host as a component of `kind`; any other world, or a component
/// that does not load, is an error.
pub async fn validate(kind: PluginKind, wasm: Vec<u8>) -> anyhow::Result<(Loaded, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let host = PluginHost::new(HostConfig::default()).context("starting the plugin host")?;
        let registry = PluginRegistry::new(Arc::new(host));
        let loaded = registry.offer_kind(kind, &wasm)?;
        Ok((loaded, wasm))
    })
    .await?
}

async fn push(ctx: &Context, file: &Path, kind: PluginKind) -> anyhow::Result<()> {
    let wasm = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (loaded, wasm) = validate(kind, wasm).await.with_context(|| {
        format!(
            "{} is not a valid {} plugin; nothing was pushed",
            file.display(),
            kind_name(kind)
        )
    })?;
    let name = object_name(kind, &loaded.name);
    let meta = PluginMeta {
        kind: kind_name(kind).to_owned(),
        version: loaded.version.clone(),
        digest: loaded.digest.clone(),
    };
    let bus = ctx.bus().await?;
    let store = bus
        .plugin_store()
        .await
        .context("opening the plugin bucket")?;
    let object = store
        .put(&name, wasm, &meta)
        .await
        .with_context(|| format!("pushing {name}"))?;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &object_json(&object))?);
        }
        OutputFormat::Name => ctx.out(&format!("plugin/{name}")),
        OutputFormat::Table => ctx.out(&format!(
            "plugin/{name} pushed ({} {}, sha256 {}, {} bytes)",
            meta.kind,
            meta.version,
            short_digest(&meta.digest),
            object.size
        )),
    }
    Ok(())
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let bus = ctx.bus().await?;
    let objects = match bus
        .existing_plugin_store()
        .await
        .context("opening the plugin bucket")?
    {
        Some(store) => store.list().await.context("listing the plugin bucket")?,
        None => Vec::new(),
    };
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let items: Vec<Value> = objects.iter().map(object_json).collect();
            ctx.out(&structured(
                ctx.format,
                &json!({"kind": "List", "items": items}),
            )?);
        }
        OutputFormat::Name => {
            let names: Vec<String> = objects
                .iter()
                .map(|o| format!("plugin/{}", o.name))
                .collect();
            if !names.is_empty() {
                ctx.out(&names.join("\n"));
            }
        }
        OutputFormat::Table if objects.is_empty() => {
            ctx.note("No plugins pushed (accord plugin push FILE --kind …).");
        }
        OutputFormat::Table => {
            let running = running_addons(ctx).await;
            ctx.out(&plugin_table(&objects, running.as_ref(), ctx.now()));
            if running.is_none() {
                ctx.note("(STATE needs the addon-manager: no token or it is not reachable)");
            }
        }
    }
    Ok(())
}

/// What the addon-manager runs, by add-on name: (digest, state). `None` when it cannot be asked.
async fn running_addons(ctx: &Context) -> Option<BTreeMap<String, (String, String)>> {
    let api = ctx.addons_api().await.ok()?;
    let list = api
        .call(
            api.addons()
                .list_available_addons(accord_proto::addons::v1::ListAvailableAddonsRequest {}),
        )
        .await
        .ok()?;
    Some(
        list.addons
            .into_iter()
            .map(|a| (a.name, (a.plugin_digest, a.plugin_state)))
            .collect(),
    )
}

/// The STATE of a pushed plugin: for an add-on, whether the addon-manager runs exactly this
/// component (`active`, `quarantined: …`) or another one (`not active`: refused, or not seen yet);
/// a policy is validated at push and loaded by every `remediation decide` run.
fn plugin_state(o: &PluginObject, running: Option<&BTreeMap<String, (String, String)>>) -> String {
    match (o.kind(), running) {
        (Some("remediation-policy"), _) => "validated".to_owned(),
        (Some("addon"), Some(running)) => match running.get(plugin_name(o)) {
            Some((digest, state)) if Some(digest.as_str()) == o.digest() => state.clone(),
            Some((digest, _)) => format!("not active (runs {})", short_digest(digest)),
            None => "not active".to_owned(),
        },
        _ => "-".to_owned(),
    }
}

/// The plugin's own name: the object name without its `policy.` / `addon.` prefix.
fn plugin_name(object: &PluginObject) -> &str {
    object
        .name
        .split_once('.')
        .map_or(object.name.as_str(), |(_, name)| name)
}

fn short_digest(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// `accord plugin list` as a table.
pub fn plugin_table(
    objects: &[PluginObject],
    running: Option<&BTreeMap<String, (String, String)>>,
    now: OffsetDateTime,
) -> String {
    let rows = objects
        .iter()
        .map(|o| {
            vec![
                plugin_name(o).to_owned(),
                o.kind().unwrap_or("-").to_owned(),
                o.version().unwrap_or("-").to_owned(),
                o.digest().map_or("-", short_digest).to_owned(),
                o.size.to_string(),
                plugin_state(o, running),
                o.modified.map_or_else(
                    || "-".to_owned(),
                    |t| human_duration((now - t).whole_seconds()),
                ),
            ]
        })
        .collect();
    tables::render(
        &[
            "NAME", "KIND", "VERSION", "DIGEST", "SIZE", "STATE", "MODIFIED",
        ],
        rows,
    )
}

fn object_json(object: &PluginObject) -> Value {
    json!({
        "object": object.name,
        "name": plugin_name(object),
        "kind": object.kind(),
        "version": object.version(),
        "digest": object.digest(),
        "size": object.size,
        "modified": object.modified.and_then(|t| t.format(&Rfc3339).ok()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::time::Duration;

    use accord_testkit::NatsServer;

    use super::*;
    use crate::cli::Cli;
    use crate::config::Settings;
    use crate::output::{Captured, Printer};

    pub(crate) fn plugin_file(name: &str) -> PathBuf {
        std::env::var_os("ACCORD_PLUGIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../plugins/target/wasm32-wasip2/release")
            })
            .join(name)
    }

    async fn accord(nats_url: &str, args: &[&str]) -> (anyhow::Result<()>, Captured) {
        let mut argv = vec!["accord"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_with_sources(argv).unwrap();
        let (printer, captured) = Printer::capture();
        let mut settings = Settings::new("http://127.0.0.1:1", None);
        settings.nats_url = nats_url.to_owned();
        let ctx = Context {
            settings,
            format: cli.global.output,
            printer,
        };
        let result = crate::commands::run(&ctx, cli.command).await;
        let captured = captured.lock().unwrap().clone();
        (result, captured)
    }

    #[test]
    fn object_names_and_table() {
        assert_eq!(
            object_name(PluginKind::RemediationPolicy, "gpu-remediation"),
            "policy.gpu-remediation"
        );
        assert_eq!(object_name(PluginKind::Addon, "cilium"), "addon.cilium");
        let now = OffsetDateTime::now_utc();
        let object = PluginObject {
            name: "addon.cilium".into(),
            size: 1234,
            nats_digest: None,
            metadata: BTreeMap::from([
                ("kind".into(), "addon".into()),
                ("version".into(), "0.1.0".into()),
                ("digest".into(), "0123456789abcdef".into()),
            ]),
            modified: Some(now - Duration::from_secs(300)),
        };
        let running = BTreeMap::from([(
            "cilium".to_owned(),
            ("0123456789abcdef".to_owned(), "active".to_owned()),
        )]);
        let table = plugin_table(std::slice::from_ref(&object), Some(&running), now);
        assert_eq!(
            table.lines().collect::<Vec<_>>(),
            [
                "NAME     KIND    VERSION   DIGEST         SIZE   STATE    MODIFIED",
                "cilium   addon   0.1.0     0123456789ab   1234   active   5m",
            ]
        );
        let other = BTreeMap::from([(
            "cilium".to_owned(),
            ("fedcba9876543210".to_owned(), "active".to_owned()),
        )]);
        assert_eq!(
            plugin_state(&object, Some(&other)),
            "not active (runs fedcba987654)"
        );
        assert_eq!(plugin_state(&object, None), "-");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn push_validates_then_stores_and_list_shows_it() {
        let server = NatsServer::start().await.unwrap();
        let url = server.url();
        let gpu = plugin_file("gpu_remediation.wasm");
        let gpu = gpu.to_str().unwrap();
        let addon = plugin_file("noop_addon.wasm");
        let addon = addon.to_str().unwrap();

        // Empty bucket (not even created yet).
        let (result, captured) = accord(&url, &["plugin", "list"]).await;
        result.unwrap();
        assert!(captured.err.contains("No plugins pushed"), "{captured:?}");

        // Wrong kind: refused before anything reaches NATS.
        let (result, _) = accord(&url, &["plugin", "push", gpu, "--kind", "addon"]).await;
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.contains("expected a addon component"), "{err}");
        assert!(err.contains("nothing was pushed"), "{err}");

        let (result, captured) = accord(
            &url,
            &["plugin", "push", gpu, "--kind", "remediation-policy"],
        )
        .await;
        result.unwrap();
        assert!(
            captured
                .out
                .starts_with("plugin/policy.gpu-remediation pushed (remediation-policy "),
            "{captured:?}"
        );
        let (result, _) = accord(&url, &["plugin", "push", addon, "--kind", "addon"]).await;
        result.unwrap();

        let (result, captured) = accord(&url, &["plugin", "list"]).await;
        result.unwrap();
        let lines: Vec<&str> = captured.out.lines().collect();
        assert_eq!(lines.len(), 3, "{captured:?}");
        assert!(lines[0].starts_with("NAME"), "{lines:?}");
        assert!(lines[1].starts_with("noop-addon "), "{lines:?}");
        assert!(lines[2].contains("gpu-remediation"), "{lines:?}");
        assert!(lines[2].contains("remediation-policy"), "{lines:?}");

        let (result, captured) = accord(&url, &["plugin", "list", "-o", "json"]).await;
        result.unwrap();
        let listed: Value = serde_json::from_str(&captured.out).unwrap();
        let items = listed["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["object"], "policy.gpu-remediation");
        assert_eq!(items[1]["kind"], "remediation-policy");
        assert_eq!(items[1]["digest"].as_str().unwrap().len(), 64);

        // A file that is not a component at all.
        let junk = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(junk.path(), b"not wasm").unwrap();
        let (result, _) = accord(
            &url,
            &[
                "plugin",
                "push",
                junk.path().to_str().unwrap(),
                "--kind",
                "remediation-policy",
            ],
        )
        .await;
        let err = format!("{:#}", result.unwrap_err());
        assert!(err.contains("not a usable WebAssembly component"), "{err}");
    }
}
