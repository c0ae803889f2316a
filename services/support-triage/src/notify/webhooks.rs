//! Creating and deleting a project's webhooks.
//!
//! - The URL must pass the deployment's [`UrlPolicy`] (`INVALID_ARGUMENT` on `url`, naming
//!   the problem, never repeating more than 64 characters of it).
//! - Kinds are the names of [`NotificationKind`]s, each once (`INVALID_ARGUMENT` on `kinds`);
//!   none means every kind, including kinds added later.
//! - At most [`MAX_WEBHOOKS_PER_PROJECT`] per project (`RESOURCE_EXHAUSTED` naming the limit).
//! - The secret is made here and returned once; deliveries are signed with it.
//!
//! Deleting a webhook deletes its deliveries and their due entries in the same change.

use accord_core::{DomainError, error::Violations, ids::ProjectId};
use accord_notify::{
    Delivery, NotificationKind, UrlPolicy, Webhook, WebhookId, model::MAX_WEBHOOKS_PER_PROJECT,
    signature::new_secret,
};
use accord_store::{Expect, Versioned};

use crate::{
    handlers::{Change, Ctx},
    trees::{DELIVERIES, DELIVERIES_DUE, WEBHOOKS, due_key, webhook_key},
};

/// What a customer asks for.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub project: ProjectId,
    pub url: String,
    pub kinds: Vec<String>,
}

/// Checks `new` against the policy and the project's `existing` webhooks; the change and the
/// webhook (with its secret).
pub fn create(
    ctx: &Ctx,
    policy: UrlPolicy,
    existing: &[Webhook],
    new: NewWebhook,
) -> Result<(Change, Webhook), DomainError> {
    let mut v = Violations::new();
    if let Err(e) = policy.check(&new.url) {
        v.add("url", e.to_string());
    }
    let mut kinds: Vec<NotificationKind> = Vec::new();
    for (i, k) in new.kinds.iter().enumerate() {
        match k.parse::<NotificationKind>() {
            Ok(k) if kinds.contains(&k) => {
                v.add(format!("kinds[{i}]"), format!("{k} is listed twice"))
            }
            Ok(k) => kinds.push(k),
            Err(e) => v.add(format!("kinds[{i}]"), e.to_string()),
        }
    }
    v.into_result()?;
    if existing.len() >= MAX_WEBHOOKS_PER_PROJECT {
        return Err(DomainError::ResourceExhausted(format!(
            "project {} already has {} webhooks, the limit is {MAX_WEBHOOKS_PER_PROJECT}: delete one first",
            new.project,
            existing.len()
        )));
    }
    kinds.sort();
    let w = Webhook {
        id: WebhookId::generate(),
        project: new.project,
        url: new.url,
        kinds,
        secret: new_secret(),
        created_at: ctx.now,
    };
    let mut ch = Change::in_project(w.project);
    ch.put(WEBHOOKS, &webhook_key(w.project, w.id), &w, Expect::Absent)?;
    Ok((ch, w))
}

/// Deletes `webhook` and its deliveries (`deliveries`: the project's, with their keys).
pub fn delete(
    webhook: &Versioned<Webhook>,
    deliveries: &[(String, Versioned<Delivery>)],
) -> Change {
    let w = &webhook.value;
    let mut ch = Change::in_project(w.project);
    ch.delete(
        WEBHOOKS,
        &webhook_key(w.project, w.id),
        Expect::Version(webhook.version),
    );
    for (key, d) in deliveries.iter().filter(|(_, d)| d.value.webhook == w.id) {
        if let Some(at) = d.value.next_attempt {
            ch.delete(DELIVERIES_DUE, &due_key(w.id, at, key), Expect::Any);
        }
        ch.delete(DELIVERIES, key, Expect::Any);
    }
    ch
}
