//! Shared helpers: a fast fleet, an event recorder, request builders.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    infra::{ControlPlaneRequest, InfraDriver, InfraEvent, InfraEventSink, NodeRequest},
    validation::KubeVersion,
};
use accord_sim::{SimConfig, SimFleet};

/// 1000× real time: a GPU node takes ~180 ms, a control plane ~120 ms.
pub const FAST: f64 = 0.001;

pub fn config() -> SimConfig {
    SimConfig::default()
        .with_clock_factor(FAST)
        .with_seed(42)
        .with_telemetry_interval(Duration::from_millis(50))
}

pub fn v(s: &str) -> KubeVersion {
    s.parse().unwrap()
}

/// Collects every event the fleet delivers.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<InfraEvent>>>,
}

impl Recorder {
    pub fn sink(&self) -> InfraEventSink {
        let events = Arc::clone(&self.events);
        Arc::new(move |event| events.lock().unwrap().push(event))
    }

    pub fn all(&self) -> Vec<InfraEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn count(&self, pred: impl Fn(&InfraEvent) -> bool) -> usize {
        self.all().iter().filter(|e| pred(e)).count()
    }
}

/// A fleet with a recorder subscribed.
pub fn fleet() -> (SimFleet, Recorder) {
    fleet_with(config())
}

pub fn fleet_with(config: SimConfig) -> (SimFleet, Recorder) {
    let fleet = SimFleet::new(config).unwrap();
    let recorder = Recorder::default();
    fleet.subscribe(recorder.sink());
    (fleet, recorder)
}

pub fn cp_request(cluster: ClusterId) -> ControlPlaneRequest {
    ControlPlaneRequest {
        cluster,
        region: "eu-iceland1".into(),
        version: v("1.31"),
    }
}

pub struct Pool {
    pub project: ProjectId,
    pub cluster: ClusterId,
    pub pool: NodePoolId,
    pub subnet: ipnet::Ipv4Net,
    pub instance_type: &'static str,
}

impl Pool {
    pub fn new(instance_type: &'static str) -> Self {
        Pool {
            project: ProjectId::generate(),
            cluster: ClusterId::generate(),
            pool: NodePoolId::generate(),
            subnet: "10.20.0.0/24".parse().unwrap(),
            instance_type,
        }
    }

    pub fn node(&self, name: &str) -> NodeRequest {
        NodeRequest {
            node: NodeId::generate(),
            name: name.to_owned(),
            project: self.project,
            cluster: self.cluster,
            pool: self.pool,
            region: "us-east1".into(),
            vpc_subnet: self.subnet,
            instance_type: self.instance_type.into(),
            image_version: "2026.11.0".into(),
            kubelet_version: v("1.31"),
        }
    }
}

pub fn is_ready(recorder: &Recorder, node: NodeId, ready: bool) -> bool {
    recorder.all().iter().rev().find_map(|e| match e {
        InfraEvent::NodeReadiness { node: n, ready, .. } if *n == node => Some(*ready),
        _ => None,
    }) == Some(ready)
}

/// Provisions `req` and waits until the node reports Ready.
pub async fn provision_ready(fleet: &SimFleet, recorder: &Recorder, req: NodeRequest) -> NodeId {
    let node = req.node;
    fleet.provision_node(req).await.unwrap();
    accord_testkit::assert_eventually!(is_ready(recorder, node, true), "{:?}", recorder.all());
    node
}
