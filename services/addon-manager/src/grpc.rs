//! The addon-manager's gRPC edge (`accord.addons.v1.Addons`): reads requests field by field,
//! resolves the cluster and checks the caller's role in its project, runs the engine and
//! renders the result. Nothing here decides a rule.

use std::sync::Arc;

use accord_core::{DomainError, ids::ClusterId};
use accord_plugin_host::{AddonPlugin, PluginState};
use accord_proto::{
    addons::v1::{self as pb, addons_server::Addons},
    convert::{
        addons::{installation, pending as pending_install},
        status_from,
    },
};
use accord_runtime::{
    grpc::{Caller, caller},
    scope,
};
use tonic::{Request, Response, Status};

use crate::{bounds::Bounded as _, trees::Installations as _};
use crate::{
    catalog::installer,
    handlers::upgrade::Outcome,
    service::{AddonManager, InstallRequest},
    view::ClusterView,
};

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    m: Arc<AddonManager>,
}

impl Api {
    pub fn new(m: Arc<AddonManager>) -> Self {
        Self { m }
    }

    /// The caller and the cluster the request acts on (checked against the caller's role in
    /// the cluster's project).
    fn scope<T>(&self, req: &Request<T>, cluster: &str) -> Result<(Caller, ClusterView), Status> {
        let caller = caller(req)?.clone();
        let reader = self.m.reader();
        let view = scope::cluster(reader, &caller.principal, None, cluster)
            .and_then(|entry| {
                reader.cluster(entry.id)?.map(|v| v.value).ok_or_else(|| {
                    DomainError::not_found("cluster", accord_core::error::echo(cluster))
                })
            })
            .map_err(st)?;
        caller
            .rule
            .authorize_in_project(&caller.principal, view.project)
            .map_err(st)?;
        Ok((caller, view))
    }
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

fn available(p: &AddonPlugin) -> pb::AvailableAddon {
    let i = p.info();
    pb::AvailableAddon {
        name: i.name.clone(),
        description: i.description.clone(),
        plugin_version: i.plugin_version.clone(),
        versions: i.versions.clone(),
        default_version: i.default_version.clone(),
        default_config: crate::catalog::customer_reference(&i.default_config),
        required_with_infiniband: i.required_with_infiniband,
        installer: installer(i.installer).as_str().to_owned(),
        customer_knobs: i.customer_knobs.clone(),
        plugin_digest: p.digest().to_owned(),
        plugin_state: match p.state() {
            PluginState::Active => "active".to_owned(),
            PluginState::Quarantined { reason } => format!("quarantined: {reason}"),
        },
    }
}

#[tonic::async_trait]
impl Addons for Api {
    async fn list_available_addons(
        &self,
        _req: Request<pb::ListAvailableAddonsRequest>,
    ) -> Result<Response<pb::ListAvailableAddonsResponse>, Status> {
        let addons = self.m.catalog().available().iter().map(available).collect();
        Ok(Response::new(pb::ListAvailableAddonsResponse { addons }))
    }

    async fn install_addon(
        &self,
        req: Request<pb::InstallAddonRequest>,
    ) -> Result<Response<pb::AddonInstallation>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let (caller, view) = self.scope(&req, &req.get_ref().cluster)?;
        let r = req.into_inner();
        let inst = self
            .m
            .install(
                &caller.principal,
                &view,
                InstallRequest {
                    name: r.name,
                    version: r.version,
                    config: r.config,
                    self_managed: r.self_managed,
                },
            )
            .await
            .map_err(st)?;
        Ok(Response::new(installation(&inst, &view.name)))
    }

    async fn get_addon(
        &self,
        req: Request<pb::GetAddonRequest>,
    ) -> Result<Response<pb::AddonInstallation>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let (_, view) = self.scope(&req, &req.get_ref().cluster)?;
        let name = &req.get_ref().name;
        let inst = self
            .m
            .reader()
            .addon(view.id, name)
            .map_err(st)?
            .ok_or_else(|| {
                st(DomainError::NotFound {
                    kind: "add-on installation",
                    id: format!("{name} on cluster {}", view.name),
                })
            })?;
        Ok(Response::new(installation(&inst.value, &view.name)))
    }

    async fn list_addons(
        &self,
        req: Request<pb::ListAddonsRequest>,
    ) -> Result<Response<pb::ListAddonsResponse>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let (_, view) = self.scope(&req, &req.get_ref().cluster)?;
        let addons = self
            .m
            .reader()
            .addons_of(view.id)
            .map_err(st)?
            .iter()
            .map(|v| {
                let mut i = installation(&v.value, &view.name);
                // Lists stay small; `GetAddon` has the manifests.
                i.manifests.clear();
                i
            })
            .collect();
        // Failed automatic installs: the add-ons' install-failed condition.
        let pending = self
            .m
            .reader()
            .pending_of(view.id)
            .map_err(st)?
            .iter()
            .map(|p| pending_install(&p.value, &view.name))
            .collect();
        Ok(Response::new(pb::ListAddonsResponse { addons, pending }))
    }

    async fn update_addon_config(
        &self,
        req: Request<pb::UpdateAddonConfigRequest>,
    ) -> Result<Response<pb::AddonInstallation>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let (caller, view) = self.scope(&req, &req.get_ref().cluster)?;
        let r = req.into_inner();
        let inst = self
            .m
            .configure(&caller.principal, &view, &r.name, &r.config, r.generation)
            .await
            .map_err(st)?;
        Ok(Response::new(installation(&inst, &view.name)))
    }

    async fn uninstall_addon(
        &self,
        req: Request<pb::UninstallAddonRequest>,
    ) -> Result<Response<pb::UninstallAddonResponse>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let (_, view) = self.scope(&req, &req.get_ref().cluster)?;
        self.m
            .uninstall(&view, &req.get_ref().name)
            .await
            .map_err(st)?;
        Ok(Response::new(pb::UninstallAddonResponse {}))
    }

    async fn upgrade_addon(
        &self,
        req: Request<pb::UpgradeAddonRequest>,
    ) -> Result<Response<pb::UpgradeAddonResponse>, Status> {
        req.get_ref().bounded().map_err(st)?;
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        let mut clusters = Vec::new();
        for (i, c) in r.clusters.iter().enumerate() {
            clusters.push(c.parse::<ClusterId>().map_err(|e| {
                st(DomainError::invalid(
                    format!("clusters[{i}]"),
                    format!("not a cluster id: {e}"),
                ))
            })?);
        }
        if r.name.is_empty() || r.target_version.is_empty() {
            let mut v = accord_core::error::Violations::new();
            if r.name.is_empty() {
                v.add("name", "is required");
            }
            if r.target_version.is_empty() {
                v.add("target_version", "is required");
            }
            v.into_result().map_err(st)?;
        }
        let results = self
            .m
            .upgrade(
                &caller.principal,
                &r.name,
                &r.target_version,
                &clusters,
                &r.reason,
            )
            .await
            .map_err(st)?;
        let outcomes = results
            .into_iter()
            .map(|(inst, outcome)| {
                let mut o = pb::UpgradeOutcome {
                    cluster_id: inst.cluster.to_string(),
                    from_version: inst.version.clone(),
                    ..Default::default()
                };
                match outcome {
                    Outcome::Upgraded {
                        steps, disruptive, ..
                    } => {
                        o.outcome = "upgraded".to_owned();
                        o.steps = steps;
                        o.disruptive = disruptive;
                    }
                    Outcome::Skipped { reason } => {
                        o.outcome = "skipped".to_owned();
                        o.reason = reason;
                    }
                    Outcome::Current => {
                        o.outcome = "current".to_owned();
                        o.reason = format!("already at {}", r.target_version);
                    }
                }
                o
            })
            .collect();
        Ok(Response::new(pb::UpgradeAddonResponse { outcomes }))
    }
}
