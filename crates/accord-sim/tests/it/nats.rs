//! Against a real nats-server: agents publish decodable samples on the right subjects, faults
//! show in them, and the fault server answers good and malformed requests.

use std::sync::Arc;
use std::time::Duration;

use accord_bus::{Bus, BusError, Subscription, subjects};
use accord_core::{
    infra::InfraDriver,
    telemetry::{IbPortState, TelemetrySample},
};
use accord_sim::{FaultReply, FleetInstance, SimFleet, fault_server, run_agents, serve_faults};
use accord_testkit::{NatsServer, eventually_with_default_deadline};
use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::common::*;

async fn next_sample(sub: &mut Subscription) -> (String, TelemetrySample) {
    let message = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a sample within 10 s")
        .expect("subscription open");
    let sample = TelemetrySample::decode(&message.payload).expect("decodable sample");
    (message.subject, sample)
}

#[tokio::test]
async fn agents_publish_samples_and_faults_show_in_them() {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&server.url(), "sim-test").await.unwrap();
    let (fleet, recorder) = fleet();
    let fleet = Arc::new(fleet);
    let pool = Pool::new("h100-80gb-sxm-ib.8x");
    let node = provision_ready(&fleet, &recorder, pool.node("gpu-a-1")).await;

    let subject = subjects::telemetry(&pool.cluster.to_string(), &node.to_string()).unwrap();
    let mut sub = bus
        .subscribe_core(&subjects::telemetry_all())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let agents = tokio::spawn(run_agents(
        Arc::clone(&fleet),
        bus.clone(),
        shutdown.clone(),
    ));

    let (got_subject, sample) = next_sample(&mut sub).await;
    assert_eq!(got_subject, subject);
    assert_eq!(
        (sample.cluster, sample.node, sample.pool),
        (pool.cluster, node, pool.pool)
    );
    assert_eq!(sample.node_name, "gpu-a-1");
    assert_eq!(sample.instance_type, "h100-80gb-sxm-ib.8x");
    assert!(sample.ready);
    assert_eq!(sample.gpus.len(), 8);
    assert_eq!(sample.ib_ports.len(), 8);
    for g in &sample.gpus {
        assert_eq!(g.model, "NVIDIA H100 80GB HBM3");
        assert!(g.uuid.starts_with("GPU-"));
        assert!((35..=75).contains(&g.temp_c), "{g:?}");
        assert!(g.power_w > 0.0 && g.power_w <= 700.0, "{g:?}");
        assert_eq!((g.xid_last, g.xid_total), (None, 0));
    }

    fleet
        .inject(accord_sim::Fault::GpuXid {
            node: "gpu-a-1".into(),
            gpu: 3,
            xid: 48,
        })
        .unwrap();
    fleet
        .inject(accord_sim::Fault::IbLinkDown {
            node: "gpu-a-1".into(),
            port: 5,
        })
        .unwrap();
    fleet
        .inject(accord_sim::Fault::GpuThermal {
            node: "gpu-a-1".into(),
            gpu: 1,
            temp_c: 93,
        })
        .unwrap();
    let sample = loop {
        let (_, sample) = next_sample(&mut sub).await;
        if sample.gpus[3].xid_last.is_some() {
            break sample;
        }
    };
    let g = &sample.gpus[3];
    assert_eq!((g.xid_last, g.xid_total, g.ecc_dbe_total), (Some(48), 1, 1));
    assert_eq!(sample.ib_ports[5].state, IbPortState::Down);
    assert_eq!(sample.ib_ports[5].link_downed, 1);
    assert_eq!(sample.gpus[1].temp_c, 93);
    assert!(sample.thermal_violation);

    // XID 79: the node goes NotReady and keeps reporting, so the telemetry service sees why.
    fleet
        .inject(accord_sim::Fault::GpuXid {
            node: "gpu-a-1".into(),
            gpu: 0,
            xid: 79,
        })
        .unwrap();
    let sample = loop {
        let (_, sample) = next_sample(&mut sub).await;
        if sample.gpus[0].xid_last == Some(79) {
            break sample;
        }
    };
    assert!(!sample.ready);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), agents)
        .await
        .unwrap()
        .unwrap();
}

async fn request(bus: &Bus, subject: &str, payload: &'static [u8]) -> Result<Bytes, BusError> {
    bus.request(subject, Bytes::from_static(payload), Duration::from_secs(2))
        .await
}

#[tokio::test]
async fn fault_server_answers_good_and_malformed_requests() {
    let server = NatsServer::start().await.unwrap();
    let bus = Bus::connect(&server.url(), "sim-test").await.unwrap();
    let (fleet, recorder) = fleet();
    let fleet: Arc<SimFleet> = Arc::new(fleet);
    let node = provision_ready(
        &fleet,
        &recorder,
        Pool::new("h200-141gb-sxm-ib.8x").node("gpu-z-9"),
    )
    .await;

    let shutdown = CancellationToken::new();
    let server_task = tokio::spawn(serve_faults(
        Arc::clone(&fleet),
        bus.clone(),
        shutdown.clone(),
    ));
    let inject = fault_server::inject_subject().unwrap();
    let list = fault_server::list_subject().unwrap();
    assert_eq!(inject, "accord.cmd.sim.fault.inject");
    assert_eq!(list, "accord.cmd.sim.fleet.list");

    // Wait for the server to subscribe: poll until a request is answered.
    let listed = eventually_with_default_deadline(|| {
        let bus = bus.clone();
        let list = list.clone();
        async move { request(&bus, &list, b"").await.map_err(|e| e.to_string()) }
    })
    .await
    .unwrap();
    let listed: Vec<FleetInstance> = serde_json::from_slice(&listed).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].node, listed[0].state.as_str(), listed[0].ready),
        (node, "running", true)
    );
    assert!(listed[0].ip.starts_with("10.20.0."));

    // Malformed → an error reply, and the server keeps serving.
    for bad in [&b"{not json"[..], b"{\"kind\":\"meteor-strike\"}", b""] {
        let reply: FaultReply =
            serde_json::from_slice(&request(&bus, &inject, bad).await.unwrap()).unwrap();
        assert!(!reply.ok, "{reply:?}");
        assert!(reply.error.unwrap().contains("malformed fault request"));
    }
    let reply: FaultReply = serde_json::from_slice(
        &request(
            &bus,
            &inject,
            br#"{"kind":"node-not-ready","node":"no-such-node"}"#,
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        reply.clone().into_result().unwrap_err(),
        reply.error.clone().unwrap()
    );
    assert!(reply.error.unwrap().contains("no-such-node"));

    let good = serde_json::to_vec(&accord_sim::Fault::GpuXid {
        node: node.to_string(),
        gpu: 4,
        xid: 79,
    })
    .unwrap();
    let reply: FaultReply = serde_json::from_slice(
        &bus.request(&inject, Bytes::from(good), Duration::from_secs(2))
            .await
            .unwrap(),
    )
    .unwrap();
    let message = reply.into_result().unwrap();
    assert!(
        message.contains("XID 79") && message.contains("NotReady"),
        "{message}"
    );
    assert_eq!(fleet.snapshot().nodes, vec![(node, false)]);

    let listed: Vec<FleetInstance> =
        serde_json::from_slice(&request(&bus, &list, b"").await.unwrap()).unwrap();
    assert!(!listed[0].ready);
    assert!(
        listed[0].faults.contains(&"gpu4-fell-off-bus".to_owned()),
        "{:?}",
        listed[0].faults
    );

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
