//! Layered configuration shared by every supplyrisk service.
//!
//! Settings come from built-in defaults, then an optional file (`--config
//! PATH` or `SUPPLYRISK_CONFIG`), then environment variables
//! `SUPPLYRISK__SECTION__KEY`. Unknown keys are errors, so a typo in a
//! ConfigMap stops start-up instead of being silently ignored, and every
//! error names the environment variable to fix. Secrets are `SecretString`s:
//! their `Debug` output is redacted, so logging a settings struct is safe.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Environment prefix of every setting.
pub const ENV_PREFIX: &str = "SUPPLYRISK";
/// Environment variable naming an optional config file.
pub const CONFIG_FILE_ENV: &str = "SUPPLYRISK_CONFIG";

/// A configuration problem, worded for the operator who must fix it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// The environment variable for a dotted key, e.g. `grpc.listen` →
/// `SUPPLYRISK__GRPC__LISTEN`.
pub fn env_name(key: &str) -> String {
    let mut name = String::from(ENV_PREFIX);
    for part in key.split('.') {
        name.push_str("__");
        name.push_str(&part.to_ascii_uppercase());
    }
    name
}

fn invalid(key: &str, msg: impl std::fmt::Display) -> ConfigError {
    ConfigError(format!("{} ({key}): {msg}", env_name(key)))
}

/// Refuses the first of `values` (dotted key, value) that is zero, by its variable.
pub fn at_least_one(values: &[(&str, u64)]) -> Result<(), ConfigError> {
    match values.iter().find(|(_, v)| *v == 0) {
        Some((key, _)) => Err(invalid(key, "must be at least 1")),
        None => Ok(()),
    }
}

/// The config file named by `--config PATH`, `--config=PATH` or `SUPPLYRISK_CONFIG`.
pub fn config_file_from_args() -> Option<PathBuf> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_FILE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Loads settings of type `S` from `defaults` (TOML layers, later ones
/// overriding earlier ones), the optional `file`, then `SUPPLYRISK__…`
/// variables from the process environment.
pub fn load<S: DeserializeOwned>(defaults: &[&str], file: Option<&Path>) -> Result<S, ConfigError> {
    load_with_env(defaults, file, std::env::vars())
}

/// As [`load`], with the environment given explicitly (for tests).
pub fn load_with_env<S: DeserializeOwned>(
    defaults: &[&str],
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<S, ConfigError> {
    Layered::load(defaults, file, env, &[])?.read()
}

fn describe(err: config::ConfigError) -> ConfigError {
    // The config crate reports `… for key `grpc.listen``; name the variable too.
    let text = err.to_string();
    if let Some(start) = text.find("for key `") {
        let rest = &text[start + 9..];
        if let Some(end) = rest.find('`') {
            return ConfigError(format!("{}: {text}", env_name(&rest[..end])));
        }
    }
    ConfigError(format!(
        "{text} (settings are SUPPLYRISK__SECTION__KEY variables; unknown keys are refused)"
    ))
}

mod layered;
mod sections;
#[cfg(test)]
mod tests;

pub use layered::{Layered, RenamedSection};
pub use sections::{
    AuthSettings, COMMON_DEFAULTS, ClientTls, EndpointSettings, GrpcSettings, MAX_PRINCIPAL_NAME_LEN, Principal,
    RedisSettings, Role, TelemetrySettings, TlsFileError, TlsMaterial,
};
