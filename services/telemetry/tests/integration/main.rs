//! The telemetry service's integration tests, one test binary: the pure handlers, the ingest
//! path over a temporary store (no NATS) and the customer metrics endpoint over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod handlers;
mod http;
mod ingest;

use accord_core::{
    ids::{ClusterId, NodeId, NodePoolId, ProjectId},
    telemetry::{GpuSample, SCHEMA_VERSION, TelemetrySample},
};
use accord_store::{Commit, Expect, Store};
use accord_telemetry::{trees::CLUSTERS, view::ClusterView};

/// A cluster of project `project` with one pool named `gpu`.
pub fn view(project: ProjectId, pool: NodePoolId) -> ClusterView {
    ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project,
        pools: [(pool, "gpu".to_owned())].into(),
    }
}

/// What the read model's consumer would write when it learns `v`.
pub async fn put_cluster(store: &Store, v: &ClusterView) {
    let mut c = Commit::new();
    c.push_put_in(CLUSTERS, &v.id.to_string(), v, Expect::Any)
        .unwrap();
    store.commit(c).await.unwrap();
}

fn gpu(index: u32) -> GpuSample {
    GpuSample {
        index,
        uuid: format!("GPU-{index:08}"),
        model: "NVIDIA H100 80GB HBM3".into(),
        temp_c: 50,
        power_w: 300.0,
        util_pct: 90,
        fb_used_mib: 1024,
        xid_last: None,
        xid_total: 0,
        ecc_sbe_total: 0,
        ecc_dbe_total: 0,
        remapped_rows_uncorrectable: 0,
        row_remap_failure: false,
        nvlink_crc_errors: 0,
        pcie_replay: 0,
    }
}

/// A healthy 8-GPU sample of `node` in `cluster` at `ts_ms`.
pub fn sample(cluster: ClusterId, node: NodeId, pool: NodePoolId, ts_ms: i64) -> TelemetrySample {
    TelemetrySample {
        schema_version: SCHEMA_VERSION,
        ts_ms,
        cluster,
        node,
        node_name: "node-a".into(),
        pool,
        instance_type: "h100-80gb-sxm-ib.8x".into(),
        ready: true,
        gpus: (0..8).map(gpu).collect(),
        ib_ports: vec![],
        thermal_violation: false,
    }
}

/// `s` with XID `xid` reported once more on GPU `index`.
pub fn with_xid(mut s: TelemetrySample, index: usize, xid: u32) -> TelemetrySample {
    let g = &mut s.gpus[index];
    g.xid_last = Some(xid);
    g.xid_total += 1;
    s
}

/// The subject `s` is published on.
pub fn subject(s: &TelemetrySample) -> String {
    accord_bus::subjects::telemetry(&s.cluster.to_string(), &s.node.to_string()).unwrap()
}

/// `s` as the agent encodes it.
pub fn bytes(s: &TelemetrySample) -> Vec<u8> {
    serde_json::to_vec(s).unwrap()
}
