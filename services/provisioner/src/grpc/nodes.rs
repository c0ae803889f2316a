//! `accord.provisioner.v1.Nodes`.

use accord_core::{DomainError, node::Node, project::Project};
use accord_proto::{convert::provisioner as conv, provisioner::v1 as pb};
use accord_runtime::grpc::Caller;
use tonic::{Request, Response, Status};

use super::{Api, pid, st};
use crate::{
    change::Change,
    handlers::{Ctx, nodes as h},
};

#[tonic::async_trait]
impl pb::nodes_server::Nodes for Api {
    async fn list_nodes(
        &self,
        req: Request<pb::ListNodesRequest>,
    ) -> Result<Response<pb::ListNodesResponse>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.get_ref();
        let reader = self.p.reader();
        let cluster = reader.cluster_ref(pid(&project), &r.cluster).map_err(st)?;
        let pools = if r.node_pool.is_empty() {
            reader.pools(cluster.metadata.id).map_err(st)?
        } else {
            vec![
                reader
                    .pool_ref(cluster.metadata.id, &r.node_pool)
                    .map_err(st)?,
            ]
        };
        let mut nodes = Vec::new();
        for p in pools {
            nodes.extend(
                reader
                    .nodes(p.metadata.id)
                    .map_err(st)?
                    .iter()
                    .map(conv::node),
            );
        }
        Ok(Response::new(pb::ListNodesResponse { nodes }))
    }

    async fn get_node(
        &self,
        req: Request<pb::GetNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        let (_, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.get_ref();
        let reader = self.p.reader();
        let cluster = reader.cluster_ref(pid(&project), &r.cluster).map_err(st)?;
        let n = reader.node_ref(cluster.metadata.id, &r.node).map_err(st)?;
        Ok(Response::new(conv::node(&n)))
    }

    async fn cordon_node(
        &self,
        req: Request<pb::CordonNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.node_write(&caller, &project, &r.cluster, &r.node, h::cordon)
            .await
    }

    async fn uncordon_node(
        &self,
        req: Request<pb::UncordonNodeRequest>,
    ) -> Result<Response<pb::Node>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.node_write(&caller, &project, &r.cluster, &r.node, h::uncordon)
            .await
    }
}

impl Api {
    /// Runs a node handler on a node of the request's project under the write lock.
    async fn node_write(
        &self,
        caller: &Caller,
        project: &Project,
        cluster: &str,
        node: &str,
        f: impl FnOnce(&Ctx<'_>, &Node) -> Result<(Change, Node), DomainError>,
    ) -> Result<Response<pb::Node>, Status> {
        let n = self
            .p
            .write(&caller.principal, |ctx| {
                let cluster = ctx.reader.cluster_ref(pid(project), cluster)?;
                let node = ctx.reader.node_ref(cluster.metadata.id, node)?;
                f(ctx, &node)
            })
            .await
            .map_err(st)?;
        Ok(Response::new(conv::node(&n)))
    }
}
