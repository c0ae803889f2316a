//! `accord create project|cluster|nodepool|member|apikey|firewall-rule|loadbalancer`, and
//! `volume|storageclass` (handled in [`super::volumes`] and [`super::storage_classes`]).
//!
//! Secrets (the token of a new project's admin key or of a new API key) are printed exactly once,
//! on stdout, with a warning on stderr that they cannot be shown again.
//!
//! Firewall rules and load balancers are created by the network-firewall service (its package's
//! endpoint in the profile, else `endpoint`). A load balancer is created `provisioning`;
//! `--wait` polls `ListLoadBalancers` until it is `active` with a public address.

use std::collections::HashMap;

use accord_proto::firewall::v1 as firewall_pb;
use accord_proto::provisioner::v1 as pb;
use anyhow::bail;
use futures::future::BoxFuture;
use serde_json::json;

use super::{Context, announce, announce_and_wait, id_or, name_or, poll_cluster, poll_pool};
use crate::cli::{
    CreateApiKeyArgs, CreateClusterArgs, CreateFirewallRuleArgs, CreateKind,
    CreateLoadBalancerArgs, CreateMemberArgs, CreateNodePoolArgs, CreateProjectArgs, OutputFormat,
    RoleArg,
};
use crate::client::{Api, ApiError};
use crate::output::firewall;
use crate::output::loadbalancers::{self, LoadBalancerView};
use crate::output::views::{ApiKeyView, ProjectView};
use crate::output::{short_id, structured};
use crate::wait::{self, Observation, Verdict};

/// Runs `accord create`.
pub async fn run(ctx: &Context, kind: CreateKind) -> anyhow::Result<()> {
    // The network-firewall service, at its own endpoint.
    if let CreateKind::FirewallRule(args) = &kind {
        return firewall_rule(ctx, args).await;
    }
    if let CreateKind::Loadbalancer(args) = &kind {
        return load_balancer(ctx, args).await;
    }
    // The storage-csi service, at its own endpoint.
    match &kind {
        CreateKind::Volume(args) => return super::volumes::create(ctx, args).await,
        CreateKind::Storageclass(args) => return super::storage_classes::create(ctx, args).await,
        _ => {}
    }
    let api = ctx.api().await?;
    match kind {
        CreateKind::Project(args) => project(ctx, &api, args).await,
        CreateKind::Cluster(args) => cluster(ctx, &api, *args).await,
        CreateKind::Nodepool(args) => node_pool(ctx, &api, *args).await,
        CreateKind::Member(args) => member(ctx, &api, args).await,
        CreateKind::Apikey(args) => api_key(ctx, &api, args).await,
        CreateKind::FirewallRule(args) => firewall_rule(ctx, &args).await,
        CreateKind::Loadbalancer(args) => load_balancer(ctx, &args).await,
        CreateKind::Volume(args) => super::volumes::create(ctx, &args).await,
        CreateKind::Storageclass(args) => super::storage_classes::create(ctx, &args).await,
    }
}

fn labels(pairs: &[(String, String)]) -> HashMap<String, String> {
    pairs.iter().cloned().collect()
}

/// The role on the wire.
pub fn role(role: RoleArg) -> pb::Role {
    match role {
        RoleArg::Admin => pb::Role::Admin,
        RoleArg::Editor => pb::Role::Editor,
        RoleArg::Reader => pb::Role::Reader,
    }
}

/// Prints a freshly minted token once: on stdout, with how to use it and a warning on stderr.
fn print_token(ctx: &Context, key: &pb::ApiKey, token: &str, context: &str) {
    let intro = format!(
        "API key {} ({}){context}:\n\n    {token}\n",
        key.name,
        short_id(&key.id)
    );
    if ctx.format == OutputFormat::Name {
        // stdout carries only names; the token must still be seen once.
        ctx.note(&intro);
    } else {
        ctx.out(&intro);
    }
    ctx.note(&format!(
        "Store this token now: it is shown only once and cannot be recovered.\n\
         Use it with:  export ACCORD_TOKEN={token}"
    ));
}

async fn project(ctx: &Context, api: &Api, args: CreateProjectArgs) -> anyhow::Result<()> {
    let response = api
        .call(api.projects().create_project(pb::CreateProjectRequest {
            name: args.name.clone(),
            labels: labels(&args.labels),
        }))
        .await?;
    let project = response.project.clone().unwrap_or_default();
    let key = response.key.clone().unwrap_or_default();
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let document = json!({
                "project": ProjectView::from(&project),
                "key": ApiKeyView::from(&key),
                "token": response.token,
            });
            ctx.out(&structured(ctx.format, &document)?);
            ctx.note("The token is shown only once and cannot be recovered: store it now.");
        }
        OutputFormat::Table | OutputFormat::Name => {
            announce(ctx, &project, "created")?;
            let context = format!(
                ", admin of project {}",
                name_or(project.metadata.as_ref(), &args.name)
            );
            print_token(ctx, &key, &response.token, &context);
        }
    }
    Ok(())
}

/// The request for `accord create cluster`, given the version and region to use.
pub fn cluster_request(
    args: &CreateClusterArgs,
    project: String,
    kubernetes_version: String,
    region: String,
) -> pb::CreateClusterRequest {
    let oidc = args
        .oidc_issuer_url
        .as_ref()
        .map(|issuer_url| pb::OidcConfig {
            issuer_url: issuer_url.clone(),
            client_id: args.oidc_client_id.clone().unwrap_or_default(),
            username_claim: args.oidc_username_claim.clone().unwrap_or_default(),
            groups_claim: args.oidc_groups_claim.clone().unwrap_or_default(),
            required_claims: labels(&args.oidc_required_claims),
        });
    pb::CreateClusterRequest {
        project,
        name: args.name.clone(),
        labels: labels(&args.labels),
        spec: Some(pb::ClusterSpec {
            kubernetes_version,
            region,
            network: Some(pb::ClusterNetwork {
                vpc_subnet: args.vpc_subnet.clone(),
                pod_cidr: args.pod_cidr.clone(),
                service_cidr: args.service_cidr.clone(),
                node_cidr_mask_size: args.node_cidr_mask_size,
            }),
            oidc,
            addons: args.addons.clone(),
            autoclusters: Some(pb::AutoClustersSettings {
                remediation_enabled: args.remediation,
                // 0 = the server's default.
                max_unhealthy_percent: args.max_unhealthy_percent.unwrap_or(0),
                max_in_flight_per_pool: args.max_in_flight_per_pool.unwrap_or(0),
                mode: args.remediation_mode.clone().unwrap_or_default(),
                maintenance_windows: args
                    .maintenance_windows
                    .iter()
                    .map(|w| pb::MaintenanceWindow {
                        days: w.days.iter().map(|d| d.as_str().to_owned()).collect(),
                        start: format!("{:02}:{:02}", w.start_minute / 60, w.start_minute % 60),
                        duration_minutes: u32::from(w.duration_minutes),
                        text: String::new(),
                    })
                    .collect(),
                maintenance_exclusions: args
                    .maintenance_exclusions
                    .iter()
                    .map(|e| pb::MaintenanceExclusion {
                        start: Some(accord_proto::convert::provisioner::ts(e.start)),
                        end: Some(accord_proto::convert::provisioner::ts(e.end)),
                        reason: e.reason.clone(),
                    })
                    .collect(),
                policy: args.remediation_policy.clone().unwrap_or_default(),
            }),
            cni: Some(pb::CniSettings {
                tunnel: args.cni_tunnel.clone().unwrap_or_default(),
                wireguard: args.wireguard,
                hubble: args.hubble,
            }),
        }),
    }
}

/// The version to use: the flag, else the API's default (else its newest).
pub fn pick_version(
    flag: Option<&str>,
    offered: &pb::ListKubernetesVersionsResponse,
) -> anyhow::Result<String> {
    if let Some(version) = flag {
        return Ok(version.to_owned());
    }
    if !offered.default_version.is_empty() {
        return Ok(offered.default_version.clone());
    }
    match offered.versions.last() {
        Some(version) => Ok(version.clone()),
        None => bail!("the API offers no Kubernetes versions; pass --kubernetes-version"),
    }
}

/// The region to use: the flag, else the first the API offers.
pub fn pick_region(flag: Option<&str>, offered: &[pb::Region]) -> anyhow::Result<String> {
    if let Some(region) = flag {
        return Ok(region.to_owned());
    }
    match offered.first() {
        Some(region) => Ok(region.name.clone()),
        None => bail!("the API offers no regions; pass --region"),
    }
}

async fn cluster(ctx: &Context, api: &Api, args: CreateClusterArgs) -> anyhow::Result<()> {
    let version = match &args.kubernetes_version {
        Some(version) => version.clone(),
        None => {
            let offered = api
                .call(
                    api.clusters()
                        .list_kubernetes_versions(pb::ListKubernetesVersionsRequest {}),
                )
                .await?;
            let version = pick_version(None, &offered)?;
            ctx.note(&format!(
                "using Kubernetes {version} (the default; --kubernetes-version to choose)"
            ));
            version
        }
    };
    let region = match &args.region {
        Some(region) => region.clone(),
        None => {
            let offered = api
                .call(api.clusters().list_regions(pb::ListRegionsRequest {}))
                .await?;
            let region = pick_region(None, &offered.regions)?;
            ctx.note(&format!("using region {region} (--region to choose)"));
            region
        }
    };
    let request = cluster_request(&args, api.project(), version, region);
    let created = api.call(api.clusters().create_cluster(request)).await?;
    let id = id_or(created.metadata.as_ref(), &args.name);
    let name = name_or(created.metadata.as_ref(), &args.name);
    announce_and_wait(
        ctx,
        created,
        "created",
        args.wait,
        &format!("cluster {name} to become ready"),
        poll_cluster(api, &id),
        wait::cluster_ready(&name),
    )
    .await?;
    if ctx.format == OutputFormat::Table {
        ctx.note(&format!(
            "next: accord create nodepool NAME --cluster {name} --instance-type TYPE \
             (see `accord catalog instance-types`); accord kubeconfig {name}"
        ));
    }
    Ok(())
}

/// The request for `accord create nodepool`.
pub fn node_pool_request(args: &CreateNodePoolArgs, project: String) -> pb::CreateNodePoolRequest {
    let autoscaling = match (args.min, args.max) {
        (Some(min_count), Some(max_count)) => Some(pb::Autoscaling {
            enabled: true,
            min_count,
            max_count,
        }),
        _ => None,
    };
    let mut spec = pb::NodePoolSpec {
        // The server fills it from `cluster`.
        cluster_id: String::new(),
        instance_type: args.instance_type.clone(),
        count: args.count,
        autoscaling,
        node_labels: labels(&args.node_labels),
        taints: args.taints.clone(),
        image_version: args.image_version.clone().unwrap_or_default(),
        rolling_update: Some(pb::RollingUpdate {
            max_surge: args.max_surge,
            max_unavailable: args.max_unavailable,
        }),
        remediation_enabled: args.remediation,
        ..Default::default()
    };
    super::rollout::apply_image_args(&mut spec, &args.image);
    pb::CreateNodePoolRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        labels: labels(&args.labels),
        spec: Some(spec),
    }
}

async fn node_pool(ctx: &Context, api: &Api, args: CreateNodePoolArgs) -> anyhow::Result<()> {
    let request = node_pool_request(&args, api.project());
    let created = api.call(api.node_pools().create_node_pool(request)).await?;
    let id = id_or(created.metadata.as_ref(), &args.name);
    let name = name_or(created.metadata.as_ref(), &args.name);
    let cluster = created
        .spec
        .as_ref()
        .map(|s| s.cluster_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| args.cluster.clone());
    announce_and_wait(
        ctx,
        created,
        "created",
        args.wait,
        &format!("nodepool {name} to become ready"),
        poll_pool(api, &cluster, &id),
        wait::pool_ready(&name, None),
    )
    .await
}

async fn member(ctx: &Context, api: &Api, args: CreateMemberArgs) -> anyhow::Result<()> {
    let member = api
        .call(api.projects().add_member(pb::AddMemberRequest {
            project: api.project(),
            user: args.user.clone(),
            role: role(args.role).into(),
        }))
        .await?;
    let verb = format!("added as {}", crate::output::views::role_name(member.role));
    announce(ctx, &member, &verb)
}

async fn api_key(ctx: &Context, api: &Api, args: CreateApiKeyArgs) -> anyhow::Result<()> {
    let response = api
        .call(api.projects().create_api_key(pb::CreateApiKeyRequest {
            project: api.project(),
            name: args.name.clone(),
            user: args.user.clone().unwrap_or_default(),
        }))
        .await?;
    let key = response.key.clone().unwrap_or_default();
    match ctx.format {
        OutputFormat::Json | OutputFormat::Yaml => {
            let document = json!({ "key": ApiKeyView::from(&key), "token": response.token });
            ctx.out(&structured(ctx.format, &document)?);
            ctx.note("The token is shown only once and cannot be recovered: store it now.");
        }
        OutputFormat::Table | OutputFormat::Name => {
            announce(ctx, &key, "created")?;
            let context = if key.user.is_empty() {
                String::new()
            } else {
                format!(", authenticates as {}", key.user)
            };
            print_token(ctx, &key, &response.token, &context);
        }
    }
    Ok(())
}

/// The `CreateFirewallRule` request of `accord create firewall-rule`: the arguments as typed
/// (the server validates them and names the field it refuses).
pub fn firewall_rule_request(
    project: String,
    args: &CreateFirewallRuleArgs,
) -> firewall_pb::CreateFirewallRuleRequest {
    firewall_pb::CreateFirewallRuleRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        priority: args.priority,
        direction: args.direction.as_str().to_owned(),
        action: args.action.as_str().to_owned(),
        protocol: args.protocol.as_str().to_owned(),
        ports: args.ports.clone(),
        sources: args.sources.clone(),
        destinations: args.destinations.clone(),
        targets: args.target.clone().unwrap_or_default(),
    }
}

/// `accord create firewall-rule`: the created rule on stdout, each warning on stderr
/// (`warning: …`, in every format, as kubectl prints them); `-o json|yaml` also carries the
/// warnings in the document.
async fn firewall_rule(ctx: &Context, args: &CreateFirewallRuleArgs) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    let response = api
        .call(
            api.firewall()
                .create_firewall_rule(firewall_rule_request(api.project(), args)),
        )
        .await
        .map_err(|e| super::firewall_error(api.endpoint(), e))?;
    let rule = response.rule.clone().unwrap_or_default();
    match ctx.format {
        OutputFormat::Table => ctx.out(&firewall::created_table(&rule)),
        OutputFormat::Name => ctx.out(&format!("firewallrule/{}", rule.name)),
        OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
            ctx.format,
            &firewall::CreatedFirewallRuleView::from_pb(&response),
        )?),
    }
    for line in firewall::warning_lines(&response.warnings) {
        ctx.note(&line);
    }
    Ok(())
}

/// The `CreateLoadBalancer` request of `accord create loadbalancer`: the ports as parsed, the
/// rest as typed (the server checks the ranges and names the field it refuses). Without a
/// health-check flag the request carries no health check (the server's defaults); a flag left
/// out is 0, its default.
pub fn load_balancer_request(
    project: String,
    args: &CreateLoadBalancerArgs,
) -> firewall_pb::CreateLoadBalancerRequest {
    let any_health_flag = args.health_interval.is_some()
        || args.health_timeout.is_some()
        || args.healthy_threshold.is_some();
    let health_check = any_health_flag.then(|| firewall_pb::HealthCheck {
        interval_seconds: args.health_interval.unwrap_or(0),
        timeout_seconds: args.health_timeout.unwrap_or(0),
        healthy_threshold: args.healthy_threshold.unwrap_or(0),
    });
    firewall_pb::CreateLoadBalancerRequest {
        project,
        cluster: args.cluster.clone(),
        name: args.name.clone(),
        ports: args.ports.clone(),
        source_ranges: args.source_ranges.clone(),
        health_check,
    }
}

/// A poller for [`wait::until`]: the load balancer `name` of `cluster`, from
/// `ListLoadBalancers` (`NOT_FOUND` when it is not listed).
pub fn poll_load_balancer(
    api: &Api,
    cluster: &str,
    name: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<firewall_pb::LoadBalancer, ApiError>> + use<> {
    let api = api.clone();
    let cluster = cluster.to_owned();
    let name = name.to_owned();
    move || {
        let api = api.clone();
        let request = firewall_pb::ListLoadBalancersRequest {
            project: api.project(),
            cluster: cluster.clone(),
        };
        let name = name.clone();
        Box::pin(async move {
            api.call(api.firewall().list_load_balancers(request))
                .await?
                .load_balancers
                .into_iter()
                .find(|lb| lb.name == name)
                .ok_or_else(|| ApiError::not_found(format!("load balancer {name} not found")))
        })
    }
}

/// `--wait` of `accord create loadbalancer`: until the state is `active` and the address is
/// allocated. A load balancer that vanishes or is being deleted ends the wait.
pub fn load_balancer_active(
    name: &str,
) -> impl FnMut(Option<&firewall_pb::LoadBalancer>) -> Verdict + use<> {
    let name = name.to_owned();
    move |lb| {
        let Some(lb) = lb else {
            return Verdict::Failed(format!("load balancer {name} no longer exists"));
        };
        if lb.state == loadbalancers::ACTIVE && !lb.address.is_empty() {
            return Verdict::Done(format!(
                "{}/{name} is active at {} ({} backends)",
                loadbalancers::KIND,
                lb.address,
                loadbalancers::backends_cell(lb)
            ));
        }
        if lb.state == "deleting" {
            return Verdict::Failed(format!("load balancer {name} is being deleted"));
        }
        let state = if lb.state.is_empty() {
            "pending"
        } else {
            &lb.state
        };
        let address = if lb.address.is_empty() {
            "no address yet".to_owned()
        } else {
            format!("address {}", lb.address)
        };
        let (healthy, total) = loadbalancers::healthy_backends(lb);
        let mut summary = format!("{state}, {address}, {healthy}/{total} backends healthy");
        if !lb.message.is_empty() {
            summary.push_str(&format!("; last error: {}", lb.message));
        }
        Verdict::Pending(Observation {
            summary,
            progress: None,
        })
    }
}

/// `accord create loadbalancer`. Without `--wait`: the load balancer as created (table:
/// `loadbalancer/NAME created` and its row). With `--wait`: `loadbalancer/NAME created` (table
/// and name forms), progress on stderr, then the judge's line and the row of the active load
/// balancer; JSON / YAML print only the final state, so the output stays one document.
async fn load_balancer(ctx: &Context, args: &CreateLoadBalancerArgs) -> anyhow::Result<()> {
    let api = ctx.firewall_api().await?;
    let created = api
        .call(
            api.firewall()
                .create_load_balancer(load_balancer_request(api.project(), args)),
        )
        .await
        .map_err(|e| super::firewall_error(api.endpoint(), e))?;
    let name = if created.name.is_empty() {
        args.name.clone()
    } else {
        created.name.clone()
    };
    let kind = loadbalancers::KIND;
    if !args.wait.wait {
        match ctx.format {
            OutputFormat::Table => ctx.out(&loadbalancers::created_table(&created, ctx.now())),
            OutputFormat::Name => ctx.out(&format!("{kind}/{name}")),
            OutputFormat::Json | OutputFormat::Yaml => ctx.out(&structured(
                ctx.format,
                &LoadBalancerView::from_pb(&created),
            )?),
        }
        return Ok(());
    }
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{kind}/{name} created")),
        OutputFormat::Name => ctx.out(&format!("{kind}/{name}")),
        OutputFormat::Json | OutputFormat::Yaml => {}
    }
    let waited = wait::until(
        &ctx.printer,
        &format!("{kind} {name} to become active"),
        args.wait.timeout,
        poll_load_balancer(&api, &args.cluster, &name),
        load_balancer_active(&name),
    )
    .await?;
    let last = waited.last.unwrap_or(created);
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!(
            "{}\n{}",
            waited.message,
            loadbalancers::list_table(std::slice::from_ref(&last), ctx.now())
        )),
        OutputFormat::Json | OutputFormat::Yaml => {
            ctx.out(&structured(ctx.format, &LoadBalancerView::from_pb(&last))?)
        }
        OutputFormat::Name => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn parse_create(args: &[&str]) -> CreateKind {
        let mut argv = vec!["accord", "create"];
        argv.extend_from_slice(args);
        match Cli::try_parse_with_sources(argv).unwrap().command {
            Command::Create(kind) => kind,
            other => panic!("not create: {other:?}"),
        }
    }

    #[test]
    fn minimal_cluster_request_uses_the_usual_private_ranges() {
        let CreateKind::Cluster(args) = parse_create(&["cluster", "demo"]) else {
            panic!("not a cluster")
        };
        let request = cluster_request(&args, String::new(), "1.32".into(), "eu-iceland1".into());
        let spec = request.spec.unwrap();
        assert_eq!(request.name, "demo");
        assert_eq!(spec.kubernetes_version, "1.32");
        assert_eq!(spec.region, "eu-iceland1");
        let network = spec.network.unwrap();
        assert_eq!(
            (
                network.vpc_subnet.as_str(),
                network.pod_cidr.as_str(),
                network.service_cidr.as_str(),
                network.node_cidr_mask_size
            ),
            ("10.0.0.0/16", "10.244.0.0/16", "10.96.0.0/12", 24)
        );
        assert!(spec.oidc.is_none());
        assert!(!spec.autoclusters.unwrap().remediation_enabled);
    }

    #[test]
    fn full_cluster_request() {
        let CreateKind::Cluster(args) = parse_create(&[
            "cluster",
            "train",
            "--kubernetes-version",
            "1.31",
            "--region",
            "us-east1",
            "--vpc-subnet",
            "10.1.0.0/16",
            "--addon",
            "cilium",
            "--addon",
            "nvidia-gpu-operator",
            "--label",
            "team=ml",
            "--oidc-issuer-url",
            "https://login.example",
            "--oidc-client-id",
            "kube",
            "--oidc-groups-claim",
            "groups",
            "--oidc-required-claim",
            "hd=example.com",
            "--remediation",
            "--max-unhealthy-percent",
            "30",
            "--maintenance-window",
            "sat,sun 02:00+4h",
            "--maintenance-window",
            "mon-fri 22:30+90m",
            "--maintenance-exclusion",
            "2026-12-20T00:00:00Z/2027-01-04T00:00:00Z",
            "--remediation-policy",
            "strict-gpu",
        ]) else {
            panic!("not a cluster")
        };
        let request = cluster_request(&args, "ml".into(), "1.31".into(), "us-east1".into());
        assert_eq!(request.project, "ml");
        assert_eq!(request.labels.get("team").map(String::as_str), Some("ml"));
        let spec = request.spec.unwrap();
        assert_eq!(spec.addons, ["cilium", "nvidia-gpu-operator"]);
        assert_eq!(spec.network.unwrap().vpc_subnet, "10.1.0.0/16");
        let oidc = spec.oidc.unwrap();
        assert_eq!(oidc.issuer_url, "https://login.example");
        assert_eq!(oidc.client_id, "kube");
        assert_eq!(oidc.groups_claim, "groups");
        assert_eq!(oidc.username_claim, "");
        assert_eq!(
            oidc.required_claims.get("hd").map(String::as_str),
            Some("example.com")
        );
        let auto = spec.autoclusters.unwrap();
        assert!(auto.remediation_enabled);
        assert_eq!(auto.max_unhealthy_percent, 30);
        assert_eq!(auto.max_in_flight_per_pool, 0);
        assert_eq!(auto.policy, "strict-gpu");
        let windows: Vec<_> = auto
            .maintenance_windows
            .iter()
            .map(|w| (w.days.join(","), w.start.as_str(), w.duration_minutes))
            .collect();
        assert_eq!(
            windows,
            [
                ("sat,sun".to_owned(), "02:00", 240),
                ("mon,tue,wed,thu,fri".to_owned(), "22:30", 90)
            ]
        );
        let exclusion = &auto.maintenance_exclusions[0];
        assert_eq!(
            exclusion.start.as_ref().map(|t| t.seconds),
            Some(1_797_724_800)
        );
        assert_eq!(
            exclusion.end.as_ref().map(|t| t.seconds),
            Some(1_799_020_800)
        );
        // A window that does not parse is refused by the CLI, before any request.
        assert!(
            Cli::try_parse_with_sources(vec![
                "accord",
                "create",
                "cluster",
                "x",
                "--maintenance-window",
                "someday 02:00+4h"
            ])
            .is_err()
        );
    }

    #[test]
    fn node_pool_request_from_flags() {
        let CreateKind::Nodepool(args) = parse_create(&[
            "nodepool",
            "gpu",
            "--cluster",
            "demo",
            "--instance-type",
            "h100-80gb-sxm-ib.8x",
            "--count",
            "2",
            "--min",
            "1",
            "--max",
            "4",
            "--node-label",
            "accord.dev/gpu=h100",
            "--taint",
            "nvidia.com/gpu=present:NoSchedule",
            "--max-surge",
            "2",
            "--max-unavailable",
            "1",
            "--image-version",
            "2026.10",
        ]) else {
            panic!("not a node pool")
        };
        let request = node_pool_request(&args, String::new());
        assert_eq!(request.cluster, "demo");
        assert_eq!(request.name, "gpu");
        let spec = request.spec.unwrap();
        assert_eq!(spec.instance_type, "h100-80gb-sxm-ib.8x");
        assert_eq!(spec.count, 2);
        let autoscaling = spec.autoscaling.unwrap();
        assert!(autoscaling.enabled);
        assert_eq!((autoscaling.min_count, autoscaling.max_count), (1, 4));
        assert_eq!(
            spec.node_labels.get("accord.dev/gpu").map(String::as_str),
            Some("h100")
        );
        assert_eq!(spec.taints.len(), 1);
        assert_eq!(spec.taints[0].effect, "NoSchedule");
        assert_eq!(spec.image_version, "2026.10");
        let rolling = spec.rolling_update.unwrap();
        assert_eq!((rolling.max_surge, rolling.max_unavailable), (2, 1));
    }

    #[test]
    fn node_pool_defaults() {
        let CreateKind::Nodepool(args) =
            parse_create(&["np", "cpu", "-c", "demo", "--instance-type", "cpu.16x"])
        else {
            panic!("not a node pool")
        };
        let spec = node_pool_request(&args, String::new()).spec.unwrap();
        assert_eq!(spec.count, 1);
        assert!(spec.autoscaling.is_none());
        assert_eq!(spec.image_version, "");
        let rolling = spec.rolling_update.unwrap();
        assert_eq!((rolling.max_surge, rolling.max_unavailable), (1, 0));
    }

    #[test]
    fn defaults_from_the_catalogue() {
        let offered = pb::ListKubernetesVersionsResponse {
            versions: vec!["1.31".into(), "1.32".into(), "1.33".into()],
            default_version: "1.32".into(),
        };
        assert_eq!(pick_version(None, &offered).unwrap(), "1.32");
        assert_eq!(pick_version(Some("1.31"), &offered).unwrap(), "1.31");
        let no_default = pb::ListKubernetesVersionsResponse {
            default_version: String::new(),
            ..offered
        };
        assert_eq!(pick_version(None, &no_default).unwrap(), "1.33");
        assert!(pick_version(None, &pb::ListKubernetesVersionsResponse::default()).is_err());

        let regions = vec![
            pb::Region {
                name: "eu-iceland1".into(),
                failure_domains: vec![],
            },
            pb::Region {
                name: "us-east1".into(),
                failure_domains: vec![],
            },
        ];
        assert_eq!(pick_region(None, &regions).unwrap(), "eu-iceland1");
        assert_eq!(pick_region(Some("us-east1"), &regions).unwrap(), "us-east1");
        let err = pick_region(None, &[]).unwrap_err().to_string();
        assert!(err.contains("--region"), "{err}");
    }

    #[test]
    fn roles_on_the_wire() {
        assert_eq!(role(RoleArg::Admin), pb::Role::Admin);
        assert_eq!(role(RoleArg::Editor), pb::Role::Editor);
        assert_eq!(role(RoleArg::Reader), pb::Role::Reader);
    }
}
