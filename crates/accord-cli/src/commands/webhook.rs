//! `accord webhook …`: customer webhooks through support-triage's `accord.support.v1.Notifications`
//! (its package's endpoint in the profile, else `endpoint`). A project's Editors and Admins
//! register an endpoint for signed notifications, list and delete them; anyone in the project
//! lists the deliveries and their state.
//!
//! The signing secret exists on the wire only in `CreateWebhook`'s answer, so `create` prints it
//! in every output format (with `-o name`, on stderr) and says on stderr that it is shown once
//! and how receivers verify a request with it.
//!
//! Webhook ids may be given in full (`wh-01j…`) or as the short form `accord webhook list` shows
//! (`wh-…0000ab12`, or just its tail): a short form is looked up among the project's webhooks
//! (at most 10) and must match exactly one.

use accord_proto::support::v1 as pb;
use anyhow::bail;

use super::Context;
use crate::cli::{
    DeliveryStateArg, NotificationKindArg, WebhookCommand, WebhookCreateArgs, WebhookDeliveriesArgs,
};
use crate::client::{Api, ApiError};
use crate::output::webhooks::{
    DeliveryView, SECRET_NOTE, WebhookView, created, deliveries_table, list_table,
};
use crate::output::{OutputFormat, render_list, render_one, structured};

/// Length of a full webhook id: `wh-` and a 26-character ULID.
const FULL_ID_LEN: usize = 29;

/// Runs `accord webhook`.
pub async fn run(ctx: &Context, command: WebhookCommand) -> anyhow::Result<()> {
    let api = ctx.support_api().await?;
    match command {
        WebhookCommand::Create(args) => create(ctx, &api, args).await,
        WebhookCommand::List => list(ctx, &api).await,
        WebhookCommand::Delete(target) => {
            let id = resolve(&api, &target.id).await?;
            let w = api
                .call(
                    api.notifications()
                        .delete_webhook(pb::DeleteWebhookRequest {
                            project: api.project(),
                            id,
                        }),
                )
                .await?;
            let view = WebhookView::from_pb(&w);
            ctx.out(&render_one(ctx.format, &view, || {
                format!("webhook/{} deleted", w.id)
            })?);
            Ok(())
        }
        WebhookCommand::Deliveries(args) => deliveries(ctx, &api, args).await,
    }
}

/// The wire name of a `--kinds` value.
pub fn kind(arg: NotificationKindArg) -> &'static str {
    match arg {
        NotificationKindArg::RemediationDecided => "remediation-decided",
        NotificationKindArg::RemediationSucceeded => "remediation-succeeded",
        NotificationKindArg::RemediationFailed => "remediation-failed",
        NotificationKindArg::RemediationHeld => "remediation-held",
        NotificationKindArg::IncidentOpened => "incident-opened",
    }
}

/// The wire name of a `--state`.
pub fn state(arg: DeliveryStateArg) -> &'static str {
    match arg {
        DeliveryStateArg::Pending => "pending",
        DeliveryStateArg::Delivered => "delivered",
        DeliveryStateArg::Failed => "failed",
    }
}

/// The `CreateWebhook` request of `accord webhook create` (kinds once each, in the order given).
pub fn create_request(project: String, args: &WebhookCreateArgs) -> pb::CreateWebhookRequest {
    let mut kinds: Vec<String> = Vec::new();
    for name in args.kinds.iter().copied().map(kind) {
        if !kinds.iter().any(|k| k == name) {
            kinds.push(name.to_owned());
        }
    }
    pb::CreateWebhookRequest {
        project,
        url: args.url.trim().to_owned(),
        kinds,
    }
}

/// The `ListDeliveries` request of `accord webhook deliveries`, given the resolved webhook id.
pub fn deliveries_request(
    project: String,
    webhook: Option<String>,
    args: &WebhookDeliveriesArgs,
) -> pb::ListDeliveriesRequest {
    pb::ListDeliveriesRequest {
        project,
        webhook: webhook.unwrap_or_default(),
        state: args.state.map(state).unwrap_or_default().to_owned(),
        limit: args.limit,
    }
}

/// Whether `query` is a whole webhook id (as opposed to the short form of the list table).
fn is_full_id(query: &str) -> bool {
    query.len() == FULL_ID_LEN
        && query.starts_with("wh-")
        && query[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The one id of `ids` that `query` (a short form such as `wh-…0000ab12`, or a tail) names.
pub fn pick<'a>(query: &str, ids: impl IntoIterator<Item = &'a str>) -> anyhow::Result<String> {
    let tail = query
        .strip_prefix("wh-")
        .unwrap_or(query)
        .trim_start_matches('…')
        .trim_start_matches("...")
        .to_ascii_lowercase();
    if tail.is_empty() {
        bail!("{query:?} is not a webhook id (expected wh-… as `accord webhook list` shows it)");
    }
    let found: Vec<&str> = ids
        .into_iter()
        .filter(|id| *id == query || id.to_ascii_lowercase().ends_with(&tail))
        .collect();
    match found.as_slice() {
        [id] => Ok((*id).to_owned()),
        [] => Err(ApiError::not_found(format!("webhook {query} not found")).into()),
        many => bail!(
            "{query:?} matches {} webhooks ({}): give more of the id",
            many.len(),
            many.join(", ")
        ),
    }
}

/// The full id of the webhook `query` names (see the module doc).
async fn resolve(api: &Api, query: &str) -> anyhow::Result<String> {
    let query = query.trim();
    if is_full_id(query) {
        return Ok(query.to_owned());
    }
    let all = api
        .call(api.notifications().list_webhooks(pb::ListWebhooksRequest {
            project: api.project(),
        }))
        .await?;
    pick(query, all.webhooks.iter().map(|w| w.id.as_str()))
}

async fn create(ctx: &Context, api: &Api, args: WebhookCreateArgs) -> anyhow::Result<()> {
    let w = api
        .call(
            api.notifications()
                .create_webhook(create_request(api.project(), &args)),
        )
        .await?;
    let view = WebhookView::from_pb(&w);
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("webhook/{} created\n{}", w.id, created(&w))),
        OutputFormat::Name => {
            ctx.out(&format!("webhook/{}", w.id));
            // stdout carries only names; the secret must still be seen once.
            ctx.note(&format!(
                "Signing secret (shown only this once):\n\n    {}\n",
                w.secret
            ));
        }
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &view)?);
        }
    }
    ctx.note(SECRET_NOTE);
    Ok(())
}

async fn list(ctx: &Context, api: &Api) -> anyhow::Result<()> {
    let r = api
        .call(api.notifications().list_webhooks(pb::ListWebhooksRequest {
            project: api.project(),
        }))
        .await?;
    if r.webhooks.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("no webhooks (register one with `accord webhook create https://…`)");
        return Ok(());
    }
    let views: Vec<_> = r.webhooks.iter().map(WebhookView::from_pb).collect();
    ctx.out(&render_list(ctx.format, &views, || {
        list_table(&r.webhooks, ctx.now())
    })?);
    Ok(())
}

async fn deliveries(ctx: &Context, api: &Api, args: WebhookDeliveriesArgs) -> anyhow::Result<()> {
    let webhook = match &args.webhook {
        Some(query) => Some(resolve(api, query).await?),
        None => None,
    };
    let r = api
        .call(api.notifications().list_deliveries(deliveries_request(
            api.project(),
            webhook,
            &args,
        )))
        .await?;
    if r.deliveries.is_empty() && ctx.format == OutputFormat::Table {
        let state = args
            .state
            .map(|s| format!("{} ", state(s)))
            .unwrap_or_default();
        let to = args
            .webhook
            .as_deref()
            .map(|w| format!(" to webhook {w}"))
            .unwrap_or_default();
        ctx.note(&format!("no {state}deliveries{to}"));
        return Ok(());
    }
    let views: Vec<_> = r.deliveries.iter().map(DeliveryView::from_pb).collect();
    ctx.out(&render_list(ctx.format, &views, || {
        deliveries_table(&r.deliveries, ctx.now())
    })?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_keeps_kinds_once_in_order() {
        let args = WebhookCreateArgs {
            url: " https://hooks.example.com/accord ".into(),
            kinds: vec![
                NotificationKindArg::IncidentOpened,
                NotificationKindArg::RemediationFailed,
                NotificationKindArg::IncidentOpened,
            ],
        };
        let r = create_request("pj-acme".into(), &args);
        assert_eq!(r.project, "pj-acme");
        assert_eq!(r.url, "https://hooks.example.com/accord");
        assert_eq!(r.kinds, ["incident-opened", "remediation-failed"]);
        let every = WebhookCreateArgs {
            kinds: vec![],
            ..args
        };
        assert!(create_request(String::new(), &every).kinds.is_empty());
    }

    #[test]
    fn kinds_and_states_are_spelled_as_on_the_wire() {
        use clap::ValueEnum;
        // The command-line spelling is the wire spelling.
        for arg in NotificationKindArg::value_variants() {
            let name = arg.to_possible_value().unwrap();
            assert_eq!(name.get_name(), kind(*arg));
        }
        for arg in DeliveryStateArg::value_variants() {
            let name = arg.to_possible_value().unwrap();
            assert_eq!(name.get_name(), state(*arg));
        }
    }

    #[test]
    fn deliveries_request_sends_filters_and_limit() {
        let args = WebhookDeliveriesArgs {
            webhook: Some("wh-…0000ab12".into()),
            state: Some(DeliveryStateArg::Failed),
            limit: 20,
        };
        let r = deliveries_request(
            "pj-acme".into(),
            Some("wh-01jexample000000000000ab12".into()),
            &args,
        );
        assert_eq!(
            (r.webhook.as_str(), r.state.as_str(), r.limit),
            ("wh-01jexample000000000000ab12", "failed", 20)
        );
        let none = WebhookDeliveriesArgs {
            webhook: None,
            state: None,
            limit: 100,
        };
        let r = deliveries_request(String::new(), None, &none);
        assert_eq!((r.webhook.as_str(), r.state.as_str()), ("", ""));
    }

    #[test]
    fn short_forms_pick_exactly_one_webhook() {
        let ids = [
            "wh-01jexample000000000000ab12",
            "wh-01jexample000000000000cd34",
            "wh-01jexample000000000011cd34",
        ];
        assert!(is_full_id(ids[0]));
        assert!(!is_full_id("wh-…0000ab12"));
        assert_eq!(pick("wh-…0000ab12", ids).unwrap(), ids[0]);
        assert_eq!(pick("AB12", ids).unwrap(), ids[0]);
        assert_eq!(pick("wh-...0000cd34", ids).unwrap(), ids[1]);
        let many = pick("cd34", ids).unwrap_err().to_string();
        assert!(many.contains("matches 2 webhooks"), "{many}");
        let none = crate::render_error(&pick("wh-…ffffffff", ids).unwrap_err());
        assert_eq!(none, "NOT_FOUND: webhook wh-…ffffffff not found");
        assert!(pick("wh-", ids).is_err());
    }
}
