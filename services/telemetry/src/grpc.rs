//! The telemetry service's gRPC edge (`accord.telemetry.v1.Health`): bounds every request
//! ([`crate::bounds`]) before any work, resolves the project and cluster with the kit's one
//! scoping rule (`accord_runtime::scope`: a cluster of another project answers `NOT_FOUND`
//! exactly like a missing one), checks the caller's role in the cluster's project, reads and
//! renders. Nothing here decides a rule.

use std::sync::Arc;

use accord_core::{DomainError, error::echo, iam::Principal};
use accord_proto::{
    convert::{
        status_from,
        telemetry::{check_verdict, finding, latest_sample, to_ms, ts_ms, verdict},
    },
    telemetry::v1::{self as pb, health_server::Health},
};
use accord_runtime::{Caller, grpc::caller, scope};
use tonic::{Request, Response, Status};

use crate::{bounds, service::Telemetry, trees::Findings as _, view::ClusterView};

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    t: Arc<Telemetry>,
}

impl Api {
    pub fn new(t: Arc<Telemetry>) -> Self {
        Self { t }
    }

    /// The cluster `cluster` as the request names it (inside `project`, when named), once the
    /// caller's role in its project allows the call.
    fn cluster(
        &self,
        caller: &Caller,
        project: &str,
        cluster: &str,
    ) -> Result<ClusterView, DomainError> {
        let reader = self.t.reader();
        let principal: &Principal = &caller.principal;
        let named = scope::project_filter(reader, principal, project)?;
        let entry = scope::cluster(reader, principal, named, cluster)?;
        let view = reader
            .cluster(entry.id)?
            .map(|v| v.value)
            .ok_or_else(|| DomainError::not_found("cluster", echo(cluster.trim())))?;
        caller.rule.authorize_in_project(principal, view.project)?;
        Ok(view)
    }
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

#[tonic::async_trait]
impl Health for Api {
    async fn list_node_health(
        &self,
        req: Request<pb::ListNodeHealthRequest>,
    ) -> Result<Response<pb::ListNodeHealthResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list_node_health(&r).map_err(st)?;
        let view = self.cluster(&caller, &r.project, &r.cluster).map_err(st)?;
        let nodes = self
            .t
            .node_health(view.id)
            .iter()
            .map(|n| pb::NodeHealth {
                node_id: n.node.to_string(),
                node_name: n.node_name.clone(),
                pool: view.pool_name(n.pool),
                instance_type: n.instance_type.clone(),
                verdict: verdict(n.verdict()).into(),
                checks: n.checks.iter().map(check_verdict).collect(),
                failing_checks: n.failing().map(|c| c.check.as_str().to_owned()).collect(),
                last_sample_at: ts_ms(n.last_ts_ms),
            })
            .collect();
        Ok(Response::new(pb::ListNodeHealthResponse { nodes }))
    }

    async fn list_findings(
        &self,
        req: Request<pb::ListFindingsRequest>,
    ) -> Result<Response<pb::ListFindingsResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        let limit = bounds::list_findings(&r).map_err(st)?;
        let view = self.cluster(&caller, &r.project, &r.cluster).map_err(st)?;
        let since = r.since.as_ref().map(to_ms);
        let findings = self
            .t
            .reader()
            .findings_since(view.id, since, limit)
            .map_err(st)?
            .iter()
            .map(|f| finding(&f.finding, &f.node_name))
            .collect();
        Ok(Response::new(pb::ListFindingsResponse { findings }))
    }

    async fn get_latest_sample(
        &self,
        req: Request<pb::GetLatestSampleRequest>,
    ) -> Result<Response<pb::LatestSample>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::get_latest_sample(&r).map_err(st)?;
        let view = self.cluster(&caller, &r.project, &r.cluster).map_err(st)?;
        let node = r.node.trim();
        let sample = self
            .t
            .latest_sample(view.id, node)
            .ok_or_else(|| st(DomainError::not_found("node sample", echo(node))))?;
        Ok(Response::new(latest_sample(&sample)))
    }
}
