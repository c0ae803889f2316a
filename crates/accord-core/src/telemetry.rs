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
//!
//! InfiniBand ports are named as agents name them, `<HCA>/<port>` ([`IbPortName`], e.g.
//! `mlx5_0/1`). A v1 sample may carry the name (`"name"` in an `ib_ports` entry); one without it
//! (the simulator's) names port 1 of HCA `mlx5_<port>` ([`IbPortSample::port_name`]): GPU nodes
//! carry one single-port HCA per GPU rail, and `port` counts HCAs.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize};

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
    /// The port as the agent names it (`mlx5_0/1`); absent from samples of agents that only
    /// count ports, whose name [`IbPortSample::port_name`] derives from `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<IbPortName>,
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

impl IbPortSample {
    /// The port's name: the one the agent sent, else port 1 of HCA `mlx5_<port>`
    /// ([`IbPortName::from_index`]).
    pub fn port_name(&self) -> IbPortName {
        self.name
            .clone()
            .unwrap_or_else(|| IbPortName::from_index(self.port))
    }
}

/// Longest InfiniBand port name accepted, in bytes (`mlx5_0/1` has 8).
pub const IB_PORT_NAME_MAX_LEN: usize = 64;

/// An InfiniBand port as node agents name it: `<HCA device>/<port number>`, e.g. `mlx5_0/1`
/// (the names of `/sys/class/infiniband/<device>/ports/<port>` and of `ibstat`).
///
/// JSON: a string of 1–[`IB_PORT_NAME_MAX_LEN`] ASCII letters, digits and `_ . : / -`. A bare
/// index — a JSON number, or a string of digits — is accepted too, as findings and samples
/// before names carried it, and means port 1 of HCA `mlx5_<index>` ([`IbPortName::from_index`]).
/// It is always written as the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct IbPortName(String);

/// Why a text is not an [`IbPortName`] (the text itself is never echoed: it may be anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbPortNameError {
    /// Empty.
    #[error("an InfiniBand port name must not be empty (e.g. `mlx5_0/1`)")]
    Empty,
    /// Longer than [`IB_PORT_NAME_MAX_LEN`].
    #[error(
        "an InfiniBand port name has at most {IB_PORT_NAME_MAX_LEN} bytes (this one has {len})"
    )]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A character outside ASCII letters, digits and `_ . : / -`.
    #[error(
        "an InfiniBand port name has only ASCII letters, digits and `_ . : / -` (e.g. `mlx5_0/1`); \
         byte {at} is not one"
    )]
    BadCharacter {
        /// 0-based byte offset of the first bad character.
        at: usize,
    },
}

impl IbPortName {
    /// Port 1 of HCA `mlx5_<index>`: the name of the port a sample or an older finding counts
    /// as `index`.
    pub fn from_index(index: u32) -> Self {
        IbPortName(format!("mlx5_{index}/1"))
    }

    /// Checks `name`; a string of digits is an index ([`IbPortName::from_index`]).
    pub fn new(name: &str) -> Result<Self, IbPortNameError> {
        if name.is_empty() {
            return Err(IbPortNameError::Empty);
        }
        if name.len() > IB_PORT_NAME_MAX_LEN {
            return Err(IbPortNameError::TooLong { len: name.len() });
        }
        if let Some(at) = name
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b"_.:/-".contains(&b)))
        {
            return Err(IbPortNameError::BadCharacter { at });
        }
        if name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(index) = name.parse::<u32>()
        {
            return Ok(IbPortName::from_index(index));
        }
        Ok(IbPortName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number that stood for this port before ports had names: `N` of `mlx5_N/P` (the
    /// HCA's index, which is what [`IbPortSample::port`] counts). `None` for names of another
    /// form (`ib0/1`, `mlx5_bond_0/1`).
    pub fn legacy_index(&self) -> Option<u32> {
        let (hca, port) = self.0.strip_prefix("mlx5_")?.split_once('/')?;
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(hca) || !all_digits(port) {
            return None;
        }
        hca.parse().ok()
    }
}

impl fmt::Display for IbPortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IbPortName {
    type Err = IbPortNameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IbPortName::new(s)
    }
}

impl<'de> Deserialize<'de> for IbPortName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IbPortName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an InfiniBand port name such as `mlx5_0/1`, or a port index")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IbPortName, E> {
                u32::try_from(v)
                    .map(IbPortName::from_index)
                    .map_err(|_| E::custom("an InfiniBand port index fits in 32 bits"))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IbPortName, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("an InfiniBand port index is not negative"))
                    .and_then(|v| self.visit_u64(v))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IbPortName, E> {
                IbPortName::new(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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

/// Decodes a sample of [`SCHEMA_VERSION`]; a sample of another version fails with
/// [`TelemetryError::UnsupportedVersion`] whatever its shape, rather than a confusing field
/// error.
pub fn decode(bytes: &[u8]) -> Result<TelemetrySample, TelemetryError> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    // One pass for a sample of this version (the hot path: every sample of the fleet); the
    // version is read on its own only when the bytes are not such a sample.
    match serde_json::from_slice::<TelemetrySample>(bytes) {
        Ok(sample) if sample.schema_version == SCHEMA_VERSION => Ok(sample),
        Ok(sample) => Err(TelemetryError::UnsupportedVersion {
            found: sample.schema_version,
        }),
        // The same errors as reading the version first would give.
        Err(shape) => match serde_json::from_slice::<Version>(bytes) {
            Ok(Version { v }) if v != SCHEMA_VERSION => {
                Err(TelemetryError::UnsupportedVersion { found: v })
            }
            Ok(_) => Err(TelemetryError::Malformed(shape)),
            Err(no_version) => Err(TelemetryError::Malformed(no_version)),
        },
    }
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
                name: None,
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
        // Another version shaped differently still names its version.
        assert!(matches!(
            decode(b"{\"v\":2,\"batch\":[]}"),
            Err(TelemetryError::UnsupportedVersion { found: 2 })
        ));
        assert!(matches!(decode(b"nope"), Err(TelemetryError::Malformed(_))));
        assert!(matches!(
            decode(b"{\"v\":1}"),
            Err(TelemetryError::Malformed(_))
        ));
    }

    #[test]
    fn port_names_accept_names_and_bare_indexes_and_derive_one_when_absent() {
        let parse = |json: &str| serde_json::from_str::<IbPortName>(json);
        assert_eq!(parse("\"mlx5_3/1\"").unwrap().as_str(), "mlx5_3/1");
        assert_eq!(parse("2").unwrap().as_str(), "mlx5_2/1");
        assert_eq!(parse("\"7\"").unwrap().as_str(), "mlx5_7/1");
        assert_eq!(parse("\"ib0/1\"").unwrap().as_str(), "ib0/1");
        for bad in ["-1", "4294967296", "\"\"", "\"mlx5 0\"", "1.5", "null"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let long = format!("\"{}\"", "a".repeat(IB_PORT_NAME_MAX_LEN + 1));
        let err = parse(&long).unwrap_err().to_string();
        assert!(err.contains("at most 64 bytes"), "{err}");
        assert!(!err.contains("aaaa"), "the name is not echoed: {err}");
        assert_eq!(
            serde_json::to_string(&IbPortName::from_index(4)).unwrap(),
            "\"mlx5_4/1\""
        );

        // The number the port stood for before names.
        let legacy = |s: &str| IbPortName::new(s).unwrap().legacy_index();
        assert_eq!(legacy("mlx5_3/1"), Some(3));
        assert_eq!(legacy("mlx5_12/2"), Some(12));
        assert_eq!(legacy("5"), Some(5));
        assert_eq!(legacy("mlx5_bond_0/1"), None);
        assert_eq!(legacy("ib0/1"), None);
        assert_eq!(legacy("mlx5_1"), None);

        // A sample without names (the simulator's) is unchanged on the wire and derives them.
        let s = sample();
        let text = String::from_utf8(s.encode().unwrap()).unwrap();
        assert!(!text.contains("\"name\""), "{text}");
        assert_eq!(s.ib_ports[0].port_name().as_str(), "mlx5_0/1");
        let mut value = serde_json::to_value(&s).unwrap();
        value["ib_ports"][0]["name"] = serde_json::json!("mlx5_bond_0/1");
        let named = decode(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(named.ib_ports[0].port_name().as_str(), "mlx5_bond_0/1");
    }
}
