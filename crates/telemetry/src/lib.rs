//! Logging, tracing and metrics export, and trace-context propagation.
//!
//! Every service calls [`init`] once and [`TelemetryGuard::shutdown`] after
//! its server has stopped, so batched spans and the last metric readings are
//! flushed before exit (a span lost on SIGTERM is a trace with a hole in it).
//! Trace context crosses process boundaries only through [`propagation`];
//! attribute names come only from [`attributes`], metric names and
//! instruments only from [`metrics`].
#![forbid(unsafe_code)]

pub mod attributes;
mod json_logs;
pub mod metrics;
pub mod propagation;
mod sampler;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use supplyrisk_config::TelemetrySettings;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("SUPPLYRISK__TELEMETRY__LOG_FILTER: {0}")]
    Filter(String),
    /// The OTLP exporter could not be built.
    #[error("SUPPLYRISK__TELEMETRY__OTLP_ENDPOINT: {0}")]
    Exporter(String),
    /// A global subscriber was already installed.
    #[error("tracing was already initialised: {0}")]
    AlreadyInitialised(String),
}

/// Keeps the tracer and meter providers alive; call
/// [`TelemetryGuard::shutdown`] at exit.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// True when spans and metrics are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporters: spans first, then a last metric
    /// reading (which then includes the calls of the drain). Call after the
    /// server has drained.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry shutdown (spans): {e}");
        }
        if let Some(meters) = self.meters
            && let Err(e) = meters.shutdown()
        {
            eprintln!("telemetry shutdown (metrics): {e}");
        }
    }
}

/// Set once spans are exported; lets hot paths skip span work otherwise.
static SPANS_EXPORTED: AtomicBool = AtomicBool::new(false);

/// True when the current span belongs to a trace that is exported and
/// sampled. Optional child spans (Redis commands) are opened only then:
/// they never start a trace of their own, and unsampled calls pay for one
/// atomic load and one context lookup.
pub fn current_trace_sampled() -> bool {
    SPANS_EXPORTED.load(Ordering::Relaxed)
        && SpanExt::context(&tracing::Span::current())
            .span()
            .span_context()
            .is_sampled()
}

/// `<host name>-<pid>`: tells replicas apart (their metrics would otherwise
/// be the same series).
fn instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

/// Installs the global subscriber: logs to stderr (text or JSON) and, when
/// an OTLP endpoint is configured, spans exported with parent-based ratio
/// sampling through a batch exporter and metrics through a periodic reader
/// (every 60 s, `OTEL_METRIC_EXPORT_INTERVAL` in ms overrides it). Also
/// installs the W3C propagator.
pub fn init(settings: &TelemetrySettings, service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&settings.log_filter).map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let endpoint = settings.otlp_endpoint.trim();
    let (provider, meters) = if endpoint.is_empty() {
        (None, None)
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let metric_exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name)
            .with_attribute(opentelemetry::KeyValue::new("service.instance.id", instance_id()))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_sampler(sampler::LinkedFlowSampler::new(settings.sample_ratio))
            .with_resource(resource.clone())
            .build();
        let meters = SdkMeterProvider::builder()
            .with_periodic_exporter(metric_exporter)
            .with_resource(resource)
            .build();
        metrics::install(&meters);
        (Some(provider), Some(meters))
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name)));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (text, json) = if settings.log_format == "json" {
        (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(json_logs::JsonWithTrace::new())
                    .with_writer(std::io::stderr),
            ),
        )
    } else {
        (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(ansi)
                    .with_writer(std::io::stderr),
            ),
            None,
        )
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .with(otel_layer)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialised(e.to_string()))?;
    SPANS_EXPORTED.store(provider.is_some(), Ordering::Relaxed);
    Ok(TelemetryGuard { provider, meters })
}

/// A span's OpenTelemetry status (set through [`SpanExt::set_status`]).
pub use opentelemetry::trace::Status as SpanStatus;
/// Span extension for OpenTelemetry attributes, links and parents.
pub use tracing_opentelemetry::OpenTelemetrySpanExt as SpanExt;
