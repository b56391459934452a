//! Settings every service shares, plus each service's own sections.
//!
//! The shared and the service's own sections are read as two views of the
//! same merged layers (defaults → file → `SUPPLYRISK__…` variables) rather
//! than one flattened struct: flattening would buffer values and lose the
//! config crate's conversion of environment strings to numbers. Unknown
//! top-level sections are refused here, unknown keys inside a section by
//! each section's own type.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use supplyrisk_config::{
    AuthSettings, COMMON_DEFAULTS, ConfigError, GrpcSettings, Layered, RedisSettings, RenamedSection, TelemetrySettings,
};

use crate::upstream::Upstream;

/// The sections every service has.
#[derive(Debug, Clone, Deserialize)]
pub struct CommonSettings {
    /// gRPC server.
    pub grpc: GrpcSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// Bearer tokens.
    pub auth: AuthSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
}

impl CommonSettings {
    /// The top-level sections these settings read.
    pub const SECTIONS: [&'static str; 4] = ["grpc", "redis", "auth", "telemetry"];

    fn validate(&self) -> Result<(), ConfigError> {
        self.grpc.validate()?;
        self.redis.validate()?;
        self.auth.parsed_tokens()?;
        self.telemetry.validate()
    }
}

/// What one service adds to the common settings.
pub trait ServiceSettings: DeserializeOwned + Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Its top-level sections, e.g. `["upstream", "scoring"]`.
    const SECTIONS: &'static [&'static str];
    /// Sections that moved; their old names load with a deprecation warning.
    const RENAMED: &'static [RenamedSection] = &[];

    /// Defaults of its sections (and any common value it changes, such as
    /// `[grpc] listen`), as TOML.
    fn defaults() -> String;

    /// Checks values beyond their types.
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// The other services it calls.
    fn upstreams(&self) -> Vec<Upstream<'_>> {
        Vec::new()
    }
}

/// All settings of one service.
#[derive(Debug, Clone)]
pub struct Settings<S> {
    /// The sections every service has.
    pub common: CommonSettings,
    /// The service's own sections.
    pub own: S,
    deprecations: Vec<String>,
}

impl<S: ServiceSettings> Settings<S> {
    /// Loads defaults, the optional file, then `SUPPLYRISK__…` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// As [`Settings::load`] with an explicit environment.
    pub fn load_with_env(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let own_defaults = S::defaults();
        let layered = Layered::load(&[COMMON_DEFAULTS, &own_defaults], file, env, S::RENAMED)?;
        let known: Vec<&str> = CommonSettings::SECTIONS.iter().chain(S::SECTIONS).copied().collect();
        layered.refuse_unknown_sections(&known)?;
        let common: CommonSettings = layered.read()?;
        let own: S = layered.read()?;
        common.validate()?;
        for upstream in own.upstreams() {
            upstream.settings.validate(upstream.section)?;
        }
        own.validate()?;
        Ok(Settings {
            common,
            own,
            deprecations: layered.deprecations().to_vec(),
        })
    }

    /// One line per deprecated setting name in use, logged at start-up.
    pub fn deprecations(&self) -> &[String] {
        &self.deprecations
    }
}
