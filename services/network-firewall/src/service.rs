//! The firewall engine of the service: runs handlers and commits what they decided with their
//! `firewall.*` events (transactional outbox) under one write lock, and the reconciler that
//! keeps the cloud's VPC firewall in step with every cluster's rule set.
//!
//! The reconciler runs every interval and whenever a commit changes a rule set. For each
//! cluster it reads the stored state, asks the VPC firewall what it holds — outside the write
//! lock: the driver may be slow — and then, under the lock, records the outcome
//! ([`crate::handlers::apply`]): the current revision applied; drift put back (the VPC
//! firewall held the current revision's number with other content: a rule went missing behind
//! the service's back); an attempt failed (retried with backoff, visible in the state); a
//! deleted cluster's rule set removed.
//!
//! Invariants: the VPC firewall is written only by the reconciler, one cluster at a time;
//! nothing is applied when the VPC firewall already holds the desired rule set (a restart
//! reapplies nothing); a rule-set state is written with the version it was read at, so a
//! request committed meanwhile is never overwritten.

use std::{
    collections::HashSet,
    net::Ipv4Addr,
    sync::{Arc, Mutex},
    time::Duration,
};

use accord_core::{
    DomainError, cluster::ClusterEvent, firewall::FirewallEvent, iam::Principal, ids::ClusterId,
    node::NodeEvent, nodepool::NodePoolEvent,
};
use accord_firewall::{
    CustomerRule, ProviderRule, RuleSpec, Warning,
    driver::{LoadBalancerState, NetworkDriver, VpcFirewall, VpcLoadBalancer},
};
use accord_runtime::{
    Engine,
    consume::{EventMeta, EventSink},
    metrics::{Labels, Metrics},
};
use accord_store::{Store, Versioned};
use prometheus_client::metrics::{counter::Counter, family::Family};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{
    handlers::{
        Ctx, apply,
        cluster_view::{self, Stored},
        desired::desired,
        lbs::{self, LbRequest},
        rules,
    },
    trees::{FirewallState, Firewalls as _, LbState, Reader, StoredLoadBalancer, StoredRule},
    view::ClusterView,
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "network-firewall";

/// A platform event network-firewall acts on.
#[derive(Debug, Clone)]
pub enum Input {
    Cluster(ClusterEvent),
    Pool(NodePoolEvent),
    Node(NodeEvent),
}

/// The service's counters.
struct Counters {
    /// Reconciler outcomes per cluster pass: applied, unchanged, drift-repaired, failed,
    /// removed.
    reconciles: Family<Labels<1>, Counter>,
}

/// A cluster's firewall as the API shows it.
pub struct Listing {
    pub required: Vec<ProviderRule>,
    pub customer: Vec<(CustomerRule, StoredRule)>,
    pub state: FirewallState,
}

/// The engine.
pub struct FirewallService {
    reader: Reader,
    engine: Arc<Engine<FirewallEvent>>,
    driver: Arc<dyn NetworkDriver>,
    /// Woken when a commit changed a rule set.
    kick: Arc<Notify>,
    counters: Counters,
    /// Load balancers with a cloud operation under way (`<cluster>/<name>`): the reconciler
    /// starts one at a time per load balancer, off its own loop (they take minutes).
    lb_ops: Mutex<HashSet<String>>,
}

impl FirewallService {
    pub fn new(store: Store, driver: Arc<dyn NetworkDriver>, metrics: &Metrics) -> Arc<Self> {
        let kick = Arc::new(Notify::new());
        let woken = Arc::clone(&kick);
        let engine = Engine::new(SERVICE, store.clone(), metrics)
            .with_observer(move |_: &[FirewallEvent]| woken.notify_one());
        Arc::new(Self {
            reader: crate::trees::reader(store),
            engine: Arc::new(engine),
            driver,
            kick,
            lb_ops: Mutex::new(HashSet::new()),
            counters: Counters {
                reconciles: metrics.registered(
                    "accord_network_firewall_reconciles",
                    "Reconciler passes over a cluster's rule set, by outcome",
                ),
            },
        })
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    pub fn engine(&self) -> &Arc<Engine<FirewallEvent>> {
        &self.engine
    }

    fn stored(&self, cluster: ClusterId) -> Result<StoredPair, DomainError> {
        Ok((
            self.reader.cluster(cluster)?,
            self.reader.firewall(cluster)?,
        ))
    }

    /// Applies a platform event to the read model and the rule sets.
    pub async fn on_input(&self, input: Input) -> Result<(), DomainError> {
        let cluster = match &input {
            Input::Cluster(ev) => match ev {
                ClusterEvent::Created { cluster } => cluster.metadata.id,
                ClusterEvent::Deleted { cluster, .. } => *cluster,
                _ => return Ok(()),
            },
            Input::Pool(ev) => match ev {
                NodePoolEvent::Created { pool, .. } => pool.spec.cluster,
                NodePoolEvent::Deleted { cluster, .. } => *cluster,
                _ => return Ok(()),
            },
            Input::Node(ev) => match ev {
                NodeEvent::Ready { cluster, .. } | NodeEvent::Terminated { cluster, .. } => {
                    *cluster
                }
                _ => return Ok(()),
            },
        };
        let mut w = self.engine.lock().await;
        let (view, state) = self.stored(cluster)?;
        let stored = Stored {
            view: view.as_ref(),
            state: state.as_ref(),
        };
        let change = match &input {
            Input::Cluster(ev) => cluster_view::on_cluster(&stored, ev)?,
            Input::Pool(ev) => cluster_view::on_pool(&stored, ev)?,
            Input::Node(ev) => cluster_view::on_node(&stored, ev)?,
        };
        if let Some(ch) = change {
            w.commit(ch).await?;
        }
        Ok(())
    }

    /// Both tiers of `view`'s firewall and its state.
    pub fn list(&self, view: &ClusterView) -> Result<Listing, DomainError> {
        let state = self
            .reader
            .firewall(view.id)?
            .ok_or_else(|| DomainError::not_found("cluster", view.id))?;
        let mut customer = Vec::new();
        for (_, stored) in self.reader.rules(view.id)? {
            let rule = accord_firewall::validate_rule(&stored.value.spec, "rule")
                .map_err(|e| crate::handlers::invalid(&e))?;
            customer.push((rule, stored.value));
        }
        customer.sort_by_key(|(r, _)| (r.priority, r.action == accord_firewall::Action::Allow));
        // The provider tier as the VPC firewall gets it: the required rules, then each load
        // balancer's.
        let lbs: Vec<StoredLoadBalancer> = self
            .reader
            .load_balancers(view.id)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect();
        let required = desired(view, &state.value, Vec::new(), &lbs)?
            .provider_tier()
            .map_err(|e| crate::handlers::invalid(&e))?;
        Ok(Listing {
            required,
            customer,
            state: state.value,
        })
    }

    /// Creates a customer rule on `view`.
    pub async fn create_rule(
        &self,
        principal: &Principal,
        view: &ClusterView,
        spec: RuleSpec,
    ) -> Result<(CustomerRule, StoredRule, Vec<Warning>), DomainError> {
        let mut w = self.engine.lock().await;
        let state = self.state_of(view.id)?;
        let existing = self.reader.rules(view.id)?;
        let ctx = Ctx::new(principal.display_name());
        let (ch, rule, warnings) = rules::create(&ctx, view, &state, &existing, spec)?;
        w.commit(ch).await?;
        let stored = StoredRule {
            spec: rule.to_spec(),
            created_at: ctx.now,
            created_by: ctx.actor,
        };
        Ok((rule, stored, warnings))
    }

    /// Deletes the customer rule `name` of `view`.
    pub async fn delete_rule(&self, view: &ClusterView, name: &str) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let state = self.state_of(view.id)?;
        let existing = self.reader.rule(view.id, name)?;
        let ch = rules::delete(view, &state, existing.as_ref(), name)?;
        w.commit(ch).await
    }

    /// Asks for a load balancer on `view`.
    pub async fn create_load_balancer(
        &self,
        principal: &Principal,
        view: &ClusterView,
        req: LbRequest,
    ) -> Result<StoredLoadBalancer, DomainError> {
        let mut w = self.engine.lock().await;
        let state = self.state_of(view.id)?;
        let existing = self.reader.load_balancers(view.id)?;
        let ctx = Ctx::new(principal.display_name());
        let (ch, lb) = lbs::create(&ctx, view, &state, &existing, req)?;
        w.commit(ch).await?;
        Ok(lb)
    }

    /// Deletes the load balancer `name` of `view` (its address and rule go with it).
    pub async fn delete_load_balancer(
        &self,
        view: &ClusterView,
        name: &str,
    ) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let state = self.state_of(view.id)?;
        let stored =
            crate::trees::LOAD_BALANCERS.get(self.reader.store(), &lbs::lb_key(view, name))?;
        let ch = lbs::delete(view, &state, stored.as_ref(), name)?;
        w.commit(ch).await
    }

    /// `view`'s load balancers.
    pub fn load_balancers(
        &self,
        view: &ClusterView,
    ) -> Result<Vec<StoredLoadBalancer>, DomainError> {
        Ok(self
            .reader
            .load_balancers(view.id)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect())
    }

    fn state_of(&self, cluster: ClusterId) -> Result<Versioned<FirewallState>, DomainError> {
        self.reader
            .firewall(cluster)?
            .ok_or_else(|| DomainError::not_found("cluster", cluster))
    }

    /// Runs the reconciler until `shutdown`: a pass every `interval`, and one whenever a
    /// commit changed a rule set.
    pub async fn run_reconciler(
        self: Arc<Self>,
        interval: Duration,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let kick = Arc::clone(&self.kick);
        accord_runtime::periodic::run("firewall", interval, &kick, shutdown, || {
            self.reconcile_all()
        })
        .await
    }

    /// One pass over every cluster's rule set.
    pub async fn reconcile_all(self: &Arc<Self>) -> Result<(), DomainError> {
        for state in self.reader.firewalls()? {
            let outcome = match self.reconcile(state.cluster).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    tracing::warn!(cluster = %state.cluster, error = %e, "reconciling a firewall failed");
                    "error"
                }
            };
            self.counters
                .reconciles
                .get_or_create(&[("outcome", outcome)])
                .inc();
        }
        Ok(())
    }

    /// Brings one cluster's VPC firewall in step; returns the outcome's label.
    pub async fn reconcile(
        self: &Arc<Self>,
        cluster: ClusterId,
    ) -> Result<&'static str, DomainError> {
        let (Some(view), Some(state)) = self.stored(cluster)? else {
            return Ok("gone");
        };
        let now = OffsetDateTime::now_utc();
        let project = view.value.project;
        if state.value.retry_at.is_some_and(|t| now < t) {
            return Ok("backing-off");
        }
        if view.value.deleting {
            let lbs = self.reader.load_balancers(cluster)?;
            let mut gone = Ok(());
            for (_, lb) in &lbs {
                if let Err(e) = self
                    .driver
                    .delete_load_balancer(cluster, lb.value.name.clone())
                    .await
                {
                    gone = Err(e);
                    break;
                }
            }
            let gone = match gone {
                Ok(()) => self.driver.delete_firewall(cluster).await,
                Err(e) => Err(e),
            };
            return match gone {
                Ok(()) => {
                    let rules = self.reader.rules(cluster)?;
                    self.commit_outcome(apply::removed(&view, &state, &rules, &lbs))
                        .await
                        .map(|()| "removed")
                }
                Err(e) => self
                    .commit_outcome(apply::failed(
                        &state,
                        project,
                        state.value.revision,
                        &e.to_string(),
                        now,
                    )?)
                    .await
                    .map(|()| "failed"),
            };
        }
        let specs: Vec<RuleSpec> = self
            .reader
            .rules(cluster)?
            .into_iter()
            .map(|(_, r)| r.value.spec)
            .collect();
        let stored_lbs = self.reader.load_balancers(cluster)?;
        let lb_values: Vec<StoredLoadBalancer> =
            stored_lbs.iter().map(|(_, v)| v.value.clone()).collect();
        let want = desired(&view.value, &state.value, specs, &lb_values)?;
        // Load balancers converge beside the rule set, off this loop.
        if let Err(e) = self.converge_load_balancers(&view.value, &stored_lbs).await {
            tracing::warn!(cluster = %cluster, error = %e, "load balancers not converged; retried next pass");
        }
        let have = self
            .driver
            .firewall(cluster)
            .await
            .map_err(|e| DomainError::Unavailable(e.to_string()))?;
        if have.as_ref() == Some(&want) {
            if state.value.applied_revision == want.revision
                && state.value.state == crate::trees::ApplyState::Applied
            {
                return Ok("unchanged");
            }
            return self
                .commit_outcome(apply::applied(&state, project, want.revision, now)?)
                .await
                .map(|()| "applied");
        }
        let drifted = have.as_ref().filter(|h| {
            h.revision == want.revision && state.value.applied_revision == want.revision
        });
        match self.driver.apply_firewall(want.clone()).await {
            Ok(()) => {
                let ch = match drifted {
                    Some(actual) => apply::drift_repaired(&state, project, &want, actual, now)?,
                    None => apply::applied(&state, project, want.revision, now)?,
                };
                if drifted.is_some() {
                    tracing::info!(cluster = %cluster, "firewall drift repaired");
                }
                self.commit_outcome(ch).await.map(|()| {
                    if drifted.is_some() {
                        "drift-repaired"
                    } else {
                        "applied"
                    }
                })
            }
            Err(e) => self
                .commit_outcome(apply::failed(
                    &state,
                    project,
                    want.revision,
                    &e.to_string(),
                    now,
                )?)
                .await
                .map(|()| "failed"),
        }
    }

    /// Brings the cloud's load balancers of `view` in step with what is stored: the cloud's
    /// state is recorded (address, backends, health); one that is missing, differs (ports,
    /// backends = the cluster's Ready nodes) or is being deleted gets a cloud operation, started
    /// in its own task (at most one per load balancer at a time) that records its outcome.
    async fn converge_load_balancers(
        self: &Arc<Self>,
        view: &ClusterView,
        stored: &[(String, Versioned<StoredLoadBalancer>)],
    ) -> Result<(), DomainError> {
        if stored.is_empty() {
            return Ok(());
        }
        let cloud = self
            .driver
            .load_balancers(view.id)
            .await
            .map_err(|e| DomainError::Unavailable(e.to_string()))?;
        let backends: Vec<Ipv4Addr> = view
            .pools
            .values()
            .flat_map(|p| p.nodes.values())
            .filter_map(|ip| ip.parse().ok())
            .collect();
        for (key, lb) in stored {
            let running = cloud.iter().find(|c| c.name == lb.value.name);
            if lb.value.state == LbState::Deleting {
                self.start_lb_op(key, view, lb.value.name.clone(), None);
                continue;
            }
            let want = VpcLoadBalancer {
                cluster: view.id,
                name: lb.value.name.clone(),
                ports: lb.value.ports.clone(),
                backends: backends.clone(),
                health: lb.value.health,
            };
            let in_step = running.is_some_and(|c| {
                let mut have: Vec<Ipv4Addr> = c.backends.iter().map(|b| b.address).collect();
                let mut need = want.backends.clone();
                have.sort();
                need.sort();
                c.ports == want.ports && have == need
            });
            // A load balancer still being created is listed by the cloud before it runs: only
            // the finished `ensure` makes it active.
            let creating = lb.value.state == LbState::Provisioning;
            if let (true, false, Some(c)) = (in_step, creating, running) {
                if let Some(ch) = lbs::observed(view, lb, c)? {
                    self.commit_outcome(ch).await?;
                }
            } else {
                self.start_lb_op(key, view, lb.value.name.clone(), Some(want));
            }
        }
        Ok(())
    }

    /// Starts one cloud operation on a load balancer unless one is under way: `ensure` it as
    /// `want`, or delete it (`None`).
    fn start_lb_op(
        self: &Arc<Self>,
        key: &str,
        view: &ClusterView,
        name: String,
        want: Option<VpcLoadBalancer>,
    ) {
        let fresh = self
            .lb_ops
            .lock()
            .map(|mut ops| ops.insert(key.to_owned()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        let (me, key, view) = (Arc::clone(self), key.to_owned(), view.clone());
        tokio::spawn(async move {
            let outcome = match &want {
                Some(want) => me.driver.ensure_load_balancer(want.clone()).await.map(Some),
                None => me
                    .driver
                    .delete_load_balancer(view.id, name)
                    .await
                    .map(|()| None),
            };
            if let Err(e) = me.record_lb_outcome(&key, &view, outcome).await {
                tracing::warn!(load_balancer = %key, error = %e, "recording a load balancer's state failed");
            }
            if let Ok(mut ops) = me.lb_ops.lock() {
                ops.remove(&key);
            }
            me.kick.notify_one();
        });
    }

    /// Records what a cloud operation on a load balancer ended with.
    async fn record_lb_outcome(
        &self,
        key: &str,
        view: &ClusterView,
        outcome: Result<Option<LoadBalancerState>, accord_core::infra::InfraError>,
    ) -> Result<(), DomainError> {
        let Some(stored) = crate::trees::LOAD_BALANCERS.get(self.reader.store(), key)? else {
            return Ok(());
        };
        let ch = match outcome {
            Ok(Some(state)) => lbs::observed(view, &stored, &state)?,
            Ok(None) => Some(lbs::removed(view, &stored)),
            Err(e) => lbs::failed(view, &stored, &e.to_string())?,
        };
        match ch {
            Some(ch) => self.commit_outcome(ch).await,
            None => Ok(()),
        }
    }

    /// Commits a reconciler outcome; one that lost to a newer write (its version is stale) is
    /// dropped: the next pass starts from what is stored.
    async fn commit_outcome(&self, ch: crate::handlers::Change) -> Result<(), DomainError> {
        match self.engine.lock().await.commit(ch).await {
            Ok(()) => Ok(()),
            Err(DomainError::Aborted(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The desired rule set of `cluster` now (for tests and the bench).
    pub fn desired(&self, cluster: ClusterId) -> Result<Option<VpcFirewall>, DomainError> {
        let (Some(view), Some(state)) = self.stored(cluster)? else {
            return Ok(None);
        };
        let specs = self
            .reader
            .rules(cluster)?
            .into_iter()
            .map(|(_, r)| r.value.spec)
            .collect();
        let lbs: Vec<StoredLoadBalancer> = self
            .reader
            .load_balancers(cluster)?
            .into_iter()
            .map(|(_, v)| v.value)
            .collect();
        desired(&view.value, &state.value, specs, &lbs).map(Some)
    }
}

type StoredPair = (
    Option<Versioned<ClusterView>>,
    Option<Versioned<FirewallState>>,
);

impl EventSink<Input> for FirewallService {
    type Event = FirewallEvent;

    fn engine(&self) -> &Arc<Engine<FirewallEvent>> {
        &self.engine
    }

    async fn on_event(&self, input: Input, _meta: EventMeta) -> Result<(), DomainError> {
        self.on_input(input).await
    }
}
