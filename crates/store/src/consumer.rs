//! The consumer-group loop every stream consumer runs: reclaim what a dead
//! consumer left pending, read new entries, process, and acknowledge only
//! after processing succeeded (at-least-once; processing must be idempotent).
//! While metrics are exported it also reports the group's lag and pending
//! count every [`GROUP_REPORT_INTERVAL`].

use std::future::Future;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::streams::StreamInfoGroupsReply;
use supplyrisk_telemetry::metrics;
use tokio::sync::watch;

use crate::{Store, StoreResult, StreamEntry};

/// How often a consumer reports its group's lag and pending count.
pub const GROUP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Where and how to consume.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Stream key.
    pub stream: String,
    /// Consumer group.
    pub group: String,
    /// This consumer's name (unique per process).
    pub consumer: String,
    /// Pending entries idle this long are claimed from other consumers, ms.
    pub reclaim_idle_ms: u64,
    /// Entries per read.
    pub batch: usize,
}

impl ConsumerConfig {
    /// A configuration for `group` on `stream`; an empty `consumer` means
    /// [`default_consumer_name`].
    pub fn new(stream: &str, group: &str, consumer: &str, reclaim_idle_ms: u64, batch: usize) -> Self {
        Self {
            stream: stream.to_string(),
            group: group.to_string(),
            consumer: if consumer.is_empty() {
                default_consumer_name()
            } else {
                consumer.to_string()
            },
            reclaim_idle_ms,
            batch,
        }
    }
}

/// A consumer name from the host name and process id.
pub fn default_consumer_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    format!("{}-{}", host.trim(), std::process::id())
}

impl Store {
    /// Lag and pending count of `group` on `stream` (`XINFO GROUPS`); lag is
    /// `None` when Redis cannot tell.
    pub async fn group_state(&self, stream: &str, group: &str) -> StoreResult<Option<(Option<u64>, u64)>> {
        let mut conn = self.conn().await?;
        let reply: StreamInfoGroupsReply = conn.xinfo_groups(stream).await?;
        Ok(reply
            .groups
            .into_iter()
            .find(|g| g.name == group)
            .map(|g| (g.lag.map(|l| l as u64), g.pending as u64)))
    }
}

/// Records the group's state as gauges; a failure only skips one reading.
async fn report_group_state(store: &Store, config: &ConsumerConfig) {
    match store.group_state(&config.stream, &config.group).await {
        Ok(Some((lag, pending))) => metrics::stream_group(&config.stream, &config.group, lag, pending),
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "reading the consumer group state failed"),
    }
}

/// Runs the loop until `stop` turns true. `process` gets each batch; on
/// `Err` the batch stays pending and is retried after a pause.
pub async fn consume<F, Fut, E>(store: Store, config: ConsumerConfig, mut stop: watch::Receiver<bool>, mut process: F)
where
    F: FnMut(Vec<StreamEntry>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let blocking = store.dedicated();
    while store.ensure_group(&config.stream, &config.group).await.is_err() {
        tokio::select! { _ = tokio::time::sleep(Duration::from_secs(1)) => {}, _ = stop.changed() => return }
    }
    tracing::info!(
        stream = config.stream,
        group = config.group,
        consumer = config.consumer,
        "consuming"
    );
    let mut round: u64 = 0;
    let mut next_report = Instant::now();
    loop {
        if *stop.borrow() {
            return;
        }
        if metrics::enabled() && Instant::now() >= next_report {
            next_report = Instant::now() + GROUP_REPORT_INTERVAL;
            report_group_state(&store, &config).await;
        }
        let mut entries = Vec::new();
        if round.is_multiple_of(10) {
            match store
                .claim_stale(
                    &config.stream,
                    &config.group,
                    &config.consumer,
                    config.reclaim_idle_ms as usize,
                    config.batch,
                )
                .await
            {
                Ok(claimed) if !claimed.is_empty() => {
                    tracing::info!(count = claimed.len(), "reclaimed pending entries");
                    entries = claimed;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "claiming pending entries failed"),
            }
        }
        round += 1;
        if entries.is_empty() {
            match blocking
                .read_group(&config.stream, &config.group, &config.consumer, config.batch, 1000)
                .await
            {
                Ok(e) => entries = e,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the stream failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
        }
        if entries.is_empty() {
            continue;
        }
        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
        match process(entries).await {
            Ok(()) => {
                if let Err(e) = store.ack(&config.stream, &config.group, &ids).await {
                    tracing::warn!(error = %e, "ack failed; the entries will be redelivered");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "processing failed; the entries stay pending");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
