//! The customer metrics exposition: one cluster's latest telemetry as Prometheus text, for the
//! telemetry service's `GET <base>/v1/clusters/<cluster>/metrics`. Pure: the service passes
//! what it holds (each node's latest [`TelemetrySample`], the cluster's id and name, each
//! node's pool name, the [`XidCounters`] it keeps) and gets the body; it picks the format with
//! [`negotiate`] and sends [`Format::content_type`].
//!
//! What is exposed (every family's HELP says it too):
//! - GPU gauges under dcgm-exporter's names and labels, so its dashboards and alerts work
//!   unchanged: `DCGM_FI_DEV_GPU_TEMP`, `…_POWER_USAGE`, `…_GPU_UTIL`, `…_FB_USED`,
//!   `…_XID_ERRORS` (the last XID, 0 for none), `…_ECC_SBE_VOL_TOTAL`, `…_ECC_DBE_VOL_TOTAL`,
//!   `…_UNCORRECTABLE_REMAPPED_ROWS`, `…_ROW_REMAP_FAILURE` (0/1),
//!   `…_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL`, `…_PCIE_REPLAY_COUNTER`; labels `gpu`, `UUID`,
//!   `modelName`, `Hostname`, plus ours. dcgm-exporter types them all as gauges, the `*_TOTAL`
//!   ones too, and so do we: a scraper that already reads dcgm-exporter sees the same types.
//! - `accord_gpu_xid_errors_total{xid="79"}`: XIDs counted per GPU and code, a real counter
//!   (from [`XidCounters`], whose docs give the approximation).
//! - InfiniBand, per port as the agent names it (`port="mlx5_0/1"`): `accord_ib_port_state`
//!   (1 up, 0 down) and the counters `accord_ib_link_downed_total`,
//!   `accord_ib_symbol_error_total`, `accord_ib_excessive_buffer_overrun_errors_total`,
//!   `accord_ib_local_link_integrity_errors_total` (the hardware counters as they are: a reset
//!   of the instance is a counter reset, which `rate()` handles).
//! - Per node: `accord_node_ready` and `accord_node_thermal_violation` (1/0).
//! - Every series carries `cluster` (the cluster's name), `cluster_id`, `node_pool` (the pool's
//!   name) and `Hostname` (the Kubernetes node name).
//!
//! Formats: OpenMetrics 1.0 is written by the `prometheus-client` crate (a collector over the
//! series built here); the classic text format 0.0.4 by [`classic`], because that crate writes
//! only OpenMetrics (and protobuf). The two differ where the formats do: a counter's family is
//! `accord_ib_link_downed` with samples `accord_ib_link_downed_total` in OpenMetrics and
//! `accord_ib_link_downed_total` throughout in the classic format; only OpenMetrics ends with
//! `# EOF`. Label values are escaped alike in both (`\\`, `\"`, `\n`); HELP texts are constants
//! without characters that need escaping (a test keeps them so).
//!
//! Invariants:
//! - Only samples of the cluster asked for are exposed: a sample whose `cluster` is another
//!   cluster's is skipped, so a mix-up upstream cannot leak one customer's nodes to another.
//! - No duplicate series: one node per `Hostname` (the newest sample if two share one), one GPU
//!   per index and one port per name within a node (the first in the sample).
//! - Deterministic output: families in name order (byte order, so `DCGM_…` before `accord_…`),
//!   each family's series together, by `Hostname`, then GPU index, XID code or port name. The
//!   same input gives the same bytes.
//! - Cost: sorting the nodes and each node's devices, then one pass: O(s log s) for s series,
//!   output linear in the input; nothing quadratic. A family without series is left out. A
//!   non-finite power reading (not expressible in a sample's JSON anyway) is left out.

mod classic;
mod xid_counters;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use accord_core::{
    ids::ClusterId,
    telemetry::{GpuSample, IbPortName, IbPortSample, IbPortState, TelemetrySample},
};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, NoLabelSet},
    metrics::MetricType,
    registry::Registry,
};

/// The formats and their negotiation are the platform's one set (`accord_core::exposition`),
/// shared with every service's own `/metrics`.
pub use accord_core::exposition::{
    Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, negotiate,
};
pub use xid_counters::{GpuXids, MAX_XID_CODES_PER_GPU, XidCounters};

/// The cluster a scrape is about.
#[derive(Debug, Clone, Copy)]
pub struct ClusterLabels<'a> {
    /// Its id (`cluster_id` label); samples of other clusters are skipped.
    pub id: &'a ClusterId,
    /// Its name (`cluster` label).
    pub name: &'a str,
}

/// One node as the service knows it: its latest sample and its pool's name.
#[derive(Debug, Clone, Copy)]
pub struct NodeMetrics<'a> {
    /// The node's latest sample.
    pub sample: &'a TelemetrySample,
    /// The name of the node's pool (`node_pool` label).
    pub pool_name: &'a str,
}

/// The exposition of `nodes` of `cluster` in `format` (module docs for what and how).
pub fn render(
    format: Format,
    cluster: &ClusterLabels<'_>,
    nodes: &[NodeMetrics<'_>],
    xids: &XidCounters,
) -> String {
    let families = build(cluster, nodes, xids);
    match format {
        Format::Prometheus => classic::write(&families),
        Format::OpenMetrics => openmetrics(families),
    }
}

/// Every family this module writes, in output (name) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Metric {
    EccDbe,
    EccSbe,
    FbUsed,
    GpuTemp,
    GpuUtil,
    NvlinkCrc,
    PcieReplay,
    PowerUsage,
    RowRemapFailure,
    UncorrectableRemappedRows,
    XidLast,
    GpuXidErrors,
    IbExcessiveBufferOverrun,
    IbLinkDowned,
    IbLocalLinkIntegrity,
    IbPortState,
    IbSymbolError,
    NodeReady,
    NodeThermalViolation,
}

/// Gauge or counter: the only two types exposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

impl Metric {
    const ALL: [Metric; 19] = [
        Metric::EccDbe,
        Metric::EccSbe,
        Metric::FbUsed,
        Metric::GpuTemp,
        Metric::GpuUtil,
        Metric::NvlinkCrc,
        Metric::PcieReplay,
        Metric::PowerUsage,
        Metric::RowRemapFailure,
        Metric::UncorrectableRemappedRows,
        Metric::XidLast,
        Metric::GpuXidErrors,
        Metric::IbExcessiveBufferOverrun,
        Metric::IbLinkDowned,
        Metric::IbLocalLinkIntegrity,
        Metric::IbPortState,
        Metric::IbSymbolError,
        Metric::NodeReady,
        Metric::NodeThermalViolation,
    ];

    /// The family's name (a counter's without `_total`), its type and its HELP text.
    fn describe(self) -> (&'static str, Kind, &'static str) {
        use Kind::{Counter, Gauge};
        match self {
            Metric::EccDbe => (
                "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
                Gauge,
                "Total number of double-bit volatile ECC errors.",
            ),
            Metric::EccSbe => (
                "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
                Gauge,
                "Total number of single-bit volatile ECC errors.",
            ),
            Metric::FbUsed => (
                "DCGM_FI_DEV_FB_USED",
                Gauge,
                "Framebuffer memory used (in MiB).",
            ),
            Metric::GpuTemp => ("DCGM_FI_DEV_GPU_TEMP", Gauge, "GPU temperature (in C)."),
            Metric::GpuUtil => ("DCGM_FI_DEV_GPU_UTIL", Gauge, "GPU utilization (in %)."),
            Metric::NvlinkCrc => (
                "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
                Gauge,
                "Total number of NVLink flow-control CRC errors.",
            ),
            Metric::PcieReplay => (
                "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
                Gauge,
                "Total number of PCIe retries.",
            ),
            Metric::PowerUsage => ("DCGM_FI_DEV_POWER_USAGE", Gauge, "Power draw (in W)."),
            Metric::RowRemapFailure => (
                "DCGM_FI_DEV_ROW_REMAP_FAILURE",
                Gauge,
                "Whether remapping of rows has failed (1) or not (0).",
            ),
            Metric::UncorrectableRemappedRows => (
                "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
                Gauge,
                "Number of remapped rows for uncorrectable errors.",
            ),
            Metric::XidLast => (
                "DCGM_FI_DEV_XID_ERRORS",
                Gauge,
                "Value of the last XID error encountered (0 for none).",
            ),
            Metric::GpuXidErrors => (
                "accord_gpu_xid_errors",
                Counter,
                "XID errors per GPU and XID code; several XIDs within one sampling interval \
                 all count under the last one's code.",
            ),
            Metric::IbExcessiveBufferOverrun => (
                "accord_ib_excessive_buffer_overrun_errors",
                Counter,
                "InfiniBand port excessive buffer overrun errors.",
            ),
            Metric::IbLinkDowned => (
                "accord_ib_link_downed",
                Counter,
                "Times the InfiniBand port's link went down.",
            ),
            Metric::IbLocalLinkIntegrity => (
                "accord_ib_local_link_integrity_errors",
                Counter,
                "InfiniBand port local link integrity errors.",
            ),
            Metric::IbPortState => (
                "accord_ib_port_state",
                Gauge,
                "Whether the InfiniBand port's link is up (1) or down (0).",
            ),
            Metric::IbSymbolError => (
                "accord_ib_symbol_error",
                Counter,
                "InfiniBand port physical-layer symbol errors.",
            ),
            Metric::NodeReady => (
                "accord_node_ready",
                Gauge,
                "Whether the node's kubelet reports Ready (1) or not (0).",
            ),
            Metric::NodeThermalViolation => (
                "accord_node_thermal_violation",
                Gauge,
                "Whether some GPU of the node is throttled for temperature or power (1) or not (0).",
            ),
        }
    }
}

/// A sample value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Int(u64),
    Float(f64),
}

/// Label names and values, in output order. Values shared by many series (a node's hostname,
/// a GPU's UUID) are one allocation each, cloned by reference count.
type Labels = Vec<(&'static str, Arc<str>)>;

/// One series: its labels and value.
#[derive(Debug, Clone)]
struct Series {
    labels: Labels,
    value: Value,
}

/// One family and its series, in output order.
#[derive(Debug, Clone)]
struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    series: Vec<Series>,
}

/// The families of the exposition, with their series in output order (module docs).
fn build(
    cluster: &ClusterLabels<'_>,
    nodes: &[NodeMetrics<'_>],
    xids: &XidCounters,
) -> Vec<Family> {
    let mut series: Vec<Vec<Series>> = Metric::ALL.iter().map(|_| Vec::new()).collect();
    let mut push = |metric: Metric, labels: &Labels, value: Value| {
        if let Some(list) = series.get_mut(metric as usize) {
            list.push(Series {
                labels: labels.clone(),
                value,
            });
        }
    };

    let cluster_name: Arc<str> = Arc::from(cluster.name);
    let cluster_id: Arc<str> = Arc::from(cluster.id.to_string());
    for node in nodes_in_order(cluster, nodes) {
        let sample = node.sample;
        // Node labels, shared by every series of the node; device labels go first.
        let node_labels: Labels = vec![
            ("Hostname", Arc::from(sample.node_name.as_str())),
            ("cluster", cluster_name.clone()),
            ("cluster_id", cluster_id.clone()),
            ("node_pool", Arc::from(node.pool_name)),
        ];
        push(Metric::NodeReady, &node_labels, flag(sample.ready));
        push(
            Metric::NodeThermalViolation,
            &node_labels,
            flag(sample.thermal_violation),
        );

        for gpu in gpus_in_order(&sample.gpus) {
            let labels = gpu_labels(gpu.index, &gpu.uuid, &gpu.model, &node_labels);
            let int = Value::Int;
            push(Metric::GpuTemp, &labels, int(gpu.temp_c.into()));
            if gpu.power_w.is_finite() {
                push(Metric::PowerUsage, &labels, Value::Float(gpu.power_w));
            }
            push(Metric::GpuUtil, &labels, int(gpu.util_pct.into()));
            push(Metric::FbUsed, &labels, int(gpu.fb_used_mib));
            push(
                Metric::XidLast,
                &labels,
                int(gpu.xid_last.unwrap_or(0).into()),
            );
            push(Metric::EccSbe, &labels, int(gpu.ecc_sbe_total));
            push(Metric::EccDbe, &labels, int(gpu.ecc_dbe_total));
            push(
                Metric::UncorrectableRemappedRows,
                &labels,
                int(gpu.remapped_rows_uncorrectable),
            );
            push(
                Metric::RowRemapFailure,
                &labels,
                flag(gpu.row_remap_failure),
            );
            push(Metric::NvlinkCrc, &labels, int(gpu.nvlink_crc_errors));
            push(Metric::PcieReplay, &labels, int(gpu.pcie_replay));
        }

        // Counted XIDs: every GPU the counters know, including one missing from this sample
        // (a GPU that fell off the bus is exactly the one whose XIDs matter).
        for (index, gpu) in xids.gpus(&sample.node) {
            let labels = gpu_labels(index, &gpu.uuid, &gpu.model, &node_labels);
            for (code, count) in &gpu.by_code {
                let mut labels = labels.clone();
                labels.push(("xid", Arc::from(code.to_string())));
                push(Metric::GpuXidErrors, &labels, Value::Int(*count));
            }
        }

        for (name, port) in ports_in_order(&sample.ib_ports) {
            let mut labels = Vec::with_capacity(node_labels.len() + 1);
            labels.push(("port", Arc::from(name.as_str())));
            labels.extend(node_labels.iter().cloned());
            let int = Value::Int;
            push(
                Metric::IbPortState,
                &labels,
                flag(port.state == IbPortState::Up),
            );
            push(Metric::IbLinkDowned, &labels, int(port.link_downed));
            push(Metric::IbSymbolError, &labels, int(port.symbol_error));
            push(
                Metric::IbExcessiveBufferOverrun,
                &labels,
                int(port.excessive_buffer_overrun),
            );
            push(
                Metric::IbLocalLinkIntegrity,
                &labels,
                int(port.local_link_integrity_errors),
            );
        }
    }

    Metric::ALL
        .into_iter()
        .zip(series)
        .filter(|(_, series)| !series.is_empty())
        .map(|(metric, series)| {
            let (name, kind, help) = metric.describe();
            Family {
                name,
                kind,
                help,
                series,
            }
        })
        .collect()
}

fn flag(on: bool) -> Value {
    Value::Int(u64::from(on))
}

/// dcgm-exporter's GPU labels first, then the node's.
fn gpu_labels(index: u32, uuid: &str, model: &str, node_labels: &Labels) -> Labels {
    let mut labels = Vec::with_capacity(node_labels.len() + 4);
    labels.push(("gpu", Arc::from(index.to_string())));
    labels.push(("UUID", Arc::from(uuid)));
    labels.push(("modelName", Arc::from(model)));
    labels.extend(node_labels.iter().cloned());
    labels
}

/// The cluster's nodes by hostname, one per hostname (the newest sample; then the smallest
/// node id, so ties are deterministic too).
fn nodes_in_order<'a>(
    cluster: &ClusterLabels<'_>,
    nodes: &'a [NodeMetrics<'a>],
) -> Vec<&'a NodeMetrics<'a>> {
    let mut ordered: Vec<&NodeMetrics<'_>> = nodes
        .iter()
        .filter(|n| &n.sample.cluster == cluster.id)
        .collect();
    ordered.sort_by(|a, b| {
        let (a, b) = (a.sample, b.sample);
        a.node_name
            .cmp(&b.node_name)
            .then(b.ts_ms.cmp(&a.ts_ms))
            .then(a.node.cmp(&b.node))
    });
    ordered.dedup_by(|later, earlier| later.sample.node_name == earlier.sample.node_name);
    ordered
}

/// A node's GPUs by index, one per index (the first in the sample).
fn gpus_in_order(gpus: &[GpuSample]) -> Vec<&GpuSample> {
    let mut ordered: Vec<&GpuSample> = gpus.iter().collect();
    // Stable: of GPUs with the same index, the sample's first stays first.
    ordered.sort_by_key(|g| g.index);
    ordered.dedup_by_key(|g| g.index);
    ordered
}

/// A node's ports by name, one per name (the first in the sample).
fn ports_in_order(ports: &[IbPortSample]) -> Vec<(IbPortName, &IbPortSample)> {
    let mut ordered: Vec<(IbPortName, &IbPortSample)> =
        ports.iter().map(|p| (p.port_name(), p)).collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));
    ordered.dedup_by(|later, earlier| later.0 == earlier.0);
    ordered
}

/// OpenMetrics text through `prometheus-client`: the families, as one collector of a registry
/// made for this response.
fn openmetrics(families: Vec<Family>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot(families)));
    let mut text = String::new();
    // Writing to a String cannot fail, and the encoder fails only for what is not used here
    // (native histograms without buckets).
    let encoded = prometheus_client::encoding::text::encode(&mut text, &registry);
    debug_assert!(encoded.is_ok(), "OpenMetrics encoding failed");
    text
}

/// The families of one response, as a `prometheus-client` collector.
#[derive(Debug)]
struct Snapshot(Vec<Family>);

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let metric_type = match family.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
            };
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, None, metric_type)?;
            for series in &family.series {
                let mut sample = metric.encode_family(&series.labels)?;
                match (family.kind, series.value) {
                    (Kind::Gauge, Value::Int(v)) => sample.encode_gauge(&v)?,
                    (Kind::Gauge, Value::Float(v)) => sample.encode_gauge(&v)?,
                    (Kind::Counter, Value::Int(v)) => {
                        sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
                    }
                    (Kind::Counter, Value::Float(v)) => {
                        sample.encode_counter::<NoLabelSet, _, f64>(&v, None)?
                    }
                }
            }
        }
        Ok(())
    }
}
