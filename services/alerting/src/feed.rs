//! One listener per process for alerts recorded by any replica.
//!
//! Recording an alert publishes its subscription id on a Redis channel.
//! This worker listens once for the whole process and passes each id on to
//! the open alert streams, so an idle stream costs no Redis call; a stream
//! reads only when an alert of its subscription was announced (or, as a
//! safety net for announcements missed while the listener reconnected,
//! after the configured poll interval).

use std::time::Duration;

use supplyrisk_service::{Shutdown, Worker};
use supplyrisk_store::Store;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;

/// Sent to every stream when announcements may have been missed.
pub const EVERYONE: &str = "*";

/// Announcements passed on at once before a slow stream lags (it then reads anyway).
const CAPACITY: usize = 1024;

/// The process's announcements of recorded alerts.
#[derive(Clone)]
pub struct AlertFeed {
    announced: broadcast::Sender<String>,
}

impl Default for AlertFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl AlertFeed {
    /// A feed nobody listens to yet.
    pub fn new() -> Self {
        let (announced, _) = broadcast::channel(CAPACITY);
        Self { announced }
    }

    /// A receiver of announcements from now on.
    pub fn watch(&self) -> broadcast::Receiver<String> {
        self.announced.subscribe()
    }

    /// The listener passing Redis' announcements on.
    pub fn listener(&self, store: Store) -> FeedListener {
        FeedListener {
            store,
            announced: self.announced.clone(),
        }
    }
}

/// Completes when `subscription` may have a new alert: it was announced,
/// announcements were missed, or the receiver fell behind.
pub async fn announced(watch: &mut broadcast::Receiver<String>, subscription: &str) {
    loop {
        match watch.recv().await {
            Ok(id) if id == subscription || id == EVERYONE => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}

/// Listens to Redis and passes announcements to the feed.
pub struct FeedListener {
    store: Store,
    announced: broadcast::Sender<String>,
}

impl Worker for FeedListener {
    const NAME: &'static str = "alert feed";

    async fn run(self, mut shutdown: Shutdown) {
        loop {
            let listening = async {
                match self.store.recorded_alerts().await {
                    Ok(ids) => {
                        // Anything recorded while not listening is looked for now.
                        let _ = self.announced.send(EVERYONE.to_string());
                        tokio::pin!(ids);
                        while let Some(id) = ids.next().await {
                            let _ = self.announced.send(id);
                        }
                        tracing::warn!("the alert feed's connection ended; listening again");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot listen for recorded alerts; trying again"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            };
            tokio::select! {
                _ = listening => {}
                _ = shutdown.recv() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_wakes_for_its_subscription_or_everyone_only() {
        let feed = AlertFeed::new();
        let mut watch = feed.watch();
        feed.announced.send("sub-2".into()).expect("a receiver");
        feed.announced.send("sub-1".into()).expect("a receiver");
        tokio::time::timeout(Duration::from_secs(1), announced(&mut watch, "sub-1"))
            .await
            .expect("woken for its own");
        assert!(
            tokio::time::timeout(Duration::from_millis(50), announced(&mut watch, "sub-1"))
                .await
                .is_err(),
            "nothing more for sub-1"
        );
        feed.announced.send(EVERYONE.into()).expect("a receiver");
        tokio::time::timeout(Duration::from_secs(1), announced(&mut watch, "sub-1"))
            .await
            .expect("woken when announcements may have been missed");
    }
}
