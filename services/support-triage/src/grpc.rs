//! support-triage's gRPC edge (`accord.support.v1.Support`): bounds every request
//! ([`crate::bounds`]) before any work, resolves the project and cluster, checks the caller's
//! role in the ticket's project, runs the engine and renders the result. Nothing here decides a
//! rule.
//!
//! Every RPC applies its `project` field the same way (`accord_runtime::scope`): a customer
//! naming any project but their key's gets the scoping rule's `PERMISSION_DENIED`; for the
//! operator, a named project scopes the call, so a cluster or a ticket outside it answers
//! `NOT_FOUND` exactly like one that does not exist (as it does for a customer and a foreign
//! cluster or ticket). A cluster or project the read model does not know yet is waited for
//! briefly ([`crate::catch_up`]) before `NOT_FOUND` is the answer.

use std::sync::Arc;

use accord_core::{
    DomainError,
    error::echo,
    iam::Principal,
    ids::{ProjectId, TicketId},
    support::{Ticket, TicketState},
};
use accord_proto::{
    convert::{
        status_from,
        support::{category_from, ticket},
    },
    support::v1::{self as pb, support_server::Support},
};
use accord_runtime::{grpc::caller, scope};
use accord_store::Versioned;
use tonic::{Request, Response, Status};

use crate::trees::Tickets as _;
use crate::{
    bounds,
    service::{FileRequest, SupportDesk},
    view::ClusterView,
};

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    d: Arc<SupportDesk>,
}

impl Api {
    pub fn new(d: Arc<SupportDesk>) -> Self {
        Self { d }
    }

    /// The project a request names (`None`: the operator named none), once the read model
    /// knows it (see `accord_runtime::scope::project_filter`).
    async fn named_project(
        &self,
        principal: &Principal,
        requested: &str,
    ) -> Result<Option<ProjectId>, DomainError> {
        let reader = self.d.reader();
        self.d
            .catch_up()
            .until_known(|| scope::project_filter(reader, principal, requested))
            .await
    }

    /// The cluster a request names inside the project it named (`project`), as this service
    /// knows it, once its read model does (see `accord_runtime::scope::cluster`).
    async fn cluster(
        &self,
        principal: &Principal,
        project: Option<ProjectId>,
        cluster: &str,
    ) -> Result<ClusterView, DomainError> {
        let reader = self.d.reader();
        self.d
            .catch_up()
            .until_known(|| {
                let entry = scope::cluster(reader, principal, project, cluster)?;
                reader
                    .cluster(entry.id)?
                    .map(|v| v.value)
                    .ok_or_else(|| DomainError::not_found("cluster", echo(cluster.trim())))
            })
            .await
    }

    /// The ticket `requested` inside the project the request named; a ticket of another
    /// project answers like a missing one.
    async fn ticket(
        &self,
        principal: &Principal,
        project: &str,
        requested: &str,
    ) -> Result<Versioned<Ticket>, DomainError> {
        let id = ticket_id(requested)?;
        let named = self.named_project(principal, project).await?;
        let t = self.d.ticket(id)?;
        if named.is_some_and(|p| p != t.value.project) {
            return Err(DomainError::not_found("ticket", id));
        }
        Ok(t)
    }
}

fn ticket_id(s: &str) -> Result<TicketId, DomainError> {
    s.trim().parse().map_err(|_| {
        DomainError::invalid(
            "ticket",
            format!(
                "\"{}\" is not a ticket id (`tk-` followed by a 26-character ULID)",
                echo(s)
            ),
        )
    })
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

#[tonic::async_trait]
impl Support for Api {
    async fn file_ticket(
        &self,
        req: Request<pb::FileTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::file_ticket(&r).map_err(st)?;
        let named = self
            .named_project(&caller.principal, &r.project)
            .await
            .map_err(st)?;
        let cluster = if r.cluster.is_empty() {
            None
        } else {
            Some(
                self.cluster(&caller.principal, named, &r.cluster)
                    .await
                    .map_err(st)?,
            )
        };
        let project = match (named, &cluster) {
            (Some(p), _) => p,
            (None, Some(c)) => c.project,
            (None, None) => {
                return Err(st(DomainError::invalid(
                    "project",
                    "the provider operator must name the project (or a cluster id)",
                )));
            }
        };
        caller
            .rule
            .authorize_in_project(&caller.principal, project)
            .map_err(st)?;
        let t = self
            .d
            .file(
                &caller.principal,
                project,
                FileRequest {
                    cluster,
                    title: r.title,
                    description: r.description,
                    component: r.component,
                    customer_components: r.customer_components,
                },
            )
            .await
            .map_err(st)?;
        Ok(Response::new(ticket(&t)))
    }

    async fn get_ticket(
        &self,
        req: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::get_ticket(&r).map_err(st)?;
        let t = self
            .ticket(&caller.principal, &r.project, &r.ticket)
            .await
            .map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, t.value.project)
            .map_err(st)?;
        Ok(Response::new(ticket(&t.value)))
    }

    async fn list_tickets(
        &self,
        req: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list_tickets(&r).map_err(st)?;
        let category = match r.category {
            0 => None,
            v => Some(category_from(v).ok_or_else(|| {
                st(DomainError::invalid(
                    "category",
                    format!("unknown category {v}"),
                ))
            })?),
        };
        let state = match r.state.as_str() {
            "" => None,
            "open" => Some(TicketState::Open),
            "closed" => Some(TicketState::Closed),
            other => {
                return Err(st(DomainError::invalid(
                    "state",
                    format!("\"{}\" is not open or closed", echo(other)),
                )));
            }
        };
        let scope = self
            .named_project(&caller.principal, &r.project)
            .await
            .map_err(st)?;
        if let Some(p) = scope {
            caller
                .rule
                .authorize_in_project(&caller.principal, p)
                .map_err(st)?;
        }
        let cluster = if r.cluster.is_empty() {
            None
        } else {
            Some(
                self.cluster(&caller.principal, scope, &r.cluster)
                    .await
                    .map_err(st)?
                    .id,
            )
        };
        let tickets = self
            .d
            .reader()
            .tickets()
            .map_err(st)?
            .into_iter()
            .filter(|t| scope.is_none_or(|p| t.project == p))
            .filter(|t| category.is_none_or(|c| t.category() == c))
            .filter(|t| state.is_none_or(|s| t.state == s))
            .filter(|t| cluster.is_none_or(|c| t.cluster == Some(c)))
            .map(|t| ticket(&t))
            .collect();
        Ok(Response::new(pb::ListTicketsResponse { tickets }))
    }

    async fn reclassify_ticket(
        &self,
        req: Request<pb::ReclassifyTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::reclassify_ticket(&r).map_err(st)?;
        let category = category_from(r.category).ok_or_else(|| {
            st(DomainError::invalid(
                "category",
                "is required: supported, best-effort or customer-owned",
            ))
        })?;
        let current = self
            .ticket(&caller.principal, &r.project, &r.ticket)
            .await
            .map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, current.value.project)
            .map_err(st)?;
        let t = self
            .d
            .reclassify(&caller.principal, current.value.id, category, &r.reason)
            .await
            .map_err(st)?;
        Ok(Response::new(ticket(&t)))
    }

    async fn close_ticket(
        &self,
        req: Request<pb::CloseTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::close_ticket(&r).map_err(st)?;
        let current = self
            .ticket(&caller.principal, &r.project, &r.ticket)
            .await
            .map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, current.value.project)
            .map_err(st)?;
        let t = self
            .d
            .close(&caller.principal, current.value.id, &r.resolution)
            .await
            .map_err(st)?;
        Ok(Response::new(ticket(&t)))
    }
}
