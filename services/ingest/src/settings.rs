//! Settings of the ingest service.

use std::path::Path;

use serde::Deserialize;
use supplyrisk_config::{AuthSettings, ConfigError, GrpcSettings, RedisSettings, TelemetrySettings};

/// Ingest-specific tuning (`[ingest]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSection {
    /// Largest batch accepted by the unary upsert calls.
    pub max_batch_records: usize,
    /// Valid trade flows written per atomic store write.
    pub write_chunk_records: usize,
    /// Rejected records listed in a response (counts stay exact).
    pub max_rejected_listed: usize,
    /// How long an upload's response is kept for replays, seconds.
    pub upload_ttl_secs: u64,
    /// Approximate length the data stream is trimmed to.
    pub stream_maxlen: u64,
    /// Snapshots kept in the in-process cache.
    pub snapshot_cache_entries: usize,
    /// How long a snapshot stays cached in Redis, seconds.
    pub snapshot_ttl_secs: u64,
    /// Threads that decode, validate and write uploads and imports, apart
    /// from the server's own workers.
    pub bulk_threads: usize,
}

/// All settings of the ingest service.
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
    /// Ingest tuning.
    pub ingest: IngestSection,
}

const INGEST_DEFAULTS: &str = r#"
[ingest]
max_batch_records = 10000
write_chunk_records = 5000
max_rejected_listed = 1000
upload_ttl_secs = 604800
stream_maxlen = 1000000
snapshot_cache_entries = 4096
snapshot_ttl_secs = 86400
bulk_threads = 2
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
        let s: Settings =
            supplyrisk_config::load_with_env(&[supplyrisk_config::COMMON_DEFAULTS, INGEST_DEFAULTS], file, env)?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.grpc.validate()?;
        self.redis.validate()?;
        self.auth.parsed_tokens()?;
        self.telemetry.validate()?;
        let i = &self.ingest;
        for (key, v) in [
            ("ingest.max_batch_records", i.max_batch_records),
            ("ingest.write_chunk_records", i.write_chunk_records),
            ("ingest.snapshot_cache_entries", i.snapshot_cache_entries),
            ("ingest.bulk_threads", i.bulk_threads),
        ] {
            if v == 0 {
                return Err(ConfigError(format!(
                    "{}: must be at least 1",
                    supplyrisk_config::env_name(key)
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars = vec![(
            "SUPPLYRISK__AUTH__TOKENS".to_string(),
            "admin=a-long-enough-token".to_string(),
        )];
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        vars
    }

    #[test]
    fn uploads_get_two_threads_of_their_own_by_default() {
        let s = Settings::load_with_env(None, env(&[])).expect("defaults load");
        assert_eq!(s.ingest.bulk_threads, 2);
    }

    #[test]
    fn zero_bulk_threads_is_refused_by_name() {
        let err = Settings::load_with_env(None, env(&[("SUPPLYRISK__INGEST__BULK_THREADS", "0")]))
            .expect_err("no thread could run an upload");
        assert!(err.to_string().contains("SUPPLYRISK__INGEST__BULK_THREADS"), "{err}");
    }
}
