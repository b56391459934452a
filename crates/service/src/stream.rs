//! A worker that consumes one Redis stream in a consumer group.
//!
//! The matcher and the policy watcher differ only in what they do with a
//! batch; reading, reclaiming from dead consumers and acknowledging only
//! after success are the store's `consume` loop, run the same way for both.

use std::future::Future;
use std::sync::Arc;

use supplyrisk_store::consumer::{ConsumerConfig, consume};
use supplyrisk_store::{Store, StreamEntry};

use crate::supervisor::{Shutdown, Worker};

/// What a consumer does with each batch of stream entries.
pub trait StreamProcessor: Send + Sync + 'static {
    /// The worker's name in logs.
    const NAME: &'static str;
    /// Why a batch failed; the batch stays pending and is retried.
    type Error: std::fmt::Display + Send;

    /// True when `error` is a dependency's (Redis or an upstream
    /// unavailable): the batch is retried as it is and never counts toward
    /// the dead letters. Any other failure is retried entry by entry, and an
    /// entry that keeps failing is dead-lettered.
    fn transient(_error: &Self::Error) -> bool {
        false
    }

    /// Handles one batch; must be idempotent (a batch may come again).
    fn process(&self, entries: Vec<StreamEntry>) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Runs a [`StreamProcessor`] in a consumer group until shutdown.
pub struct StreamWorker<P> {
    store: Store,
    consumer: ConsumerConfig,
    processor: Arc<P>,
}

impl<P: StreamProcessor> StreamWorker<P> {
    /// `processor` reading as `consumer` with `store`; several workers may
    /// share one processor (`Arc<P>`), each in its own place of the group.
    pub fn new(store: Store, consumer: ConsumerConfig, processor: impl Into<Arc<P>>) -> Self {
        Self {
            store,
            consumer,
            processor: processor.into(),
        }
    }
}

impl<P: StreamProcessor> Worker for StreamWorker<P> {
    const NAME: &'static str = P::NAME;

    async fn run(self, shutdown: Shutdown) {
        let processor = self.processor;
        consume(
            self.store,
            self.consumer,
            shutdown.signal(),
            move |entries| {
                let processor = processor.clone();
                async move { processor.process(entries).await }
            },
            P::transient,
        )
        .await;
    }
}
