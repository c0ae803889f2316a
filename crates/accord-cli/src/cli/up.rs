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
    /// Serve TLS (gRPC and NATS, certificates from a local CA in <data-dir>/tls) even on
    /// loopback; it is on by itself when any address binds beyond loopback
    #[arg(long)]
    pub tls: bool,
    /// Another name or address the server certificate is valid for (repeatable), e.g. the
    /// host's public DNS name
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
}

impl UpArgs {
    /// Every address a server binds.
    pub fn binds(&self) -> [SocketAddr; 9] {
        [
            self.grpc_addr,
            self.addons_grpc_addr,
            self.support_grpc_addr,
            self.telemetry_grpc_addr,
            self.firewall_grpc_addr,
            self.storage_grpc_addr,
            self.images_grpc_addr,
            self.cluster_metrics_addr,
            self.metrics_addr,
        ]
    }

    /// Whether the deployment serves TLS: asked for, or reachable beyond this host (a bind or
    /// the NATS URL that is not loopback).
    pub fn serves_tls(&self) -> bool {
        let nats_beyond_loopback =
            accord_platform::nats::host_port(&self.nats_url).is_some_and(|a| !a.ip().is_loopback());
        self.tls || nats_beyond_loopback || self.binds().iter().any(|a| !a.ip().is_loopback())
    }
}
