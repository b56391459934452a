//! Layered configuration shared by every supplyrisk service.
//!
//! Settings come from built-in defaults, then an optional file (`--config
//! PATH` or `SUPPLYRISK_CONFIG`), then environment variables
//! `SUPPLYRISK__SECTION__KEY`. Unknown keys are errors, so a typo in a
//! ConfigMap stops start-up instead of being silently ignored, and every
//! error names the environment variable to fix. Secrets are `SecretString`s:
//! their `Debug` output is redacted, so logging a settings struct is safe.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
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

/// A section that moved to a new name: the old name keeps working for one
/// release, with a deprecation warning, so a running deployment can upgrade
/// before its manifests change.
#[derive(Debug, Clone, Copy)]
pub struct RenamedSection {
    /// The old dotted name, e.g. `ingest`.
    pub old: &'static str,
    /// The new dotted name, e.g. `upstream.ingest`.
    pub new: &'static str,
}

/// Every settings layer merged (defaults, file, environment), ready to be
/// read as one or more typed views: the sections every service shares and
/// each service's own are read separately, and together they must account
/// for every top-level section.
#[derive(Debug)]
pub struct Layered {
    config: config::Config,
    deprecations: Vec<String>,
}

impl Layered {
    /// Merges `defaults` (TOML layers, later ones overriding earlier ones), the
    /// optional `file`, then `SUPPLYRISK__…` variables from `env`. Sections
    /// given under an old name in `renamed` are read under the new one.
    pub fn load(
        defaults: &[&str],
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        renamed: &[RenamedSection],
    ) -> Result<Layered, ConfigError> {
        let mut deprecations = Vec::new();
        let mut builder = config::Config::builder();
        for layer in defaults {
            builder = builder.add_source(config::File::from_str(layer, config::FileFormat::Toml));
        }
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            let read = config::Config::builder()
                .add_source(config::File::from(path).required(true))
                .build()
                .map_err(|e| ConfigError(e.to_string()))?;
            let mut table = config::Source::collect(&read).map_err(|e| ConfigError(e.to_string()))?;
            for r in renamed {
                let Some(value) = table.remove(r.old) else { continue };
                if has_path(&table, r.new) {
                    deprecations.push(format!(
                        "config file {}: section [{}] is deprecated and ignored: [{}] is set",
                        path.display(),
                        r.old,
                        r.new
                    ));
                } else {
                    deprecations.push(format!(
                        "config file {}: section [{}] is deprecated; rename it [{}]",
                        path.display(),
                        r.old,
                        r.new
                    ));
                    insert_at(&mut table, r.new, value);
                }
            }
            builder = builder.add_source(Table(table));
        }
        let prefix = format!("{ENV_PREFIX}__");
        let vars: Vec<(String, String)> = env.into_iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
        let mut renamed_vars: config::Map<String, String> = config::Map::new();
        for (key, value) in &vars {
            let moved = renamed.iter().find_map(|r| {
                let old = format!("{}__", env_name(r.old));
                key.strip_prefix(&old)
                    .map(|rest| format!("{}__{rest}", env_name(r.new)))
            });
            match moved {
                // The new name wins when both are set.
                Some(new) if vars.iter().any(|(k, _)| *k == new) => {
                    deprecations.push(format!("{key} is deprecated and ignored: {new} is set"));
                }
                Some(new) => {
                    deprecations.push(format!("{key} is deprecated; use {new}"));
                    renamed_vars.insert(new, value.clone());
                }
                None => {
                    renamed_vars.insert(key.clone(), value.clone());
                }
            }
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .source(Some(renamed_vars)),
        );
        let config = builder.build().map_err(|e| ConfigError(e.to_string()))?;
        Ok(Layered { config, deprecations })
    }

    /// Reads the typed view `S`; top-level sections `S` does not name are
    /// left for other views (see [`Layered::refuse_unknown_sections`]).
    pub fn read<S: DeserializeOwned>(&self) -> Result<S, ConfigError> {
        self.config.clone().try_deserialize().map_err(describe)
    }

    /// Refuses a top-level section outside `known`, so a typo in a section
    /// name stops start-up as a typo in a key does.
    pub fn refuse_unknown_sections(&self, known: &[&str]) -> Result<(), ConfigError> {
        let table = config::Source::collect(&self.config).map_err(|e| ConfigError(e.to_string()))?;
        let mut unknown: Vec<&String> = table.keys().filter(|k| !known.contains(&k.as_str())).collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(first) => Err(ConfigError(format!(
                "{}__…: unknown section `{first}` (known sections: {})",
                env_name(first),
                known.join(", ")
            ))),
        }
    }

    /// One line per deprecated name in use, for the log once it is up.
    pub fn deprecations(&self) -> &[String] {
        &self.deprecations
    }
}

/// True when the dotted `path` names a value in `table`.
fn has_path(table: &config::Map<String, config::Value>, path: &str) -> bool {
    match path.split_once('.') {
        None => table.contains_key(path),
        Some((head, rest)) => table
            .get(head)
            .and_then(|v| v.clone().into_table().ok())
            .is_some_and(|inner| has_path(&inner, rest)),
    }
}

/// Puts `value` at the dotted `path` of `table`, creating tables on the way.
fn insert_at(table: &mut config::Map<String, config::Value>, path: &str, value: config::Value) {
    match path.split_once('.') {
        None => {
            table.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_string())
                .or_insert_with(|| config::Value::new(None, config::Map::<String, config::Value>::new()));
            let mut inner = entry.clone().into_table().unwrap_or_default();
            insert_at(&mut inner, rest, value);
            *entry = config::Value::new(None, inner);
        }
    }
}

/// A table already read, as a source of the next merge.
#[derive(Debug, Clone)]
struct Table(config::Map<String, config::Value>);

impl config::Source for Table {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, config::Value>, config::ConfigError> {
        Ok(self.0.clone())
    }
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

/// gRPC server settings (`[grpc]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcSettings {
    /// `host:port` to listen on; port 0 picks a free port (logged at start).
    pub listen: String,
    /// Largest request or response message, bytes.
    pub max_message_bytes: usize,
    /// HTTP/2 keepalive ping interval, seconds.
    pub keepalive_interval_secs: u64,
    /// HTTP/2 keepalive ping timeout, seconds.
    pub keepalive_timeout_secs: u64,
    /// Connections are closed gracefully after this age, seconds, so clients
    /// re-resolve and load spreads over new replicas.
    pub max_connection_age_secs: u64,
    /// Upper bound on any call, seconds, when the client sets no shorter
    /// deadline (client deadlines are always honoured). Server-streaming
    /// calls are bounded only until their first response.
    pub request_timeout_secs: u64,
    /// Seconds to let in-flight calls finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// PEM certificate chain; TLS is on when this and `tls_key` are set.
    #[serde(default)]
    pub tls_cert: String,
    /// PEM private key.
    #[serde(default)]
    pub tls_key: String,
}

impl GrpcSettings {
    /// The listen address, checked.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|e| invalid("grpc.listen", format!("'{}' is not host:port ({e})", self.listen)))
    }

    /// The TLS certificate and key paths, when both are set.
    pub fn tls(&self) -> Result<Option<(PathBuf, PathBuf)>, ConfigError> {
        match (self.tls_cert.trim(), self.tls_key.trim()) {
            ("", "") => Ok(None),
            (cert, "") => Err(invalid(
                "grpc.tls_key",
                format!("is required when grpc.tls_cert ({cert}) is set"),
            )),
            ("", _) => Err(invalid("grpc.tls_cert", "is required when grpc.tls_key is set")),
            (cert, key) => Ok(Some((PathBuf::from(cert), PathBuf::from(key)))),
        }
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.tls()?;
        if !(1024..=1 << 30).contains(&self.max_message_bytes) {
            return Err(invalid("grpc.max_message_bytes", "must be between 1024 and 1073741824"));
        }
        at_least_one(&[
            ("grpc.keepalive_interval_secs", self.keepalive_interval_secs),
            ("grpc.keepalive_timeout_secs", self.keepalive_timeout_secs),
            ("grpc.max_connection_age_secs", self.max_connection_age_secs),
            ("grpc.request_timeout_secs", self.request_timeout_secs),
        ])
    }

    /// Shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// Redis settings (`[redis]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://[:password@]host:port[/db]`; may hold a password, so secret.
    pub url: SecretString,
    /// Connect timeout, milliseconds.
    pub connect_timeout_ms: u64,
    /// Per-command response timeout, milliseconds.
    pub response_timeout_ms: u64,
}

impl RedisSettings {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
            return Err(invalid("redis.url", "must start with redis://, rediss:// or unix://"));
        }
        if self.connect_timeout_ms == 0 || self.response_timeout_ms == 0 {
            return Err(invalid("redis.response_timeout_ms", "timeouts must be at least 1 ms"));
        }
        Ok(())
    }
}

/// A caller's role, from its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May read.
    Reader,
    /// May read and write data.
    Ingester,
    /// May do everything.
    Admin,
}

impl Role {
    /// Parses `reader`, `ingester` or `admin`.
    pub fn parse(s: &str) -> Option<Role> {
        match s.trim() {
            "reader" => Some(Role::Reader),
            "ingester" => Some(Role::Ingester),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Ingester => "ingester",
            Role::Admin => "admin",
        }
    }
}

/// Authentication settings (`[auth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Comma-separated `role=token` pairs; roles are reader, ingester, admin.
    #[serde(default = "empty_secret")]
    pub tokens: SecretString,
    /// Local development only: accept every call as admin. Logged loudly.
    #[serde(default)]
    pub disabled: bool,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

impl AuthSettings {
    /// The configured (role, token) pairs, checked.
    pub fn parsed_tokens(&self) -> Result<Vec<(Role, SecretString)>, ConfigError> {
        let mut out = Vec::new();
        for (i, pair) in self.tokens.expose_secret().split(',').map(str::trim).enumerate() {
            if pair.is_empty() {
                continue;
            }
            let Some((role, token)) = pair.split_once('=') else {
                return Err(invalid("auth.tokens", format!("entry {} is not role=token", i + 1)));
            };
            let Some(role) = Role::parse(role) else {
                return Err(invalid(
                    "auth.tokens",
                    format!(
                        "entry {}: unknown role '{}' (reader, ingester, admin)",
                        i + 1,
                        role.trim()
                    ),
                ));
            };
            let token = token.trim();
            if token.len() < 8 {
                return Err(invalid(
                    "auth.tokens",
                    format!("entry {}: token must be at least 8 characters", i + 1),
                ));
            }
            out.push((role, SecretString::from(token)));
        }
        if out.is_empty() && !self.disabled {
            return Err(invalid(
                "auth.tokens",
                "no tokens configured (set role=token pairs, or auth.disabled=true for local development)",
            ));
        }
        Ok(out)
    }
}

/// Telemetry settings (`[telemetry]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// OTLP/gRPC endpoint, e.g. `http://otel-collector:4317`; empty = no export.
    #[serde(default)]
    pub otlp_endpoint: String,
    /// Share of new traces sampled (parent-based), 0–1.
    pub sample_ratio: f64,
    /// `text` or `json`.
    pub log_format: String,
    /// `tracing` filter directive, e.g. `info,supplyrisk=debug`.
    pub log_filter: String,
}

impl TelemetrySettings {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(invalid("telemetry.sample_ratio", "must be within 0..=1"));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(invalid("telemetry.log_format", "must be text or json"));
        }
        let ep = self.otlp_endpoint.trim();
        let is_url = ep.starts_with("http://") || ep.starts_with("https://");
        if !ep.is_empty() && !is_url {
            return Err(invalid("telemetry.otlp_endpoint", "must be empty or an http(s):// URL"));
        }
        Ok(())
    }
}

/// A gRPC client endpoint of another service (e.g. `[ingest]` in scoring).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSettings {
    /// `http://host:port` or `https://host:port`.
    pub endpoint: String,
    /// Bearer token this service presents.
    #[serde(default = "empty_secret")]
    pub token: SecretString,
    /// Per-call deadline, milliseconds.
    pub timeout_ms: u64,
}

impl EndpointSettings {
    /// Checks every field; `section` names the table, e.g. `ingest`.
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        let ep = self.endpoint.trim();
        if !(ep.starts_with("http://") || ep.starts_with("https://")) {
            return Err(invalid(
                &format!("{section}.endpoint"),
                "must be an http(s)://host:port URL",
            ));
        }
        if self.timeout_ms == 0 {
            return Err(invalid(&format!("{section}.timeout_ms"), "must be at least 1"));
        }
        Ok(())
    }
}

/// Defaults shared by every service, as TOML; each service appends its own sections.
pub const COMMON_DEFAULTS: &str = r#"
[grpc]
listen = "127.0.0.1:50051"
max_message_bytes = 16777216
keepalive_interval_secs = 30
keepalive_timeout_secs = 10
max_connection_age_secs = 300
request_timeout_secs = 3600
shutdown_grace_secs = 20

[redis]
url = "redis://127.0.0.1:6379"
connect_timeout_ms = 2000
response_timeout_ms = 2000

[auth]
tokens = ""
disabled = false

[telemetry]
otlp_endpoint = ""
sample_ratio = 1.0
log_format = "text"
log_filter = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        grpc: GrpcSettings,
        redis: RedisSettings,
        auth: AuthSettings,
        telemetry: TelemetrySettings,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn environment_overrides_defaults() {
        let s: Settings = load_with_env(
            &[COMMON_DEFAULTS],
            None,
            env(&[
                ("SUPPLYRISK__GRPC__LISTEN", "0.0.0.0:0"),
                ("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "2048"),
            ]),
        )
        .expect("valid");
        assert_eq!(s.grpc.listen, "0.0.0.0:0");
        assert_eq!(s.grpc.max_message_bytes, 2048);
        assert_eq!(s.telemetry.log_format, "text");
        assert!(s.redis.validate().is_ok());
    }

    #[test]
    fn file_sits_between_defaults_and_environment() {
        let dir = std::env::temp_dir().join(format!("sr-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("c.toml");
        std::fs::write(&path, "[grpc]\nlisten = \"127.0.0.1:7000\"\nshutdown_grace_secs = 3\n").expect("write");
        let s: Settings = load_with_env(
            &[COMMON_DEFAULTS],
            Some(&path),
            env(&[("SUPPLYRISK__GRPC__LISTEN", "127.0.0.1:7001")]),
        )
        .expect("valid");
        assert_eq!(s.grpc.listen, "127.0.0.1:7001");
        assert_eq!(s.grpc.shutdown_grace_secs, 3);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = load_with_env::<Settings>(
            &[COMMON_DEFAULTS],
            None,
            env(&[("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "lots")]),
        )
        .expect_err("invalid");
        assert!(err.to_string().contains("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES"), "{err}");
        let s: Settings = load_with_env(
            &[COMMON_DEFAULTS],
            None,
            env(&[("SUPPLYRISK__GRPC__LISTEN", "nowhere")]),
        )
        .expect("loads");
        let err = s.grpc.validate().expect_err("invalid");
        assert!(err.to_string().contains("SUPPLYRISK__GRPC__LISTEN"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load_with_env::<Settings>(&[COMMON_DEFAULTS], None, env(&[("SUPPLYRISK__GRPC__LISTN", "x")]))
            .expect_err("unknown key");
        assert!(err.to_string().contains("listn"), "{err}");
    }

    #[test]
    fn tokens_parse_and_stay_secret() {
        let s: Settings = load_with_env(
            &[COMMON_DEFAULTS],
            None,
            env(&[("SUPPLYRISK__AUTH__TOKENS", "reader=read-token-1, admin=admin-token-1")]),
        )
        .expect("valid");
        let tokens = s.auth.parsed_tokens().expect("valid tokens");
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[1].0, Role::Admin);
        assert!(
            !format!("{s:?}").contains("admin-token-1"),
            "secrets must not appear in Debug output"
        );
        let bad = AuthSettings {
            tokens: SecretString::from("root=abcdefgh"),
            disabled: false,
        };
        assert!(
            bad.parsed_tokens()
                .expect_err("bad role")
                .to_string()
                .contains("SUPPLYRISK__AUTH__TOKENS")
        );
        let none = AuthSettings {
            tokens: SecretString::from(""),
            disabled: false,
        };
        assert!(none.parsed_tokens().is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Moved {
        upstream: Upstreams,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Upstreams {
        ingest: EndpointSettings,
    }

    const MOVED_DEFAULTS: &str = "[upstream.ingest]\nendpoint = \"http://127.0.0.1:50051\"\ntimeout_ms = 10000\n";
    const MOVED: &[RenamedSection] = &[RenamedSection {
        old: "ingest",
        new: "upstream.ingest",
    }];

    #[test]
    fn a_renamed_section_loads_under_its_old_variable_names_with_a_warning() {
        let layered = Layered::load(
            &[MOVED_DEFAULTS],
            None,
            env(&[
                ("SUPPLYRISK__INGEST__ENDPOINT", "http://old:1"),
                ("SUPPLYRISK__INGEST__TIMEOUT_MS", "7"),
            ]),
            MOVED,
        )
        .expect("loads");
        let s: Moved = layered.read().expect("reads");
        assert_eq!(s.upstream.ingest.endpoint, "http://old:1");
        assert_eq!(s.upstream.ingest.timeout_ms, 7);
        assert_eq!(
            layered.deprecations(),
            [
                "SUPPLYRISK__INGEST__ENDPOINT is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT",
                "SUPPLYRISK__INGEST__TIMEOUT_MS is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__TIMEOUT_MS"
            ]
        );
        layered
            .refuse_unknown_sections(&["upstream"])
            .expect("the old section is gone");
    }

    #[test]
    fn the_new_name_wins_over_the_old_one() {
        let layered = Layered::load(
            &[MOVED_DEFAULTS],
            None,
            env(&[
                ("SUPPLYRISK__INGEST__ENDPOINT", "http://old:1"),
                ("SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT", "http://new:2"),
            ]),
            MOVED,
        )
        .expect("loads");
        let s: Moved = layered.read().expect("reads");
        assert_eq!(s.upstream.ingest.endpoint, "http://new:2");
        assert!(
            layered.deprecations()[0].contains("ignored"),
            "{:?}",
            layered.deprecations()
        );
    }

    #[test]
    fn a_renamed_section_in_a_file_moves_and_the_environment_still_overrides_it() {
        let dir = std::env::temp_dir().join(format!("sr-config-renamed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp");
        let path = dir.join("c.toml");
        std::fs::write(&path, "[ingest]\nendpoint = \"http://file:3\"\ntimeout_ms = 9\n").expect("write");
        let layered = Layered::load(
            &[MOVED_DEFAULTS],
            Some(&path),
            env(&[("SUPPLYRISK__UPSTREAM__INGEST__TIMEOUT_MS", "11")]),
            MOVED,
        )
        .expect("loads");
        let s: Moved = layered.read().expect("reads");
        assert_eq!(s.upstream.ingest.endpoint, "http://file:3");
        assert_eq!(s.upstream.ingest.timeout_ms, 11);
        assert!(layered.deprecations()[0].contains("rename it [upstream.ingest]"));
    }

    #[test]
    fn an_unknown_section_is_refused_by_its_variable() {
        let layered = Layered::load(
            &[COMMON_DEFAULTS],
            None,
            env(&[("SUPPLYRISK__SCORNG__CACHE_ENTRIES", "1")]),
            &[],
        )
        .expect("loads");
        let err = layered
            .refuse_unknown_sections(&["grpc", "redis", "auth", "telemetry"])
            .expect_err("typo in a section name");
        assert!(err.to_string().contains("SUPPLYRISK__SCORNG__"), "{err}");
    }
}
