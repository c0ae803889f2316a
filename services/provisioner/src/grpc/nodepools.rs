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
        driver_branch: s.driver_branch,
        image_channel: s.image_channel,
        rollout_policy: s.rollout_policy.map(policy_input),
        rolling_update: s.rolling_update.map(|r| RollingUpdate {
            max_surge: r.max_surge,
            max_unavailable: r.max_unavailable,
        }),
        remediation_enabled: s.remediation_enabled,
    }
}

fn policy_input(p: pb::RolloutPolicy) -> accord_image::rollout::RolloutPolicy {
    use accord_image::rollout::{RolloutPolicy, Strategy};
    RolloutPolicy {
        strategy: if p.wave_percentages.is_empty() {
            Strategy::Batches { size: p.batch_size }
        } else {
            Strategy::Waves {
                percentages: p
                    .wave_percentages
                    .iter()
                    .map(|v| u8::try_from(*v).unwrap_or(u8::MAX))
                    .collect(),
            }
        },
        soak: time::Duration::seconds(i64::from(p.soak_seconds)),
        max_unavailable: p.max_unavailable,
        only_in_windows: p.only_in_maintenance_windows,
        ready_timeout: time::Duration::seconds(i64::from(p.ready_timeout_seconds)),
    }
}

fn policy_view(p: &accord_image::rollout::RolloutPolicy) -> pb::RolloutPolicy {
    use accord_image::rollout::Strategy;
    let (wave_percentages, batch_size) = match &p.strategy {
        Strategy::Waves { percentages } => (percentages.iter().map(|v| u32::from(*v)).collect(), 0),
        Strategy::Batches { size } => (Vec::new(), *size),
    };
    pb::RolloutPolicy {
        wave_percentages,
        batch_size,
        soak_seconds: u32::try_from(p.soak.whole_seconds()).unwrap_or(u32::MAX),
        max_unavailable: p.max_unavailable,
        only_in_maintenance_windows: p.only_in_windows,
        ready_timeout_seconds: u32::try_from(p.ready_timeout.whole_seconds()).unwrap_or(u32::MAX),
    }
}

fn phase_text(phase: &accord_image::rollout::Phase) -> (&'static str, String) {
    use accord_image::rollout::Phase;
    match phase {
        Phase::Running => ("running", String::new()),
        Phase::Soaking { .. } => ("soaking", String::new()),
        Phase::Halted { reason } => ("halted", crate::rollouts::halt_text(reason)),
        Phase::RollingBack => ("rolling-back", String::new()),
        Phase::Completed => ("completed", String::new()),
        Phase::RolledBack => ("rolled-back", String::new()),
    }
}

/// A pool with its image facts: the image in use, update available or required, its
/// revisions (with the Ready nodes on each) and its rollout.
pub fn pool_view(
    reader: &crate::trees::Reader,
    images: &[crate::images::KnownImage],
    p: &NodePool,
) -> Result<pb::NodePool, DomainError> {
    let mut out = conv::node_pool(p);
    let rec = crate::rollouts::PoolRollout::of(reader, p)?;
    let disabled: Vec<&str> = rec
        .revisions
        .iter()
        .filter(|r| r.disabled)
        .map(|r| r.image.as_str())
        .collect();
    let view = crate::images::pool_view(images, p, &disabled);
    let nodes = reader.nodes(p.metadata.id)?;
    if let Some(spec) = out.spec.as_mut() {
        spec.rollout_policy = rec.policy.as_ref().map(policy_view);
    }
    if let Some(st) = out.status.as_mut() {
        st.image_id = view.image_id;
        st.driver_version = view.driver_version;
        st.update_available = view.update_available.is_some();
        st.latest_image_version = view.update_available.clone().unwrap_or_default();
        st.update_available_version = view.update_available.unwrap_or_default();
        st.update_required = view.update_required.is_some();
        st.update_required_reason = view.update_required.unwrap_or_default();
        st.deprecation_warning = view.deprecation.unwrap_or_default();
        st.revisions = rec
            .revisions
            .iter()
            .map(|r| pb::PoolRevision {
                revision: r.revision,
                image_version: r.image.clone(),
                image_id: crate::images::resolve(images, &r.image, &p.spec.driver_branch)
                    .map(|i| i.record.id.to_string())
                    .unwrap_or_default(),
                driver_version: r.driver.clone(),
                kubernetes_version: r.kubernetes.clone(),
                active_nodes: u32::try_from(
                    nodes
                        .iter()
                        .filter(|n| {
                            n.status.state == accord_core::node::NodeState::Ready
                                && n.spec.image_version == r.image
                                && n.spec.kubelet_version.to_string() == r.kubernetes
                        })
                        .count(),
                )
                .unwrap_or(u32::MAX),
                disabled: r.disabled,
            })
            .collect();
        st.rollout = rec.state.as_ref().map(|s| {
            let (phase, halt_reason) = phase_text(&s.phase);
            pb::Rollout {
                phase: phase.to_owned(),
                halt_reason,
                from_revision: s.from.revision,
                to_revision: s.to.revision,
                wave: u32::try_from(s.wave + 1).unwrap_or(u32::MAX),
                waves: u32::try_from(s.waves.len()).unwrap_or(u32::MAX),
                // Nodes Ready on the new revision now.
                nodes_on_new: u32::try_from(
                    nodes
                        .iter()
                        .filter(|n| {
                            n.status.state == accord_core::node::NodeState::Ready
                                && n.spec.image_version == s.to.image
                                && n.spec.kubelet_version.to_string() == s.to.kubernetes
                        })
                        .count(),
                )
                .unwrap_or(u32::MAX),
                nodes_total: s.total,
            }
        });
    }
    Ok(out)
}

impl Api {
    /// A pool rendered with its image facts.
    fn render(&self, p: &NodePool) -> Result<pb::NodePool, Status> {
        let reader = self.p.reader();
        let images = crate::images::all(reader).map_err(st)?;
        pool_view(reader, &images, p).map_err(st)
    }

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
        Ok(Response::new(self.render(&p)?))
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
        Ok(Response::new(self.render(&p)?))
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
        Ok(Response::new(self.render(&p)?))
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
        let images = crate::images::all(reader).map_err(st)?;
        let pools = reader.pools(cluster.metadata.id).map_err(st)?;
        Ok(Response::new(pb::ListNodePoolsResponse {
            node_pools: pools
                .iter()
                .map(|p| pool_view(reader, &images, p))
                .collect::<Result<_, _>>()
                .map_err(st)?,
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
            |ctx, cluster, pool| {
                h::update_pool(
                    ctx,
                    cluster,
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
    async fn rollback_node_pool(
        &self,
        req: Request<pb::RollbackNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        let (caller, project) = self.scope(&req, &req.get_ref().project)?;
        let r = req.into_inner();
        self.pool_write(
            &caller,
            &project,
            &r.cluster,
            &r.node_pool,
            |ctx, cluster, pool| {
                crate::handlers::rollback::rollback_pool(ctx, cluster, pool, r.resource_version)
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
        let r = req.get_ref();
        let images = crate::images::all(self.p.reader()).map_err(st)?;
        let latest = images
            .iter()
            .filter(|i| i.record.status == accord_image::Status::Active)
            .filter(|i| {
                i.record.driver_branch == accord_core::nodepool::DEFAULT_DRIVER_BRANCH
                    && i.record.channel == accord_image::Channel::Stable
            })
            .map(|i| i.record.version)
            .max()
            .map(|v| v.to_string())
            .unwrap_or_default();
        Ok(Response::new(pb::ListImagesResponse {
            images: images
                .iter()
                .filter(|i| r.driver_branch.is_empty() || i.record.driver_branch == r.driver_branch)
                .filter(|i| r.channel.is_empty() || i.record.channel.as_str() == r.channel)
                .map(image_view)
                .collect(),
            latest,
        }))
    }
}

fn image_view(i: &crate::images::KnownImage) -> pb::Image {
    let m = i.parsed().unwrap_or_default();
    let (status, reason) = match &i.record.status {
        accord_image::Status::Active => ("active", String::new()),
        accord_image::Status::Deprecated { reason } => ("deprecated", reason.clone()),
        accord_image::Status::Withdrawn { reason } => ("withdrawn", reason.clone()),
    };
    pb::Image {
        version: i.record.version.to_string(),
        kernel: m.kernel.version,
        containerd: m.containerd.version,
        gpu_driver: m.gpu_driver.version,
        ofed: m.doca_ofed.version,
        published_at: Some(conv::ts(i.published_at)),
        id: i.record.id.to_string(),
        channel: i.record.channel.as_str().to_owned(),
        driver_branch: i.record.driver_branch.clone(),
        status: status.to_owned(),
        status_reason: reason,
    }
}
