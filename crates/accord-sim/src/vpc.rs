//! [`SimVpc`]: the simulated cloud network behind
//! [`NetworkDriver`] — one VPC firewall rule set per cluster and L4 passthrough load balancers
//! with public addresses from a pool.
//!
//! - Operations take clock-scaled time ([`VpcOperation`]: a rule-set change 2–5 s, a load
//!   balancer 30–60 s to create) and return only when done, so a caller that got `Ok` knows
//!   the change is in place.
//! - [`NetworkDriver::apply_firewall`] is idempotent: a rule set equal to what the cloud holds
//!   changes nothing and returns at once (one differing only in its revision records the
//!   revision, at once). Of concurrent applies and deletes of one cluster's rule set the one
//!   called last wins; an earlier one finishing later changes nothing.
//! - [`NetworkDriver::ensure_load_balancer`] waits until the load balancer runs (30–60 s to
//!   create, 5–15 s to change, × the clock factor); meanwhile [`NetworkDriver::load_balancers`]
//!   already lists it with its address, its backends unhealthy until it runs.
//! - Faults ([`SimVpc::inject`], served by
//!   [`serve_faults_with`](crate::fault_server::serve_faults_with)): `firewall-drift` removes a
//!   required rule behind the service's back (the kubelet rule if present, else the first
//!   one; [`SimVpc::drift_log`] keeps which), `fail-next-firewall-applies` makes the next
//!   `count` applies fail with [`InfraError::Unavailable`].
//! - Linked to a [`SimFleet`] ([`SimVpc::attach_fleet`], [`SimVpc::for_fleet`]), each change to a
//!   cluster's rule set (apply, drift, delete) is installed in the fleet, which evaluates it
//!   with the engine: a node whose kubelet flow (10250/tcp from the control plane) or API
//!   server flow (6443/tcp to it) is blocked goes NotReady (`NodeReadiness`, reason
//!   `VpcFirewallBlocked: …`; the node agent's `ready` follows) until they are allowed again
//!   (see `effect`). A cluster with no rule set blocks nothing.
//! - Load balancers (see `lb`): an address from 198.51.100.0/24 (the lowest free, kept for the
//!   load balancer's life), names unique per cluster (same name: converge), backend health
//!   from the fleet's readiness and the cluster's firewall.
//! - With a state file ([`VpcConfig::state_file`]) the rule sets, load balancers, fault
//!   counters and drift log survive a restart; a load balancer that was being created finishes
//!   at its due time.
//!
//! Invariants: nothing is acknowledged before it is saved (a failed save answers
//! `Unavailable`; the change stays in memory and the next save writes it); lock order is the
//! VPC's lock, then the fleet's (the fleet never calls the VPC), and no lock is held across an
//! `.await`.

pub(crate) mod effect;
mod lb;
mod state;
mod timing;

#[cfg(test)]
mod tests;

use std::{
    collections::{BTreeMap, BTreeSet},
    net::Ipv4Addr,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use accord_core::{
    ids::ClusterId,
    infra::{InfraError, InfraFuture},
};
use accord_firewall::{
    Firewall, Flow,
    driver::{LoadBalancerState, NetworkDriver, VpcFirewall, VpcLoadBalancer, invalid},
    provider_rules, validate_cluster,
};
use rand::{SeedableRng, rngs::StdRng};

pub use lb::{ADDRESS_POOL, MAX_BACKENDS};
pub use state::{DriftRecord, MAX_DRIFT_LOG};
pub use timing::VpcOperation;

use crate::{
    error::{SimError, chain},
    faults::Fault,
    fleet::{SimConfig, SimFleet},
};
use state::{LbPhase, LoadBalancerRecord, VpcState};

/// How a [`SimVpc`] behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct VpcConfig {
    /// Multiplier on every operation's real-world duration (see [`SimConfig::clock_factor`]).
    pub clock_factor: f64,
    /// Seed of the durations' jitter.
    pub seed: u64,
    /// Where the network's state is kept across restarts; `None`: in memory only. One live
    /// VPC per file.
    pub state_file: Option<PathBuf>,
}

impl Default for VpcConfig {
    fn default() -> Self {
        VpcConfig {
            clock_factor: 1.0,
            seed: 0,
            state_file: None,
        }
    }
}

impl VpcConfig {
    /// The network of a fleet configured with `fleet`: the same clock factor and seed, and a
    /// state file beside the fleet's (`fleet.json` → `fleet-vpc.json`) when it has one.
    pub fn for_fleet(fleet: &SimConfig) -> Self {
        let state_file = fleet.state_file.as_ref().map(|path| {
            let mut name = path
                .file_stem()
                .map(|s| s.to_os_string())
                .unwrap_or_default();
            name.push("-vpc.json");
            path.with_file_name(name)
        });
        VpcConfig {
            clock_factor: fleet.clock_factor,
            seed: fleet.seed,
            state_file,
        }
    }

    /// Sets [`VpcConfig::clock_factor`].
    pub fn with_clock_factor(mut self, clock_factor: f64) -> Self {
        self.clock_factor = clock_factor;
        self
    }

    /// Sets [`VpcConfig::seed`].
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`VpcConfig::state_file`].
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }
}

/// The simulated cloud network.
pub struct SimVpc {
    config: VpcConfig,
    core: Mutex<Core>,
    fleet: Mutex<Weak<SimFleet>>,
}

struct Core {
    state: VpcState,
    rng: StdRng,
    /// Changed since the last successful save.
    dirty: bool,
    /// The engine's view of each cluster's rule set (rebuilt when it changes).
    engines: BTreeMap<ClusterId, Arc<Firewall>>,
    /// Order of rule-set changes per cluster (in memory: none survives a restart in flight).
    tickets: BTreeMap<ClusterId, Tickets>,
}

/// Rule-set changes of one cluster: the last one called wins.
#[derive(Debug, Default, Clone, Copy)]
struct Tickets {
    issued: u64,
    committed: u64,
}

impl std::fmt::Debug for SimVpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimVpc")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Now, Unix milliseconds.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn unavailable(error: &SimError) -> InfraError {
    InfraError::Unavailable(chain(error))
}

/// The engine's view of a rule set, or `None` (logged) when it does not validate.
fn engine(firewall: &VpcFirewall) -> Option<Arc<Firewall>> {
    match firewall.firewall() {
        Ok(engine) => Some(Arc::new(engine)),
        Err(errors) => {
            tracing::error!(cluster = %firewall.cluster, %errors, "a stored rule set does not validate; it blocks nothing");
            None
        }
    }
}

impl SimVpc {
    /// A network configured with `config`; with a state file, the saved network is loaded.
    pub fn new(config: VpcConfig) -> Result<SimVpc, SimError> {
        if !config.clock_factor.is_finite() || config.clock_factor < 0.0 {
            return Err(SimError::Config(format!(
                "clock_factor must be a finite number >= 0 (got {})",
                config.clock_factor
            )));
        }
        let state = match &config.state_file {
            Some(path) => state::load(path)?,
            None => VpcState::default(),
        };
        let engines = state
            .firewalls
            .iter()
            .filter_map(|(cluster, fw)| engine(fw).map(|e| (*cluster, e)))
            .collect();
        tracing::info!(
            rule_sets = state.firewalls.len(),
            load_balancers = state
                .load_balancers
                .values()
                .map(BTreeMap::len)
                .sum::<usize>(),
            "simulated VPC ready"
        );
        Ok(SimVpc {
            core: Mutex::new(Core {
                state,
                rng: StdRng::seed_from_u64(config.seed ^ 0x5650_4300),
                dirty: false,
                engines,
                tickets: BTreeMap::new(),
            }),
            config,
            fleet: Mutex::new(Weak::new()),
        })
    }

    /// The network of `fleet` ([`VpcConfig::for_fleet`]), linked to it
    /// ([`SimVpc::attach_fleet`]).
    pub fn for_fleet(fleet: &Arc<SimFleet>) -> Result<SimVpc, SimError> {
        let vpc = SimVpc::new(VpcConfig::for_fleet(fleet.config()))?;
        vpc.attach_fleet(fleet);
        Ok(vpc)
    }

    /// Links the fleet whose nodes sit behind this network (kept weakly: the VPC does not keep
    /// a dropped fleet alive). Every cluster's rule set is installed in the fleet at once, and
    /// the fleet's clusters without one are cleared (a node a former firewall blocked
    /// becomes Ready again).
    pub fn attach_fleet(&self, fleet: &Arc<SimFleet>) {
        let core = self.lock();
        *self.fleet.lock().unwrap_or_else(PoisonError::into_inner) = Arc::downgrade(fleet);
        let mut clusters: BTreeSet<ClusterId> = core.engines.keys().copied().collect();
        clusters.extend(fleet.instances().iter().map(|i| i.cluster));
        for cluster in clusters {
            let gate = core.engines.get(&cluster).cloned();
            if let Err(error) = fleet.set_network_gate(cluster, gate) {
                tracing::warn!(%cluster, error = %chain(&error), "could not save the fleet after installing a firewall");
            }
        }
    }

    /// The configuration the network runs with.
    pub fn config(&self) -> &VpcConfig {
        &self.config
    }

    /// The rules `firewall-drift` removed, oldest first (at most [`MAX_DRIFT_LOG`]).
    pub fn drift_log(&self) -> Vec<DriftRecord> {
        self.lock().state.drift_log.clone()
    }

    /// Injects a VPC fault ([`Fault::is_network`]); returns a sentence saying what happened.
    pub fn inject(&self, fault: Fault) -> Result<String, SimError> {
        tracing::info!(?fault, "injecting VPC fault");
        let mut core = self.lock();
        let message = match fault {
            Fault::FailNextFirewallApplies { count } => {
                core.state.fail_next_applies = count;
                core.dirty = true;
                format!("the next {count} firewall applies will fail (infrastructure unavailable)")
            }
            Fault::FirewallDrift { cluster } => {
                let rule = drift(&mut core.state, cluster)?;
                core.dirty = true;
                self.install(&mut core, cluster);
                format!(
                    "required rule {rule} disappeared from the VPC firewall of cluster \
                     {cluster} (behind the service's back){}",
                    self.blocked_note(cluster)
                )
            }
            other => {
                return Err(SimError::InvalidFault(format!(
                    "{} is a fault of the fleet, not of the VPC",
                    other.kind()
                )));
            }
        };
        self.save(&mut core)?;
        Ok(message)
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fleet(&self) -> Option<Arc<SimFleet>> {
        self.fleet
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .upgrade()
    }

    fn save(&self, core: &mut Core) -> Result<(), SimError> {
        if !core.dirty {
            return Ok(());
        }
        if let Some(path) = &self.config.state_file {
            state::save(path, &core.state)?;
        }
        core.dirty = false;
        Ok(())
    }

    fn duration(&self, core: &mut Core, op: VpcOperation) -> Duration {
        op.duration(self.config.clock_factor, &mut core.rng)
    }

    /// Rebuilds `cluster`'s engine from its rule set and installs it in the fleet.
    fn install(&self, core: &mut Core, cluster: ClusterId) {
        let gate = core.state.firewalls.get(&cluster).and_then(engine);
        match &gate {
            Some(gate) => core.engines.insert(cluster, Arc::clone(gate)),
            None => core.engines.remove(&cluster),
        };
        if let Some(fleet) = self.fleet()
            && let Err(error) = fleet.set_network_gate(cluster, gate)
        {
            tracing::warn!(%cluster, error = %chain(&error), "could not save the fleet after installing a firewall");
        }
    }

    /// `; 2 of 3 nodes of the cluster are blocked`, for fault replies.
    fn blocked_note(&self, cluster: ClusterId) -> String {
        let Some(fleet) = self.fleet() else {
            return String::new();
        };
        let nodes: Vec<_> = fleet
            .instances()
            .into_iter()
            .filter(|i| i.cluster == cluster)
            .collect();
        let blocked = nodes
            .iter()
            .filter(|i| i.faults.iter().any(|f| f.starts_with("vpc-blocks-")))
            .count();
        format!(
            "; the firewall now blocks the required flows of {blocked} of the cluster's {} nodes",
            nodes.len()
        )
    }

    /// The cluster's Ready nodes' addresses (`None`: no fleet linked).
    fn ready_nodes(&self, cluster: ClusterId) -> Option<BTreeSet<Ipv4Addr>> {
        let fleet = self.fleet()?;
        Some(
            fleet
                .instances()
                .into_iter()
                .filter(|i| i.cluster == cluster && i.ready)
                .filter_map(|i| i.ip.parse().ok())
                .collect(),
        )
    }

    fn observe(&self, core: &Core, record: &LoadBalancerRecord) -> LoadBalancerState {
        let cluster = record.spec.cluster;
        let ready = self.ready_nodes(cluster);
        lb::observed(
            record,
            core.engines.get(&cluster).map(Arc::as_ref),
            ready.as_ref(),
        )
    }

    /// Settles due load-balancer transitions.
    fn settle(core: &mut Core) {
        if core.state.settle(now_ms()) {
            core.dirty = true;
        }
    }

    async fn apply(&self, desired: VpcFirewall) -> Result<(), InfraError> {
        // Validates the whole rule set (and builds the engine's view once).
        let gate = Arc::new(desired.firewall().map_err(|e| invalid(&e))?);
        let cluster = desired.cluster;
        let (ticket, wait) = {
            let mut core = self.lock();
            if core.state.fail_next_applies > 0 {
                core.state.fail_next_applies -= 1;
                core.dirty = true;
                self.save(&mut core).map_err(|e| unavailable(&e))?;
                return Err(InfraError::Unavailable(format!(
                    "the VPC firewall API failed to apply the rule set of cluster {cluster} \
                     (simulated: fail-next-firewall-applies)"
                )));
            }
            let tickets = core.tickets.entry(cluster).or_default();
            tickets.issued += 1;
            let ticket = tickets.issued;
            if let Some(current) = core.state.firewalls.get_mut(&cluster)
                && same_rules(current, &desired)
            {
                // The rules are in place: nothing to do in the cloud (a new revision is only
                // recorded), and older changes in flight are superseded.
                let recorded = current.revision != desired.revision;
                current.revision = desired.revision;
                core.dirty |= recorded;
                core.tickets.entry(cluster).or_default().committed = ticket;
                return self.save(&mut core).map_err(|e| unavailable(&e));
            }
            (
                ticket,
                self.duration(&mut core, VpcOperation::FirewallApply),
            )
        };
        tokio::time::sleep(wait).await;
        let mut core = self.lock();
        let tickets = core.tickets.entry(cluster).or_default();
        if ticket <= tickets.committed {
            return Ok(()); // A change called later is in place already.
        }
        tickets.committed = ticket;
        core.state.firewalls.insert(cluster, desired);
        core.dirty = true;
        core.engines.insert(cluster, Arc::clone(&gate));
        if let Some(fleet) = self.fleet()
            && let Err(error) = fleet.set_network_gate(cluster, Some(gate))
        {
            tracing::warn!(%cluster, error = %chain(&error), "could not save the fleet after installing a firewall");
        }
        self.save(&mut core).map_err(|e| unavailable(&e))
    }

    async fn delete(&self, cluster: ClusterId) -> Result<(), InfraError> {
        let (ticket, wait) = {
            let mut core = self.lock();
            let tickets = core.tickets.entry(cluster).or_default();
            tickets.issued += 1;
            let ticket = tickets.issued;
            if !core.state.firewalls.contains_key(&cluster) {
                core.tickets.entry(cluster).or_default().committed = ticket;
                return Ok(());
            }
            (
                ticket,
                self.duration(&mut core, VpcOperation::FirewallDelete),
            )
        };
        tokio::time::sleep(wait).await;
        let mut core = self.lock();
        let tickets = core.tickets.entry(cluster).or_default();
        if ticket <= tickets.committed {
            return Ok(());
        }
        tickets.committed = ticket;
        if core.state.firewalls.remove(&cluster).is_some() {
            core.dirty = true;
            self.install(&mut core, cluster);
        }
        self.save(&mut core).map_err(|e| unavailable(&e))
    }

    async fn ensure(&self, lb: VpcLoadBalancer) -> Result<LoadBalancerState, InfraError> {
        lb::validate(&lb).map_err(InfraError::Invalid)?;
        let (cluster, name) = (lb.cluster, lb.name.clone());
        {
            let mut core = self.lock();
            Self::settle(&mut core);
            let now = now_ms();
            let update = self.duration(&mut core, VpcOperation::LoadBalancerUpdate);
            let create = self.duration(&mut core, VpcOperation::LoadBalancerCreate);
            match core.state.load_balancer(cluster, &name) {
                Some(record) if record.spec == lb && record.phase == LbPhase::Active => {
                    return Ok(self.observe(&core, record));
                }
                Some(record)
                    if record.spec == lb
                        && matches!(record.phase, LbPhase::Creating | LbPhase::Updating) => {}
                Some(_) => {
                    if let Some(record) = core
                        .state
                        .load_balancers
                        .get_mut(&cluster)
                        .and_then(|lbs| lbs.get_mut(&name))
                    {
                        record.spec = lb;
                        if record.phase != LbPhase::Creating {
                            record.phase = LbPhase::Updating;
                            record.due_ms = Some(now.saturating_add(millis(update)));
                        }
                    }
                    core.dirty = true;
                }
                None => {
                    let address = lb::allocate(&core.state).ok_or_else(|| {
                        InfraError::NoCapacity(format!(
                            "no public address left for load balancers (pool {ADDRESS_POOL})"
                        ))
                    })?;
                    let record = LoadBalancerRecord {
                        spec: lb,
                        address,
                        phase: LbPhase::Creating,
                        due_ms: Some(now.saturating_add(millis(create))),
                    };
                    core.state
                        .load_balancers
                        .entry(cluster)
                        .or_default()
                        .insert(name.clone(), record);
                    core.dirty = true;
                }
            }
            self.save(&mut core).map_err(|e| unavailable(&e))?;
        }
        loop {
            let wait = {
                let mut core = self.lock();
                Self::settle(&mut core);
                let now = now_ms();
                match core.state.load_balancer(cluster, &name) {
                    None => {
                        return Err(InfraError::Unavailable(format!(
                            "load balancer {name} of cluster {cluster} was deleted while it was being set up"
                        )));
                    }
                    Some(record) if record.phase == LbPhase::Deleting => {
                        return Err(InfraError::Unavailable(format!(
                            "load balancer {name} of cluster {cluster} is being deleted"
                        )));
                    }
                    Some(record) => match record.due_ms {
                        None => return Ok(self.observe(&core, record)),
                        Some(due) => due.saturating_sub(now).max(1),
                    },
                }
            };
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1))).await;
        }
    }

    async fn delete_lb(&self, cluster: ClusterId, name: String) -> Result<(), InfraError> {
        {
            let mut core = self.lock();
            Self::settle(&mut core);
            let due = now_ms().saturating_add(millis(
                self.duration(&mut core, VpcOperation::LoadBalancerDelete),
            ));
            let Some(record) = core
                .state
                .load_balancers
                .get_mut(&cluster)
                .and_then(|lbs| lbs.get_mut(&name))
            else {
                return Ok(());
            };
            if record.phase != LbPhase::Deleting {
                record.phase = LbPhase::Deleting;
                record.due_ms = Some(due);
                core.dirty = true;
            }
            self.save(&mut core).map_err(|e| unavailable(&e))?;
        }
        loop {
            let wait = {
                let mut core = self.lock();
                Self::settle(&mut core);
                let now = now_ms();
                match core.state.load_balancer(cluster, &name) {
                    Some(record) if record.phase == LbPhase::Deleting => record
                        .due_ms
                        .map_or(1, |due| due.saturating_sub(now).max(1)),
                    // Gone, or asked for again meanwhile: the delete is over either way.
                    _ => return Ok(()),
                }
            };
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(1))).await;
        }
    }
}

/// Whether two rule sets hold the same rules (whatever their revisions).
fn same_rules(a: &VpcFirewall, b: &VpcFirewall) -> bool {
    a.cluster == b.cluster
        && a.network == b.network
        && a.required == b.required
        && a.customer == b.customer
        && a.load_balancers == b.load_balancers
}

/// Removes a required rule from `cluster`'s rule set: the kubelet rule if present, else the
/// first one. Answers its name.
fn drift(state: &mut VpcState, cluster: ClusterId) -> Result<String, SimError> {
    let firewall = state.firewalls.get_mut(&cluster).ok_or_else(|| {
        SimError::InvalidFault(format!(
            "cluster {cluster} has no rule set in the VPC firewall (is the network-firewall \
             service running?)"
        ))
    })?;
    let kubelet = validate_cluster(&firewall.network, "network")
        .ok()
        .and_then(|network| {
            provider_rules(&network)
                .into_iter()
                .find(|r| r.flow == Flow::Kubelet)
                .map(|r| r.name)
        });
    let rule = kubelet
        .filter(|name| firewall.required.contains(name))
        .or_else(|| firewall.required.first().cloned())
        .ok_or_else(|| {
            SimError::InvalidFault(format!(
                "the VPC firewall of cluster {cluster} holds no required rule to lose"
            ))
        })?;
    firewall.required.retain(|r| r != &rule);
    state.log_drift(DriftRecord {
        cluster,
        rule: rule.clone(),
        at_ms: now_ms(),
    });
    Ok(rule)
}

impl NetworkDriver for SimVpc {
    fn apply_firewall(&self, desired: VpcFirewall) -> InfraFuture<'_, ()> {
        Box::pin(self.apply(desired))
    }

    fn firewall(&self, cluster: ClusterId) -> InfraFuture<'_, Option<VpcFirewall>> {
        Box::pin(async move { Ok(self.lock().state.firewalls.get(&cluster).cloned()) })
    }

    fn delete_firewall(&self, cluster: ClusterId) -> InfraFuture<'_, ()> {
        Box::pin(self.delete(cluster))
    }

    fn ensure_load_balancer(&self, lb: VpcLoadBalancer) -> InfraFuture<'_, LoadBalancerState> {
        Box::pin(self.ensure(lb))
    }

    fn load_balancers(&self, cluster: ClusterId) -> InfraFuture<'_, Vec<LoadBalancerState>> {
        Box::pin(async move {
            let mut core = self.lock();
            Self::settle(&mut core);
            let states = core
                .state
                .load_balancers
                .get(&cluster)
                .map(|lbs| {
                    lbs.values()
                        .filter(|r| r.phase != LbPhase::Deleting)
                        .map(|r| self.observe(&core, r))
                        .collect()
                })
                .unwrap_or_default();
            Ok(states)
        })
    }

    fn delete_load_balancer(&self, cluster: ClusterId, name: String) -> InfraFuture<'_, ()> {
        Box::pin(self.delete_lb(cluster, name))
    }
}
