//! The one scoping rule: which project and which cluster a request acts on, for customers and
//! the provider operator alike, by id or by name.
//!
//! - A customer's key is scoped to one project. Naming nothing, the project's id or its name
//!   acts there; naming anything else is refused with the same `PERMISSION_DENIED` whether or not
//!   such a project exists (the answer says which project the key belongs to, nothing about the
//!   named one).
//! - The provider operator names a project by id or name (`NOT_FOUND` when there is none); list
//!   calls may name none (every project).
//! - A cluster is named by id or, inside a project, by name. A cluster of another project
//!   answers exactly like a cluster that does not exist (`NOT_FOUND`). Operators name clusters by
//!   id, or by name together with the project.
//!
//! Every service answers through these functions over its own [`Directory`] (the provisioner
//! over the resources it owns, the others over read models fed by events), so the answers
//! agree across services.

use accord_core::{
    DomainError,
    error::echo,
    iam::Principal,
    ids::{ClusterId, ProjectId},
};
use serde::{Deserialize, Serialize};

/// A project as scoping needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectEntry {
    pub id: ProjectId,
    pub name: String,
}

/// A cluster as scoping needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterEntry {
    pub id: ClusterId,
    pub name: String,
    pub project: ProjectId,
}

impl ClusterEntry {
    pub fn new(id: ClusterId, name: &str, project: ProjectId) -> Self {
        Self {
            id,
            name: name.to_owned(),
            project,
        }
    }
}

/// Where a service looks projects and clusters up.
pub trait Directory {
    fn project(&self, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError>;
    fn project_named(&self, name: &str) -> Result<Option<ProjectEntry>, DomainError>;
    fn cluster(&self, id: ClusterId) -> Result<Option<ClusterEntry>, DomainError>;
    fn cluster_named(
        &self,
        project: ProjectId,
        name: &str,
    ) -> Result<Option<ClusterEntry>, DomainError>;
}

fn project_not_found(requested: &str) -> DomainError {
    DomainError::not_found("project", echo(requested))
}

fn cluster_not_found(requested: &str) -> DomainError {
    DomainError::not_found("cluster", echo(requested))
}

/// The project a request acts in (see the module docs). `requested` is the request's
/// `project` field (empty: the key's own project).
pub fn project(
    dir: &impl Directory,
    principal: &Principal,
    requested: &str,
) -> Result<ProjectId, DomainError> {
    project_filter(dir, principal, requested)?.ok_or_else(|| {
        DomainError::invalid(
            "project",
            "the provider operator must name the project (an id or a name)",
        )
    })
}

/// Like [`project`], for calls that may span every project: the operator naming none gets
/// `None`.
pub fn project_filter(
    dir: &impl Directory,
    principal: &Principal,
    requested: &str,
) -> Result<Option<ProjectId>, DomainError> {
    let requested = requested.trim();
    match principal {
        Principal::Customer { project, .. } => {
            if requested.is_empty() || requested == project.to_string() {
                return Ok(Some(*project));
            }
            let own = dir.project(*project)?;
            if own.as_ref().is_some_and(|p| p.name == requested) {
                return Ok(Some(*project));
            }
            let own_name = own.map_or_else(String::new, |p| format!("{} ", p.name));
            Err(DomainError::PermissionDenied(format!(
                "this API key is scoped to project {own_name}({project}); it cannot act in {:?}",
                echo(requested)
            )))
        }
        Principal::ProviderOperator { .. } if requested.is_empty() => Ok(None),
        Principal::ProviderOperator { .. } => {
            let found = match requested.parse::<ProjectId>() {
                Ok(id) => dir.project(id)?,
                Err(_) => dir.project_named(requested)?,
            };
            found
                .map(|p| Some(p.id))
                .ok_or_else(|| project_not_found(requested))
        }
    }
}

/// The cluster a request acts on. `project` is the project the request named, when it named
/// one (already resolved with [`project`]); a cluster outside it, or outside the customer's
/// project, is `NOT_FOUND` like a missing one.
pub fn cluster(
    dir: &impl Directory,
    principal: &Principal,
    project: Option<ProjectId>,
    requested: &str,
) -> Result<ClusterEntry, DomainError> {
    let scope = match principal {
        Principal::Customer { project: own, .. } => {
            if project.is_some_and(|p| p != *own) {
                return Err(cluster_not_found(requested));
            }
            Some(*own)
        }
        Principal::ProviderOperator { .. } => project,
    };
    match scope {
        Some(p) => cluster_in(dir, p, requested),
        None => {
            let requested = required(requested)?;
            match requested.parse::<ClusterId>() {
                Ok(id) => dir.cluster(id)?.ok_or_else(|| cluster_not_found(requested)),
                Err(_) => Err(DomainError::invalid(
                    "cluster",
                    "the provider operator names a cluster by id, or by name together with its project",
                )),
            }
        }
    }
}

/// The cluster `requested` (id or name) of `project`; any other cluster, existing or not, is
/// `NOT_FOUND`.
pub fn cluster_in(
    dir: &impl Directory,
    project: ProjectId,
    requested: &str,
) -> Result<ClusterEntry, DomainError> {
    let requested = required(requested)?;
    let found = match requested.parse::<ClusterId>() {
        Ok(id) => dir.cluster(id)?,
        Err(_) => dir.cluster_named(project, requested)?,
    };
    match found {
        Some(c) if c.project == project => Ok(c),
        _ => Err(cluster_not_found(requested)),
    }
}

fn required(requested: &str) -> Result<&str, DomainError> {
    let requested = requested.trim();
    if requested.is_empty() {
        return Err(DomainError::invalid(
            "cluster",
            "is required (an id or a name)",
        ));
    }
    Ok(requested)
}
