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
    #[error("{variable}: {source}")]
    Endpoint {
        /// The setting to fix, e.g. `SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT`.
        variable: String,
        /// Why the endpoint is unusable.
        source: supplyrisk_grpc::client::ChannelError,
    },
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] supplyrisk_grpc::ServeError),
}

impl From<std::io::Error> for StartupError {
    fn from(e: std::io::Error) -> Self {
        StartupError::Serve(e.into())
    }
}
