//! Logging, tracing export and trace-context propagation.
//!
//! Every service calls [`init`] once and [`TelemetryGuard::shutdown`] after
//! its server has stopped, so batched spans are flushed before exit (a span
//! lost on SIGTERM is a trace with a hole in it). Trace context crosses
//! process boundaries only through [`propagation`]; span attribute names
//! come only from [`attributes`].
#![forbid(unsafe_code)]

pub mod attributes;
pub mod propagation;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
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

/// Keeps the tracer provider alive; call [`TelemetryGuard::shutdown`] at exit.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// True when spans are exported over OTLP.
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Flushes and stops the exporter. Call after the server has drained.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("telemetry shutdown: {e}");
        }
    }
}

/// Installs the global subscriber: logs to stderr (text or JSON) and, when
/// an OTLP endpoint is configured, spans exported with parent-based ratio
/// sampling through a batch exporter. Also installs the W3C propagator.
pub fn init(settings: &TelemetrySettings, service_name: &'static str) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
    let filter = EnvFilter::try_new(&settings.log_filter).map_err(|e| TelemetryError::Filter(e.to_string()))?;
    let provider = if settings.otlp_endpoint.trim().is_empty() {
        None
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.otlp_endpoint.trim())
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name)
            .build();
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                    settings.sample_ratio,
                ))))
                .with_resource(resource)
                .build(),
        )
    };
    let otel_layer = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name)));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (text, json) = if settings.log_format == "json" {
        (
            None,
            Some(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)),
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
    Ok(TelemetryGuard { provider })
}

/// Span extension for OpenTelemetry attributes, links and parents.
pub use tracing_opentelemetry::OpenTelemetrySpanExt as SpanExt;
