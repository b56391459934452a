//! Settings of the scoring service.

use serde::Deserialize;
use supplyrisk_config::{ConfigError, EndpointSettings, RenamedSection, env_name};
use supplyrisk_service::{ServiceSettings, Upstream};

/// Scoring-specific settings (`[scoring]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringSection {
    /// Importers (ISO3 or bloc ids) kept scored and ranked, comma-separated.
    pub tracked_importers: String,
    /// Blocs: `ID=ISO3,ISO3,…` entries separated by `;`.
    pub blocs: String,
    /// Trade agreements lowering the eu-crm trade factor: `IMPORTER=ISO3,…`
    /// entries separated by `;` (importer is an ISO3 code or a bloc id).
    /// Empty by default: agreements are policy facts the operator states.
    #[serde(default)]
    pub trade_agreements: String,
    /// Scores kept in the in-process cache (least recently used go first).
    pub cache_entries: usize,
    /// `GetSupplySnapshot` calls to ingest in flight at once, over all
    /// requests and workers of this process.
    pub max_concurrent_snapshot_calls: usize,
    /// Consumer group reading the data stream.
    pub consumer_group: String,
    /// This consumer's name; empty = host name and process id.
    #[serde(default)]
    pub consumer_name: String,
    /// Pending entries idle this long are reclaimed from dead consumers, ms.
    pub reclaim_idle_ms: u64,
    /// An event that fails on this many deliveries is moved to the group's
    /// dead letters, so the events after it are recomputed.
    pub max_deliveries: u64,
    /// Consumers of the data stream in this process: while one works through
    /// a batch, another takes the next (a mineral is never recomputed twice
    /// at once).
    pub recompute_workers: usize,
    /// Ceiling of the score stream's length, reached only when a consumer
    /// group lags that far (the stream is trimmed by its slowest group).
    pub stream_maxlen: u64,
}

/// Where the scoring service finds the services it calls (`[upstream]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringUpstreams {
    /// The ingest service this one reads snapshots from.
    pub ingest: EndpointSettings,
}

/// The scoring service's own sections.
#[derive(Debug, Clone, Deserialize)]
pub struct ScoringSettings {
    /// The services it calls.
    pub upstream: ScoringUpstreams,
    /// Scoring tuning.
    pub scoring: ScoringSection,
}

/// All settings of the scoring service.
pub type Settings = supplyrisk_service::Settings<ScoringSettings>;

/// EU member states (2020 onwards), for the default `EU27` bloc.
pub const EU27: &str =
    "AUT,BEL,BGR,HRV,CYP,CZE,DNK,EST,FIN,FRA,DEU,GRC,HUN,IRL,ITA,LVA,LTU,LUX,MLT,NLD,POL,PRT,ROU,SVK,SVN,ESP,SWE";

fn defaults() -> String {
    format!(
        r#"
[grpc]
listen = "127.0.0.1:50052"

[upstream.ingest]
endpoint = "http://127.0.0.1:50051"
timeout_ms = 10000

[scoring]
tracked_importers = "USA,JPN,DEU,KOR,CHN,IND,FRA,GBR,USA+JPN,EU27,QUAD"
blocs = "EU27={EU27};QUAD=USA,JPN,IND,AUS;G7=USA,JPN,DEU,FRA,GBR,ITA,CAN"
cache_entries = 100000
max_concurrent_snapshot_calls = 64
consumer_group = "scoring"
reclaim_idle_ms = 30000
max_deliveries = 5
recompute_workers = 2
stream_maxlen = 5000000
"#
    )
}

impl ServiceSettings for ScoringSettings {
    const SECTIONS: &'static [&'static str] = &["upstream", "scoring"];
    const RENAMED: &'static [RenamedSection] = &[RenamedSection {
        old: "ingest",
        new: "upstream.ingest",
    }];

    fn defaults() -> String {
        defaults()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        crate::importers::Importers::from_settings(&self.scoring)
            .map_err(|e| ConfigError(format!("{}: {e}", env_name("scoring.blocs"))))?;
        supplyrisk_config::at_least_one(&[
            ("scoring.cache_entries", self.scoring.cache_entries as u64),
            (
                "scoring.max_concurrent_snapshot_calls",
                self.scoring.max_concurrent_snapshot_calls as u64,
            ),
            ("scoring.max_deliveries", self.scoring.max_deliveries),
        ])
    }

    fn upstreams(&self) -> Vec<Upstream<'_>> {
        vec![Upstream::ingest(&self.upstream.ingest)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(extra: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        supplyrisk_testkit::deploy::settings_with::<ScoringSettings>(extra)
    }

    #[test]
    fn the_ingest_endpoint_is_an_upstream_and_its_old_name_still_works() {
        let current = load(&[("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT", "http://ingest:50051")]).expect("loads");
        assert_eq!(current.own.upstream.ingest.endpoint, "http://ingest:50051");
        assert!(current.deprecations().is_empty());
        let old = load(&[("SUPPLYRISK__INGEST__ENDPOINT", "http://ingest:50051")]).expect("loads");
        assert_eq!(old.own.upstream.ingest.endpoint, "http://ingest:50051");
        assert_eq!(
            old.deprecations(),
            ["SUPPLYRISK__INGEST__ENDPOINT is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT"]
        );
    }

    #[test]
    fn a_bad_upstream_endpoint_names_its_variable() {
        let err = load(&[("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT", "ingest:50051")]).expect_err("no scheme");
        assert!(
            err.to_string().contains("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT"),
            "{err}"
        );
    }

    #[test]
    fn own_and_common_sections_load_from_the_environment_with_numbers_converted() {
        let s = load(&[
            ("SUPPLYRISK__SCORING__CACHE_ENTRIES", "12"),
            ("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "4096"),
        ])
        .expect("loads");
        assert_eq!(s.own.scoring.cache_entries, 12);
        assert_eq!(s.common.grpc.max_message_bytes, 4096);
        let err = load(&[("SUPPLYRISK__SCORNG__CACHE_ENTRIES", "12")]).expect_err("typo in a section");
        assert!(err.to_string().contains("SUPPLYRISK__SCORNG__"), "{err}");
        let err = load(&[("SUPPLYRISK__SCORING__CACHE_ENTRIS", "12")]).expect_err("typo in a key");
        assert!(err.to_string().contains("cache_entris"), "{err}");
    }
}
