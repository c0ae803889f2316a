//! `accord addon …`: the add-on catalogue, installations, configuration changes (with the
//! ownership verdict the add-on's plugin gives) and the provider's critical upgrades. Talks to
//! the addon-manager (the profile's endpoint of `accord.addons.v1`, else `endpoint`).

use accord_proto::addons::v1 as pb;
use anyhow::{Context as _, bail};
use serde_json::{Map, Value};

use super::Context;
use crate::cli::{AddonCommand, AddonConfigureArgs, AddonInstallArgs, AddonUpgradeArgs};
use crate::output::addons::{
    AddonRow, AddonView, AvailableView, available_table, describe, list_table, ownership_name,
};
use crate::output::{OutputFormat, render_list, render_one, structured};

/// Runs `accord addon`.
pub async fn run(ctx: &Context, command: AddonCommand) -> anyhow::Result<()> {
    let api = ctx.addons_api().await?;
    match command {
        AddonCommand::Available => {
            let r = api
                .call(
                    api.addons()
                        .list_available_addons(pb::ListAvailableAddonsRequest {}),
                )
                .await?;
            let items: Vec<_> = r.addons.iter().map(AvailableView::from_pb).collect();
            ctx.out(&render_list(ctx.format, &items, || {
                available_table(&items)
            })?);
        }
        AddonCommand::List(args) => {
            let r = api
                .call(api.addons().list_addons(pb::ListAddonsRequest {
                    cluster: args.cluster.clone(),
                }))
                .await?;
            if r.addons.is_empty() && r.pending.is_empty() && ctx.format == OutputFormat::Table {
                ctx.note(&format!(
                    "no add-ons on {} (see `accord addon available`)",
                    args.cluster
                ));
                return Ok(());
            }
            // Failed automatic installs are rows too (status install-failed), so they are seen.
            let rows = AddonRow::of(&r);
            ctx.out(&render_list(ctx.format, &rows, || {
                list_table(&r.addons, &r.pending, ctx.now())
            })?);
        }
        AddonCommand::Get(t) => {
            let i = api
                .call(api.addons().get_addon(pb::GetAddonRequest {
                    cluster: t.cluster,
                    name: t.addon,
                }))
                .await?;
            show(ctx, &i)?;
        }
        AddonCommand::Install(args) => install(ctx, &api, args).await?,
        AddonCommand::Configure(args) => configure(ctx, &api, args).await?,
        AddonCommand::Uninstall(t) => {
            api.call(api.addons().uninstall_addon(pb::UninstallAddonRequest {
                cluster: t.cluster.clone(),
                name: t.addon.clone(),
            }))
            .await?;
            ctx.note(&format!("{} uninstalled from {}", t.addon, t.cluster));
        }
        AddonCommand::Upgrade(args) => upgrade(ctx, &api, args).await?,
    }
    Ok(())
}

fn show(ctx: &Context, i: &pb::AddonInstallation) -> anyhow::Result<()> {
    let view = AddonView::from_pb(i);
    ctx.out(&render_one(ctx.format, &view, || describe(i, ctx.now()))?);
    Ok(())
}

async fn install(
    ctx: &Context,
    api: &crate::client::Api,
    args: AddonInstallArgs,
) -> anyhow::Result<()> {
    let mut config = match &args.config_file {
        Some(path) => read_config(path)?,
        None => Map::new(),
    };
    apply_sets(&mut config, &args.set)?;
    let config = if config.is_empty() {
        String::new()
    } else {
        Value::Object(config).to_string()
    };
    let i = api
        .call(api.addons().install_addon(pb::InstallAddonRequest {
            cluster: args.target.cluster,
            name: args.target.addon,
            version: args.addon_version.unwrap_or_default(),
            config,
            self_managed: args.self_managed,
        }))
        .await?;
    ctx.note(&format!(
        "{} {} installed on {}: {} ({})",
        i.name,
        i.version,
        i.cluster_name,
        ownership_name(i.ownership),
        i.ownership_reason
    ));
    show(ctx, &i)
}

async fn configure(
    ctx: &Context,
    api: &crate::client::Api,
    args: AddonConfigureArgs,
) -> anyhow::Result<()> {
    if args.set.is_empty() && args.unset.is_empty() && args.config_file.is_none() && !args.reset {
        bail!(
            "nothing to change: give --set PATH=VALUE, --unset PATH, --config-file FILE or --reset"
        );
    }
    let current = api
        .call(api.addons().get_addon(pb::GetAddonRequest {
            cluster: args.target.cluster.clone(),
            name: args.target.addon.clone(),
        }))
        .await?;
    let mut config = if args.reset {
        Map::new()
    } else if let Some(path) = &args.config_file {
        read_config(path)?
    } else {
        match serde_json::from_str::<Value>(&current.config) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    };
    apply_sets(&mut config, &args.set)?;
    for path in &args.unset {
        unset(&mut config, path);
    }
    let before = ownership_name(current.ownership);
    let i = api
        .call(
            api.addons()
                .update_addon_config(pb::UpdateAddonConfigRequest {
                    cluster: args.target.cluster,
                    name: args.target.addon,
                    config: Value::Object(config).to_string(),
                    generation: current.generation,
                }),
        )
        .await?;
    let after = ownership_name(i.ownership);
    if before == after {
        ctx.note(&format!(
            "{}: still {after} — {}",
            i.name, i.ownership_reason
        ));
    } else {
        ctx.note(&format!(
            "{}: ownership {before} -> {after} — {}",
            i.name, i.ownership_reason
        ));
    }
    show(ctx, &i)
}

async fn upgrade(
    ctx: &Context,
    api: &crate::client::Api,
    args: AddonUpgradeArgs,
) -> anyhow::Result<()> {
    let r = api
        .call(api.addons().upgrade_addon(pb::UpgradeAddonRequest {
            name: args.addon.clone(),
            target_version: args.to.clone(),
            clusters: args.clusters,
            reason: args.reason,
        }))
        .await?;
    if ctx.format != OutputFormat::Table {
        let items: Vec<Value> = r
            .outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "cluster_id": o.cluster_id, "outcome": o.outcome, "from_version": o.from_version,
                    "reason": o.reason, "steps": o.steps, "disruptive": o.disruptive,
                })
            })
            .collect();
        ctx.out(&structured(
            ctx.format,
            &serde_json::json!({ "kind": "List", "items": items }),
        )?);
        return Ok(());
    }
    if r.outcomes.is_empty() {
        ctx.note(&format!("no cluster has {} installed", args.addon));
        return Ok(());
    }
    let rows = r
        .outcomes
        .iter()
        .map(|o| {
            vec![
                o.cluster_id.clone(),
                o.from_version.clone(),
                o.outcome.clone(),
                if o.outcome == "upgraded" {
                    format!(
                        "{}{}",
                        o.steps.join("; "),
                        if o.disruptive { " (disruptive)" } else { "" }
                    )
                } else {
                    o.reason.clone()
                },
            ]
        })
        .collect();
    ctx.out(&crate::output::tables::render(
        &["CLUSTER", "FROM", "OUTCOME", "DETAIL"],
        rows,
    ));
    Ok(())
}

fn read_config(path: &std::path::Path) -> anyhow::Result<Map<String, Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    match serde_json::from_str::<Value>(&text)
        .with_context(|| format!("{} is not JSON", path.display()))?
    {
        Value::Object(m) => Ok(m),
        _ => bail!("{} must hold a JSON object of overrides", path.display()),
    }
}

/// Applies `PATH=VALUE` settings: dotted paths create nested objects; VALUE is JSON when it
/// parses as JSON, else a string (`driver.version=570.172.08` is a string).
pub fn apply_sets(config: &mut Map<String, Value>, sets: &[String]) -> anyhow::Result<()> {
    for set in sets {
        let Some((path, raw)) = set.split_once('=') else {
            bail!("--set {set:?}: expected PATH=VALUE");
        };
        if path.is_empty() || path.split('.').any(str::is_empty) {
            bail!("--set {set:?}: the path must be dotted names, e.g. driver.version");
        }
        let value =
            serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        let mut node = &mut *config;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            let entry = node
                .entry((*part).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else {
                bail!("--set {set:?}: {part} is not an object");
            };
            node = next;
        }
        node.insert(parts[parts.len() - 1].to_owned(), value);
    }
    Ok(())
}

/// Removes a dotted path (and objects it leaves empty).
pub fn unset(config: &mut Map<String, Value>, path: &str) {
    fn go(node: &mut Map<String, Value>, parts: &[&str]) {
        match parts {
            [] => {}
            [last] => {
                node.remove(*last);
            }
            [first, rest @ ..] => {
                if let Some(Value::Object(child)) = node.get_mut(*first) {
                    go(child, rest);
                    if child.is_empty() {
                        node.remove(*first);
                    }
                }
            }
        }
    }
    let parts: Vec<&str> = path.split('.').collect();
    go(config, &parts);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sets_build_nested_overrides_and_unset_prunes_them() {
        let mut c = Map::new();
        apply_sets(
            &mut c,
            &[
                "driver.version=570.172.08".into(),
                "driver.enabled=false".into(),
                "mig.strategy=mixed".into(),
                "tolerations=[{\"key\":\"x\",\"operator\":\"Exists\"}]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            Value::Object(c.clone()),
            json!({"driver": {"version": "570.172.08", "enabled": false},
                   "mig": {"strategy": "mixed"},
                   "tolerations": [{"key": "x", "operator": "Exists"}]})
        );
        unset(&mut c, "mig.strategy");
        unset(&mut c, "driver.enabled");
        unset(&mut c, "no.such.path");
        assert_eq!(
            Value::Object(c.clone()),
            json!({"driver": {"version": "570.172.08"}, "tolerations": [{"key": "x", "operator": "Exists"}]})
        );
        for bad in ["novalue", "=x", "a..b=1", ".a=1"] {
            assert!(apply_sets(&mut c, &[bad.into()]).is_err(), "{bad}");
        }
    }
}
