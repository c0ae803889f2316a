//! The project directory of services that do not own projects: a read model of project ids
//! and names, fed by the provisioner's `project.created` events, so the [`scope`](crate::scope)
//! rule can resolve a project named by name in every service.
//!
//! Tables: `directory_projects` `<project>` → [`ProjectEntry`];
//! `directory_project_names` `<name>` → project id.

use accord_core::{DomainError, events::DomainEvent, ids::ProjectId, project::ProjectEvent};
use accord_store::{Expect, Store, Table};

use crate::{change::Change, scope::ProjectEntry};

/// Projects by id.
pub const PROJECTS: Table<ProjectEntry> = Table::new("directory_projects");
/// Project ids by name.
pub const PROJECT_NAMES: Table<ProjectId> = Table::new("directory_project_names");

/// The writes a project event implies for the directory (none for other project events).
pub fn on_project_event<E: DomainEvent>(ev: &ProjectEvent) -> Result<Change<E>, DomainError> {
    let mut ch = Change::new();
    if let ProjectEvent::Created { project, .. } = ev {
        let entry = ProjectEntry {
            id: project.metadata.id,
            name: project.metadata.name.clone(),
        };
        let key = entry.id.to_string();
        ch.put(PROJECTS, &key, &entry, Expect::Any)?.put(
            PROJECT_NAMES,
            &entry.name,
            &entry.id,
            Expect::Any,
        )?;
    }
    Ok(ch)
}

/// A project by id.
pub fn project(store: &Store, id: ProjectId) -> Result<Option<ProjectEntry>, DomainError> {
    Ok(PROJECTS.get(store, &id.to_string())?.map(|v| v.value))
}

/// A project by name.
pub fn project_named(store: &Store, name: &str) -> Result<Option<ProjectEntry>, DomainError> {
    match PROJECT_NAMES.get(store, name)? {
        Some(id) => project(store, id.value),
        None => Ok(None),
    }
}
