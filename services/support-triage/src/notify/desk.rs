//! The notification operations on support-triage's engine: webhooks created and deleted under
//! the write lock, deliveries read for the API and for the delivery loop, and each attempt's
//! outcome recorded under the lock (taken after the HTTP call, never across it).

use std::collections::HashSet;

use accord_core::{DomainError, iam::Principal, ids::ProjectId};
use accord_notify::{Delivery, DeliveryState, Outcome, Webhook, WebhookId};
use accord_store::Versioned;
use time::OffsetDateTime;

use super::{
    attempt,
    webhooks::{self, NewWebhook},
};
use crate::{
    handlers::Ctx,
    service::SupportDesk,
    trees::{DELIVERIES, DELIVERIES_DUE, Notifications as _, WEBHOOKS, due_ms, webhook_key},
};

/// A pending delivery that is due, with what sending it needs.
#[derive(Debug, Clone)]
pub struct Due {
    /// The delivery's key.
    pub key: String,
    pub delivery: Delivery,
    pub webhook: Webhook,
}

impl SupportDesk {
    /// Registers a webhook in `project` (see [`webhooks::create`]); it carries its secret.
    pub async fn create_webhook(
        &self,
        principal: &Principal,
        project: ProjectId,
        url: String,
        kinds: Vec<String>,
    ) -> Result<Webhook, DomainError> {
        let ctx = Ctx::new(principal.display_name());
        let mut w = self.engine().lock().await;
        let existing = self.reader().webhooks(project)?;
        let (ch, hook) = webhooks::create(
            &ctx,
            self.notify_settings().policy(),
            &existing,
            NewWebhook {
                project,
                url,
                kinds,
            },
        )?;
        w.commit(ch).await?;
        Ok(hook)
    }

    /// `project`'s webhook `id`; another project's answers like a missing one.
    pub fn webhook(
        &self,
        project: ProjectId,
        id: WebhookId,
    ) -> Result<Versioned<Webhook>, DomainError> {
        WEBHOOKS
            .get(self.reader().store(), &webhook_key(project, id))?
            .ok_or_else(|| DomainError::not_found("webhook", id))
    }

    /// Deletes `project`'s webhook `id` and its deliveries; the webhook as it was.
    pub async fn delete_webhook(
        &self,
        project: ProjectId,
        id: WebhookId,
    ) -> Result<Webhook, DomainError> {
        let mut w = self.engine().lock().await;
        let current = self.webhook(project, id)?;
        let deliveries = self.reader().deliveries(project)?;
        w.commit(webhooks::delete(&current, &deliveries)).await?;
        Ok(current.value)
    }

    /// `project`'s deliveries, newest first, filtered, at most `limit`.
    pub fn list_deliveries(
        &self,
        project: ProjectId,
        webhook: Option<WebhookId>,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<Delivery>, DomainError> {
        Ok(self
            .reader()
            .deliveries(project)?
            .into_iter()
            .rev()
            .map(|(_, d)| d.value)
            .filter(|d| webhook.is_none_or(|w| d.webhook == w))
            .filter(|d| state.is_none_or(|s| d.state == s))
            .take(limit)
            .collect())
    }

    /// Deliveries due at `now`: per webhook not in `busy`, at most `per_webhook` earliest due,
    /// at most `max` in all. Due entries whose delivery is gone are removed.
    pub async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        busy: &HashSet<WebhookId>,
        per_webhook: usize,
        max: usize,
    ) -> Result<Vec<Due>, DomainError> {
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let store = self.reader().store();
        let mut out = Vec::new();
        let mut stale = Vec::new();
        for hook in self.reader().all_webhooks()? {
            if out.len() >= max {
                break;
            }
            if busy.contains(&hook.id) {
                continue;
            }
            for (due_key, key) in self.reader().due_of(hook.id, per_webhook)? {
                if out.len() >= max || due_ms(&due_key).is_none_or(|ms| ms > now_ms) {
                    break;
                }
                match DELIVERIES.get(store, &key)? {
                    Some(d)
                        if d.value.state == DeliveryState::Pending && d.value.body.is_some() =>
                    {
                        out.push(Due {
                            key,
                            delivery: d.value,
                            webhook: hook.clone(),
                        })
                    }
                    _ => stale.push(due_key),
                }
            }
        }
        if !stale.is_empty() {
            // Due entries of many projects' webhooks; writes only.
            let mut ch = crate::handlers::Change::none();
            for k in &stale {
                ch.delete(DELIVERIES_DUE, k, accord_store::Expect::Any);
            }
            self.engine().lock().await.commit(ch).await?;
        }
        Ok(out)
    }

    /// Records an attempt's outcome on the delivery at `key` (nothing if it is gone — its
    /// webhook was deleted — or no longer pending); the delivery as written.
    pub async fn record_attempt(
        &self,
        key: &str,
        outcome: &Outcome,
        now: OffsetDateTime,
    ) -> Result<Option<Delivery>, DomainError> {
        let mut w = self.engine().lock().await;
        let Some(current) = DELIVERIES.get(self.reader().store(), key)? else {
            return Ok(None);
        };
        if current.value.state != DeliveryState::Pending {
            return Ok(None);
        }
        let (ch, d) = attempt::record(key, &current, outcome, now)?;
        w.commit(ch).await?;
        Ok(Some(d))
    }
}
