//! Settings of the ingest service.

use serde::Deserialize;
use supplyrisk_config::ConfigError;
use supplyrisk_service::ServiceSettings;

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
    /// Ceiling of the data stream's length, reached only when a consumer
    /// group lags that far (the stream is trimmed by its slowest group).
    pub stream_maxlen: u64,
    /// Snapshots kept in the in-process cache.
    pub snapshot_cache_entries: usize,
    /// How long a snapshot stays cached in Redis, seconds.
    pub snapshot_ttl_secs: u64,
    /// Threads that decode, validate and write uploads and imports, apart
    /// from the server's own workers.
    pub bulk_threads: usize,
    /// `ImportDataset` calls running at once in this process; one more is
    /// refused with `RESOURCE_EXHAUSTED` and a retry delay.
    pub max_concurrent_imports: usize,
    /// Most bytes one gzip import may inflate to.
    pub max_inflated_bytes: u64,
    /// Most inflated bytes per compressed byte of a gzip import.
    pub max_inflate_ratio: u64,
    /// Most policy events one mineral keeps; recording one more on it is
    /// `FAILED_PRECONDITION`.
    pub max_policy_events_per_mineral: u64,
}

/// The ingest service's own sections.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestSettings {
    /// Ingest tuning.
    pub ingest: IngestSection,
}

/// All settings of the ingest service.
pub type Settings = supplyrisk_service::Settings<IngestSettings>;

const INGEST_DEFAULTS: &str = r#"
[ingest]
max_batch_records = 10000
write_chunk_records = 5000
max_rejected_listed = 1000
upload_ttl_secs = 604800
stream_maxlen = 5000000
snapshot_cache_entries = 4096
snapshot_ttl_secs = 86400
bulk_threads = 2
max_concurrent_imports = 4
max_inflated_bytes = 4294967296
max_inflate_ratio = 200
max_policy_events_per_mineral = 1000
"#;

impl ServiceSettings for IngestSettings {
    const SECTIONS: &'static [&'static str] = &["ingest"];

    fn defaults() -> String {
        INGEST_DEFAULTS.to_string()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let i = &self.ingest;
        supplyrisk_config::at_least_one(&[
            ("ingest.max_batch_records", i.max_batch_records as u64),
            ("ingest.write_chunk_records", i.write_chunk_records as u64),
            ("ingest.snapshot_cache_entries", i.snapshot_cache_entries as u64),
            ("ingest.bulk_threads", i.bulk_threads as u64),
            ("ingest.max_concurrent_imports", i.max_concurrent_imports as u64),
            ("ingest.max_inflated_bytes", i.max_inflated_bytes),
            ("ingest.max_inflate_ratio", i.max_inflate_ratio),
            ("ingest.max_policy_events_per_mineral", i.max_policy_events_per_mineral),
        ])
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
        assert_eq!(s.own.ingest.bulk_threads, 2);
    }

    #[test]
    fn zero_bulk_threads_is_refused_by_name() {
        let err = Settings::load_with_env(None, env(&[("SUPPLYRISK__INGEST__BULK_THREADS", "0")]))
            .expect_err("no thread could run an upload");
        assert!(err.to_string().contains("SUPPLYRISK__INGEST__BULK_THREADS"), "{err}");
    }
}
