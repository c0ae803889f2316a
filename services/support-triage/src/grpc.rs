//! support-triage's gRPC edge (`accord.support.v1.Support`): reads requests, resolves the
//! project and cluster, checks the caller's role in the ticket's project, runs the engine and
//! renders the result. Nothing here decides a rule.

use std::sync::Arc;

use accord_core::{
    DomainError,
    iam::Principal,
    ids::{ProjectId, TicketId},
    support::TicketState,
};
use accord_proto::{
    convert::{
        status_from,
        support::{category_from, ticket},
    },
    support::v1::{self as pb, support_server::Support},
};
use accord_runtime::{grpc::caller, scope};
use tonic::{Request, Response, Status};

use crate::trees::Tickets as _;
use crate::{
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

    /// The cluster a request names, as this service knows it (see `accord_runtime::scope`).
    fn cluster(
        &self,
        principal: &Principal,
        project: Option<ProjectId>,
        cluster: &str,
    ) -> Result<ClusterView, DomainError> {
        let entry = scope::cluster(self.d.reader(), principal, project, cluster)?;
        self.d
            .reader()
            .cluster(entry.id)?
            .map(|v| v.value)
            .ok_or_else(|| DomainError::not_found("cluster", accord_core::error::echo(cluster)))
    }
}

fn ticket_id(s: &str) -> Result<TicketId, DomainError> {
    s.parse()
        .map_err(|e| DomainError::invalid("ticket", format!("not a ticket id: {e}")))
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
        let named =
            scope::project_filter(self.d.reader(), &caller.principal, &r.project).map_err(st)?;
        let cluster = if r.cluster.is_empty() {
            None
        } else {
            Some(
                self.cluster(&caller.principal, named, &r.cluster)
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
        let t = self
            .d
            .ticket(ticket_id(&req.get_ref().ticket).map_err(st)?)
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
        let scope =
            scope::project_filter(self.d.reader(), &caller.principal, &r.project).map_err(st)?;
        if let Some(p) = scope {
            caller
                .rule
                .authorize_in_project(&caller.principal, p)
                .map_err(st)?;
        }
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
                    format!("{other:?} is not open or closed"),
                )));
            }
        };
        let cluster = if r.cluster.is_empty() {
            None
        } else {
            Some(
                self.cluster(&caller.principal, scope, &r.cluster)
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
        let id = ticket_id(&r.ticket).map_err(st)?;
        let category = category_from(r.category).ok_or_else(|| {
            st(DomainError::invalid(
                "category",
                "is required: supported, best-effort or customer-owned",
            ))
        })?;
        let current = self.d.ticket(id).map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, current.value.project)
            .map_err(st)?;
        let t = self
            .d
            .reclassify(&caller.principal, id, category, &r.reason)
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
        let id = ticket_id(&r.ticket).map_err(st)?;
        let current = self.d.ticket(id).map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, current.value.project)
            .map_err(st)?;
        let t = self
            .d
            .close(&caller.principal, id, &r.resolution)
            .await
            .map_err(st)?;
        Ok(Response::new(ticket(&t)))
    }
}
