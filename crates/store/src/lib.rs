//! Redis storage and event streams.
//!
//! Redis is supplyrisk's store, cache and event log. This crate is the only
//! code that talks to it: key names live in [`keys`], writes go through one
//! Lua script ([`upsert`]) that changes data, bumps versions and appends the
//! change event in one atomic step, so a crash can never leave data without
//! its event or an event without its data.
#![forbid(unsafe_code)]

mod alerts;
pub mod consumer;
mod dead_letters;
pub mod deliveries;
mod instrumented;
pub mod keys;
mod reads;
mod scores;
mod stored;
mod stored_alerting;
mod streams;
mod trim;
pub mod upsert;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use supplyrisk_config::RedisSettings;
use tokio::sync::OnceCell;

use crate::instrumented::InstrumentedConnection;

pub use alerts::{ALERTS_PER_SUBSCRIPTION, AlertRange, RecordedAlert, RuleStateChange, SubscriptionPage};
pub use dead_letters::{DeadLetter, DeadLetterInput, Redriven};
pub use reads::{PolicyPage, SnapshotData, SnapshotGovernance};
pub use scores::{HISTORY_LIMIT, LatestScore, ScorePoint, ScoreRecord, ScoreWrite};
pub use streams::{StreamEntry, entry_id};
pub use trim::Trimmed;
pub use writes::{PreparedWrite, Replay, ReplayKind, WriteOutcome};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis is unreachable or timed out; the caller may retry.
    #[error("redis unavailable: {0}")]
    Unavailable(String),
    /// Redis answered with an error or data that does not decode.
    #[error("redis error: {0}")]
    Internal(String),
    /// The write would take a collection past its configured size.
    #[error("{0}")]
    LimitReached(String),
}

impl From<redis::RedisError> for StoreError {
    fn from(e: redis::RedisError) -> Self {
        // Redis still loading its data after a restart, or a failover in
        // progress, is as temporary as a dropped connection.
        let transient = matches!(
            e.kind(),
            redis::ErrorKind::Server(
                redis::ServerErrorKind::BusyLoading
                    | redis::ServerErrorKind::TryAgain
                    | redis::ServerErrorKind::MasterDown
                    | redis::ServerErrorKind::ClusterDown
                    | redis::ServerErrorKind::ReadOnly
            )
        );
        if transient || e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Internal(e.to_string())
        }
    }
}

impl From<redis::ParsingError> for StoreError {
    fn from(e: redis::ParsingError) -> Self {
        StoreError::Internal(format!("unexpected reply: {e}"))
    }
}

impl From<prost::DecodeError> for StoreError {
    fn from(e: prost::DecodeError) -> Self {
        StoreError::Internal(format!("stored value does not decode: {e}"))
    }
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Store tuning.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Ceiling of the data stream's length on append; below it the
    /// stream is trimmed by its slowest consumer group.
    pub stream_maxlen: u64,
    /// How long an upload's response is kept for idempotent replays.
    pub upload_ttl: Duration,
    /// How long a computed snapshot stays cached in Redis.
    pub snapshot_ttl: Duration,
    /// Most records one write script carries: a larger write is split, so
    /// no single script holds Redis (and every other client) for long.
    pub max_write_records: usize,
    /// Most policy events one mineral keeps: every snapshot of the mineral
    /// reads them all.
    pub max_policy_events_per_mineral: u64,
    /// Alerts a subscription keeps; recording one more drops the oldest.
    pub alerts_per_subscription: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            stream_maxlen: 5_000_000,
            upload_ttl: Duration::from_secs(7 * 24 * 3600),
            snapshot_ttl: Duration::from_secs(24 * 3600),
            max_write_records: 5000,
            max_policy_events_per_mineral: 1000,
            alerts_per_subscription: ALERTS_PER_SUBSCRIPTION,
        }
    }
}

/// A handle on the Redis store; cheap to clone.
///
/// The connection is made on first use, not at construction, so a service
/// can start (and report NOT_SERVING) while Redis is still down; once made,
/// the connection manager reconnects by itself.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The Redis client for `settings`: plain, or TLS for `rediss://` with the
/// configured CA (else the system's trust store) and client certificate.
fn client(settings: &RedisSettings) -> StoreResult<redis::Client> {
    let url = settings.url.expose_secret();
    let refused = |variable: &str, e: &dyn std::fmt::Display| StoreError::Internal(format!("{variable}: {e}"));
    if !settings.uses_tls() || settings.tls.is_empty() {
        return redis::Client::open(url).map_err(|e| refused("SUPPLYRISK__REDIS__URL", &e));
    }
    let material = settings
        .tls
        .read()
        .map_err(|e| refused(&supplyrisk_config::env_name(&format!("redis.tls.{}", e.setting)), &e))?;
    let client_tls = material
        .identity
        .map(|(client_cert, client_key)| redis::ClientTlsConfig {
            client_cert,
            client_key,
        });
    let certificates = redis::TlsCertificates {
        client_tls,
        root_cert: material.ca,
    };
    redis::Client::build_with_tls(url, certificates).map_err(|e| refused("SUPPLYRISK__REDIS__URL", &e))
}

struct Inner {
    client: redis::Client,
    config: ConnectionManagerConfig,
    conn: OnceCell<ConnectionManager>,
    options: StoreOptions,
    upsert: redis::Script,
    record_alert: redis::Script,
    record_score: redis::Script,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store for `settings`; does not connect yet.
    pub fn new(settings: &RedisSettings, options: StoreOptions) -> StoreResult<Store> {
        let client = client(settings)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
            .set_response_timeout(Some(Duration::from_millis(settings.response_timeout_ms)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        Ok(Store {
            inner: Arc::new(Inner {
                client,
                config,
                conn: OnceCell::new(),
                options,
                upsert: redis::Script::new(include_str!("lua/upsert.lua")),
                record_alert: redis::Script::new(include_str!("lua/record_alert.lua")),
                record_score: redis::Script::new(include_str!("lua/record_score.lua")),
            }),
        })
    }

    /// A store on its own connection, for blocking reads (`XREADGROUP
    /// BLOCK`) that would otherwise hold up every other command.
    pub fn dedicated(&self) -> Store {
        Store {
            inner: Arc::new(Inner {
                client: self.inner.client.clone(),
                config: self.inner.config.clone(),
                conn: OnceCell::new(),
                options: self.inner.options.clone(),
                upsert: self.inner.upsert.clone(),
                record_alert: self.inner.record_alert.clone(),
                record_score: self.inner.record_score.clone(),
            }),
        }
    }

    /// Store tuning in force.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The shared connection, made on first use; every command through it
    /// is traced (inside sampled traces) and its failures counted.
    pub(crate) async fn conn(&self) -> StoreResult<InstrumentedConnection> {
        let conn = self
            .inner
            .conn
            .get_or_try_init(|| async {
                ConnectionManager::new_with_config(self.inner.client.clone(), self.inner.config.clone())
                    .await
                    .inspect_err(instrumented::connect_failed)
            })
            .await?;
        Ok(InstrumentedConnection::new(conn.clone()))
    }

    /// True when Redis answers PING within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> bool {
        let attempt = async {
            let mut conn = self.conn().await?;
            let pong: String = redis::cmd("PING").query_async(&mut conn).await?;
            Ok::<_, StoreError>(pong == "PONG")
        };
        matches!(tokio::time::timeout(timeout, attempt).await, Ok(Ok(true)))
    }
}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn redis_loading_or_failing_over_is_unavailable_not_internal() {
        for kind in [
            redis::ServerErrorKind::BusyLoading,
            redis::ServerErrorKind::TryAgain,
            redis::ServerErrorKind::MasterDown,
        ] {
            let e = redis::RedisError::from((redis::ErrorKind::Server(kind), "server says wait"));
            assert!(matches!(StoreError::from(e), StoreError::Unavailable(_)), "{kind:?}");
        }
        let e = redis::RedisError::from((
            redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
            "WRONGTYPE",
        ));
        assert!(matches!(StoreError::from(e), StoreError::Internal(_)));
    }
}
