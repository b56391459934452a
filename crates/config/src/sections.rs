//! The sections every service shares: `[grpc]`, `[redis]`, `[auth]`,
//! `[telemetry]`, and the endpoint of another service (`[upstream.<name>]`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{ConfigError, at_least_one, invalid};

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
    /// Calls this server runs at once (health and reflection aside); one
    /// more is refused at once with `RESOURCE_EXHAUSTED`, so an overload
    /// sheds work instead of queueing it past every deadline.
    pub max_concurrent_calls: usize,
    /// HTTP/2 streams one connection may have open at once.
    pub max_concurrent_streams: u32,
    /// A client stream (an upload or an import) that sends nothing for this
    /// long is ended, seconds, so it cannot hold its call forever.
    pub stream_idle_timeout_secs: u64,
    /// PEM certificate chain; TLS is on when this and `tls_key` are set.
    #[serde(default)]
    pub tls_cert: String,
    /// PEM private key.
    #[serde(default)]
    pub tls_key: String,
    /// PEM CA bundle; when set (with TLS on), every client must present a
    /// certificate it signed (mutual TLS).
    #[serde(default)]
    pub tls_client_ca: String,
    /// `host:port` of a second, plain-text listener serving only
    /// `grpc.health.v1`, for probes that cannot speak TLS (the kubelet's
    /// gRPC probes); empty = none.
    #[serde(default)]
    pub health_listen: String,
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

    /// The plain-text health listener's address, when one is configured.
    pub fn health_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let listen = self.health_listen.trim();
        if listen.is_empty() {
            return Ok(None);
        }
        listen
            .parse()
            .map(Some)
            .map_err(|e| invalid("grpc.health_listen", format!("'{listen}' is not host:port ({e})")))
    }

    /// The CA that signs client certificates, when mutual TLS is on.
    pub fn client_ca(&self) -> Option<PathBuf> {
        let ca = self.tls_client_ca.trim();
        (!ca.is_empty()).then(|| PathBuf::from(ca))
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.health_listen_addr()?;
        if self.tls()?.is_none() && self.client_ca().is_some() {
            return Err(invalid(
                "grpc.tls_client_ca",
                "needs grpc.tls_cert and grpc.tls_key: client certificates are asked for over TLS only",
            ));
        }
        if !(1024..=1 << 30).contains(&self.max_message_bytes) {
            return Err(invalid("grpc.max_message_bytes", "must be between 1024 and 1073741824"));
        }
        at_least_one(&[
            ("grpc.keepalive_interval_secs", self.keepalive_interval_secs),
            ("grpc.keepalive_timeout_secs", self.keepalive_timeout_secs),
            ("grpc.max_connection_age_secs", self.max_connection_age_secs),
            ("grpc.request_timeout_secs", self.request_timeout_secs),
            ("grpc.max_concurrent_calls", self.max_concurrent_calls as u64),
            ("grpc.max_concurrent_streams", u64::from(self.max_concurrent_streams)),
            ("grpc.stream_idle_timeout_secs", self.stream_idle_timeout_secs),
        ])
    }

    /// How long a client stream may stay silent.
    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_secs(self.stream_idle_timeout_secs)
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
    /// TLS files for `rediss://` (`[redis.tls]`); without a CA, the server's
    /// certificate is checked against the system's trust store.
    #[serde(default)]
    pub tls: ClientTls,
}

/// The PEM contents of a [`ClientTls`]'s files.
#[derive(Debug, Clone, Default)]
pub struct TlsMaterial {
    /// The CA bundle, when given.
    pub ca: Option<Vec<u8>>,
    /// The client certificate and its key, when given.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// A TLS file that could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TlsFileError {
    /// Which file of the `tls` section: `ca`, `cert` or `key`.
    pub setting: &'static str,
    /// The path given.
    pub path: String,
    /// Why it could not be read.
    pub reason: String,
}

/// The files of a TLS client (`[<section>.tls]`): the CA the server's
/// certificate chains to and, for mutual TLS, the client's own certificate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientTls {
    /// PEM CA bundle the server's certificate must chain to.
    pub ca: String,
    /// PEM certificate presented when the server asks for one, with `key`.
    pub cert: String,
    /// The key of `cert`.
    pub key: String,
    /// Name the server's certificate must carry, when not the host of the
    /// address (gRPC endpoints only).
    pub domain: String,
}

impl ClientTls {
    /// The CA, certificate and key files (empty = not given).
    pub fn files(ca: &str, cert: &str, key: &str) -> Self {
        ClientTls {
            ca: ca.to_string(),
            cert: cert.to_string(),
            key: key.to_string(),
            domain: String::new(),
        }
    }

    /// True when no file and no name is given.
    pub fn is_empty(&self) -> bool {
        [&self.ca, &self.cert, &self.key, &self.domain]
            .iter()
            .all(|v| v.trim().is_empty())
    }

    /// The client certificate and key, when given.
    pub fn identity(&self) -> Option<(&str, &str)> {
        (!self.cert.trim().is_empty()).then(|| (self.cert.trim(), self.key.trim()))
    }

    /// The CA file, when given.
    pub fn ca(&self) -> Option<&str> {
        let ca = self.ca.trim();
        (!ca.is_empty()).then_some(ca)
    }

    /// Reads the files given: the one place TLS files are read, so every
    /// client (gRPC upstreams, Redis, the CLI) reports a missing one alike.
    pub fn read(&self) -> Result<TlsMaterial, TlsFileError> {
        let read = |setting: &'static str, path: &str| {
            let path = path.trim();
            if path.is_empty() {
                return Ok(None);
            }
            std::fs::read(path).map(Some).map_err(|e| TlsFileError {
                setting,
                path: path.to_string(),
                reason: e.to_string(),
            })
        };
        let ca = read("ca", &self.ca)?;
        let identity = match (read("cert", &self.cert)?, read("key", &self.key)?) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => None,
        };
        Ok(TlsMaterial { ca, identity })
    }

    /// Checks the TLS settings of `section` (e.g. `redis`), whose address
    /// is `address_key`: only for a TLS address, certificate and key together.
    fn validate(&self, section: &str, address_key: &str, uses_tls: bool, tls_scheme: &str) -> Result<(), ConfigError> {
        if !uses_tls && !self.is_empty() {
            return Err(invalid(
                &format!("{section}.{address_key}"),
                format!("TLS settings are given ({section}.tls), so the address must be {tls_scheme}"),
            ));
        }
        if self.cert.trim().is_empty() != self.key.trim().is_empty() {
            return Err(invalid(
                &format!("{section}.tls.cert"),
                "tls.cert and tls.key go together (the client certificate and its key)",
            ));
        }
        Ok(())
    }
}

impl RedisSettings {
    /// Settings for `url` with the default timeouts and no TLS files (tests and tools).
    pub fn at(url: &str) -> Self {
        RedisSettings {
            url: SecretString::from(url.to_string()),
            connect_timeout_ms: 2000,
            response_timeout_ms: 2000,
            tls: ClientTls::default(),
        }
    }

    /// True for a `rediss://` URL.
    pub fn uses_tls(&self) -> bool {
        self.url.expose_secret().starts_with("rediss://")
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.expose_secret();
        if !(url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("unix://")) {
            return Err(invalid("redis.url", "must start with redis://, rediss:// or unix://"));
        }
        self.tls.validate("redis", "url", self.uses_tls(), "rediss://")?;
        if !self.tls.domain.trim().is_empty() {
            return Err(invalid("redis.tls.domain", "is not supported for Redis"));
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

/// Who calls: the name a token was given and its role. Ownership (of a
/// subscription, of an upload id) belongs to the name, so tokens given the
/// same name, e.g. an old and a new one during a rotation, are one caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The token's name: `team-a` in `ingester:team-a=…`; the role's name
    /// for a token given none.
    pub name: String,
    /// What the token may do.
    pub role: Role,
}

impl Principal {
    /// The caller of a server running with authentication disabled.
    pub fn local() -> Self {
        Principal {
            name: "local".into(),
            role: Role::Admin,
        }
    }
}

/// Longest principal name.
pub const MAX_PRINCIPAL_NAME_LEN: usize = 64;

/// Authentication settings (`[auth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Comma-separated `role=token` or `role:name=token` entries; roles are
    /// reader, ingester, admin; a token without a name is named after its role.
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
    /// The configured tokens with the principal each stands for, checked.
    pub fn parsed_tokens(&self) -> Result<Vec<(Principal, SecretString)>, ConfigError> {
        let mut out = Vec::new();
        for (i, pair) in self.tokens.expose_secret().split(',').map(str::trim).enumerate() {
            if pair.is_empty() {
                continue;
            }
            let entry = i + 1;
            let Some((who, token)) = pair.split_once('=') else {
                return Err(invalid(
                    "auth.tokens",
                    format!("entry {entry} is not role=token or role:name=token"),
                ));
            };
            let (role, name) = match who.split_once(':') {
                Some((role, name)) => (role, Some(name.trim())),
                None => (who, None),
            };
            let Some(role) = Role::parse(role) else {
                return Err(invalid(
                    "auth.tokens",
                    format!(
                        "entry {entry}: unknown role '{}' (reader, ingester, admin)",
                        role.trim()
                    ),
                ));
            };
            let name = name.unwrap_or(role.as_str());
            let valid_name = !name.is_empty()
                && name.len() <= MAX_PRINCIPAL_NAME_LEN
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid_name {
                return Err(invalid(
                    "auth.tokens",
                    format!(
                        "entry {entry}: a name is 1 to {MAX_PRINCIPAL_NAME_LEN} characters of A-Z, a-z, 0-9, '-', '_', '.'"
                    ),
                ));
            }
            let token = token.trim();
            if token.len() < 8 {
                return Err(invalid(
                    "auth.tokens",
                    format!("entry {entry}: token must be at least 8 characters"),
                ));
            }
            let principal = Principal {
                name: name.to_string(),
                role,
            };
            out.push((principal, SecretString::from(token)));
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
    /// TLS files for an `https://` endpoint (`[upstream.<name>.tls]`); the
    /// CA is required there.
    #[serde(default)]
    pub tls: ClientTls,
}

impl EndpointSettings {
    /// Plain-text settings for `endpoint` (tests and tools).
    pub fn plain(endpoint: &str, token: &str, timeout_ms: u64) -> Self {
        EndpointSettings {
            endpoint: endpoint.to_string(),
            token: SecretString::from(token.to_string()),
            timeout_ms,
            tls: ClientTls::default(),
        }
    }

    /// True for an `https://` endpoint.
    pub fn uses_tls(&self) -> bool {
        self.endpoint.trim().starts_with("https://")
    }

    /// Checks every field; `section` names the table, e.g. `ingest`.
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        let ep = self.endpoint.trim();
        if !(ep.starts_with("http://") || ep.starts_with("https://")) {
            return Err(invalid(
                &format!("{section}.endpoint"),
                "must be an http(s)://host:port URL",
            ));
        }
        if self.uses_tls() && self.tls.ca().is_none() {
            return Err(invalid(
                &format!("{section}.tls.ca"),
                "is required for an https:// endpoint (the CA that signs its certificate)",
            ));
        }
        self.tls.validate(section, "endpoint", self.uses_tls(), "https://")?;
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
max_concurrent_calls = 1024
max_concurrent_streams = 256
stream_idle_timeout_secs = 60

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
