//! `accord.provisioner.v1.Clusters`.

use accord_core::{
    DomainError,
    cluster::{AutoClustersSettings, Cluster, RemediationMode},
    error::{Violations, echo},
    maintenance::{
        Day, MAX_EXCLUSIONS, MAX_WINDOWS, MaintenanceExclusion, MaintenanceSchedule,
        MaintenanceWindow,
    },
    project::Project,
    validation::{DEFAULT_VERSION, SUPPORTED_VERSIONS},
};
use accord_proto::{convert::provisioner as conv, provisioner::v1 as pb};
use accord_runtime::grpc::Caller;
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::{Api, bounded, pid, st};
use crate::{
    change::Change,
    handlers::{
        Ctx,
        clusters::{self as h, ClusterInput, OidcInput},
    },
    kubeconfig,
};

fn oidc_input(o: pb::OidcConfig) -> OidcInput {
    OidcInput {
        issuer_url: o.issuer_url,
        client_id: o.client_id,
        username_claim: o.username_claim,
        groups_claim: o.groups_claim,
        required_claims: o.required_claims.into_iter().collect(),
    }
}

fn autoclusters(a: pb::AutoClustersSettings) -> Result<AutoClustersSettings, Status> {
    let d = AutoClustersSettings::default();
    let mode = RemediationMode::parse(&a.mode).ok_or_else(|| {
        st(DomainError::invalid(
            "spec.autoclusters.mode",
            format!(
                "{} is not a remediation mode; one of: {}",
                accord_core::error::echo(&a.mode),
                RemediationMode::ALL.map(RemediationMode::as_str).join(", ")
            ),
        ))
    })?;
    Ok(AutoClustersSettings {
        remediation_enabled: a.remediation_enabled,
        max_unhealthy_percent: if a.max_unhealthy_percent == 0 {
            d.max_unhealthy_percent
        } else {
            a.max_unhealthy_percent
        },
        max_in_flight_per_pool: if a.max_in_flight_per_pool == 0 {
            d.max_in_flight_per_pool
        } else {
            a.max_in_flight_per_pool
        },
        mode,
        maintenance: maintenance(a.maintenance_windows, a.maintenance_exclusions).map_err(st)?,
        policy: a.policy,
    })
}

fn cni(c: pb::CniSettings) -> Result<accord_core::cluster::CniSettings, Status> {
    use accord_core::cluster::{CniSettings, CniTunnel};
    let tunnel = CniTunnel::parse(&c.tunnel).ok_or_else(|| {
        st(DomainError::invalid(
            "spec.cni.tunnel",
            format!(
                "{} is not a CNI mode; one of: {}",
                echo(&c.tunnel),
                CniTunnel::ALL.map(CniTunnel::as_str).join(", ")
            ),
        ))
    })?;
    Ok(CniSettings {
        tunnel,
        wireguard: c.wireguard,
        hubble: c.hubble,
    })
}

/// The wire's maintenance windows and exclusions; every unreadable field is named (the
/// handler checks the ranges).
fn maintenance(
    windows: Vec<pb::MaintenanceWindow>,
    exclusions: Vec<pb::MaintenanceExclusion>,
) -> Result<MaintenanceSchedule, DomainError> {
    const FIELD: &str = "spec.autoclusters.maintenance_windows";
    const EXCL: &str = "spec.autoclusters.maintenance_exclusions";
    if windows.len() > MAX_WINDOWS {
        return Err(DomainError::invalid(
            FIELD,
            format!("at most {MAX_WINDOWS} windows"),
        ));
    }
    if exclusions.len() > MAX_EXCLUSIONS {
        return Err(DomainError::invalid(
            EXCL,
            format!("at most {MAX_EXCLUSIONS} exclusions"),
        ));
    }
    let mut v = Violations::new();
    let mut out = MaintenanceSchedule::default();
    for (i, w) in windows.into_iter().enumerate() {
        let mut days = Vec::new();
        for (j, d) in w.days.iter().enumerate().take(7 * 2) {
            match Day::parse(d) {
                Some(d) => days.push(d),
                None => v.add(
                    format!("{FIELD}[{i}].days[{j}]"),
                    format!(
                        "{} is not a day: mon, tue, wed, thu, fri, sat or sun",
                        echo(d)
                    ),
                ),
            }
        }
        if w.days.len() > 7 {
            v.add(format!("{FIELD}[{i}].days"), "at most 7 days");
        }
        let start = MaintenanceWindow::parse(&format!("daily {}+1h", w.start.trim()));
        let start_minute = match start {
            Ok(p) => p.start_minute,
            Err(_) => {
                v.add(
                    format!("{FIELD}[{i}].start"),
                    format!("{} is not a time of day (HH:MM, UTC)", echo(&w.start)),
                );
                0
            }
        };
        out.windows.push(MaintenanceWindow {
            days,
            start_minute,
            duration_minutes: u16::try_from(w.duration_minutes).unwrap_or(u16::MAX),
        });
    }
    for (i, e) in exclusions.into_iter().enumerate() {
        let mut stamp = |t: Option<prost_types::Timestamp>, which: &str| {
            let t = t.and_then(|t| {
                OffsetDateTime::from_unix_timestamp(t.seconds)
                    .ok()
                    .map(|s| {
                        s + time::Duration::nanoseconds(i64::from(t.nanos.clamp(0, 999_999_999)))
                    })
            });
            if t.is_none() {
                v.add(
                    format!("{EXCL}[{i}].{which}"),
                    "a valid timestamp is required",
                );
            }
            t.unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        let (start, end) = (stamp(e.start, "start"), stamp(e.end, "end"));
        out.exclusions.push(MaintenanceExclusion {
            start,
            end,
            reason: e.reason,
        });
    }
    v.into_result().map(|()| out)
}

impl Api {
    /// Runs a cluster handler on a cluster of the request's project under the write lock, then
    /// kicks the controller for that cluster and renders the result.
    async fn cluster_write(
        &self,
        caller: &Caller,
        project: &Project,
        cluster: &str,
        f: impl FnOnce(&Ctx<'_>, &Cluster) -> Result<(Change, Cluster), DomainError>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let c = self
            .p
            .write(&caller.principal, |ctx| {
                let cluster = ctx.reader.cluster_ref(pid(project), cluster)?;
                f(ctx, &cluster)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(self.render_cluster(&c)?))
    }

    fn render_cluster(&self, c: &accord_core::cluster::Cluster) -> Result<pb::Cluster, Status> {
        let pools = self.p.reader().pools(c.metadata.id).map_err(st)?.len();
        Ok(conv::cluster(c, u32::try_from(pools).unwrap_or(u32::MAX)))
    }
}

#[tonic::async_trait]
impl pb::clusters_server::Clusters for Api {
    async fn create_cluster(
        &self,
        req: Request<pb::CreateClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let spec = r.spec.unwrap_or_default();
        let net = spec.network.unwrap_or_default();
        let input = ClusterInput {
            kubernetes_version: if spec.kubernetes_version.is_empty() {
                DEFAULT_VERSION.to_string()
            } else {
                spec.kubernetes_version
            },
            region: spec.region,
            vpc_subnet: net.vpc_subnet,
            pod_cidr: net.pod_cidr,
            service_cidr: net.service_cidr,
            node_cidr_mask_size: net.node_cidr_mask_size,
            oidc: spec.oidc.map(oidc_input),
            addons: spec.addons,
            autoclusters: spec.autoclusters.map(autoclusters).transpose()?,
            cni: spec.cni.map(cni).transpose()?,
        };
        let c = self
            .p
            .write(&caller.principal, |ctx| {
                h::create_cluster(
                    ctx,
                    pid(&project),
                    &r.name,
                    r.labels.into_iter().collect(),
                    &input,
                )
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::cluster(&c, 0)))
    }

    async fn get_cluster(
        &self,
        req: Request<pb::GetClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let c = self
            .p
            .reader()
            .cluster_ref(pid(&project), &req.get_ref().cluster)
            .map_err(st)?;
        Ok(Response::new(self.render_cluster(&c)?))
    }

    async fn list_clusters(
        &self,
        req: Request<pb::ListClustersRequest>,
    ) -> Result<Response<pb::ListClustersResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let cs = self.p.reader().clusters(Some(pid(&project))).map_err(st)?;
        let clusters = cs
            .iter()
            .map(|c| self.render_cluster(c))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(pb::ListClustersResponse { clusters }))
    }

    async fn update_cluster(
        &self,
        req: Request<pb::UpdateClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let spec = r.spec.unwrap_or_default();
        let labels = r.labels.into_iter().collect();
        let (oidc, auto) = (
            spec.oidc.map(oidc_input),
            spec.autoclusters.map(autoclusters).transpose()?,
        );
        self.cluster_write(&caller, &project, &r.cluster, |ctx, c| {
            h::update_cluster(
                ctx,
                c,
                r.resource_version,
                &r.update_mask,
                labels,
                oidc,
                auto,
            )
        })
        .await
    }
    async fn delete_cluster(
        &self,
        req: Request<pb::DeleteClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.cluster_write(&caller, &project, &r.cluster, |ctx, c| {
            h::delete_cluster(ctx, c, r.resource_version)
        })
        .await
    }
    async fn request_cluster_upgrade(
        &self,
        req: Request<pb::RequestClusterUpgradeRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.cluster_write(&caller, &project, &r.cluster, |ctx, c| {
            h::request_upgrade(ctx, c, &r.kubernetes_version, r.resource_version)
        })
        .await
    }
    async fn execute_cluster_upgrade(
        &self,
        req: Request<pb::ExecuteClusterUpgradeRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.cluster_write(&caller, &project, &r.cluster, |ctx, c| {
            h::execute_upgrade(ctx, c, r.resource_version)
        })
        .await
    }
    async fn get_kubeconfig(
        &self,
        req: Request<pb::GetKubeconfigRequest>,
    ) -> Result<Response<pb::GetKubeconfigResponse>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let reader = self.p.reader();
        let c = reader
            .cluster_ref(pid(&project), &req.get_ref().cluster)
            .map_err(st)?;
        if c.status.current_version.is_none() {
            return Err(st(DomainError::precondition(format!(
                "cluster {} has no running API server yet; wait until it is Ready",
                c.metadata.name
            ))));
        }
        let ttl = kubeconfig::requested_ttl(req.get_ref().client_certificate_ttl_seconds);
        let ca = reader.cluster_ca(c.metadata.id).map_err(st)?;
        let rendered = kubeconfig::render(
            &c,
            &ca,
            &caller.principal,
            time::OffsetDateTime::now_utc(),
            ttl,
        )
        .map_err(st)?;
        let (expires_at, cert_pem, key_pem) = match rendered.client_cert {
            Some(cert) => (Some(conv::ts(cert.expires_at)), cert.cert_pem, cert.key_pem),
            None => (None, String::new(), String::new()),
        };
        Ok(Response::new(pb::GetKubeconfigResponse {
            kubeconfig: rendered.yaml,
            ca_certificate: ca.cert_pem,
            client_certificate_expires_at: expires_at,
            client_certificate: cert_pem,
            client_key: key_pem,
        }))
    }

    async fn list_kubernetes_versions(
        &self,
        req: Request<pb::ListKubernetesVersionsRequest>,
    ) -> Result<Response<pb::ListKubernetesVersionsResponse>, Status> {
        bounded(&req)?;
        Ok(Response::new(pb::ListKubernetesVersionsResponse {
            versions: SUPPORTED_VERSIONS.iter().map(ToString::to_string).collect(),
            default_version: DEFAULT_VERSION.to_string(),
        }))
    }

    async fn list_regions(
        &self,
        req: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        bounded(&req)?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: self.p.catalog().regions.iter().map(conv::region).collect(),
        }))
    }
}
