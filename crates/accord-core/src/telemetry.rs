//! What a node agent reports: one [`TelemetrySample`] per node per interval, with its GPUs and
//! InfiniBand ports.
//!
//! The simulated agents in `accord-sim` publish these, a real node agent publishes exactly the
//! same bytes, and the telemetry service decodes them; this module is the contract between them.
//!
//! Encoding: UTF-8 JSON, one object per message, published on core NATS subject
//! `accord.tel.<cluster>.<node>`. Field names are the Rust names below (snake_case); the IB port
//! state is `"up"` or `"down"`. Every sample carries `"v": SCHEMA_VERSION`.
//!
//! Invariants:
//! - Counters (`*_total`, `link_downed`, …) are monotonic for the life of an instance, as the
//!   hardware counters they mirror are; consumers compute rates from differences.
//! - [`decode`] accepts only the schema version it knows ([`SCHEMA_VERSION`]) and ignores unknown
//!   fields, so adding a field is compatible and changing one needs a new version.
//! - No IO here: [`encode`] and [`decode`] turn values into bytes and back.

use serde::{Deserialize, Serialize};

use crate::ids::{ClusterId, NodeId, NodePoolId};

/// Version of the sample schema, carried as `"v"` in every sample.
pub const SCHEMA_VERSION: u32 = 1;

/// One node's state at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// Schema version ([`SCHEMA_VERSION`]).
    #[serde(rename = "v")]
    pub schema_version: u32,
    /// When the sample was taken, Unix time in milliseconds (UTC).
    pub ts_ms: i64,
    /// Cluster the node belongs to.
    pub cluster: ClusterId,
    /// The node.
    pub node: NodeId,
    /// Its hostname (the Kubernetes node name).
    pub node_name: String,
    /// Its node pool.
    pub pool: NodePoolId,
    /// Instance type, e.g. `h100-80gb-sxm-ib.8x`.
    pub instance_type: String,
    /// Whether the kubelet reports Ready.
    pub ready: bool,
    /// One entry per GPU, by index (empty on CPU-only nodes).
    pub gpus: Vec<GpuSample>,
    /// One entry per InfiniBand port (empty off the fabric).
    pub ib_ports: Vec<IbPortSample>,
    /// Some GPU is being throttled for temperature or power (DCGM clock-throttle reasons).
    pub thermal_violation: bool,
}

/// One GPU, with DCGM-equivalent fields (the metric each maps to is named on the field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuSample {
    /// Index on the node (`gpu` label).
    pub index: u32,
    /// `GPU-xxxxxxxx-xxxx-…` (`UUID` label).
    pub uuid: String,
    /// Model name, e.g. `NVIDIA H100 80GB HBM3` (`modelName` label).
    pub model: String,
    /// `DCGM_FI_DEV_GPU_TEMP`, °C.
    pub temp_c: u32,
    /// `DCGM_FI_DEV_POWER_USAGE`, W.
    pub power_w: f64,
    /// `DCGM_FI_DEV_GPU_UTIL`, 0–100.
    pub util_pct: u32,
    /// `DCGM_FI_DEV_FB_USED`, MiB.
    pub fb_used_mib: u64,
    /// `DCGM_FI_DEV_XID_ERRORS`: the last XID reported, if any since boot.
    pub xid_last: Option<u32>,
    /// XIDs reported since the instance was created.
    pub xid_total: u64,
    /// `DCGM_FI_DEV_ECC_SBE_VOL_TOTAL`.
    pub ecc_sbe_total: u64,
    /// `DCGM_FI_DEV_ECC_DBE_VOL_TOTAL`.
    pub ecc_dbe_total: u64,
    /// `DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS`.
    pub remapped_rows_uncorrectable: u64,
    /// `DCGM_FI_DEV_ROW_REMAP_FAILURE`.
    pub row_remap_failure: bool,
    /// `DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL`.
    pub nvlink_crc_errors: u64,
    /// `DCGM_FI_DEV_PCIE_REPLAY_COUNTER`.
    pub pcie_replay: u64,
}

/// Physical state of an InfiniBand port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IbPortState {
    /// Link up (ACTIVE).
    Up,
    /// Link down.
    Down,
}

/// One InfiniBand port, with the standard port counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IbPortSample {
    /// Port index on the node (HCA `mlx5_<port>`).
    pub port: u32,
    /// Link state.
    pub state: IbPortState,
    /// `link_downed`: times the link went down.
    pub link_downed: u64,
    /// `symbol_error`: physical-layer symbol errors.
    pub symbol_error: u64,
    /// `excessive_buffer_overrun_errors`.
    pub excessive_buffer_overrun: u64,
    /// `local_link_integrity_errors`.
    pub local_link_integrity_errors: u64,
}

/// Bytes that are not a sample this version understands.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Not JSON, or not shaped like a sample.
    #[error("malformed telemetry sample: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A schema version this decoder does not know.
    #[error("telemetry schema version {found} is not supported (expected {SCHEMA_VERSION})")]
    UnsupportedVersion {
        /// The version in the sample.
        found: u32,
    },
}

/// Encodes a sample as JSON.
pub fn encode(sample: &TelemetrySample) -> Result<Vec<u8>, TelemetryError> {
    Ok(serde_json::to_vec(sample)?)
}

/// Decodes a sample, checking its schema version first (so a newer sample fails with
/// [`TelemetryError::UnsupportedVersion`] rather than a confusing field error).
pub fn decode(bytes: &[u8]) -> Result<TelemetrySample, TelemetryError> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    let Version { v } = serde_json::from_slice(bytes)?;
    if v != SCHEMA_VERSION {
        return Err(TelemetryError::UnsupportedVersion { found: v });
    }
    Ok(serde_json::from_slice(bytes)?)
}

impl TelemetrySample {
    /// [`encode`] as a method.
    pub fn encode(&self) -> Result<Vec<u8>, TelemetryError> {
        encode(self)
    }

    /// [`decode`] as an associated function.
    pub fn decode(bytes: &[u8]) -> Result<Self, TelemetryError> {
        decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TelemetrySample {
        TelemetrySample {
            schema_version: SCHEMA_VERSION,
            ts_ms: 1_790_000_000_000,
            cluster: ClusterId::generate(),
            node: NodeId::generate(),
            node_name: "gpu-a-1".into(),
            pool: NodePoolId::generate(),
            instance_type: "h100-80gb-sxm-ib.8x".into(),
            ready: true,
            gpus: vec![GpuSample {
                index: 0,
                uuid: "GPU-00000000-0000-0000-0000-000000000000".into(),
                model: "NVIDIA H100 80GB HBM3".into(),
                temp_c: 41,
                power_w: 312.5,
                util_pct: 63,
                fb_used_mib: 40_000,
                xid_last: Some(48),
                xid_total: 1,
                ecc_sbe_total: 0,
                ecc_dbe_total: 1,
                remapped_rows_uncorrectable: 0,
                row_remap_failure: false,
                nvlink_crc_errors: 0,
                pcie_replay: 0,
            }],
            ib_ports: vec![IbPortSample {
                port: 0,
                state: IbPortState::Down,
                link_downed: 1,
                symbol_error: 0,
                excessive_buffer_overrun: 0,
                local_link_integrity_errors: 0,
            }],
            thermal_violation: false,
        }
    }

    #[test]
    fn round_trips() {
        let s = sample();
        let bytes = s.encode().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(text.starts_with("{\"v\":1,"), "{text}");
        assert!(text.contains("\"state\":\"down\""), "{text}");
        assert_eq!(TelemetrySample::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn ignores_unknown_fields_and_rejects_other_versions() {
        let mut value = serde_json::to_value(sample()).unwrap();
        value["future_field"] = serde_json::json!(7);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert!(decode(&bytes).is_ok());

        value["v"] = serde_json::json!(2);
        let bytes = serde_json::to_vec(&value).unwrap();
        assert!(matches!(
            decode(&bytes),
            Err(TelemetryError::UnsupportedVersion { found: 2 })
        ));
        assert!(matches!(decode(b"nope"), Err(TelemetryError::Malformed(_))));
        assert!(matches!(
            decode(b"{\"v\":1}"),
            Err(TelemetryError::Malformed(_))
        ));
    }
}
