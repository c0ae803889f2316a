//! network-firewall's gRPC edge (`accord.firewall.v1.Firewall`): bounds every request
//! ([`crate::bounds`]) before any work, resolves the project and cluster with the kit's one
//! scoping rule (another project's cluster is `NOT_FOUND`, word for word like a missing one),
//! checks the caller's role there, runs the service and renders the result. Nothing here
//! decides a rule.

use std::sync::Arc;

use accord_core::{DomainError, error::echo, iam::Principal, ids::ProjectId};
use accord_firewall::{CustomerRule, ProviderRule, RuleSpec, Selector, Warning, WarningKind};
use accord_proto::{
    convert::{provisioner::ts, status_from},
    firewall::v1::{self as pb, firewall_server::Firewall},
};
use accord_runtime::{grpc::caller, scope};
use tonic::{Request, Response, Status};

use crate::{
    bounds,
    service::FirewallService,
    trees::{FirewallState, StoredRule},
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
        let reader = self.s.reader();
        let named: Option<ProjectId> = scope::project_filter(reader, principal, project)?;
        let entry = scope::cluster(reader, principal, named, cluster)?;
        rule.authorize_in_project(principal, entry.project)?;
        reader
            .cluster(entry.id)?
            .map(|v| v.value)
            .ok_or_else(|| DomainError::not_found("cluster", echo(cluster.trim())))
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

#[tonic::async_trait]
impl Firewall for Api {
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
