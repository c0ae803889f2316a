//! `accord up`: every Accord service in one process, for development.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use super::DEFAULT_NATS_URL;

/// `accord up`: every Accord service in one process (wired by the lead).
#[derive(Debug, Clone, PartialEq, Args)]
pub struct UpArgs {
    /// Where state (stores, generated keys, .accord/cli.toml) lives
    #[arg(long, value_name = "DIR", default_value = ".accord")]
    pub data_dir: PathBuf,
    /// Address the gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,
    /// Address the addon-manager's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50052")]
    pub addons_grpc_addr: SocketAddr,
    /// Address support-triage's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50053")]
    pub support_grpc_addr: SocketAddr,
    /// Address the telemetry service's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50054")]
    pub telemetry_grpc_addr: SocketAddr,
    /// Address network-firewall's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50055")]
    pub firewall_grpc_addr: SocketAddr,
    /// Address storage-csi's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50056")]
    pub storage_grpc_addr: SocketAddr,
    /// Address image-builder's gRPC API listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50057")]
    pub images_grpc_addr: SocketAddr,
    /// Address the customer metrics endpoint (`GET /v1/clusters/<cluster>/metrics`, an API
    /// key as Bearer) listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9465")]
    pub cluster_metrics_addr: SocketAddr,
    /// Address the Prometheus metrics endpoint listens on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,
    /// NATS URL: the global `--nats-url` (filled in before `up` runs)
    #[arg(skip = DEFAULT_NATS_URL.to_owned())]
    pub nats_url: String,
    /// Simulated time factor: 0.02 makes a 5-minute operation take 6 seconds
    #[arg(long, value_name = "FACTOR", default_value_t = 0.02)]
    pub clock_factor: f64,
    /// Don't start a nats-server; require a reachable one at --nats-url
    #[arg(long)]
    pub no_nats: bool,
}
