//! The simulator's typed error: configuration and state-file problems when a fleet is created,
//! and fault-injection requests that name something that does not exist.
//!
//! Fault errors are shown to people (CLI, NATS replies), so each says what was wrong and what
//! would be accepted instead.

use std::path::PathBuf;

use accord_core::ids::ClusterId;

/// Errors of the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A configuration value is unusable.
    #[error("invalid simulator configuration: {0}")]
    Config(String),

    /// The fleet runs timers and delivers events on tokio tasks.
    #[error("the simulated fleet must be created inside a tokio runtime")]
    NoRuntime,

    /// The state file exists but cannot be read.
    #[error("read fleet state {}", .path.display())]
    ReadState {
        /// The state file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// The state file is not a fleet state this simulator understands.
    #[error("fleet state {} is not valid", .path.display())]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },

    /// The state file was written by a different schema version.
    #[error("fleet state {} has schema version {found}; this simulator reads version {expected}", .path.display())]
    StateVersion {
        /// The state file.
        path: PathBuf,
        /// Its version.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },

    /// The state file could not be written.
    #[error("write fleet state {}", .path.display())]
    WriteState {
        /// The state file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// No node has this id or name.
    #[error("no node {0:?} in the fleet (give a node id such as node-01… or a node name)")]
    UnknownNode(String),

    /// Several nodes (in different clusters) share this name.
    #[error("node name {name:?} matches {count} nodes; give the node id instead")]
    AmbiguousNode {
        /// The name given.
        name: String,
        /// How many nodes carry it.
        count: usize,
    },

    /// The cluster has no control plane in the fleet.
    #[error("no control plane for cluster {0} in the fleet")]
    UnknownCluster(ClusterId),

    /// The cluster's control plane has no replica of this name.
    #[error("cluster {cluster} has no control-plane replica {replica:?} (replicas: {known})")]
    UnknownReplica {
        /// Cluster.
        cluster: ClusterId,
        /// The name given.
        replica: String,
        /// The replicas that exist.
        known: String,
    },

    /// No replica is in the state the fault needs (e.g. `replica-up` with none down).
    #[error("cluster {cluster} has no {state} control-plane replica")]
    NoReplicaInState {
        /// Cluster.
        cluster: ClusterId,
        /// The state that was looked for.
        state: &'static str,
    },

    /// Node faults apply to instances that are up (running or draining).
    #[error("node {node} is {phase}; node faults apply only to running instances")]
    NodeNotRunning {
        /// The node.
        node: String,
        /// Its lifecycle phase.
        phase: &'static str,
    },

    /// The GPU index does not exist on the node.
    #[error("node {node} has {count} GPUs (indexes 0..{count}); there is no GPU {gpu}")]
    GpuOutOfRange {
        /// The node.
        node: String,
        /// Index given.
        gpu: u32,
        /// GPUs on the node.
        count: usize,
    },

    /// The node is not on the InfiniBand fabric.
    #[error("node {node} ({instance_type}) has no InfiniBand ports")]
    NoInfiniband {
        /// The node.
        node: String,
        /// Its instance type.
        instance_type: String,
    },

    /// The IB port index does not exist on the node.
    #[error("node {node} has {count} InfiniBand ports (0..{count}); there is no port {port}")]
    IbPortOutOfRange {
        /// The node.
        node: String,
        /// Index given.
        port: u32,
        /// Ports on the node.
        count: usize,
    },

    /// A fault's parameters are out of range.
    #[error("invalid fault: {0}")]
    InvalidFault(String),

    /// A fault request could not be decoded.
    #[error("malformed fault request: {0}")]
    MalformedFault(String),

    /// A telemetry sample could not be encoded.
    #[error("encode a telemetry sample")]
    Telemetry(#[from] accord_core::telemetry::TelemetryError),

    /// The bus refused an operation (subscribing the fault server, publishing telemetry).
    #[error("bus")]
    Bus(#[from] accord_bus::BusError),
}

/// `error: cause: cause…`, for logs and replies.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
