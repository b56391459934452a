//! The skeleton every supplyrisk service runs on.
//!
//! Ingest, scoring and alerting differ in their handlers, their own settings
//! section and their background work; everything else — layered settings,
//! telemetry, the store, health tied to Redis, reflection, bearer-token
//! roles, the checks of upstream credentials, graceful shutdown and the
//! draining of workers — is the same, so it lives here once. A service
//! implements [`Service`]; its `main` is one call to [`main`].
#![forbid(unsafe_code)]

mod application;
pub mod dead_letters;
mod error;
mod settings;
mod stream;
mod supervisor;
mod trimmer;
mod upstream;

pub use application::{Application, Service, Start, main, run};
pub use error::StartupError;
pub use settings::{CommonSettings, ServiceSettings, Settings};
pub use stream::{StreamProcessor, StreamWorker};
pub use supervisor::{Shutdown, Supervisor, Worker};
pub use supplyrisk_config::ConfigError;
pub use trimmer::{StreamTrimmer, TRIM_EVERY};
pub use upstream::Upstream;
