//! The worker that keeps a stream short without losing unread entries.
//!
//! The service that appends to a stream runs one; every replica may, since
//! a trim below what every group has read is the same whoever does it.

use std::time::Duration;

use supplyrisk_store::Store;

use crate::{Shutdown, Worker};

/// How often a stream is trimmed by default.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Trims `stream` by its slowest consumer group every so often.
pub struct StreamTrimmer {
    store: Store,
    stream: &'static str,
    every: Duration,
}

impl StreamTrimmer {
    /// A trimmer of `stream` running every [`TRIM_EVERY`].
    pub fn new(store: Store, stream: &'static str) -> Self {
        Self::every(store, stream, TRIM_EVERY)
    }

    /// A trimmer of `stream` running every `every`.
    pub fn every(store: Store, stream: &'static str, every: Duration) -> Self {
        Self { store, stream, every }
    }
}

impl Worker for StreamTrimmer {
    const NAME: &'static str = "stream trimmer";

    async fn run(self, mut shutdown: Shutdown) {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.recv() => return,
            }
            match self.store.trim_read_entries(self.stream).await {
                Ok(t) if t.removed > 0 => {
                    tracing::debug!(stream = self.stream, removed = t.removed, kept_from = ?t.kept_from, "trimmed read entries");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(stream = self.stream, error = %e, "trimming the stream failed; next time"),
            }
        }
    }
}
