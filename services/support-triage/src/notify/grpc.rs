//! `accord.support.v1.Notifications`: a project's webhooks and their deliveries. Every request
//! is bounded first ([`crate::bounds`]), the project resolved by the kit's one scoping rule and
//! the caller's role checked there; a webhook of another project answers `NOT_FOUND` exactly
//! like a missing one (webhooks are looked up inside the named project).

use std::sync::Arc;

use accord_core::{DomainError, error::echo, iam::Principal, ids::ProjectId};
use accord_notify::{DeliveryState, WebhookId};
use accord_proto::{
    convert::{
        notifications::{created_webhook, delivery, webhook},
        status_from,
    },
    support::v1::{self as pb, notifications_server::Notifications},
};
use accord_runtime::{grpc::caller, scope};
use tonic::{Request, Response, Status};

use crate::{bounds, service::SupportDesk, trees::Notifications as _};

/// Deliveries listed when the request names no limit.
const DEFAULT_LIMIT: usize = 100;

/// The gRPC service.
#[derive(Clone)]
pub struct NotificationsApi {
    d: Arc<SupportDesk>,
}

impl NotificationsApi {
    pub fn new(d: Arc<SupportDesk>) -> Self {
        Self { d }
    }

    /// The project a request names, which an operator must name; the caller's role checked.
    async fn project(
        &self,
        principal: &Principal,
        rule: &accord_core::responsibility::RpcRule,
        requested: &str,
    ) -> Result<ProjectId, DomainError> {
        let reader = self.d.reader();
        let named = self
            .d
            .catch_up()
            .until_known(|| scope::project_filter(reader, principal, requested))
            .await?;
        let project = named.ok_or_else(|| {
            DomainError::invalid("project", "the provider operator must name the project")
        })?;
        rule.authorize_in_project(principal, project)?;
        Ok(project)
    }
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

fn webhook_id(field: &str, s: &str) -> Result<WebhookId, DomainError> {
    s.trim().parse().map_err(|_| {
        DomainError::invalid(
            field,
            format!(
                "\"{}\" is not a webhook id (`wh-` followed by a 26-character ULID)",
                echo(s)
            ),
        )
    })
}

#[tonic::async_trait]
impl Notifications for NotificationsApi {
    async fn create_webhook(
        &self,
        req: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::create_webhook(&r).map_err(st)?;
        let project = self
            .project(&caller.principal, &caller.rule, &r.project)
            .await
            .map_err(st)?;
        let w = self
            .d
            .create_webhook(&caller.principal, project, r.url, r.kinds)
            .await
            .map_err(st)?;
        Ok(Response::new(created_webhook(&w)))
    }

    async fn list_webhooks(
        &self,
        req: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list_webhooks(&r).map_err(st)?;
        let project = self
            .project(&caller.principal, &caller.rule, &r.project)
            .await
            .map_err(st)?;
        let webhooks = self
            .d
            .reader()
            .webhooks(project)
            .map_err(st)?
            .iter()
            .map(webhook)
            .collect();
        Ok(Response::new(pb::ListWebhooksResponse { webhooks }))
    }

    async fn delete_webhook(
        &self,
        req: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::delete_webhook(&r).map_err(st)?;
        let id = webhook_id("id", &r.id).map_err(st)?;
        let project = self
            .project(&caller.principal, &caller.rule, &r.project)
            .await
            .map_err(st)?;
        let w = self.d.delete_webhook(project, id).await.map_err(st)?;
        Ok(Response::new(webhook(&w)))
    }

    async fn list_deliveries(
        &self,
        req: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list_deliveries(&r).map_err(st)?;
        let hook = match r.webhook.trim() {
            "" => None,
            s => Some(webhook_id("webhook", s).map_err(st)?),
        };
        let state = match r.state.trim() {
            "" => None,
            s => Some(s.parse::<DeliveryState>().map_err(|()| {
                st(DomainError::invalid(
                    "state",
                    format!("\"{}\" is not pending, delivered or failed", echo(s)),
                ))
            })?),
        };
        let project = self
            .project(&caller.principal, &caller.rule, &r.project)
            .await
            .map_err(st)?;
        if let Some(id) = hook {
            self.d.webhook(project, id).map_err(st)?;
        }
        let limit = match r.limit {
            0 => DEFAULT_LIMIT,
            n => n as usize,
        };
        let deliveries = self
            .d
            .list_deliveries(project, hook, state, limit)
            .map_err(st)?
            .iter()
            .map(delivery)
            .collect();
        Ok(Response::new(pb::ListDeliveriesResponse { deliveries }))
    }
}
