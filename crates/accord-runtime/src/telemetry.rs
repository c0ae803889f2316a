//! Process-wide telemetry: logs, traces and the trace-context propagator.
//!
//! [`init`] installs the global `tracing` subscriber once per process:
//!
//! - a `fmt` layer writing to **stderr** (stdout belongs to CLI output), as text or JSON lines;
//! - an `EnvFilter` from `ACCORD_LOG`, else `RUST_LOG`, else `info`;
//! - a `tracing-opentelemetry` layer, always: spans carry W3C trace contexts (so `traceparent`
//!   is propagated from a gRPC caller onto every event and bus request even with no collector);
//!   when `OTEL_EXPORTER_OTLP_ENDPOINT` is set its spans are exported over OTLP/gRPC (tonic)
//!   through a batch processor, with the resource's `service.name`; otherwise they are dropped
//!   when they close (a provider with no processor).
//!
//! It always installs the W3C TraceContext propagator as the global text-map propagator: the
//! bus injects and extracts `traceparent` through it, and the gRPC server extracts it from
//! request metadata.
//!
//! Invariant: telemetry is initialised at most once per process. A second call returns
//! [`TelemetryError::AlreadyInitialized`] instead of panicking or replacing the first
//! subscriber; `accord up` runs every service in one process and initialises once, naming the
//! process `accord`.
//!
//! The OTLP exporter's tonic channel needs a Tokio runtime: call [`init`] from inside one (e.g.
//! in `#[tokio::main]`) and drop the [`TelemetryGuard`] before the runtime ends, so the last
//! spans are flushed.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{
    EnvFilter, Layer as _,
    filter::{LevelFilter, Targets},
    layer::SubscriberExt as _,
    util::SubscriberInitExt as _,
};

use crate::config::LogFormat;

/// Environment variable with the log filter (takes precedence over `RUST_LOG`).
pub const LOG_ENV: &str = "ACCORD_LOG";
/// Environment variable naming the OTLP collector; traces are exported only when it is set.
pub const OTLP_ENDPOINT_ENV: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Filter used when neither `ACCORD_LOG` nor `RUST_LOG` is set.
pub const DEFAULT_FILTER: &str = "info";

static INITIALIZED: AtomicBool = AtomicBool::new(false);

/// Why telemetry could not be initialised.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// [`init`] already ran in this process.
    #[error("telemetry is already initialised in this process")]
    AlreadyInitialized,
    /// The log filter does not parse.
    #[error("invalid log filter {filter:?} (from {source_var})")]
    Filter {
        /// The filter text.
        filter: String,
        /// Where it came from (`ACCORD_LOG`, `RUST_LOG`).
        source_var: &'static str,
        /// Why it does not parse.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP span exporter for {endpoint}")]
    Exporter {
        /// The collector endpoint.
        endpoint: String,
        /// Why.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Another global `tracing` subscriber is already installed.
    #[error("another tracing subscriber is already installed")]
    Subscriber(#[source] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; dropping it flushes pending spans and shuts the exporter
/// down (blocking for at most the exporter's timeout).
#[must_use = "dropping the guard shuts down trace export"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    exporting: bool,
}

impl TelemetryGuard {
    /// Whether spans are exported over OTLP.
    pub fn exports_traces(&self) -> bool {
        self.exporting
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "shutting down the OTLP trace exporter failed");
        }
    }
}

/// Installs the W3C TraceContext propagator as the global text-map propagator. [`init`] calls
/// it; processes that skip [`init`] (some tests) call it directly. Idempotent.
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

/// Initialises logs and traces for `service`, reading `ACCORD_LOG`/`RUST_LOG` and
/// `OTEL_EXPORTER_OTLP_ENDPOINT` from the environment. See the module docs.
pub fn init(service: &str, log_format: LogFormat) -> Result<TelemetryGuard, TelemetryError> {
    let endpoint = std::env::var(OTLP_ENDPOINT_ENV)
        .ok()
        .filter(|e| !e.trim().is_empty());
    init_with(service, log_format, endpoint.as_deref())
}

/// [`init`] with an explicit OTLP endpoint (`None`: no trace export) instead of
/// `OTEL_EXPORTER_OTLP_ENDPOINT`.
pub fn init_with(
    service: &str,
    log_format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<TelemetryGuard, TelemetryError> {
    if INITIALIZED.swap(true, Ordering::SeqCst) {
        return Err(TelemetryError::AlreadyInitialized);
    }
    let result = try_init(service, log_format, otlp_endpoint);
    if result.is_err() {
        // Nothing global was installed except the propagator: allow a corrected retry.
        INITIALIZED.store(false, Ordering::SeqCst);
    }
    result
}

fn try_init(
    service: &str,
    log_format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<TelemetryGuard, TelemetryError> {
    install_propagator();
    let filter = env_filter()?;

    let fmt_layer = match log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::stderr)
            .boxed(),
    };

    let provider = match otlp_endpoint {
        Some(endpoint) => tracer_provider(service, endpoint)?,
        // Trace contexts without export: ids for propagation, nothing kept.
        None => SdkTracerProvider::builder()
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .build(),
    };
    let otel_layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(service.to_owned()))
        .with_filter(exporter_internals_off());

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .try_init()
        .map_err(TelemetryError::Subscriber)?;

    opentelemetry::global::set_tracer_provider(provider.clone());
    if let Some(endpoint) = otlp_endpoint {
        tracing::info!(endpoint, "exporting traces over OTLP");
    }
    Ok(TelemetryGuard {
        provider: Some(provider),
        exporting: otlp_endpoint.is_some(),
    })
}

/// Keeps the exporter's own transport (and the SDK's internal logs) out of the exported spans:
/// exporting a span must not create spans to export, whatever `ACCORD_LOG` says.
fn exporter_internals_off() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("opentelemetry", LevelFilter::OFF)
        .with_target("opentelemetry_sdk", LevelFilter::OFF)
        .with_target("opentelemetry_otlp", LevelFilter::OFF)
        .with_target("h2", LevelFilter::OFF)
        .with_target("hyper", LevelFilter::OFF)
        .with_target("hyper_util", LevelFilter::OFF)
        .with_target("tower", LevelFilter::OFF)
        .with_target("tonic", LevelFilter::OFF)
}

fn env_filter() -> Result<EnvFilter, TelemetryError> {
    let (filter, source_var) = match std::env::var(LOG_ENV) {
        Ok(f) if !f.trim().is_empty() => (f, LOG_ENV),
        _ => match std::env::var("RUST_LOG") {
            Ok(f) if !f.trim().is_empty() => (f, "RUST_LOG"),
            _ => (DEFAULT_FILTER.to_owned(), "the default"),
        },
    };
    EnvFilter::try_new(&filter).map_err(|source| TelemetryError::Filter {
        filter,
        source_var,
        source,
    })
}

fn tracer_provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}
