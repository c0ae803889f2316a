//! `accord.provisioner.v1.NodePools`.

use accord_core::nodepool::{Autoscaling, RollingUpdate, Taint};
use accord_core::{DomainError, cluster::Cluster, nodepool::NodePool, project::Project};
use accord_proto::{convert::provisioner as conv, provisioner::v1 as pb};
use accord_runtime::grpc::Caller;
use tonic::{Request, Response, Status};

use super::{Api, bounded, pid, st};
use crate::{
    change::Change,
    handlers::{
        Ctx,
        nodepools::{self as h, PoolInput},
    },
};

fn pool_input(s: pb::NodePoolSpec) -> PoolInput {
    PoolInput {
        instance_type: s.instance_type,
        count: s.count,
        autoscaling: s.autoscaling.filter(|a| a.enabled).map(|a| Autoscaling {
            min_count: a.min_count,
            max_count: a.max_count,
        }),
        node_labels: s.node_labels.into_iter().collect(),
        taints: s
            .taints
            .into_iter()
            .map(|t| Taint {
                key: t.key,
                value: t.value,
                effect: t.effect,
            })
            .collect(),
        image_version: s.image_version,
        rolling_update: s.rolling_update.map(|r| RollingUpdate {
            max_surge: r.max_surge,
            max_unavailable: r.max_unavailable,
        }),
        remediation_enabled: s.remediation_enabled,
    }
}

impl Api {
    /// Runs a pool handler on a pool of the request's project under the write lock, then kicks
    /// the controller for that pool and renders the result.
    async fn pool_write(
        &self,
        caller: &Caller,
        project: &Project,
        cluster: &str,
        pool: &str,
        f: impl FnOnce(&Ctx<'_>, &Cluster, &NodePool) -> Result<(Change, NodePool), DomainError>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let p = self
            .p
            .write(&caller.principal, |ctx| {
                let cluster = ctx.reader.cluster_ref(pid(project), cluster)?;
                let pool = ctx.reader.pool_ref(cluster.metadata.id, pool)?;
                f(ctx, &cluster, &pool)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::node_pool(&p, &self.latest_image())))
    }

    fn latest_image(&self) -> String {
        self.p
            .catalog()
            .latest_image()
            .map(|i| i.version.clone())
            .unwrap_or_default()
    }
}

#[tonic::async_trait]
impl pb::node_pools_server::NodePools for Api {
    async fn create_node_pool(
        &self,
        req: Request<pb::CreateNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let input = pool_input(r.spec.unwrap_or_default());
        let p = self
            .p
            .write(&caller.principal, |ctx| {
                let cluster = ctx.reader.cluster_ref(pid(&project), &r.cluster)?;
                h::create_pool(
                    ctx,
                    &cluster,
                    &r.name,
                    r.labels.into_iter().collect(),
                    &input,
                )
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::node_pool(&p, &self.latest_image())))
    }

    async fn get_node_pool(
        &self,
        req: Request<pb::GetNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.get_ref();
        let reader = self.p.reader();
        let cluster = reader.cluster_ref(pid(&project), &r.cluster).map_err(st)?;
        let p = reader
            .pool_ref(cluster.metadata.id, &r.node_pool)
            .map_err(st)?;
        Ok(Response::new(conv::node_pool(&p, &self.latest_image())))
    }

    async fn list_node_pools(
        &self,
        req: Request<pb::ListNodePoolsRequest>,
    ) -> Result<Response<pb::ListNodePoolsResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let reader = self.p.reader();
        let cluster = reader
            .cluster_ref(pid(&project), &req.get_ref().cluster)
            .map_err(st)?;
        let latest = self.latest_image();
        let pools = reader.pools(cluster.metadata.id).map_err(st)?;
        Ok(Response::new(pb::ListNodePoolsResponse {
            node_pools: pools.iter().map(|p| conv::node_pool(p, &latest)).collect(),
        }))
    }

    async fn update_node_pool(
        &self,
        req: Request<pb::UpdateNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        let input = pool_input(r.spec.unwrap_or_default());
        let labels = r.labels.into_iter().collect();
        self.pool_write(
            &caller,
            &project,
            &r.cluster,
            &r.node_pool,
            |ctx, _, pool| {
                h::update_pool(
                    ctx,
                    pool,
                    r.resource_version,
                    &r.update_mask,
                    labels,
                    &input,
                )
            },
        )
        .await
    }
    async fn scale_node_pool(
        &self,
        req: Request<pb::ScaleNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.pool_write(
            &caller,
            &project,
            &r.cluster,
            &r.node_pool,
            |ctx, cluster, pool| h::scale_pool(ctx, cluster, pool, r.count, r.resource_version),
        )
        .await
    }
    async fn cycle_node_pool(
        &self,
        req: Request<pb::CycleNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.pool_write(
            &caller,
            &project,
            &r.cluster,
            &r.node_pool,
            |ctx, cluster, pool| {
                h::cycle_pool(ctx, cluster, pool, &r.image_version, r.resource_version)
            },
        )
        .await
    }
    async fn delete_node_pool(
        &self,
        req: Request<pb::DeleteNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.pool_write(
            &caller,
            &project,
            &r.cluster,
            &r.node_pool,
            |ctx, _, pool| h::delete_pool(ctx, pool, r.resource_version),
        )
        .await
    }
    async fn list_instance_types(
        &self,
        req: Request<pb::ListInstanceTypesRequest>,
    ) -> Result<Response<pb::ListInstanceTypesResponse>, Status> {
        bounded(&req)?;
        Ok(Response::new(pb::ListInstanceTypesResponse {
            instance_types: self
                .p
                .catalog()
                .instance_types
                .iter()
                .map(conv::instance_type)
                .collect(),
        }))
    }

    async fn list_images(
        &self,
        req: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesResponse>, Status> {
        bounded(&req)?;
        Ok(Response::new(pb::ListImagesResponse {
            images: self.p.catalog().images.iter().map(conv::image).collect(),
            latest: self.latest_image(),
        }))
    }
}
