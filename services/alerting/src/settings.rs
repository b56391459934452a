//! Settings of the alerting service.

use std::path::Path;

use serde::Deserialize;
use supplyrisk_config::{AuthSettings, ConfigError, EndpointSettings, GrpcSettings, RedisSettings, TelemetrySettings};

/// Alerting-specific settings (`[alerting]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSection {
    /// Consumer group reading the score stream.
    pub consumer_group: String,
    /// This consumer's name; empty = host name and process id.
    #[serde(default)]
    pub consumer_name: String,
    /// Pending entries idle this long are reclaimed from dead consumers, ms.
    pub reclaim_idle_ms: u64,
    /// How often an open alert stream checks for alerts recorded by other replicas, ms.
    pub stream_poll_ms: u64,
}

/// All settings of the alerting service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// gRPC server.
    pub grpc: GrpcSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// Bearer tokens.
    pub auth: AuthSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// The ingest service, for policy events.
    pub ingest: EndpointSettings,
    /// Alerting tuning.
    pub alerting: AlertingSection,
}

const DEFAULTS: &str = r#"
[grpc]
listen = "127.0.0.1:50053"

[ingest]
endpoint = "http://127.0.0.1:50051"
timeout_ms = 10000

[alerting]
consumer_group = "alerting"
reclaim_idle_ms = 30000
stream_poll_ms = 250
"#;

impl Settings {
    /// Loads defaults, the optional file, then `SUPPLYRISK__…` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Settings::load`] with an explicit environment.
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let s: Settings = supplyrisk_config::load_with_env(&[supplyrisk_config::COMMON_DEFAULTS, DEFAULTS], file, env)?;
        s.grpc.validate()?;
        s.redis.validate()?;
        s.auth.parsed_tokens()?;
        s.telemetry.validate()?;
        s.ingest.validate("ingest")?;
        if s.alerting.stream_poll_ms == 0 {
            return Err(ConfigError(format!(
                "{}: must be at least 1",
                supplyrisk_config::env_name("alerting.stream_poll_ms")
            )));
        }
        Ok(s)
    }
}
