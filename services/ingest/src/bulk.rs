//! Uploads and imports run on threads of their own.
//!
//! Decoding, validating and batching thousands of records per message is
//! CPU work done in long polls. On the server's runtime it kept workers busy
//! for milliseconds at a time, and every snapshot read queued behind it:
//! the read's own task, the HTTP/2 connection and the Redis connection
//! driver all wait for a free worker. Under an ingest load that delay was
//! most of scoring's recompute time and so of alert latency. A separate
//! runtime leaves the server's workers to short calls; the operating system
//! shares the cores, and a woken reader thread gets one quickly.

use std::future::Future;
use std::sync::Arc;

use supplyrisk_grpc::ServiceError;

/// A small runtime for bulk writes; cheap to clone.
#[derive(Clone, Debug)]
pub struct BulkRuntime {
    handle: tokio::runtime::Handle,
    _owner: Arc<Owner>,
}

/// Stops the runtime without waiting when the last clone goes (dropping a
/// runtime inside another one must not block).
#[derive(Debug)]
struct Owner(Option<tokio::runtime::Runtime>);

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl BulkRuntime {
    /// Starts `threads` worker threads (settings require at least one).
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("ingest-bulk")
            .enable_all()
            .build()?;
        Ok(Self {
            handle: runtime.handle().clone(),
            _owner: Arc::new(Owner(Some(runtime))),
        })
    }

    /// Runs `work` on the bulk threads and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, ServiceError>> + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.handle
            .spawn(work)
            .await
            .map_err(|e| ServiceError::Internal(format!("bulk task: {e}")))?
    }

    /// Starts `work` on the bulk threads without waiting for it.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(work);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_bulk_threads_and_returns_its_result() {
        let bulk = BulkRuntime::start(1).expect("runtime");
        let name = bulk
            .run(async { Ok(std::thread::current().name().map(str::to_string)) })
            .await
            .expect("result");
        assert_eq!(name.as_deref(), Some("ingest-bulk"));
        let err = bulk
            .run(async { Err::<(), _>(ServiceError::Internal("boom".into())) })
            .await
            .expect_err("error passes through");
        assert!(err.to_string().contains("boom"));
        drop(bulk);
    }
}
