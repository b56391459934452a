//! A process-wide bound on concurrent calls to ingest.
//!
//! One ad-hoc bloc of many members, or a scenario over many importers and
//! minerals, fans out into one `GetSupplySnapshot` per member: unbounded,
//! a single request could open thousands of calls at once and starve every
//! other caller of ingest. Every snapshot call takes a permit first, so the
//! process never has more than the configured number in flight; the rest
//! wait their turn.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;

/// Permits for concurrent upstream calls, shared by clones.
#[derive(Debug, Clone)]
pub struct Fanout {
    permits: Arc<Semaphore>,
}

impl Fanout {
    /// At most `limit` calls in flight at once (at least one).
    pub fn new(limit: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
        }
    }

    /// Runs `call` once a permit is free.
    pub async fn run<T>(&self, call: impl Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.permits.acquire().await.expect("fan-out semaphore is never closed");
        call.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn no_more_calls_than_permits_run_at_once() {
        let fanout = Fanout::new(4);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let calls = (0..50).map(|_| {
            let (fanout, running, most) = (fanout.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                fanout
                    .run(async {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(2)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
            })
        });
        for call in futures::future::join_all(calls).await {
            call.expect("call ran");
        }
        assert_eq!(most.load(Ordering::SeqCst), 4, "calls queue for the four permits");
    }
}
