//! Every metric supplyrisk exports: the instrument names, and one function
//! per measurement so call sites never build instruments or attribute sets.
//!
//! Metrics go over the same OTLP endpoint as spans. Without an endpoint the
//! instruments are never created and every function here returns after one
//! atomic load, so hot paths pay nothing when metrics are off.
//!
//! RPC durations use the current semantic-convention names
//! (`rpc.server.call.duration`, `rpc.client.call.duration`, in seconds) with
//! the same attribute keys as the RPC spans (`rpc.system`, `rpc.service`,
//! `rpc.method`, `rpc.grpc.status_code`), so a metric and the spans behind it
//! are filtered the same way.

use std::sync::OnceLock;
use std::time::Instant;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, MeterProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;

use crate::attributes;

/// Histogram of server-side call durations, seconds.
pub const RPC_SERVER_DURATION: &str = "rpc.server.call.duration";
/// Histogram of client-side call durations, seconds.
pub const RPC_CLIENT_DURATION: &str = "rpc.client.call.duration";
/// Counter of records an ingest call or import handled, by kind and outcome.
pub const INGEST_RECORDS: &str = "supplyrisk.ingest.records";
/// Counter of score cache lookups, by result (hit, miss, remembered).
pub const SCORE_CACHE_LOOKUPS: &str = "supplyrisk.scoring.cache.lookups";
/// Gauge: stream entries not yet delivered to a consumer group (`XINFO GROUPS` lag).
pub const STREAM_GROUP_LAG: &str = "supplyrisk.stream.group.lag";
/// Gauge: entries delivered to a consumer group but not acknowledged.
pub const STREAM_GROUP_PENDING: &str = "supplyrisk.stream.group.pending";
/// Counter of failed Redis commands and connection attempts.
pub const REDIS_ERRORS: &str = "supplyrisk.redis.errors";
/// Counter of webhook delivery attempts, by outcome.
pub const WEBHOOK_ATTEMPTS: &str = "supplyrisk.webhook.attempts";
/// Counter of webhook deliveries given up and dead-lettered.
pub const WEBHOOK_DEAD_LETTERS: &str = "supplyrisk.webhook.dead_letters";
/// Counter of stream entries moved to their group's dead-letter stream.
pub const STREAM_DEAD_LETTERS: &str = "supplyrisk.stream.dead_letters";
/// Counter of subscriptions that could not be evaluated for an event.
pub const SUBSCRIPTION_FAILURES: &str = "supplyrisk.alerting.subscription_failures";

/// Bucket bounds of the RPC duration histograms, seconds: the semantic
/// conventions' recommendation, extended below 5 ms because cached reads
/// answer in well under a millisecond.
const RPC_DURATION_BOUNDS: [f64; 19] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
    10.0,
];

struct Instruments {
    rpc_server_duration: Histogram<f64>,
    rpc_client_duration: Histogram<f64>,
    ingest_records: Counter<u64>,
    score_cache_lookups: Counter<u64>,
    stream_group_lag: Gauge<u64>,
    stream_group_pending: Gauge<u64>,
    redis_errors: Counter<u64>,
    webhook_attempts: Counter<u64>,
    webhook_dead_letters: Counter<u64>,
    stream_dead_letters: Counter<u64>,
    subscription_failures: Counter<u64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Creates the instruments on `provider`; called once by [`crate::init`].
pub(crate) fn install(provider: &SdkMeterProvider) {
    let meter = provider.meter("supplyrisk");
    let duration = |name: &'static str, description: &'static str| {
        meter
            .f64_histogram(name)
            .with_unit("s")
            .with_description(description)
            .with_boundaries(RPC_DURATION_BOUNDS.to_vec())
            .build()
    };
    let _ = INSTRUMENTS.set(Instruments {
        rpc_server_duration: duration(
            RPC_SERVER_DURATION,
            "Duration of gRPC calls served, until the response starts",
        ),
        rpc_client_duration: duration(RPC_CLIENT_DURATION, "Duration of gRPC calls made to other services"),
        ingest_records: meter
            .u64_counter(INGEST_RECORDS)
            .with_unit("{record}")
            .with_description("Records handled by ingest calls and imports")
            .build(),
        score_cache_lookups: meter
            .u64_counter(SCORE_CACHE_LOOKUPS)
            .with_unit("{lookup}")
            .with_description("Score cache lookups")
            .build(),
        stream_group_lag: meter
            .u64_gauge(STREAM_GROUP_LAG)
            .with_unit("{entry}")
            .with_description("Stream entries not yet delivered to the consumer group")
            .build(),
        stream_group_pending: meter
            .u64_gauge(STREAM_GROUP_PENDING)
            .with_unit("{entry}")
            .with_description("Stream entries delivered to the consumer group but not acknowledged")
            .build(),
        redis_errors: meter
            .u64_counter(REDIS_ERRORS)
            .with_unit("{error}")
            .with_description("Failed Redis commands and connection attempts")
            .build(),
        webhook_attempts: meter
            .u64_counter(WEBHOOK_ATTEMPTS)
            .with_unit("{attempt}")
            .with_description("Webhook delivery attempts")
            .build(),
        webhook_dead_letters: meter
            .u64_counter(WEBHOOK_DEAD_LETTERS)
            .with_unit("{delivery}")
            .with_description("Webhook deliveries given up and dead-lettered")
            .build(),
        stream_dead_letters: meter
            .u64_counter(STREAM_DEAD_LETTERS)
            .with_unit("{entry}")
            .with_description("Stream entries moved to their consumer group's dead-letter stream")
            .build(),
        subscription_failures: meter
            .u64_counter(SUBSCRIPTION_FAILURES)
            .with_unit("{failure}")
            .with_description("Subscriptions that could not be evaluated for an event")
            .build(),
    });
}

fn instruments() -> Option<&'static Instruments> {
    INSTRUMENTS.get()
}

/// True when metrics are exported (an OTLP endpoint is configured).
pub fn enabled() -> bool {
    instruments().is_some()
}

/// Times one gRPC call; holds no clock reading when metrics are off.
#[derive(Debug, Clone, Copy)]
pub struct RpcTimer(Option<Instant>);

impl RpcTimer {
    /// Starts timing now.
    pub fn start() -> Self {
        Self(enabled().then(Instant::now))
    }

    /// Records a call this process served: `path` is `/pkg.Service/Method`.
    pub fn served(self, path: &str, code: i64) {
        if let (Some(start), Some(i)) = (self.0, instruments()) {
            i.rpc_server_duration
                .record(start.elapsed().as_secs_f64(), &rpc_attributes(path, code));
        }
    }

    /// Records a call this process made to another service.
    pub fn called(self, path: &str, code: i64) {
        if let (Some(start), Some(i)) = (self.0, instruments()) {
            i.rpc_client_duration
                .record(start.elapsed().as_secs_f64(), &rpc_attributes(path, code));
        }
    }
}

/// Placeholder for a service or method name that must not become an
/// attribute value, as the semantic conventions name it.
pub const OTHER: &str = "_OTHER";

/// The path to record for a call whose path must not become attribute
/// values: one refused before authentication, whose path the caller chose.
pub const OTHER_PATH: &str = "/_OTHER/_OTHER";

fn rpc_attributes(path: &str, code: i64) -> [KeyValue; 4] {
    let (service, method) = path.trim_start_matches('/').split_once('/').unwrap_or((OTHER, OTHER));
    [
        KeyValue::new(attributes::RPC_SYSTEM, "grpc"),
        KeyValue::new(attributes::RPC_SERVICE, service.to_string()),
        KeyValue::new(attributes::RPC_METHOD, method.to_string()),
        KeyValue::new(attributes::RPC_GRPC_STATUS_CODE, code),
    ]
}

/// Counts the records of one finished ingest call or import.
pub fn ingest_records(kind: &str, accepted: u64, unchanged: u64, rejected: u64) {
    let Some(i) = instruments() else { return };
    for (outcome, n) in [("accepted", accepted), ("unchanged", unchanged), ("rejected", rejected)] {
        if n > 0 {
            i.ingest_records.add(
                n,
                &[
                    KeyValue::new(attributes::INGEST_KIND, kind.to_string()),
                    KeyValue::new(attributes::INGEST_OUTCOME, outcome),
                ],
            );
        }
    }
}

/// A score came from the cache.
pub fn score_cache_hit() {
    if let Some(i) = instruments() {
        i.score_cache_lookups
            .add(1, &[KeyValue::new(attributes::CACHE_RESULT, "hit")]);
    }
}

/// A repeated request was answered from the answer cache, before the score
/// cache. Counted as `remembered`, the value dashboards already use.
pub fn score_answer_cache_hit() {
    if let Some(i) = instruments() {
        i.score_cache_lookups
            .add(1, &[KeyValue::new(attributes::CACHE_RESULT, "remembered")]);
    }
}

/// A score had to be computed.
pub fn score_cache_miss() {
    if let Some(i) = instruments() {
        i.score_cache_lookups
            .add(1, &[KeyValue::new(attributes::CACHE_RESULT, "miss")]);
    }
}

/// The state of consumer group `group` on `stream`, as `XINFO GROUPS`
/// reports it; `lag` is `None` when Redis cannot tell (after deletions).
pub fn stream_group(stream: &str, group: &str, lag: Option<u64>, pending: u64) {
    let Some(i) = instruments() else { return };
    let attrs = [
        KeyValue::new(attributes::MESSAGING_SYSTEM, "redis"),
        KeyValue::new(attributes::MESSAGING_DESTINATION, stream.to_string()),
        KeyValue::new(attributes::MESSAGING_CONSUMER_GROUP, group.to_string()),
    ];
    if let Some(lag) = lag {
        i.stream_group_lag.record(lag, &attrs);
    }
    i.stream_group_pending.record(pending, &attrs);
}

/// An entry of `stream` was moved to the dead letters of `group`.
pub fn stream_dead_letter(stream: &str, group: &str) {
    if let Some(i) = instruments() {
        i.stream_dead_letters.add(
            1,
            &[
                KeyValue::new(attributes::MESSAGING_SYSTEM, "redis"),
                KeyValue::new(attributes::MESSAGING_DESTINATION, stream.to_string()),
                KeyValue::new(attributes::MESSAGING_CONSUMER_GROUP, group.to_string()),
            ],
        );
    }
}

/// A subscription could not be evaluated by `worker` (`policy-watcher`,
/// `score-matcher`); the others were.
pub fn subscription_failure(worker: &'static str) {
    if let Some(i) = instruments() {
        i.subscription_failures
            .add(1, &[KeyValue::new(attributes::ALERTING_WORKER, worker)]);
    }
}

/// A Redis command (or, with `operation` `CONNECT`, a connection attempt) failed.
pub fn redis_error(operation: &str, error_type: &str) {
    if let Some(i) = instruments() {
        i.redis_errors.add(
            1,
            &[
                KeyValue::new(attributes::DB_SYSTEM_NAME, "redis"),
                KeyValue::new(attributes::DB_OPERATION_NAME, operation.to_string()),
                KeyValue::new(attributes::ERROR_TYPE, error_type.to_string()),
            ],
        );
    }
}

/// How one webhook delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// The receiver accepted the alert (2xx).
    Delivered,
    /// Anything else: refused connection, timeout, TLS failure, non-2xx answer.
    Failed,
}

impl WebhookOutcome {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookOutcome::Delivered => "delivered",
            WebhookOutcome::Failed => "failed",
        }
    }
}

/// One webhook delivery attempt ended with `outcome`.
pub fn webhook_attempt(outcome: WebhookOutcome) {
    if let Some(i) = instruments() {
        i.webhook_attempts
            .add(1, &[KeyValue::new(attributes::WEBHOOK_OUTCOME, outcome.as_str())]);
    }
}

/// A webhook delivery was given up and dead-lettered.
pub fn webhook_dead_lettered() {
    if let Some(i) = instruments() {
        i.webhook_dead_letters.add(1, &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_attributes_split_the_path() {
        let attrs = rpc_attributes("/supplyrisk.ingest.v1.IngestService/GetSupplySnapshot", 0);
        let value = |key: &str| {
            attrs
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.to_string())
        };
        assert_eq!(value(attributes::RPC_SYSTEM).as_deref(), Some("grpc"));
        assert_eq!(
            value(attributes::RPC_SERVICE).as_deref(),
            Some("supplyrisk.ingest.v1.IngestService")
        );
        assert_eq!(value(attributes::RPC_METHOD).as_deref(), Some("GetSupplySnapshot"));
        assert_eq!(value(attributes::RPC_GRPC_STATUS_CODE).as_deref(), Some("0"));
        let odd = rpc_attributes("no-slash", 12);
        assert_eq!(odd[1].value.to_string(), OTHER);
    }

    #[test]
    fn measurements_without_an_exporter_are_no_ops() {
        // No provider is installed in unit tests: nothing panics, nothing is timed.
        assert!(!enabled());
        let timer = RpcTimer::start();
        assert!(timer.0.is_none());
        timer.served("/a.B/C", 0);
        ingest_records("production", 1, 2, 3);
        score_cache_hit();
        stream_group("s", "g", Some(1), 2);
        redis_error("XADD", "io");
        webhook_attempt(WebhookOutcome::Failed);
        webhook_dead_lettered();
    }
}
