//! `accord plugin push FILE --kind …` and `accord plugin list`: the plugin catalogue
//! (`accord.addons.v1.Plugins`, served by the addon-manager), a provider action that needs an
//! operator's credentials.
//!
//! Invariants:
//! - The CLI never writes the plugin bucket itself: the addon-manager compiles the component,
//!   checks it against the world `--kind` names and its `describe()`, and only then stores it
//!   (objects `policy.<name>` / `addon.<name>` after the plugin's own name); every replica
//!   validates it again before it swaps it in.
//! - A file over the push limit is refused here, before anything is sent.

use std::collections::BTreeMap;

use std::path::Path;
use std::sync::Arc;

use accord_core::limits::MAX_PLUGIN_BYTES;
use accord_plugin_host::{HostConfig, Loaded, PluginHost, PluginKind, PluginRegistry, kind_name};
use accord_proto::addons::v1 as pb;
use anyhow::Context as _;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Context;
use crate::cli::{OutputFormat, PluginCommand, PluginKindArg};
use crate::client::Api;
use crate::output::{age, rfc3339, structured, tables};

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
    let component = read_component(file)?;
    let api = ctx.addons_api().await?;
    let plugin = api
        .call(api.plugins().push_plugin(pb::PushPluginRequest {
            kind: proto_kind(kind).into(),
            component,
        }))
        .await
        .with_context(|| {
            format!(
                "{} was not pushed as a {} plugin",
                file.display(),
                kind_name(kind)
            )
        })?;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &plugin_json(&plugin))?);
        }
        OutputFormat::Name => ctx.out(&format!("plugin/{}", plugin.name)),
        OutputFormat::Table => ctx.out(&format!(
            "plugin/{} pushed ({} {}, sha256 {}, {} bytes)",
            plugin.name,
            kind_label(&plugin),
            plugin.version,
            short_digest(&plugin.digest),
            plugin.size
        )),
    }
    Ok(())
}

/// Reads a component file, refusing one over the push limit before anything is sent.
fn read_component(file: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > MAX_PLUGIN_BYTES as u64 {
        anyhow::bail!(
            "{} is {size} bytes; a plugin may be at most {MAX_PLUGIN_BYTES} bytes",
            file.display()
        );
    }
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

fn proto_kind(kind: PluginKind) -> pb::PluginKind {
    match kind {
        PluginKind::Addon => pb::PluginKind::Addon,
        PluginKind::RemediationPolicy => pb::PluginKind::RemediationPolicy,
    }
}

/// `addon` / `remediation-policy` (`-` for an object of no known kind).
fn kind_label(plugin: &pb::Plugin) -> &'static str {
    match pb::PluginKind::try_from(plugin.kind) {
        Ok(pb::PluginKind::Addon) => kind_name(PluginKind::Addon),
        Ok(pb::PluginKind::RemediationPolicy) => kind_name(PluginKind::RemediationPolicy),
        _ => "-",
    }
}

async fn list(ctx: &Context) -> anyhow::Result<()> {
    let api = ctx.addons_api().await?;
    let plugins = api
        .call(api.plugins().list_plugins(pb::ListPluginsRequest {}))
        .await?
        .plugins;
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let items: Vec<Value> = plugins.iter().map(plugin_json).collect();
            ctx.out(&structured(
                ctx.format,
                &json!({"kind": "List", "items": items}),
            )?);
        }
        OutputFormat::Name => {
            let names: Vec<String> = plugins
                .iter()
                .map(|p| format!("plugin/{}", p.name))
                .collect();
            if !names.is_empty() {
                ctx.out(&names.join("\n"));
            }
        }
        OutputFormat::Table if plugins.is_empty() => {
            ctx.note("No plugins pushed (accord plugin push FILE --kind …).");
        }
        OutputFormat::Table => {
            let running = running_addons(&api).await;
            ctx.out(&plugin_table(&plugins, running.as_ref(), ctx.now()));
            if running.is_none() {
                ctx.note("(STATE needs the addon-manager's add-on list, which did not answer)");
            }
        }
    }
    Ok(())
}

/// What the addon-manager runs, by add-on name: (digest, state). `None` when it cannot be asked.
async fn running_addons(api: &Api) -> Option<BTreeMap<String, (String, String)>> {
    let list = api
        .call(
            api.addons()
                .list_available_addons(pb::ListAvailableAddonsRequest {}),
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
fn plugin_state(p: &pb::Plugin, running: Option<&BTreeMap<String, (String, String)>>) -> String {
    match (kind_label(p), running) {
        ("remediation-policy", _) => "validated".to_owned(),
        ("addon", Some(running)) => match running.get(plugin_name(p)) {
            Some((digest, state)) if *digest == p.digest => state.clone(),
            Some((digest, _)) => format!("not active (runs {})", short_digest(digest)),
            None => "not active".to_owned(),
        },
        _ => "-".to_owned(),
    }
}

/// The plugin's own name: the object name without its `policy.` / `addon.` prefix.
fn plugin_name(plugin: &pb::Plugin) -> &str {
    plugin
        .name
        .split_once('.')
        .map_or(plugin.name.as_str(), |(_, name)| name)
}

fn short_digest(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// `accord plugin list` as a table.
pub fn plugin_table(
    plugins: &[pb::Plugin],
    running: Option<&BTreeMap<String, (String, String)>>,
    now: OffsetDateTime,
) -> String {
    let rows = plugins
        .iter()
        .map(|p| {
            vec![
                plugin_name(p).to_owned(),
                kind_label(p).to_owned(),
                or_dash(&p.version),
                or_dash(short_digest(&p.digest)),
                p.size.to_string(),
                plugin_state(p, running),
                age(p.modified.as_ref(), now),
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

fn plugin_json(plugin: &pb::Plugin) -> Value {
    json!({
        "object": plugin.name,
        "name": plugin_name(plugin),
        "kind": kind_label(plugin),
        "version": plugin.version,
        "digest": plugin.digest,
        "size": plugin.size,
        "modified": rfc3339(plugin.modified.as_ref()),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::output::timestamp;

    #[test]
    fn object_names_and_table() {
        assert_eq!(
            object_name(PluginKind::RemediationPolicy, "gpu-remediation"),
            "policy.gpu-remediation"
        );
        assert_eq!(object_name(PluginKind::Addon, "cilium"), "addon.cilium");
        let now = OffsetDateTime::now_utc();
        let plugin = pb::Plugin {
            name: "addon.cilium".into(),
            kind: pb::PluginKind::Addon.into(),
            version: "0.1.0".into(),
            digest: "0123456789abcdef".into(),
            size: 1234,
            modified: Some(timestamp(now - Duration::from_secs(300))),
        };
        let running = BTreeMap::from([(
            "cilium".to_owned(),
            ("0123456789abcdef".to_owned(), "active".to_owned()),
        )]);
        let table = plugin_table(std::slice::from_ref(&plugin), Some(&running), now);
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
            plugin_state(&plugin, Some(&other)),
            "not active (runs fedcba987654)"
        );
        assert_eq!(plugin_state(&plugin, None), "-");
        let json = plugin_json(&plugin);
        assert_eq!(json["object"], "addon.cilium");
        assert_eq!(json["name"], "cilium");
        assert_eq!(json["kind"], "addon");
    }

    #[test]
    fn a_file_over_the_push_limit_is_refused_before_anything_is_sent() {
        let big = tempfile::NamedTempFile::new().unwrap();
        big.as_file().set_len(MAX_PLUGIN_BYTES as u64 + 1).unwrap();
        let err = format!("{:#}", read_component(big.path()).unwrap_err());
        assert!(err.contains("at most 3145728 bytes"), "{err}");
        let at_limit = tempfile::NamedTempFile::new().unwrap();
        at_limit.as_file().set_len(MAX_PLUGIN_BYTES as u64).unwrap();
        assert_eq!(
            read_component(at_limit.path()).unwrap().len(),
            MAX_PLUGIN_BYTES
        );
    }
}
