//! The service kit every Accord service is built from.
//!
//! A service binary does the same five things in the same order, and each has a module here:
//!
//! - [`change`]: writes plus typed events of one atomic change (transactional outbox).
//! - [`engine`]: the write lock with the commit capability inside it, commit/event counters,
//!   observers of committed events.
//! - [`consume`]: the one durable consumer (decode → span → handler → retry/reject policy).
//! - [`scope`]: the one rule for which project and cluster a request acts on;
//!   [`directory`]: the project read model services without projects keep for it, and the
//!   cluster a request names once the caller may act there; [`catch_up`]: a request naming a
//!   cluster or project the read model does not know yet waits briefly for it.
//! - [`periodic`]: the reconciler loop (every interval and when woken, until shutdown).
//! - [`plugin_watch`]: run-time plugin swaps from the plugin bucket, for any plugin kind.
//! - [`host`]: starts a service in the one order (streams → gRPC → relay → consumers → tasks)
//!   and tells critical tasks from best-effort ones.
//! - [`config`]: load the service's typed configuration from serde defaults, an optional TOML
//!   file and `ACCORD_<SERVICE>__…` environment variables, rejecting unknown keys.
//! - [`telemetry`]: install the `tracing` subscriber (text or JSON logs, OTLP traces when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set) and the W3C trace-context propagator.
//! - [`metrics`]: a Prometheus registry per service with the built-in gRPC metrics, served as
//!   OpenMetrics text on `/metrics`.
//! - [`grpc`]: the gRPC server with health, reflection (v1 and v1alpha), the readiness gate, the
//!   authentication/responsibility layer and the metrics layer.
//! - [`process`]: the thin-binary boilerplate (runtime, error chain, exit code, supervision).
//! - [`shutdown`]: a cancellation token tied to Ctrl-C/SIGTERM and a bounded drain of tasks.
//!
//! Invariant: nothing in this crate knows a particular service; services hand it their RPC rule
//! table, their authenticator and their tonic services.

pub mod catch_up;
pub mod change;
pub mod config;
pub mod consume;
pub mod directory;
pub mod engine;
pub mod grpc;
pub mod host;
pub mod metrics;
pub mod periodic;
pub mod plugin_watch;
pub mod process;
pub mod scope;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

pub use change::Change;
pub use change::Ctx;
pub use config::{ConfigError, LogFormat, RuntimeConfig};
pub use engine::{Engine, Writer};
pub use grpc::{Authenticator, Caller, GrpcServer, GrpcServerError, caller};
pub use host::{Basics, ServiceHost, Started};
pub use metrics::Metrics;
pub use telemetry::TelemetryGuard;
pub use tokio_util::sync::CancellationToken;
