//! The consumer-group loop every stream consumer runs: reclaim what a dead
//! consumer left pending, read new entries, process, and acknowledge only
//! after processing succeeded (at-least-once; processing must be idempotent).
//! While metrics are exported it also reports the group's lag and pending
//! count every [`GROUP_REPORT_INTERVAL`].
//!
//! An entry that keeps failing must not hold its group back forever: when a
//! batch fails for a reason of its own (not a dependency being unavailable),
//! its entries are retried one at a time, so the good ones are acknowledged,
//! and an entry that failed on its `max_deliveries`-th delivery is moved to
//! the group's dead-letter stream (`keys::dead_letters`) and acknowledged.

use std::future::Future;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use redis::streams::StreamInfoGroupsReply;
use supplyrisk_telemetry::metrics;
use tokio::sync::watch;

use crate::dead_letters::DeadLetterInput;
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
    /// An entry that fails on this delivery (or a later one) is dead-lettered.
    pub max_deliveries: u64,
    /// Other consumers of the group idle this long with nothing pending are
    /// removed (processes gone without leaving), ms.
    pub forget_idle_ms: u64,
}

/// How long a consumer with nothing pending may stay idle before another
/// removes it, unless configured: far beyond any live consumer's idle time
/// (each reads at least every second).
pub const DEFAULT_FORGET_IDLE_MS: u64 = 3_600_000;

/// How often a consumer looks for idle consumers of its group to remove.
pub const FORGET_INTERVAL: Duration = Duration::from_secs(60);

/// Deliveries after which a failing entry is dead-lettered, unless configured.
pub const DEFAULT_MAX_DELIVERIES: u64 = 5;

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
            max_deliveries: DEFAULT_MAX_DELIVERIES,
            forget_idle_ms: DEFAULT_FORGET_IDLE_MS,
        }
    }

    /// The same with entries dead-lettered after `max_deliveries` failed
    /// deliveries (at least 1).
    pub fn with_max_deliveries(mut self, max_deliveries: u64) -> Self {
        self.max_deliveries = max_deliveries.max(1);
        self
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
/// `Err` the batch stays pending and is retried after a pause. An error
/// `transient` says is one of a dependency (worth a retry, never the
/// entries' fault); any other is retried entry by entry and, after
/// `max_deliveries`, dead-letters the entry that keeps failing.
pub async fn consume<F, Fut, E, T>(
    store: Store,
    config: ConsumerConfig,
    mut stop: watch::Receiver<bool>,
    mut process: F,
    transient: T,
) where
    F: FnMut(Vec<StreamEntry>) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
    T: Fn(&E) -> bool,
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
    let mut next_forget = Instant::now();
    loop {
        if *stop.borrow() {
            leave(&store, &config).await;
            return;
        }
        if metrics::enabled() && Instant::now() >= next_report {
            next_report = Instant::now() + GROUP_REPORT_INTERVAL;
            report_group_state(&store, &config).await;
        }
        if Instant::now() >= next_forget {
            next_forget = Instant::now() + FORGET_INTERVAL;
            forget_idle(&store, &config).await;
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
        match process(entries.clone()).await {
            Ok(()) => ack(&store, &config, &ids).await,
            Err(e) if transient(&e) => {
                tracing::warn!(error = %e, "processing failed; the entries stay pending");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) if entries.len() == 1 => {
                let entry = &entries[0];
                failed(&store, &config, entry, &e.to_string()).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, count = entries.len(), "batch failed; retrying its entries one at a time");
                for entry in entries {
                    match process(vec![entry.clone()]).await {
                        Ok(()) => ack(&store, &config, std::slice::from_ref(&entry.id)).await,
                        Err(e) if transient(&e) => {
                            tracing::warn!(error = %e, "processing failed; the entries stay pending");
                            break;
                        }
                        Err(e) => failed(&store, &config, &entry, &e.to_string()).await,
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// At a clean stop: leaves the group unless entries are still pending for
/// this consumer (those stay for another to claim, and the consumer with them).
async fn leave(store: &Store, config: &ConsumerConfig) {
    match store.leave_group(&config.stream, &config.group, &config.consumer).await {
        Ok(true) => tracing::info!(stream = config.stream, group = config.group, "left the consumer group"),
        Ok(false) => tracing::info!(
            stream = config.stream,
            group = config.group,
            "entries still pending; staying in the consumer group for another to claim them"
        ),
        Err(e) => tracing::warn!(error = %e, "leaving the consumer group failed; an idle check removes it later"),
    }
}

/// Removes consumers of the group gone without leaving.
async fn forget_idle(store: &Store, config: &ConsumerConfig) {
    match store
        .forget_idle_consumers(&config.stream, &config.group, config.forget_idle_ms)
        .await
    {
        Ok(removed) if !removed.is_empty() => tracing::info!(
            stream = config.stream,
            group = config.group,
            ?removed,
            "removed idle consumers with nothing pending"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "looking for idle consumers failed"),
    }
}

async fn ack(store: &Store, config: &ConsumerConfig, ids: &[String]) {
    if let Err(e) = store.ack(&config.stream, &config.group, ids).await {
        tracing::warn!(error = %e, "ack failed; the entries will be redelivered");
    }
}

/// `entry` failed for a reason of its own: dead-lettered once it has been
/// delivered `max_deliveries` times, left pending (and reclaimed later) before.
async fn failed(store: &Store, config: &ConsumerConfig, entry: &StreamEntry, reason: &str) {
    let deliveries = match store.delivery_count(&config.stream, &config.group, &entry.id).await {
        Ok(Some(n)) => n,
        // No longer pending: another consumer took it over or acknowledged it.
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, entry = entry.id, "reading the delivery count failed; the entry stays pending");
            return;
        }
    };
    if deliveries < config.max_deliveries {
        tracing::warn!(
            error = reason,
            entry = entry.id,
            deliveries,
            max_deliveries = config.max_deliveries,
            "processing failed; the entry stays pending"
        );
        return;
    }
    let letter = DeadLetterInput {
        entry,
        reason,
        attempts: deliveries,
        consumer: &config.consumer,
    };
    match store.dead_letter(&config.stream, &config.group, letter).await {
        Ok(id) => {
            metrics::stream_dead_letter(&config.stream, &config.group);
            tracing::warn!(
                stream = config.stream,
                group = config.group,
                entry = entry.id,
                dead_letter = id,
                deliveries,
                error = reason,
                "entry dead-lettered after repeated failures; the group moves on"
            );
        }
        Err(e) => tracing::warn!(error = %e, entry = entry.id, "dead-lettering failed; the entry stays pending"),
    }
}
