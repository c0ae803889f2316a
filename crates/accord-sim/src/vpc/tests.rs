//! Tests of the simulated network: rule sets, faults, the effect on a fleet's nodes, load
//! balancers, persistence. Fast clocks (or tokio's paused clock) only; nothing waits on time
//! to assert it.

use std::{
    net::Ipv4Addr,
    sync::{Arc, Mutex},
};

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    infra::{InfraDriver, InfraError, InfraEvent, InfraEventSink, NodeRequest},
};
use accord_firewall::{
    ClusterSpec, Flow, RuleSpec,
    driver::{
        HealthCheck, LbProtocol, LoadBalancerPort, LoadBalancerState, NetworkDriver, VpcFirewall,
        VpcLoadBalancer,
    },
    provider_rules, validate_cluster,
};
use accord_testkit::assert_eventually;

use super::*;
use crate::{fault_server, fleet::SimConfig};

/// 1000× real time: a rule-set change ~2–5 ms, a load balancer ~30–60 ms, a CPU node ~60 ms.
const FAST: f64 = 0.001;
const SUBNET: &str = "10.20.0.0/24";

fn vpc(clock_factor: f64) -> SimVpc {
    SimVpc::new(
        VpcConfig::default()
            .with_clock_factor(clock_factor)
            .with_seed(7),
    )
    .unwrap()
}

fn network() -> ClusterSpec {
    ClusterSpec {
        vpc_subnet: SUBNET.into(),
        pod_cidr: "10.64.0.0/16".into(),
        service_cidr: "10.96.0.0/16".into(),
        ..ClusterSpec::default()
    }
}

/// The names of the required rules serving `flows` (all of them when empty).
fn required(flows: &[Flow]) -> Vec<String> {
    provider_rules(&validate_cluster(&network(), "network").unwrap())
        .into_iter()
        .filter(|r| flows.is_empty() || flows.contains(&r.flow))
        .map(|r| r.name)
        .collect()
}

fn without(flows: &[Flow]) -> Vec<String> {
    let drop = required(flows);
    required(&[])
        .into_iter()
        .filter(|r| !drop.contains(r))
        .collect()
}

fn rule_set(cluster: ClusterId, revision: u64, customer: Vec<RuleSpec>) -> VpcFirewall {
    VpcFirewall {
        cluster,
        revision,
        network: network(),
        required: required(&[]),
        customer,
        load_balancers: Vec::new(),
    }
}

fn deny_everything() -> Vec<RuleSpec> {
    let rule = |name: &str, direction: &str| RuleSpec {
        name: name.into(),
        priority: 0,
        direction: direction.into(),
        action: "deny".into(),
        protocol: "any".into(),
        sources: if direction == "ingress" {
            vec!["0.0.0.0/0".into()]
        } else {
            Vec::new()
        },
        destinations: if direction == "egress" {
            vec!["0.0.0.0/0".into()]
        } else {
            Vec::new()
        },
        ..RuleSpec::default()
    };
    vec![rule("deny-in", "ingress"), rule("deny-out", "egress")]
}

fn lb(cluster: ClusterId, name: &str, backends: Vec<Ipv4Addr>) -> VpcLoadBalancer {
    VpcLoadBalancer {
        cluster,
        name: name.into(),
        ports: vec![LoadBalancerPort {
            port: 443,
            protocol: LbProtocol::Tcp,
            node_port: 30_443,
        }],
        backends,
        health: HealthCheck::default(),
    }
}

fn health(state: &LoadBalancerState) -> Vec<(Ipv4Addr, bool)> {
    state
        .backends
        .iter()
        .map(|b| (b.address, b.healthy))
        .collect()
}

/// Every event a fleet delivers.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<InfraEvent>>>);

impl Recorder {
    fn sink(&self) -> InfraEventSink {
        let events = Arc::clone(&self.0);
        Arc::new(move |event| events.lock().unwrap().push(event))
    }

    /// `(ready, reason)` of every readiness event of `node`, in order.
    fn readiness(&self, node: NodeId) -> Vec<(bool, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                InfraEvent::NodeReadiness {
                    node: n,
                    ready,
                    reason,
                } if *n == node => Some((*ready, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn provisioned(&self, node: NodeId) -> bool {
        self.0
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, InfraEvent::NodeProvisioned { node: n, .. } if *n == node))
    }
}

/// A fast fleet with one cluster of `n` Ready CPU nodes, and its network linked to it.
struct Cloud {
    fleet: Arc<SimFleet>,
    vpc: SimVpc,
    events: Recorder,
    cluster: ClusterId,
    project: ProjectId,
    pool: NodePoolId,
    nodes: Vec<NodeId>,
}

impl Cloud {
    async fn new(n: usize) -> Cloud {
        let config = SimConfig::default().with_clock_factor(FAST).with_seed(3);
        let fleet = Arc::new(SimFleet::new(config).unwrap());
        let events = Recorder::default();
        fleet.subscribe(events.sink());
        let vpc = SimVpc::for_fleet(&fleet).unwrap();
        let mut cloud = Cloud {
            fleet,
            vpc,
            events,
            cluster: ClusterId::generate(),
            project: ProjectId::generate(),
            pool: NodePoolId::generate(),
            nodes: Vec::new(),
        };
        for i in 0..n {
            let node = cloud.provision(&format!("cpu-{i}")).await;
            cloud.nodes.push(node);
        }
        let nodes = cloud.nodes.clone();
        assert_eventually!(nodes.iter().all(|n| cloud.ready(*n)));
        cloud
    }

    async fn provision(&self, name: &str) -> NodeId {
        let node = NodeId::generate();
        self.fleet
            .provision_node(NodeRequest {
                node,
                name: name.into(),
                project: self.project,
                cluster: self.cluster,
                pool: self.pool,
                region: "us-east1".into(),
                vpc_subnet: SUBNET.parse().unwrap(),
                instance_type: "c1a.16x".into(),
                image_version: "2026.11.0".into(),
                kubelet_version: "1.31".parse().unwrap(),
            })
            .await
            .unwrap();
        node
    }

    fn instance(&self, node: NodeId) -> crate::FleetInstance {
        self.fleet
            .instances()
            .into_iter()
            .find(|i| i.node == node)
            .unwrap()
    }

    fn ready(&self, node: NodeId) -> bool {
        self.instance(node).ready
    }

    fn ip(&self, node: NodeId) -> Ipv4Addr {
        self.instance(node).ip.parse().unwrap()
    }

    /// The readiness the node last reported in an event.
    fn reported(&self, node: NodeId) -> Option<(bool, String)> {
        self.events.readiness(node).pop()
    }
}

#[tokio::test(start_paused = true)]
async fn apply_reads_back_and_applying_it_again_changes_nothing() {
    // Real durations on tokio's paused clock: the elapsed virtual time is the operation's.
    let vpc = vpc(1.0);
    let cluster = ClusterId::generate();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), None);
    let desired = rule_set(cluster, 1, deny_everything());

    let start = tokio::time::Instant::now();
    vpc.apply_firewall(desired.clone()).await.unwrap();
    let took = start.elapsed();
    assert!(
        (Duration::from_secs(2)..=Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );
    assert_eq!(vpc.firewall(cluster).await.unwrap(), Some(desired.clone()));

    let start = tokio::time::Instant::now();
    vpc.apply_firewall(desired.clone()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "nothing to change");
    assert_eq!(vpc.firewall(cluster).await.unwrap(), Some(desired.clone()));
    // The same rules under a new revision: recorded, nothing to change in the cloud.
    let mut renumbered = desired.clone();
    renumbered.revision = 2;
    vpc.apply_firewall(renumbered.clone()).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(vpc.firewall(cluster).await.unwrap(), Some(renumbered));

    // Invalid rule sets are refused whole.
    let mut bad = desired.clone();
    bad.customer[0].priority = 70_000;
    assert!(matches!(
        vpc.apply_firewall(bad).await,
        Err(InfraError::Invalid(m)) if m.contains("priority")
    ));

    // Of two concurrent changes, the one called last wins whichever finishes first.
    let second = rule_set(cluster, 2, Vec::new());
    let third = rule_set(cluster, 3, deny_everything()[..1].to_vec());
    let (a, b) = tokio::join!(
        vpc.apply_firewall(second),
        vpc.apply_firewall(third.clone())
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), Some(third));

    vpc.delete_firewall(cluster).await.unwrap();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), None);
    let start = tokio::time::Instant::now();
    vpc.delete_firewall(cluster).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "absent is not an error");
}

#[tokio::test]
async fn drift_removes_the_kubelet_rule_and_the_firewall_shows_it() {
    let vpc = vpc(FAST);
    let cluster = ClusterId::generate();
    let applied = rule_set(cluster, 4, Vec::new());
    vpc.apply_firewall(applied.clone()).await.unwrap();

    let message = vpc.inject(Fault::FirewallDrift { cluster }).unwrap();
    assert!(message.contains("accord-kubelet-ingress"), "{message}");
    let now = vpc.firewall(cluster).await.unwrap().unwrap();
    assert_eq!(now.required, without(&[Flow::Kubelet]));
    assert_eq!(now.revision, 4, "the service's revision is untouched");
    assert_ne!(now, applied);
    let log = vpc.drift_log();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].cluster, log[0].rule.as_str()),
        (cluster, "accord-kubelet-ingress")
    );

    // No kubelet rule left: the first required rule goes next.
    let first = now.required[0].clone();
    let message = vpc.inject(Fault::FirewallDrift { cluster }).unwrap();
    assert!(message.contains(&first), "{message}");
    assert!(
        !vpc.firewall(cluster)
            .await
            .unwrap()
            .unwrap()
            .required
            .contains(&first)
    );

    let unknown = vpc
        .inject(Fault::FirewallDrift {
            cluster: ClusterId::generate(),
        })
        .unwrap_err();
    assert!(unknown.to_string().contains("no rule set"), "{unknown}");
    assert!(
        vpc.inject(Fault::FailNextProvisions { count: 1 })
            .unwrap_err()
            .to_string()
            .contains("fault of the fleet")
    );
}

#[tokio::test]
async fn fail_next_applies_fails_that_many_then_applies() {
    let vpc = vpc(FAST);
    let cluster = ClusterId::generate();
    let desired = rule_set(cluster, 1, Vec::new());
    let message = vpc
        .inject(Fault::FailNextFirewallApplies { count: 2 })
        .unwrap();
    assert!(message.contains("next 2"), "{message}");
    for _ in 0..2 {
        assert!(matches!(
            vpc.apply_firewall(desired.clone()).await,
            Err(InfraError::Unavailable(_))
        ));
        assert_eq!(vpc.firewall(cluster).await.unwrap(), None);
    }
    vpc.apply_firewall(desired.clone()).await.unwrap();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), Some(desired));
}

#[tokio::test]
async fn vpc_faults_reach_the_vpc_through_the_fault_server() {
    let fleet = SimFleet::new(SimConfig::default().with_clock_factor(FAST)).unwrap();
    let vpc = vpc(FAST);
    let body = br#"{"kind":"fail-next-firewall-applies","count":1}"#;
    let reply: fault_server::FaultReply =
        serde_json::from_slice(&fault_server::handle_inject_with(&fleet, Some(&vpc), body))
            .unwrap();
    assert!(reply.ok, "{reply:?}");
    let cluster = ClusterId::generate();
    assert!(
        vpc.apply_firewall(rule_set(cluster, 1, Vec::new()))
            .await
            .is_err()
    );

    // Without a VPC the fleet refuses them, saying why.
    let reply: fault_server::FaultReply =
        serde_json::from_slice(&fault_server::handle_inject(&fleet, body)).unwrap();
    let error = reply.into_result().unwrap_err();
    assert!(error.contains("runs no VPC"), "{error}");
    assert!(fleet.inject(Fault::FirewallDrift { cluster }).is_err());
}

#[tokio::test]
async fn a_customer_deny_all_leaves_nodes_ready() {
    let cloud = Cloud::new(2).await;
    cloud
        .vpc
        .apply_firewall(rule_set(cloud.cluster, 1, deny_everything()))
        .await
        .unwrap();
    for node in &cloud.nodes {
        assert!(cloud.ready(*node));
        assert!(cloud.instance(*node).faults.is_empty());
        assert_eq!(cloud.reported(*node).map(|r| r.0), Some(true));
    }
    assert!(cloud.fleet.snapshot().nodes.iter().all(|(_, ready)| *ready));
}

#[tokio::test]
async fn drift_blocks_the_kubelet_flow_until_the_rule_set_is_applied_again() {
    let cloud = Cloud::new(2).await;
    let applied = rule_set(cloud.cluster, 1, Vec::new());
    cloud.vpc.apply_firewall(applied.clone()).await.unwrap();
    assert!(cloud.nodes.iter().all(|n| cloud.ready(*n)));

    let message = cloud
        .vpc
        .inject(Fault::FirewallDrift {
            cluster: cloud.cluster,
        })
        .unwrap();
    assert!(
        message.contains("blocks the required flows of 2 of the cluster's 2 nodes"),
        "{message}"
    );
    for node in &cloud.nodes {
        assert!(!cloud.ready(*node), "the default ingress deny blocks it");
        assert_eq!(cloud.instance(*node).faults, ["vpc-blocks-kubelet"]);
        assert_eventually!(
            cloud.reported(*node).is_some_and(|(ready, reason)| !ready
                && reason.contains("blocks the kubelet flow (10250/tcp from the control plane)")),
            "{:?}",
            cloud.events.readiness(*node)
        );
    }
    assert!(
        cloud
            .fleet
            .snapshot()
            .nodes
            .iter()
            .all(|(_, ready)| !*ready)
    );

    // A node that comes up behind the broken firewall never reports Ready.
    let late = cloud.provision("cpu-late").await;
    assert_eventually!(cloud.events.provisioned(late));
    assert_eventually!(!cloud.events.readiness(late).is_empty());
    assert!(!cloud.ready(late));
    assert!(
        cloud.events.readiness(late).iter().all(|(ready, _)| !ready),
        "{:?}",
        cloud.events.readiness(late)
    );

    // The service repairs the drift: every node is Ready again.
    cloud.vpc.apply_firewall(applied).await.unwrap();
    for node in cloud.nodes.iter().chain([&late]) {
        assert!(cloud.ready(*node));
        assert!(cloud.instance(*node).faults.is_empty());
        assert_eventually!(cloud.reported(*node).is_some_and(|(ready, _)| ready));
    }
}

#[tokio::test]
async fn blocked_api_server_flow_and_removed_rule_sets() {
    let cloud = Cloud::new(1).await;
    let node = cloud.nodes[0];
    let mut broken = rule_set(cloud.cluster, 1, deny_everything());
    broken.required = without(&[Flow::ApiServer]);
    cloud.vpc.apply_firewall(broken).await.unwrap();
    assert!(!cloud.ready(node));
    assert_eq!(cloud.instance(node).faults, ["vpc-blocks-api-server"]);
    assert_eventually!(
        cloud
            .reported(node)
            .is_some_and(|(ready, reason)| !ready && reason.contains("API server flow"))
    );

    // A cluster with no rule set at all (the service not running) blocks nothing.
    cloud.vpc.delete_firewall(cloud.cluster).await.unwrap();
    assert!(cloud.ready(node));

    // A node NotReady for its own reasons stays so when the firewall unblocks it.
    // (Egress is allowed by default: the API server flow needs a deny to be blocked.)
    let mut broken = rule_set(cloud.cluster, 2, deny_everything());
    broken.required = without(&[Flow::Kubelet, Flow::ApiServer]);
    cloud.vpc.apply_firewall(broken).await.unwrap();
    assert_eq!(
        cloud.instance(node).faults,
        ["vpc-blocks-kubelet-and-api-server"]
    );
    cloud
        .fleet
        .inject(Fault::NodeNotReady {
            node: "cpu-0".into(),
        })
        .unwrap();
    cloud
        .vpc
        .apply_firewall(rule_set(cloud.cluster, 3, Vec::new()))
        .await
        .unwrap();
    assert!(!cloud.ready(node));
    cloud
        .fleet
        .inject(Fault::NodeRecover {
            node: "cpu-0".into(),
        })
        .unwrap();
    assert!(cloud.ready(node));
}

#[tokio::test]
async fn load_balancer_addresses_are_allocated_kept_and_released() {
    let vpc = vpc(0.0);
    let cluster = ClusterId::generate();
    let other = ClusterId::generate();
    let backends = vec![Ipv4Addr::new(10, 20, 0, 4)];
    let web = vpc.ensure_load_balancer(lb(cluster, "web", backends.clone()));
    let web = web.await.unwrap();
    assert_eq!(web.address, Ipv4Addr::new(198, 51, 100, 1));
    assert_eq!(health(&web), [(backends[0], true)], "standalone: healthy");
    let api = vpc
        .ensure_load_balancer(lb(cluster, "api", backends.clone()))
        .await
        .unwrap();
    assert_eq!(api.address, Ipv4Addr::new(198, 51, 100, 2));
    // Names are per cluster.
    let web_other = vpc
        .ensure_load_balancer(lb(other, "web", Vec::new()))
        .await
        .unwrap();
    assert_eq!(web_other.address, Ipv4Addr::new(198, 51, 100, 3));

    // Same name: the same load balancer, converged, its address kept.
    let mut changed = lb(cluster, "web", vec![Ipv4Addr::new(10, 20, 0, 5)]);
    changed.ports[0].node_port = 31_000;
    let again = vpc.ensure_load_balancer(changed.clone()).await.unwrap();
    assert_eq!(again.address, web.address);
    assert_eq!(again.ports, changed.ports);
    let listed = vpc.load_balancers(cluster).await.unwrap();
    assert_eq!(
        listed.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["api", "web"]
    );

    // Deleting releases the address (the lowest free is handed out next); twice is fine.
    vpc.delete_load_balancer(cluster, "web".into())
        .await
        .unwrap();
    vpc.delete_load_balancer(cluster, "web".into())
        .await
        .unwrap();
    assert_eq!(vpc.load_balancers(cluster).await.unwrap().len(), 1);
    let next = vpc
        .ensure_load_balancer(lb(cluster, "next", Vec::new()))
        .await
        .unwrap();
    assert_eq!(next.address, Ipv4Addr::new(198, 51, 100, 1));

    // Bad requests are refused, naming the field.
    let mut bad = lb(cluster, "bad", Vec::new());
    bad.ports[0].node_port = 80;
    assert!(matches!(
        vpc.ensure_load_balancer(bad).await,
        Err(InfraError::Invalid(m)) if m.contains("node_port")
    ));
    assert!(matches!(
        vpc.ensure_load_balancer(lb(cluster, "Not_A_Label", Vec::new())).await,
        Err(InfraError::Invalid(m)) if m.starts_with("name")
    ));

    // 254 addresses in the pool: the 255th load balancer finds none.
    for i in 0..251 {
        vpc.ensure_load_balancer(lb(other, &format!("lb-{i}"), Vec::new()))
            .await
            .unwrap();
    }
    assert!(matches!(
        vpc.ensure_load_balancer(lb(other, "one-too-many", Vec::new()))
            .await,
        Err(InfraError::NoCapacity(_))
    ));
}

#[tokio::test]
async fn load_balancer_takes_time_and_is_unhealthy_until_created() {
    let vpc = vpc(FAST);
    let cluster = ClusterId::generate();
    let request = lb(cluster, "web", vec![Ipv4Addr::new(10, 20, 0, 4)]);
    let creating = vpc.ensure_load_balancer(request.clone());
    // Listed (with its address) while being created, its backends not yet checked healthy.
    let (created, listed) = tokio::join!(creating, async {
        tokio::task::yield_now().await;
        vpc.load_balancers(cluster).await.unwrap()
    });
    let created = created.unwrap();
    assert_eq!(health(&created), [(request.backends[0], true)]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].address, created.address);
    assert_eq!(health(&listed[0]), [(request.backends[0], false)]);
}

#[tokio::test]
async fn backend_health_follows_node_readiness_and_the_firewall() {
    let cloud = Cloud::new(2).await;
    let (a, b) = (cloud.nodes[0], cloud.nodes[1]);
    let stranger = Ipv4Addr::new(10, 20, 0, 250);
    let mut rules = rule_set(cloud.cluster, 1, deny_everything());
    cloud.vpc.apply_firewall(rules.clone()).await.unwrap();
    let backends = vec![cloud.ip(a), cloud.ip(b), stranger];
    let state = cloud
        .vpc
        .ensure_load_balancer(lb(cloud.cluster, "web", backends.clone()))
        .await
        .unwrap();
    assert_eq!(
        health(&state),
        [(backends[0], true), (backends[1], true), (stranger, false)],
        "the provider's NodePorts rule lets the health checks through the customer's deny"
    );

    let name = cloud.instance(a).name;
    cloud
        .fleet
        .inject(Fault::NodeNotReady { node: name })
        .unwrap();
    let listed = cloud.vpc.load_balancers(cloud.cluster).await.unwrap();
    assert_eq!(
        health(&listed[0]),
        [(backends[0], false), (backends[1], true), (stranger, false)]
    );

    // Without the NodePorts rule the customer's deny (or the default) stops the health checks.
    rules.revision = 2;
    rules.required = without(&[Flow::NodePorts]);
    cloud.vpc.apply_firewall(rules.clone()).await.unwrap();
    let listed = cloud.vpc.load_balancers(cloud.cluster).await.unwrap();
    assert!(listed[0].backends.iter().all(|b| !b.healthy));

    // … and the load balancer's own rule lets its NodePort through again.
    rules.revision = 3;
    rules.load_balancers = vec![accord_firewall::driver::LoadBalancerRule {
        name: "web".into(),
        source_ranges: Vec::new(),
        node_ports: vec![30_443],
    }];
    rules.customer.clear();
    cloud.vpc.apply_firewall(rules).await.unwrap();
    let listed = cloud.vpc.load_balancers(cloud.cluster).await.unwrap();
    assert_eq!(
        health(&listed[0]),
        [(backends[0], false), (backends[1], true), (stranger, false)]
    );
}

#[tokio::test]
async fn the_network_survives_a_restart_from_its_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let fleet_config = SimConfig::default()
        .with_clock_factor(FAST)
        .with_state_file(dir.path().join("fleet.json"));
    let config = VpcConfig::for_fleet(&fleet_config);
    assert_eq!(
        config.state_file.as_deref(),
        Some(dir.path().join("fleet-vpc.json").as_path())
    );
    assert_eq!(config.clock_factor, FAST);

    let cluster = ClusterId::generate();
    let vpc = SimVpc::new(config.clone()).unwrap();
    vpc.apply_firewall(rule_set(cluster, 1, deny_everything()))
        .await
        .unwrap();
    vpc.inject(Fault::FirewallDrift { cluster }).unwrap();
    let web = vpc
        .ensure_load_balancer(lb(cluster, "web", Vec::new()))
        .await
        .unwrap();
    // Still being created when the process stops.
    let slow = vpc.ensure_load_balancer(lb(cluster, "slow", Vec::new()));
    let _ = tokio::time::timeout(Duration::from_millis(1), slow).await;
    vpc.inject(Fault::FailNextFirewallApplies { count: 1 })
        .unwrap();
    let firewall = vpc.firewall(cluster).await.unwrap();
    drop(vpc);

    let vpc = SimVpc::new(config).unwrap();
    assert_eq!(vpc.firewall(cluster).await.unwrap(), firewall);
    assert_eq!(vpc.drift_log().len(), 1);
    assert_eventually!(vpc.load_balancers(cluster).await.unwrap().len() == 2);
    let slow = vpc
        .ensure_load_balancer(lb(cluster, "slow", Vec::new()))
        .await
        .unwrap();
    assert_eq!(slow.address, Ipv4Addr::new(198, 51, 100, 2));
    let listed = vpc.load_balancers(cluster).await.unwrap();
    assert_eq!(listed[1], web, "same address, same everything");
    assert!(matches!(
        vpc.apply_firewall(rule_set(cluster, 2, Vec::new())).await,
        Err(InfraError::Unavailable(_))
    ));
}

#[test]
fn durations_stay_in_their_ranges() {
    use rand::SeedableRng;
    let mut rng = StdRng::seed_from_u64(1);
    for op in VpcOperation::ALL {
        let (lo, hi) = op.range();
        for _ in 0..100 {
            let d = op.duration(1.0, &mut rng);
            assert!(lo <= d && d <= hi, "{op:?} {d:?}");
        }
        assert_eq!(op.duration(0.0, &mut rng), Duration::ZERO);
    }
}

#[tokio::test]
async fn a_blocked_node_stays_not_ready_across_a_restart_of_fleet_and_network() {
    let dir = tempfile::tempdir().unwrap();
    let config = SimConfig::default()
        .with_clock_factor(FAST)
        .with_state_file(dir.path().join("fleet.json"));
    let fleet = Arc::new(SimFleet::new(config.clone()).unwrap());
    let events = Recorder::default();
    fleet.subscribe(events.sink());
    let vpc = SimVpc::for_fleet(&fleet).unwrap();
    let cloud = Cloud {
        fleet,
        vpc,
        events,
        cluster: ClusterId::generate(),
        project: ProjectId::generate(),
        pool: NodePoolId::generate(),
        nodes: Vec::new(),
    };
    let node = cloud.provision("cpu-0").await;
    assert_eventually!(cloud.ready(node));
    let applied = rule_set(cloud.cluster, 1, Vec::new());
    cloud.vpc.apply_firewall(applied.clone()).await.unwrap();
    cloud
        .vpc
        .inject(Fault::FirewallDrift {
            cluster: cloud.cluster,
        })
        .unwrap();
    assert!(!cloud.ready(node));
    drop(cloud);

    let fleet = Arc::new(SimFleet::new(config).unwrap());
    let events = Recorder::default();
    fleet.subscribe(events.sink());
    let vpc = SimVpc::for_fleet(&fleet).unwrap();
    let ready = |fleet: &SimFleet| fleet.instances().iter().all(|i| i.ready);
    assert!(!ready(&fleet), "still blocked after the restart");
    assert_eq!(fleet.instances()[0].faults, ["vpc-blocks-kubelet"]);
    vpc.apply_firewall(applied).await.unwrap();
    assert!(ready(&fleet));
    assert_eventually!(events.readiness(node) == [(true, "KubeletReady".to_owned())]);
}
