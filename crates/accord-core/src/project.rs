//! Projects, users, memberships and API keys (owned by the provisioner).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    events::DomainEvent,
    iam::Role,
    ids::{ApiKeyId, ProjectId, UserId},
    meta::Metadata,
};

/// GPU quota of the bootstrap project (`default`) until the provider changes it.
pub const DEFAULT_GPU_QUOTA: u32 = 64;

/// GPU quota of a project a customer creates: none until the provider grants one
/// (`SetProjectQuota`), so creating projects never multiplies a tenant's GPUs.
pub const NEW_PROJECT_GPU_QUOTA: u32 = 0;

/// A project: the unit of tenancy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Metadata (`metadata.project` is the project itself).
    pub metadata: Metadata<ProjectId>,
    /// Desired state.
    pub spec: ProjectSpec,
}

/// What the provider allows the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSpec {
    /// Maximum GPUs over all node pools (count × GPUs per instance).
    pub gpu_quota: u32,
}

/// A user of the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique name (e-mail or handle).
    pub name: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user's role in a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Project.
    pub project: ProjectId,
    /// User.
    pub user: UserId,
    /// User name.
    pub user_name: String,
    /// Role.
    pub role: Role,
    /// When the membership was created or last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// A stored API key: only the digest of the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Id (public part of the token).
    pub id: ApiKeyId,
    /// Human label.
    pub name: String,
    /// Project the key is scoped to; `None` for provider-operator keys.
    pub project: Option<ProjectId>,
    /// User it authenticates as; `None` for provider-operator keys.
    pub user: Option<UserId>,
    /// User or operator name.
    pub principal_name: String,
    /// Whether it is a provider-operator key.
    pub operator: bool,
    /// Hex SHA-256 of the secret.
    pub secret_sha256: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Revocation time, if revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// Facts about projects and access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ProjectEvent {
    /// A project was created.
    Created {
        /// The project.
        project: Project,
        /// Its first Admin.
        admin: String,
    },
    /// The provider changed the quota.
    QuotaChanged {
        /// The project.
        project: ProjectId,
        /// New quota.
        gpu_quota: u32,
    },
    /// A member was added or their role changed.
    MemberAdded {
        /// The membership.
        member: Member,
    },
    /// A member was removed (their keys of the project were revoked).
    MemberRemoved {
        /// Project.
        project: ProjectId,
        /// User name.
        user: String,
    },
    /// An API key was created (never carries the secret).
    ApiKeyCreated {
        /// Project.
        project: ProjectId,
        /// Key id.
        key: ApiKeyId,
        /// User it authenticates as.
        user: String,
    },
    /// An API key was revoked.
    ApiKeyRevoked {
        /// Project.
        project: ProjectId,
        /// Key id.
        key: ApiKeyId,
    },
}

impl DomainEvent for ProjectEvent {
    fn resource(&self) -> &'static str {
        "project"
    }
    fn event(&self) -> &'static str {
        match self {
            ProjectEvent::Created { .. } => "created",
            ProjectEvent::QuotaChanged { .. } => "quota-changed",
            ProjectEvent::MemberAdded { .. } => "member-added",
            ProjectEvent::MemberRemoved { .. } => "member-removed",
            ProjectEvent::ApiKeyCreated { .. } => "apikey-created",
            ProjectEvent::ApiKeyRevoked { .. } => "apikey-revoked",
        }
    }
    fn resource_id(&self) -> String {
        match self {
            ProjectEvent::Created { project, .. } => project.metadata.id.to_string(),
            ProjectEvent::QuotaChanged { project, .. }
            | ProjectEvent::MemberRemoved { project, .. }
            | ProjectEvent::ApiKeyCreated { project, .. }
            | ProjectEvent::ApiKeyRevoked { project, .. } => project.to_string(),
            ProjectEvent::MemberAdded { member } => member.project.to_string(),
        }
    }
}
