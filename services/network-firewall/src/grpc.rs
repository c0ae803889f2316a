//! network-firewall's gRPC edge (`accord.firewall.v1.Firewall`): bounds every request
//! ([`crate::bounds`]) before any work, resolves the project and cluster with the kit's one
//! scoping rule (another project's cluster is `NOT_FOUND`, word for word like a missing one),
//! checks the caller's role there, runs the service and renders the result. Nothing here
//! decides a rule.

use std::sync::Arc;

use accord_core::{DomainError, iam::Principal};
use accord_firewall::{CustomerRule, ProviderRule, RuleSpec, Selector, Warning, WarningKind};
use accord_proto::{
    convert::{provisioner::ts, status_from},
    firewall::v1::{self as pb, firewall_server::Firewall},
};
use accord_runtime::grpc::caller;
use tonic::{Request, Response, Status};

use crate::{
    bounds,
    handlers::lbs::LbRequest,
    service::FirewallService,
    trees::{FirewallState, StoredLoadBalancer, StoredRule},
    view::ClusterView,
};

/// The gRPC service.
#[derive(Clone)]
pub struct Api {
    s: Arc<FirewallService>,
}

impl Api {
    pub fn new(s: Arc<FirewallService>) -> Self {
        Self { s }
    }

    /// The cluster a request names, checked against the caller's role in its project.
    fn cluster(
        &self,
        principal: &Principal,
        rule: &accord_core::responsibility::RpcRule,
        project: &str,
        cluster: &str,
    ) -> Result<ClusterView, DomainError> {
        self.s
            .reader()
            .authorized_cluster(principal, rule, project, cluster)
    }
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

/// The peers of a selector as sources (ingress) or destinations (egress).
fn peers(s: &Selector) -> (Vec<String>, Vec<String>) {
    let peers: Vec<String> = s.peers.iter().map(ToString::to_string).collect();
    match s.direction {
        accord_firewall::Direction::Ingress => (peers, Vec::new()),
        accord_firewall::Direction::Egress => (Vec::new(), peers),
    }
}

fn required_rule(r: &ProviderRule) -> pb::FirewallRule {
    let (sources, destinations) = peers(&r.selector);
    pb::FirewallRule {
        name: r.name.clone(),
        tier: "provider".into(),
        priority: 0,
        direction: r.selector.direction.as_str().into(),
        action: "allow".into(),
        protocol: r.selector.protocol.as_str().into(),
        ports: r.selector.ports.iter().map(ToString::to_string).collect(),
        sources,
        destinations,
        targets: r.selector.target.to_string(),
        flow: r.flow.as_str().into(),
        flow_description: r.flow.description().into(),
        created_at: None,
        created_by: String::new(),
    }
}

fn customer_rule(r: &CustomerRule, stored: &StoredRule) -> pb::FirewallRule {
    let (sources, destinations) = peers(&r.selector);
    pb::FirewallRule {
        name: r.name.clone(),
        tier: "customer".into(),
        priority: u32::from(r.priority),
        direction: r.selector.direction.as_str().into(),
        action: r.action.as_str().into(),
        protocol: r.selector.protocol.as_str().into(),
        ports: r.selector.ports.iter().map(ToString::to_string).collect(),
        sources,
        destinations,
        targets: r.selector.target.to_string(),
        flow: String::new(),
        flow_description: String::new(),
        created_at: Some(ts(stored.created_at)),
        created_by: stored.created_by.clone(),
    }
}

fn status(s: &FirewallState) -> pb::FirewallStatus {
    pb::FirewallStatus {
        revision: s.revision,
        applied_revision: s.applied_revision,
        state: s.state.as_str().into(),
        message: s.message.clone(),
        attempts: s.attempts,
        last_applied_at: s.last_applied_at.map(ts),
        drift_repairs: s.drift_repairs,
    }
}

fn warning(w: &Warning) -> pb::Warning {
    let kind = match w.kind {
        WarningKind::ProviderOverride { .. } => "provider-override",
        WarningKind::ShadowedBy { .. } => "shadowed-by",
        WarningKind::Shadows { .. } => "shadows",
        WarningKind::UnknownPool { .. } => "unknown-pool",
    };
    pb::Warning {
        kind: kind.into(),
        message: w.message.clone(),
    }
}

fn load_balancer(lb: &StoredLoadBalancer, view: &ClusterView) -> pb::LoadBalancer {
    let node_of = |address: &std::net::Ipv4Addr| {
        let address = address.to_string();
        view.pools
            .values()
            .flat_map(|p| p.nodes.iter())
            .find(|(_, ip)| **ip == address)
            .map(|(node, _)| node.clone())
            .unwrap_or_default()
    };
    pb::LoadBalancer {
        name: lb.name.clone(),
        cluster: lb.cluster.to_string(),
        state: lb.state.as_str().into(),
        address: lb.address.map(|a| a.to_string()).unwrap_or_default(),
        ports: lb
            .ports
            .iter()
            .map(|p| pb::LoadBalancerPort {
                port: u32::from(p.port),
                protocol: match p.protocol {
                    accord_firewall::driver::LbProtocol::Tcp => "tcp".into(),
                    accord_firewall::driver::LbProtocol::Udp => "udp".into(),
                },
                node_port: u32::from(p.node_port),
            })
            .collect(),
        source_ranges: lb.source_ranges.clone(),
        health_check: Some(pb::HealthCheck {
            interval_seconds: lb.health.interval_s,
            timeout_seconds: lb.health.timeout_s,
            healthy_threshold: lb.health.healthy_threshold,
        }),
        backends: lb
            .backends
            .iter()
            .map(|b| pb::Backend {
                address: b.address.to_string(),
                node: node_of(&b.address),
                healthy: b.healthy,
            })
            .collect(),
        firewall_rule: format!("accord-lb-{}", lb.name),
        created_at: Some(ts(lb.created_at)),
        message: lb.message.clone(),
    }
}

#[tonic::async_trait]
impl Firewall for Api {
    async fn create_load_balancer(
        &self,
        req: Request<pb::CreateLoadBalancerRequest>,
    ) -> Result<Response<pb::LoadBalancer>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::create_lb(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        let health = r.health_check.unwrap_or_default();
        let lb = self
            .s
            .create_load_balancer(
                &caller.principal,
                &view,
                LbRequest {
                    name: r.name,
                    ports: r
                        .ports
                        .into_iter()
                        .map(|p| (p.port, p.protocol, p.node_port))
                        .collect(),
                    source_ranges: r.source_ranges,
                    health: (
                        health.interval_seconds,
                        health.timeout_seconds,
                        health.healthy_threshold,
                    ),
                },
            )
            .await
            .map_err(st)?;
        Ok(Response::new(load_balancer(&lb, &view)))
    }

    async fn list_load_balancers(
        &self,
        req: Request<pb::ListLoadBalancersRequest>,
    ) -> Result<Response<pb::ListLoadBalancersResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list_lbs(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        let lbs = self.s.load_balancers(&view).map_err(st)?;
        Ok(Response::new(pb::ListLoadBalancersResponse {
            load_balancers: lbs.iter().map(|lb| load_balancer(lb, &view)).collect(),
        }))
    }

    async fn delete_load_balancer(
        &self,
        req: Request<pb::DeleteLoadBalancerRequest>,
    ) -> Result<Response<pb::DeleteLoadBalancerResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::delete_lb(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        self.s
            .delete_load_balancer(&view, r.name.trim())
            .await
            .map_err(st)?;
        Ok(Response::new(pb::DeleteLoadBalancerResponse {}))
    }

    async fn list_firewall_rules(
        &self,
        req: Request<pb::ListFirewallRulesRequest>,
    ) -> Result<Response<pb::ListFirewallRulesResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::list(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        let listing = self.s.list(&view).map_err(st)?;
        let rules = listing
            .required
            .iter()
            .map(required_rule)
            .chain(listing.customer.iter().map(|(r, s)| customer_rule(r, s)))
            .collect();
        Ok(Response::new(pb::ListFirewallRulesResponse {
            rules,
            status: Some(status(&listing.state)),
        }))
    }

    async fn create_firewall_rule(
        &self,
        req: Request<pb::CreateFirewallRuleRequest>,
    ) -> Result<Response<pb::CreateFirewallRuleResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::create(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        let spec = RuleSpec {
            name: r.name,
            priority: r.priority,
            direction: r.direction,
            action: r.action,
            protocol: r.protocol,
            ports: r.ports,
            sources: r.sources,
            destinations: r.destinations,
            targets: r.targets,
        };
        let (rule, stored, warnings) = self
            .s
            .create_rule(&caller.principal, &view, spec)
            .await
            .map_err(st)?;
        Ok(Response::new(pb::CreateFirewallRuleResponse {
            rule: Some(customer_rule(&rule, &stored)),
            warnings: warnings.iter().map(warning).collect(),
        }))
    }

    async fn delete_firewall_rule(
        &self,
        req: Request<pb::DeleteFirewallRuleRequest>,
    ) -> Result<Response<pb::DeleteFirewallRuleResponse>, Status> {
        let caller = caller(&req)?.clone();
        let r = req.into_inner();
        bounds::delete(&r).map_err(st)?;
        let view = self
            .cluster(&caller.principal, &caller.rule, &r.project, &r.cluster)
            .map_err(st)?;
        self.s.delete_rule(&view, r.name.trim()).await.map_err(st)?;
        Ok(Response::new(pb::DeleteFirewallRuleResponse {}))
    }
}
