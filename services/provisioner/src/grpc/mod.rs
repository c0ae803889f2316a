//! The provisioner's gRPC edge: bounds every request ([`bounds`]: sizes of strings, maps and
//! repeated fields, before anything else), reads it field by field, resolves the project and
//! checks the caller's role in it, runs the handler through the engine and renders the result.
//!
//! Nothing here decides a rule; rules live in `handlers`. Every method is declared in
//! [`crate::rules::RULES`], which the auth layer enforces before a method runs.

pub mod bounds;
pub mod clusters;
pub mod nodepools;
pub mod nodes;
pub mod projects;
pub mod remediations;

use std::sync::Arc;

use accord_core::{DomainError, iam::Principal, ids::ProjectId, project::Project};
use accord_proto::convert::status_from;
use accord_runtime::grpc::{Caller, caller};
use tonic::{Request, Status};

use self::bounds::Bounded;
use crate::service::Provisioner;

/// Shared by the provisioner's gRPC services.
#[derive(Clone)]
pub struct Api {
    pub(crate) p: Arc<Provisioner>,
}

impl Api {
    pub fn new(p: Arc<Provisioner>) -> Self {
        Self { p }
    }

    /// The caller and the project the request acts in (checked against the caller's role),
    /// once the request is within its size limits.
    pub(crate) fn scope<T: Bounded>(
        &self,
        req: &Request<T>,
        project: &str,
    ) -> Result<(Caller, Project), Status> {
        bounded(req)?;
        let caller = caller(req)?.clone();
        let project = self
            .resolve_project(&caller.principal, project)
            .map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, project.metadata.id)
            .map_err(st)?;
        Ok((caller, project))
    }

    fn resolve_project(
        &self,
        principal: &Principal,
        project: &str,
    ) -> Result<Project, DomainError> {
        let reader = self.p.reader();
        reader.project(accord_runtime::scope::project(reader, principal, project)?)
    }
}

/// `INVALID_ARGUMENT` naming every field of `req` over its size limit.
pub(crate) fn bounded<T: Bounded>(req: &Request<T>) -> Result<(), Status> {
    bounds::check(req.get_ref()).map_err(st)
}

/// Domain error → gRPC status.
pub(crate) fn st(e: DomainError) -> Status {
    status_from(&e)
}

/// The project id of a scope, for brevity.
pub(crate) fn pid(p: &Project) -> ProjectId {
    p.metadata.id
}
