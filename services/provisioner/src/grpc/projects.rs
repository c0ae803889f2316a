//! `accord.provisioner.v1.Projects`.

use accord_core::{DomainError, iam::Principal};
use accord_proto::{convert::provisioner as conv, provisioner::v1 as pb};
use accord_runtime::grpc::caller;
use tonic::{Request, Response, Status};

use super::{Api, bounded, pid, st};
use crate::handlers::projects as h;

impl Api {
    fn project_status(
        &self,
        p: &accord_core::project::Project,
    ) -> Result<pb::ProjectStatus, DomainError> {
        let r = self.p.reader();
        Ok(pb::ProjectStatus {
            gpus_requested: r.gpus_requested(p.metadata.id, self.p.catalog(), None)?,
            member_count: u32::try_from(r.members(p.metadata.id)?.len()).unwrap_or(u32::MAX),
            cluster_count: u32::try_from(r.clusters(Some(p.metadata.id))?.len())
                .unwrap_or(u32::MAX),
        })
    }

    fn render_project(&self, p: &accord_core::project::Project) -> Result<pb::Project, Status> {
        Ok(conv::project(p, self.project_status(p).map_err(st)?))
    }
}

#[tonic::async_trait]
impl pb::projects_server::Projects for Api {
    async fn create_project(
        &self,
        req: Request<pb::CreateProjectRequest>,
    ) -> Result<Response<pb::CreateProjectResponse>, Status> {
        bounded(&req)?;
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        let (project, key) = self
            .p
            .write(&caller.principal, |ctx| {
                let (ch, p, k) = h::create_project(ctx, &r.name, r.labels.into_iter().collect())?;
                Ok((ch, (p, k)))
            })
            .await
            .map_err(st)?;
        Ok(Response::new(pb::CreateProjectResponse {
            project: Some(self.render_project(&project)?),
            key: Some(conv::api_key(&key.record)),
            token: key.token,
        }))
    }

    async fn get_project(
        &self,
        req: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        Ok(Response::new(self.render_project(&project)?))
    }

    async fn list_projects(
        &self,
        req: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        bounded(&req)?;
        let caller = caller(&req)?.clone();
        let projects = match caller.principal {
            Principal::Customer { project, .. } => {
                vec![self.p.reader().project(project).map_err(st)?]
            }
            Principal::ProviderOperator { .. } => self.p.reader().projects().map_err(st)?,
        };
        let projects = projects
            .iter()
            .map(|p| self.render_project(p))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::ListProjectsResponse { projects }))
    }

    async fn set_project_quota(
        &self,
        req: Request<pb::SetProjectQuotaRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let p = self
            .p
            .write(&caller.principal, |ctx| {
                h::set_quota(ctx, &project, r.gpu_quota, r.resource_version)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(self.render_project(&p)?))
    }

    async fn add_member(
        &self,
        req: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let role = conv::role_from(r.role).ok_or_else(|| {
            st(DomainError::invalid(
                "role",
                "choose ROLE_ADMIN, ROLE_EDITOR or ROLE_READER",
            ))
        })?;
        let m = self
            .p
            .write(&caller.principal, |ctx| {
                h::add_member(ctx, pid(&project), &r.user, role)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::member(&m)))
    }

    async fn remove_member(
        &self,
        req: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let revoked = self
            .p
            .write(&caller.principal, |ctx| {
                h::remove_member(ctx, pid(&project), &r.user)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(pb::RemoveMemberResponse {
            revoked_keys: revoked,
        }))
    }

    async fn list_members(
        &self,
        req: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let members = self.p.reader().members(pid(&project)).map_err(st)?;
        Ok(Response::new(pb::ListMembersResponse {
            members: members.iter().map(conv::member).collect(),
        }))
    }

    async fn create_api_key(
        &self,
        req: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let key = self
            .p
            .write(&caller.principal, |ctx| {
                h::create_api_key(ctx, pid(&project), &r.name, &r.user)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(pb::CreateApiKeyResponse {
            key: Some(conv::api_key(&key.record)),
            token: key.token,
        }))
    }

    async fn list_api_keys(
        &self,
        req: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let keys = self.p.reader().api_keys(pid(&project)).map_err(st)?;
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: keys.iter().map(conv::api_key).collect(),
        }))
    }

    async fn revoke_api_key(
        &self,
        req: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let k = self
            .p
            .write(&caller.principal, |ctx| {
                h::revoke_api_key(ctx, pid(&project), &r.key)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::api_key(&k)))
    }

    async fn who_am_i(
        &self,
        req: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        bounded(&req)?;
        let caller = caller(&req)?;
        Ok(Response::new(match &caller.principal {
            Principal::Customer {
                user_name,
                project,
                role,
                key,
                ..
            } => pb::WhoAmIResponse {
                party: "customer".into(),
                user: user_name.clone(),
                project: project.to_string(),
                role: conv::role(*role).into(),
                key: key.to_string(),
            },
            Principal::ProviderOperator { name, key } => pb::WhoAmIResponse {
                party: "provider".into(),
                user: name.clone(),
                project: String::new(),
                role: pb::Role::Unspecified.into(),
                key: key.to_string(),
            },
        }))
    }
}
