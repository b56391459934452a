//! The failures that stop a service at start-up or while serving, shared by
//! every binary so `main` prints one line naming what to fix.

/// A failure that stops the process.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] supplyrisk_config::ConfigError),
    /// Telemetry could not start.
    #[error(transparent)]
    Telemetry(#[from] supplyrisk_telemetry::TelemetryError),
    /// The store could not be set up.
    #[error(transparent)]
    Store(#[from] supplyrisk_store::StoreError),
    /// Another service's endpoint is unusable.
    #[error("SUPPLYRISK__INGEST__ENDPOINT: {0}")]
    Endpoint(#[from] tonic::transport::Error),
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] crate::ServeError),
}
