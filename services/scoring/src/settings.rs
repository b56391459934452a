//! Settings of the scoring service.

use std::path::Path;

use serde::Deserialize;
use supplyrisk_config::{
    AuthSettings, ConfigError, EndpointSettings, GrpcSettings, RedisSettings, TelemetrySettings, env_name,
};

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
    /// Scores kept in the in-process cache.
    pub cache_entries: usize,
    /// Consumer group reading the data stream.
    pub consumer_group: String,
    /// This consumer's name; empty = host name and process id.
    #[serde(default)]
    pub consumer_name: String,
    /// Pending entries idle this long are reclaimed from dead consumers, ms.
    pub reclaim_idle_ms: u64,
    /// Consumers of the data stream in this process: while one works through
    /// a batch, another takes the next (a mineral is never recomputed twice
    /// at once).
    pub recompute_workers: usize,
    /// Approximate length the score stream is trimmed to.
    pub stream_maxlen: u64,
}

/// All settings of the scoring service.
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
    /// The ingest service this one reads snapshots from.
    pub ingest: EndpointSettings,
    /// Scoring tuning.
    pub scoring: ScoringSection,
}

/// EU member states (2020 onwards), for the default `EU27` bloc.
pub const EU27: &str =
    "AUT,BEL,BGR,HRV,CYP,CZE,DNK,EST,FIN,FRA,DEU,GRC,HUN,IRL,ITA,LVA,LTU,LUX,MLT,NLD,POL,PRT,ROU,SVK,SVN,ESP,SWE";

fn defaults() -> String {
    format!(
        r#"
[grpc]
listen = "127.0.0.1:50052"

[ingest]
endpoint = "http://127.0.0.1:50051"
timeout_ms = 10000

[scoring]
tracked_importers = "USA,JPN,DEU,KOR,CHN,IND,FRA,GBR,USA+JPN,EU27,QUAD"
blocs = "EU27={EU27};QUAD=USA,JPN,IND,AUS;G7=USA,JPN,DEU,FRA,GBR,ITA,CAN"
cache_entries = 100000
consumer_group = "scoring"
reclaim_idle_ms = 30000
recompute_workers = 2
stream_maxlen = 1000000
"#
    )
}

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
            supplyrisk_config::load_with_env(&[supplyrisk_config::COMMON_DEFAULTS, &defaults()], file, env)?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.grpc.validate()?;
        self.redis.validate()?;
        self.auth.parsed_tokens()?;
        self.telemetry.validate()?;
        self.ingest.validate("ingest")?;
        crate::importers::Importers::from_settings(&self.scoring)
            .map_err(|e| ConfigError(format!("{}: {e}", env_name("scoring.blocs"))))?;
        if self.scoring.cache_entries == 0 {
            return Err(ConfigError(format!(
                "{}: must be at least 1",
                env_name("scoring.cache_entries")
            )));
        }
        Ok(())
    }
}
