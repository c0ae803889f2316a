//! Whole commands against an in-process fake of the provisioner's `Clusters`, `NodePools`,
//! `Projects` and `Remediations` services, support-triage's `Notifications` and
//! network-firewall's `Firewall` (in `firewall`) on a random port:
//! request building, the bearer header, output, `--wait` polling and error rendering, exactly as
//! a real run would exercise them.
//!
//! The fake keeps clusters and pools in memory and advances them one step per Get call
//! (a replica comes up, a node becomes ready), so `--wait` sees real progress.

use std::sync::{Arc, Mutex};

use accord_proto::provisioner::v1 as pb;
use accord_proto::provisioner::v1::clusters_server::{Clusters, ClustersServer};
use accord_proto::provisioner::v1::node_pools_server::{NodePools, NodePoolsServer};
use accord_proto::provisioner::v1::projects_server::{Projects, ProjectsServer};
use accord_proto::provisioner::v1::remediations_server::{Remediations, RemediationsServer};
use accord_proto::support::v1 as support_pb;
use accord_proto::support::v1::notifications_server::{Notifications, NotificationsServer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::cli::{Cli, OutputFormat};
use crate::commands::{self, Context};
use crate::config::Settings;
use crate::fixtures;
use crate::output::{Captured, Printer};
use crate::render_error;

pub(super) const TOKEN: &str = "accord_ak-test_secretsecretsecretsecretsecret";

#[derive(Default)]
struct State {
    clusters: Vec<pb::Cluster>,
    pools: Vec<pb::NodePool>,
    created: Vec<pb::CreateClusterRequest>,
    scaled: Vec<pb::ScaleNodePoolRequest>,
    remediations: Vec<pb::Remediation>,
    listed_remediations: Vec<pb::ListRemediationsRequest>,
    webhooks: Vec<support_pb::Webhook>,
    webhooks_made: usize,
    deliveries: Vec<support_pb::Delivery>,
    created_webhooks: Vec<support_pb::CreateWebhookRequest>,
    listed_webhooks: Vec<support_pb::ListWebhooksRequest>,
    deleted_webhooks: Vec<support_pb::DeleteWebhookRequest>,
    listed_deliveries: Vec<support_pb::ListDeliveriesRequest>,
    firewall: firewall::Rules,
    kubeconfig_ttls: Vec<u32>,
}

#[derive(Clone, Default)]
struct Fake {
    state: Arc<Mutex<State>>,
}

fn authorize<T>(request: &Request<T>) -> Result<(), Status> {
    let header = request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if header == Some(&format!("Bearer {TOKEN}")) {
        Ok(())
    } else {
        Err(Status::unauthenticated("unknown API key"))
    }
}

fn matches(meta: Option<&pb::ObjectMeta>, query: &str) -> bool {
    meta.is_some_and(|m| m.name == query || m.id == query)
}

impl Fake {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn cluster_id(&self, query: &str) -> Result<String, Status> {
        self.lock()
            .clusters
            .iter()
            .find(|c| matches(c.metadata.as_ref(), query))
            .map(|c| c.metadata.clone().unwrap().id)
            .ok_or_else(|| Status::not_found(format!("cluster {query} not found")))
    }
}

#[tonic::async_trait]
impl Clusters for Fake {
    async fn create_cluster(
        &self,
        request: Request<pb::CreateClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        if state
            .clusters
            .iter()
            .any(|c| matches(c.metadata.as_ref(), &request.name))
        {
            return Err(Status::already_exists(format!(
                "cluster {} already exists",
                request.name
            )));
        }
        let mut cluster = fixtures::cluster(
            &request.name,
            &format!("cl-01jfake00000000000000{:04}", state.clusters.len()),
        );
        cluster.spec = request.spec.clone();
        let status = cluster.status.as_mut().unwrap();
        status.phase = "provisioning".into();
        status.node_pool_count = 0;
        for replica in &mut status.control_plane {
            replica.state = "provisioning".into();
        }
        status.conditions[1].status = "False".into();
        status.conditions[1].reason = "ControlPlaneProvisioning".into();
        state.created.push(request);
        state.clusters.push(cluster.clone());
        Ok(Response::new(cluster))
    }

    async fn get_cluster(
        &self,
        request: Request<pb::GetClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        authorize(&request)?;
        let query = request.into_inner().cluster;
        let mut state = self.lock();
        let Some(cluster) = state
            .clusters
            .iter_mut()
            .find(|c| matches(c.metadata.as_ref(), &query))
        else {
            return Err(Status::not_found(format!("cluster {query} not found")));
        };
        // One replica comes up per look.
        let status = cluster.status.as_mut().unwrap();
        if let Some(replica) = status
            .control_plane
            .iter_mut()
            .find(|r| r.state != "running")
        {
            replica.state = "running".into();
        } else if status.phase == "provisioning" {
            status.phase = "running".into();
            status.conditions[1].status = "True".into();
            status.conditions[1].reason = "ControlPlaneServing".into();
        }
        Ok(Response::new(cluster.clone()))
    }

    async fn list_clusters(
        &self,
        request: Request<pb::ListClustersRequest>,
    ) -> Result<Response<pb::ListClustersResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::ListClustersResponse {
            clusters: self.lock().clusters.clone(),
        }))
    }

    async fn update_cluster(
        &self,
        request: Request<pb::UpdateClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        authorize(&request)?;
        get_and_apply::update_cluster(self, request.into_inner()).map(Response::new)
    }

    async fn delete_cluster(
        &self,
        request: Request<pb::DeleteClusterRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        authorize(&request)?;
        let query = request.into_inner().cluster;
        let id = self.cluster_id(&query)?;
        let mut state = self.lock();
        let pools: Vec<String> = state
            .pools
            .iter()
            .filter(|p| p.spec.as_ref().unwrap().cluster_id == id)
            .map(|p| p.metadata.clone().unwrap().name)
            .collect();
        if !pools.is_empty() {
            return Err(Status::failed_precondition(format!(
                "cluster {query} still has node pools: {}",
                pools.join(", ")
            )));
        }
        let index = state
            .clusters
            .iter()
            .position(|c| matches(c.metadata.as_ref(), &id))
            .unwrap();
        let mut cluster = state.clusters.remove(index);
        cluster.status.as_mut().unwrap().phase = "deleting".into();
        Ok(Response::new(cluster))
    }

    async fn request_cluster_upgrade(
        &self,
        _request: Request<pb::RequestClusterUpgradeRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn execute_cluster_upgrade(
        &self,
        _request: Request<pb::ExecuteClusterUpgradeRequest>,
    ) -> Result<Response<pb::Cluster>, Status> {
        Err(Status::permission_denied(
            "executing upgrades is the provider's responsibility (layer control-plane, owner provider)",
        ))
    }

    async fn get_kubeconfig(
        &self,
        request: Request<pb::GetKubeconfigRequest>,
    ) -> Result<Response<pb::GetKubeconfigResponse>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let id = self.cluster_id(&request.cluster)?;
        // Records the lifetime asked for, so tests see what the exec plugin requests.
        self.lock()
            .kubeconfig_ttls
            .push(request.client_certificate_ttl_seconds);
        Ok(Response::new(pb::GetKubeconfigResponse {
            kubeconfig: format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: accord-{id}\n  cluster:\n    \
                 server: https://{id}.example:6443\n    certificate-authority-data: Q0E=\n\
                 users:\n- name: admin@{id}\n  user:\n    client-certificate-data: Q0VSVA==\n    \
                 client-key-data: S0VZ\ncontexts:\n- name: accord-{id}\n  context:\n    \
                 cluster: accord-{id}\n    user: admin@{id}\ncurrent-context: accord-{id}\n\
                 preferences: {{}}\n"
            ),
            ca_certificate: "CA".into(),
            client_certificate_expires_at: Some(prost_types::Timestamp {
                seconds: 1_900_000_000,
                nanos: 0,
            }),
            client_certificate: "CERT".into(),
            client_key: "KEY".into(),
        }))
    }

    async fn list_kubernetes_versions(
        &self,
        request: Request<pb::ListKubernetesVersionsRequest>,
    ) -> Result<Response<pb::ListKubernetesVersionsResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::ListKubernetesVersionsResponse {
            versions: vec!["1.31".into(), "1.32".into(), "1.33".into()],
            default_version: "1.32".into(),
        }))
    }

    async fn list_regions(
        &self,
        request: Request<pb::ListRegionsRequest>,
    ) -> Result<Response<pb::ListRegionsResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::ListRegionsResponse {
            regions: vec![pb::Region {
                name: "eu-iceland1".into(),
                failure_domains: vec!["fd-1".into(), "fd-2".into(), "fd-3".into()],
            }],
        }))
    }
}

#[tonic::async_trait]
impl NodePools for Fake {
    async fn create_node_pool(
        &self,
        _request: Request<pb::CreateNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_node_pool(
        &self,
        request: Request<pb::GetNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let cluster = self.cluster_id(&request.cluster)?;
        let mut state = self.lock();
        let Some(pool) = state.pools.iter_mut().find(|p| {
            p.spec.as_ref().unwrap().cluster_id == cluster
                && matches(p.metadata.as_ref(), &request.node_pool)
        }) else {
            return Err(Status::not_found(format!(
                "node pool {} not found",
                request.node_pool
            )));
        };
        // One node becomes ready per look.
        let count = pool.spec.as_ref().unwrap().count;
        let generation = pool.metadata.as_ref().unwrap().generation;
        let status = pool.status.as_mut().unwrap();
        if status.ready_nodes < count {
            status.ready_nodes += 1;
            status.total_nodes = status.ready_nodes;
        }
        if status.ready_nodes == count {
            status.phase = "ready".into();
            status.observed_generation = generation;
        }
        Ok(Response::new(pool.clone()))
    }

    async fn list_node_pools(
        &self,
        request: Request<pb::ListNodePoolsRequest>,
    ) -> Result<Response<pb::ListNodePoolsResponse>, Status> {
        authorize(&request)?;
        let cluster = self.cluster_id(&request.into_inner().cluster)?;
        let node_pools = self
            .lock()
            .pools
            .iter()
            .filter(|p| p.spec.as_ref().unwrap().cluster_id == cluster)
            .cloned()
            .collect();
        Ok(Response::new(pb::ListNodePoolsResponse { node_pools }))
    }

    async fn update_node_pool(
        &self,
        _request: Request<pb::UpdateNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn rollback_node_pool(
        &self,
        _request: Request<pb::RollbackNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn scale_node_pool(
        &self,
        request: Request<pb::ScaleNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let cluster = self.cluster_id(&request.cluster)?;
        let mut state = self.lock();
        state.scaled.push(request.clone());
        let Some(pool) = state.pools.iter_mut().find(|p| {
            p.spec.as_ref().unwrap().cluster_id == cluster
                && matches(p.metadata.as_ref(), &request.node_pool)
        }) else {
            return Err(Status::not_found("node pool not found"));
        };
        pool.spec.as_mut().unwrap().count = request.count;
        pool.metadata.as_mut().unwrap().generation += 1;
        pool.status.as_mut().unwrap().phase = "scaling".into();
        Ok(Response::new(pool.clone()))
    }

    async fn cycle_node_pool(
        &self,
        _request: Request<pb::CycleNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn delete_node_pool(
        &self,
        _request: Request<pb::DeleteNodePoolRequest>,
    ) -> Result<Response<pb::NodePool>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_instance_types(
        &self,
        _request: Request<pb::ListInstanceTypesRequest>,
    ) -> Result<Response<pb::ListInstanceTypesResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_images(
        &self,
        _request: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

#[tonic::async_trait]
impl Projects for Fake {
    async fn create_project(
        &self,
        request: Request<pb::CreateProjectRequest>,
    ) -> Result<Response<pb::CreateProjectResponse>, Status> {
        authorize(&request)?;
        let name = request.into_inner().name;
        Ok(Response::new(pb::CreateProjectResponse {
            project: Some(fixtures::project(&name)),
            key: Some(fixtures::api_key("admin")),
            token: "accord_ak-new_brandnewsecretbrandnewsecret0000".into(),
        }))
    }
    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        // The key's own project, "ml" (every fixture resource's project id).
        match request.into_inner().project.as_str() {
            "" | "ml" | "pr-01jexample00000000000001" => Ok(Response::new(fixtures::project("ml"))),
            _ => Err(Status::not_found("project not found")),
        }
    }
    async fn list_projects(
        &self,
        _request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn set_project_quota(
        &self,
        _request: Request<pb::SetProjectQuotaRequest>,
    ) -> Result<Response<pb::Project>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn add_member(
        &self,
        _request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn remove_member(
        &self,
        _request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_members(
        &self,
        _request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn create_api_key(
        &self,
        _request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_api_keys(
        &self,
        _request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn revoke_api_key(
        &self,
        _request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        authorize(&request)?;
        Ok(Response::new(pb::WhoAmIResponse {
            party: "customer".into(),
            user: "alice@example.com".into(),
            project: "pr-01jexample00000000000001".into(),
            role: pb::Role::Admin.into(),
            key: "ak-test".into(),
        }))
    }
}

#[tonic::async_trait]
impl Remediations for Fake {
    async fn list_remediations(
        &self,
        request: Request<pb::ListRemediationsRequest>,
    ) -> Result<Response<pb::ListRemediationsResponse>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let cluster = self.cluster_id(&request.cluster)?;
        let mut state = self.lock();
        state.listed_remediations.push(request.clone());
        let items = state
            .remediations
            .iter()
            .filter(|r| r.cluster == cluster)
            .filter(|r| request.state.is_empty() || r.state == request.state)
            .cloned()
            .collect();
        Ok(Response::new(pb::ListRemediationsResponse { items }))
    }

    async fn get_remediation(
        &self,
        request: Request<pb::GetRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        authorize(&request)?;
        let id = request.into_inner().id;
        self.lock()
            .remediations
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("remediation {id} not found")))
    }

    async fn approve_remediation(
        &self,
        request: Request<pb::ResolveRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        self.resolve(request, "running", "approved")
    }

    async fn reject_remediation(
        &self,
        request: Request<pb::ResolveRemediationRequest>,
    ) -> Result<Response<pb::Remediation>, Status> {
        self.resolve(request, "skipped", "rejected")
    }
}

/// support-triage's webhook rules, as far as the CLI can tell them apart: at most 10 per project,
/// https:// URLs, known kinds; the secret only in `CreateWebhook`'s answer; deleting a webhook
/// deletes its deliveries.
#[tonic::async_trait]
impl Notifications for Fake {
    async fn create_webhook(
        &self,
        request: Request<support_pb::CreateWebhookRequest>,
    ) -> Result<Response<support_pb::Webhook>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        state.created_webhooks.push(request.clone());
        if !request.url.starts_with("https://") {
            return Err(Status::invalid_argument(
                "url: must be https:// to a public host (http:// only to loopback where the deployment allows it)",
            ));
        }
        if state.webhooks.len() >= 10 {
            return Err(Status::resource_exhausted(
                "project has 10 webhooks, the most allowed",
            ));
        }
        let n = state.webhooks_made;
        state.webhooks_made += 1;
        let webhook = support_pb::Webhook {
            id: format!("wh-01jfake00000000000000{n:04}a"),
            project: if request.project.is_empty() {
                "pj-key".into()
            } else {
                request.project.clone()
            },
            url: request.url,
            kinds: request.kinds,
            created_at: Some(crate::output::timestamp(time::OffsetDateTime::now_utc())),
            secret: String::new(),
        };
        state.webhooks.push(webhook.clone());
        Ok(Response::new(support_pb::Webhook {
            secret: format!("whsec_{}", "ab".repeat(32)),
            ..webhook
        }))
    }

    async fn list_webhooks(
        &self,
        request: Request<support_pb::ListWebhooksRequest>,
    ) -> Result<Response<support_pb::ListWebhooksResponse>, Status> {
        authorize(&request)?;
        let mut state = self.lock();
        state.listed_webhooks.push(request.into_inner());
        Ok(Response::new(support_pb::ListWebhooksResponse {
            webhooks: state.webhooks.clone(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<support_pb::DeleteWebhookRequest>,
    ) -> Result<Response<support_pb::Webhook>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        state.deleted_webhooks.push(request.clone());
        let Some(index) = state.webhooks.iter().position(|w| w.id == request.id) else {
            return Err(Status::not_found(format!(
                "webhook {} not found",
                request.id
            )));
        };
        let webhook = state.webhooks.remove(index);
        state.deliveries.retain(|d| d.webhook != webhook.id);
        Ok(Response::new(webhook))
    }

    async fn list_deliveries(
        &self,
        request: Request<support_pb::ListDeliveriesRequest>,
    ) -> Result<Response<support_pb::ListDeliveriesResponse>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        let mut state = self.lock();
        state.listed_deliveries.push(request.clone());
        let limit = match request.limit {
            0 => 100,
            n => n as usize,
        };
        let deliveries = state
            .deliveries
            .iter()
            .filter(|d| request.webhook.is_empty() || d.webhook == request.webhook)
            .filter(|d| request.state.is_empty() || d.state == request.state)
            .take(limit)
            .cloned()
            .collect();
        Ok(Response::new(support_pb::ListDeliveriesResponse {
            deliveries,
        }))
    }
}

/// The fake on a random port.
pub(super) struct Server {
    pub(super) endpoint: String,
    fake: Fake,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(super) async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let fake = Fake::default();
    let router = tonic::transport::Server::builder()
        .add_service(ClustersServer::new(fake.clone()))
        .add_service(NodePoolsServer::new(fake.clone()))
        .add_service(ProjectsServer::new(fake.clone()))
        .add_service(RemediationsServer::new(fake.clone()))
        .add_service(NotificationsServer::new(fake.clone()))
        .add_service(firewall::server(&fake));
    let task = tokio::spawn(async move {
        router
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
            .unwrap();
    });
    Server {
        endpoint,
        fake,
        task,
    }
}

/// Runs `accord <args>` against `endpoint` with `token`; returns the outcome, stdout and stderr.
async fn accord(
    endpoint: &str,
    token: Option<&str>,
    args: &[&str],
) -> (Result<(), String>, Captured) {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_with_sources(argv).unwrap();
    let (printer, captured) = Printer::capture();
    let ctx = Context {
        settings: Settings::new(endpoint, token.map(str::to_owned)),
        format: cli.global.output,
        printer,
    };
    let result = commands::run(&ctx, cli.command)
        .await
        .map_err(|error| render_error(&error));
    let captured = captured.lock().unwrap().clone();
    (result, captured)
}

pub(super) fn add_cluster(server: &Server, name: &str, id: &str) {
    server
        .fake
        .lock()
        .clusters
        .push(fixtures::cluster(name, id));
}

fn add_pool(fake: &Fake, cluster_id: &str, name: &str) {
    let mut pool = fixtures::node_pool(name);
    pool.metadata.as_mut().unwrap().id = format!("np-01jfake000000000000{name}");
    pool.spec.as_mut().unwrap().cluster_id = cluster_id.to_owned();
    fake.lock().pools.push(pool);
}

#[tokio::test]
async fn create_cluster_with_defaults_waits_until_ready() {
    let server = start().await;
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["create", "cluster", "demo", "--wait"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "cluster/demo created\n\
         cluster/demo is ready (API server https://demo.eu-iceland1.accord.example:6443)\n"
    );
    assert!(
        out.err.contains("using Kubernetes 1.32 (the default"),
        "{}",
        out.err
    );
    assert!(out.err.contains("using region eu-iceland1"), "{}", out.err);
    assert!(
        out.err.contains("waiting for cluster demo to become ready: provisioning, 1/3 control-plane replicas running"),
        "{}",
        out.err
    );

    let request = server.fake.lock().created[0].clone();
    let spec = request.spec.unwrap();
    assert_eq!(spec.kubernetes_version, "1.32");
    assert_eq!(spec.region, "eu-iceland1");
    assert_eq!(spec.network.unwrap().pod_cidr, "10.244.0.0/16");
}

#[tokio::test]
async fn node_pools_are_listed_across_clusters_and_scaled_with_wait() {
    let server = start().await;
    for (name, id) in [
        ("demo", "cl-01jfake0000000000000demo"),
        ("train", "cl-01jfake000000000000train"),
    ] {
        server
            .fake
            .lock()
            .clusters
            .push(fixtures::cluster(name, id));
        add_pool(&server.fake, id, &format!("gpu-{name}"));
    }

    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["get", "np"]).await;
    assert_eq!(result, Ok(()));
    assert!(out.out.starts_with("CLUSTER   NAME"), "{}", out.out);
    assert!(out.out.contains("\ndemo      gpu-demo "), "{}", out.out);
    assert!(out.out.contains("\ntrain     gpu-train "), "{}", out.out);

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "scale",
            "np",
            "gpu-demo",
            "--cluster",
            "demo",
            "--count",
            "4",
            "--wait",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "nodepool/gpu-demo scaled to 4\nnodepool/gpu-demo is ready: 4/4 nodes\n"
    );
    assert!(out.err.contains("scaling, 3/4 nodes ready"), "{}", out.err);
    assert_eq!(server.fake.lock().scaled[0].count, 4);

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["describe", "np", "gpu-train"],
    )
    .await;
    assert_eq!(result, Ok(()));
    assert!(
        out.out
            .contains("  Cluster:         train (cl-01jfake000000000000train)\n"),
        "{}",
        out.out
    );
}

#[tokio::test]
async fn api_refusals_are_printed_as_code_and_message() {
    let server = start().await;
    let id = "cl-01jfake0000000000000demo";
    server
        .fake
        .lock()
        .clusters
        .push(fixtures::cluster("demo", id));
    add_pool(&server.fake, id, "gpu-a");
    add_pool(&server.fake, id, "gpu-b");

    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "cluster", "demo"],
    )
    .await;
    assert_eq!(
        result,
        Err("FAILED_PRECONDITION: cluster demo still has node pools: gpu-a, gpu-b".into())
    );
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &["get", "cluster", "nope"]).await;
    assert_eq!(result, Err("NOT_FOUND: cluster nope not found".into()));
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["create", "cluster", "demo"],
    )
    .await;
    assert_eq!(
        result,
        Err("ALREADY_EXISTS: cluster demo already exists".into())
    );
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["upgrade", "execute", "demo"],
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with("PERMISSION_DENIED: executing upgrades is the provider's responsibility"),
        "{error}"
    );
    assert!(error.contains("\nhint: "), "{error}");
}

#[tokio::test]
async fn delete_with_wait_ends_at_not_found() {
    let server = start().await;
    server
        .fake
        .lock()
        .clusters
        .push(fixtures::cluster("demo", "cl-01jfake0000000000000demo"));
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "cluster", "demo", "--wait"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "cluster/demo deleting\ncluster/demo deleted\n");
}

#[tokio::test]
async fn tokens_are_sent_and_required() {
    let server = start().await;
    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["whoami"]).await;
    assert_eq!(result, Ok(()));
    assert!(
        out.out.contains("User:     alice@example.com\n"),
        "{}",
        out.out
    );
    assert!(out.out.contains("Role:     admin\n"), "{}", out.out);

    let (result, _) = accord(&server.endpoint, Some("accord_wrong_token"), &["whoami"]).await;
    assert!(
        result
            .unwrap_err()
            .starts_with("UNAUTHENTICATED: unknown API key\nhint: ")
    );

    let (result, _) = accord(&server.endpoint, None, &["whoami"]).await;
    let error = result.unwrap_err();
    assert!(error.starts_with("no API token:"), "{error}");
    assert!(error.contains("cargo xtask up"), "{error}");
}

#[tokio::test]
async fn project_creation_prints_the_token_once_with_a_warning() {
    let server = start().await;
    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["create", "project", "ml"]).await;
    assert_eq!(result, Ok(()));
    assert!(out.out.starts_with("project/ml created\n"), "{}", out.out);
    assert!(
        out.out
            .contains("\n    accord_ak-new_brandnewsecretbrandnewsecret0000\n"),
        "{}",
        out.out
    );
    assert!(out.err.contains("shown only once"), "{}", out.err);

    let (_, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["create", "project", "ml", "-o", "json"],
    )
    .await;
    let document: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(
        document["token"],
        "accord_ak-new_brandnewsecretbrandnewsecret0000"
    );
    assert_eq!(document["project"]["spec"]["gpu_quota"], 64);
}

#[tokio::test]
async fn unreachable_api_says_how_to_start_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let (result, _) = accord(&endpoint, Some(TOKEN), &["get", "clusters"]).await;
    assert_eq!(
        result,
        Err(format!(
            "cannot reach the Accord API at {endpoint}: is it running? (cargo xtask up)"
        ))
    );
}

#[test]
fn output_format_is_taken_from_the_global_option() {
    let cli = Cli::try_parse_with_sources(["accord", "get", "cl", "-o", "yaml"]).unwrap();
    assert_eq!(cli.global.output, OutputFormat::Yaml);
}

mod autoclusters_and_webhooks;
mod firewall;
mod get_and_apply;
