//! Projects, members and API keys.
//!
//! Rules: only a project's Admin may create projects (a customer key whose role is Admin in the
//! project it is scoped to); project names are unique; the creator becomes Admin and gets a key
//! scoped to the new project; the last Admin cannot be removed or demoted; removing a member
//! revokes their keys in that project at once; secrets are generated here, returned once and
//! stored only as a SHA-256 digest.
//!
//! Users are global, projects are not: an answer about a user named in a request never tells
//! whether that user exists outside the caller's project (a missing user and a user who is not
//! a member get the same `NOT_FOUND`).

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    error::{Violations, echo},
    iam::{ApiKeyToken, Principal, Role},
    ids::{ApiKeyId, ProjectId, UserId},
    limits::MAX_REF_BYTES,
    meta::Metadata,
    project::{ApiKeyRecord, DEFAULT_GPU_QUOTA, Member, Project, ProjectEvent, ProjectSpec, User},
    validation::{dns_label, plain_text, quote},
};
use accord_store::Expect;
use rand::{Rng, distr::Alphanumeric};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Ctx, check_labels};
use crate::{change::Change, trees::*};

/// A freshly minted key: the record to store and the token to show once.
pub struct MintedKey {
    pub record: ApiKeyRecord,
    pub token: String,
}

/// Hex SHA-256 of a secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Mints a key for a user in a project (or an operator key when `project` is `None`).
pub fn mint_key(
    name: &str,
    project: Option<ProjectId>,
    user: Option<UserId>,
    principal_name: &str,
    created_by: &str,
    now: OffsetDateTime,
) -> MintedKey {
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    let id = ApiKeyId::generate();
    let token = ApiKeyToken {
        id,
        secret: secret.clone(),
    }
    .render();
    MintedKey {
        record: ApiKeyRecord {
            id,
            name: name.to_owned(),
            project,
            user,
            principal_name: principal_name.to_owned(),
            operator: project.is_none(),
            secret_sha256: digest(&secret),
            created_by: created_by.to_owned(),
            created_at: now,
            revoked_at: None,
        },
        token,
    }
}

fn check_user_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_REF_BYTES {
        return Err(format!("must be 1-{MAX_REF_BYTES} bytes"));
    }
    plain_text(name)?;
    if name.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("{} may not contain spaces or '/'", quote(name)));
    }
    Ok(())
}

/// The one answer for a user who is not a member of the project, whether or not the user
/// exists elsewhere.
fn not_a_member(user_name: &str) -> DomainError {
    DomainError::not_found("member", echo(user_name))
}

fn customer(principal: &Principal) -> Result<(UserId, &str), DomainError> {
    match principal {
        Principal::Customer {
            user, user_name, ..
        } => Ok((*user, user_name)),
        Principal::ProviderOperator { .. } => Err(DomainError::PermissionDenied(
            "only customer users can do this (the provider operator has no project membership)"
                .into(),
        )),
    }
}

/// Creates a project; the caller becomes Admin and receives a key scoped to it.
///
/// Only an Admin may: a key whose role is Admin in the project it is scoped to. Readers and
/// Editors cannot mint themselves a project (and with it a fresh quota) they administer.
pub fn create_project(
    ctx: &Ctx<'_>,
    name: &str,
    labels: BTreeMap<String, String>,
) -> Result<(Change, Project, MintedKey), DomainError> {
    let (user, user_name) = customer(ctx.principal)?;
    if let Principal::Customer { project, role, .. } = ctx.principal
        && *role < Role::Admin
    {
        return Err(DomainError::PermissionDenied(format!(
            "`CreateProject` needs the {} role in the project the key belongs to ({project}); \
             you are {role}",
            Role::Admin
        )));
    }
    let mut v = Violations::new();
    v.check("name", dns_label(name));
    check_labels(&mut v, "labels", &labels);
    v.into_result()?;
    if ctx.reader.name_taken(&project_name_key(name))? {
        return Err(DomainError::AlreadyExists {
            kind: "project",
            name: name.to_owned(),
        });
    }
    let id = ProjectId::generate();
    let mut metadata = Metadata::new(id, name, id, ctx.now);
    metadata.labels = labels;
    let project = Project {
        metadata,
        spec: ProjectSpec {
            gpu_quota: accord_core::project::NEW_PROJECT_GPU_QUOTA,
        },
    };
    let member = Member {
        project: id,
        user,
        user_name: user_name.to_owned(),
        role: Role::Admin,
        added_at: ctx.now,
    };
    let key = mint_key(
        &format!("{name}-admin"),
        Some(id),
        Some(user),
        user_name,
        user_name,
        ctx.now,
    );
    let mut ch = Change::in_project(id);
    ch.put(PROJECTS, &id.to_string(), &project, Expect::Absent)?
        .put(
            NAMES,
            &project_name_key(name),
            &id.to_string(),
            Expect::Absent,
        )?
        .put(MEMBERS, &member_key(id, user), &member, Expect::Absent)?
        .put(
            APIKEYS,
            &key.record.id.to_string(),
            &key.record,
            Expect::Absent,
        )?;
    ch.event(ProjectEvent::Created {
        project: project.clone(),
        admin: user_name.to_owned(),
    });
    ch.event(ProjectEvent::ApiKeyCreated {
        project: id,
        key: key.record.id,
        user: user_name.to_owned(),
    });
    Ok((ch, project, key))
}

/// Sets a project's GPU quota (provider side).
pub fn set_quota(
    ctx: &Ctx<'_>,
    project: &Project,
    quota: u32,
    rv: u64,
) -> Result<(Change, Project), DomainError> {
    project.metadata.check_version(rv)?;
    if quota > 100_000 {
        return Err(DomainError::invalid("gpu_quota", "must be at most 100000"));
    }
    let mut p = project.clone();
    let expect = p.metadata.touch(ctx.now, true);
    p.spec.gpu_quota = quota;
    let mut ch = Change::in_project(p.metadata.id);
    ch.put(
        PROJECTS,
        &p.metadata.id.to_string(),
        &p,
        Expect::Version(expect),
    )?;
    ch.event(ProjectEvent::QuotaChanged {
        project: p.metadata.id,
        gpu_quota: quota,
    });
    Ok((ch, p))
}

/// Adds a member (creating the user if new) or changes their role.
pub fn add_member(
    ctx: &Ctx<'_>,
    project: ProjectId,
    user_name: &str,
    role: Role,
) -> Result<(Change, Member), DomainError> {
    check_user_name(user_name).map_err(|e| DomainError::invalid("user", e))?;
    let mut ch = Change::in_project(project);
    let user = match ctx.reader.user_by_name(user_name)? {
        Some(u) => u,
        None => {
            let u = User {
                id: UserId::generate(),
                name: user_name.to_owned(),
                created_at: ctx.now,
            };
            ch.put(USERS, &u.id.to_string(), &u, Expect::Absent)?.put(
                NAMES,
                &user_name_key(user_name),
                &u.id.to_string(),
                Expect::Absent,
            )?;
            u
        }
    };
    if let Some(existing) = ctx.reader.member(project, user.id)? {
        if existing.role == role {
            return Ok((Change::none(), existing));
        }
        if existing.role == Role::Admin && admins(ctx, project)? <= 1 {
            return Err(DomainError::precondition(format!(
                "{} is the last Admin of the project; make someone else Admin first",
                quote(user_name)
            )));
        }
    }
    let member = Member {
        project,
        user: user.id,
        user_name: user.name.clone(),
        role,
        added_at: ctx.now,
    };
    ch.put(MEMBERS, &member_key(project, user.id), &member, Expect::Any)?;
    ch.event(ProjectEvent::MemberAdded {
        member: member.clone(),
    });
    Ok((ch, member))
}

fn admins(ctx: &Ctx<'_>, project: ProjectId) -> Result<usize, DomainError> {
    Ok(ctx
        .reader
        .members(project)?
        .iter()
        .filter(|m| m.role == Role::Admin)
        .count())
}

/// Removes a member and revokes their keys in the project. Returns how many keys were revoked.
pub fn remove_member(
    ctx: &Ctx<'_>,
    project: ProjectId,
    user_name: &str,
) -> Result<(Change, u32), DomainError> {
    let user = ctx
        .reader
        .user_by_name(user_name)?
        .ok_or_else(|| not_a_member(user_name))?;
    let member = ctx
        .reader
        .member(project, user.id)?
        .ok_or_else(|| not_a_member(user_name))?;
    if member.role == Role::Admin && admins(ctx, project)? <= 1 {
        return Err(DomainError::precondition(format!(
            "{} is the last Admin of the project",
            quote(user_name)
        )));
    }
    let mut ch = Change::in_project(project);
    ch.delete(MEMBERS, &member_key(project, user.id), Expect::Present);
    let mut revoked = 0;
    for mut key in ctx.reader.api_keys(project)? {
        if key.user == Some(user.id) && key.revoked_at.is_none() {
            key.revoked_at = Some(ctx.now);
            ch.put(APIKEYS, &key.id.to_string(), &key, Expect::Present)?;
            ch.event(ProjectEvent::ApiKeyRevoked {
                project,
                key: key.id,
            });
            revoked += 1;
        }
    }
    ch.event(ProjectEvent::MemberRemoved {
        project,
        user: user_name.to_owned(),
    });
    Ok((ch, revoked))
}

/// Creates a key for a member (the caller when `user` is empty). A user who is not a member
/// gets `NOT_FOUND` whether or not they exist elsewhere.
pub fn create_api_key(
    ctx: &Ctx<'_>,
    project: ProjectId,
    name: &str,
    user: &str,
) -> Result<(Change, MintedKey), DomainError> {
    let mut v = Violations::new();
    v.check("name", dns_label(name));
    if !user.is_empty() {
        v.check("user", check_user_name(user));
    }
    v.into_result()?;
    let (uid, uname) = if user.is_empty() {
        let (id, n) = customer(ctx.principal)?;
        (id, n.to_owned())
    } else {
        let u = ctx
            .reader
            .user_by_name(user)?
            .ok_or_else(|| not_a_member(user))?;
        (u.id, u.name)
    };
    if ctx.reader.member(project, uid)?.is_none() {
        return Err(not_a_member(&uname));
    }
    let key = mint_key(
        name,
        Some(project),
        Some(uid),
        &uname,
        ctx.principal.display_name(),
        ctx.now,
    );
    let mut ch = Change::in_project(project);
    ch.put(
        APIKEYS,
        &key.record.id.to_string(),
        &key.record,
        Expect::Absent,
    )?;
    ch.event(ProjectEvent::ApiKeyCreated {
        project,
        key: key.record.id,
        user: uname,
    });
    Ok((ch, key))
}

/// Revokes a key of the project (idempotent).
pub fn revoke_api_key(
    ctx: &Ctx<'_>,
    project: ProjectId,
    key: &str,
) -> Result<(Change, ApiKeyRecord), DomainError> {
    let id: ApiKeyId = key.parse().map_err(|_| {
        DomainError::invalid(
            "key",
            format!(
                "{} is not an API key id (expected `key-` followed by a 26-character ULID)",
                quote(key)
            ),
        )
    })?;
    let mut rec = ctx
        .reader
        .api_key(id)?
        .filter(|k| k.project == Some(project))
        .ok_or_else(|| DomainError::not_found("API key", echo(key)))?;
    if rec.revoked_at.is_some() {
        return Ok((Change::none(), rec));
    }
    rec.revoked_at = Some(ctx.now);
    let mut ch = Change::in_project(project);
    ch.put(APIKEYS, &id.to_string(), &rec, Expect::Present)?;
    ch.event(ProjectEvent::ApiKeyRevoked { project, key: id });
    Ok((ch, rec))
}

/// Credentials minted on the first start of an empty store.
pub struct Bootstrap {
    pub project: Project,
    pub admin: MintedKey,
    pub operator: MintedKey,
}

/// On an empty store: an `admin` user, a `default` project with that user as Admin, an admin key
/// and a provider-operator key. Returns `None` when the store already has projects or keys.
pub fn bootstrap(
    reader: &Reader,
    now: OffsetDateTime,
) -> Result<Option<(Change, Bootstrap)>, DomainError> {
    if !reader.projects()?.is_empty() || !reader.list::<ApiKeyRecord>(APIKEYS, "")?.is_empty() {
        return Ok(None);
    }
    let user = User {
        id: UserId::generate(),
        name: "admin".into(),
        created_at: now,
    };
    let pid = ProjectId::generate();
    let project = Project {
        metadata: Metadata::new(pid, "default", pid, now),
        spec: ProjectSpec {
            gpu_quota: DEFAULT_GPU_QUOTA,
        },
    };
    let member = Member {
        project: pid,
        user: user.id,
        user_name: user.name.clone(),
        role: Role::Admin,
        added_at: now,
    };
    let admin = mint_key(
        "bootstrap-admin",
        Some(pid),
        Some(user.id),
        "admin",
        "accord up",
        now,
    );
    let operator = mint_key(
        "bootstrap-operator",
        None,
        None,
        "provider-operator",
        "accord up",
        now,
    );
    let mut ch = Change::in_project(pid);
    ch.put(USERS, &user.id.to_string(), &user, Expect::Absent)?
        .put(
            NAMES,
            &user_name_key(&user.name),
            &user.id.to_string(),
            Expect::Absent,
        )?
        .put(PROJECTS, &pid.to_string(), &project, Expect::Absent)?
        .put(
            NAMES,
            &project_name_key("default"),
            &pid.to_string(),
            Expect::Absent,
        )?
        .put(MEMBERS, &member_key(pid, user.id), &member, Expect::Absent)?
        .put(
            APIKEYS,
            &admin.record.id.to_string(),
            &admin.record,
            Expect::Absent,
        )?
        .put(
            APIKEYS,
            &operator.record.id.to_string(),
            &operator.record,
            Expect::Absent,
        )?;
    ch.event(ProjectEvent::Created {
        project: project.clone(),
        admin: "admin".into(),
    });
    Ok(Some((
        ch,
        Bootstrap {
            project,
            admin,
            operator,
        },
    )))
}
