//! Background workers under one supervisor.
//!
//! Stream consumers, clocks and deliverers must stop the same way: told
//! once, given time to finish what they acknowledged they would, and cut
//! off at a deadline so a stuck worker never holds a pod in `Terminating`.
//! Work they leave unacknowledged stays pending for the next consumer, so
//! cutting off loses nothing. Modelled on mini-redis's `Shutdown`.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Listens for the request to stop.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// True once stopping was requested.
    pub fn is_shutdown(&self) -> bool {
        *self.requested.borrow()
    }

    /// Completes when stopping is requested (at once if it already was).
    pub async fn recv(&mut self) {
        // An error means the supervisor is gone, which also means stop.
        let _ = self.requested.wait_for(|stop| *stop).await;
    }

    /// The underlying signal, for loops in lower crates that take one.
    pub fn signal(&self) -> watch::Receiver<bool> {
        self.requested.clone()
    }
}

/// A long-running task of a service.
pub trait Worker: Send + 'static {
    /// Its name in logs.
    const NAME: &'static str;

    /// How long it may take to finish once asked to stop; it is aborted then.
    fn drain(&self) -> Duration {
        Duration::from_secs(5)
    }

    /// Runs until `shutdown` asks it to stop.
    fn run(self, shutdown: Shutdown) -> impl Future<Output = ()> + Send;
}

struct Running {
    name: &'static str,
    drain: Duration,
    handle: JoinHandle<()>,
}

/// Spawns workers and stops them together.
pub struct Supervisor {
    stop: watch::Sender<bool>,
    running: Vec<Running>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    /// A supervisor with no workers yet.
    pub fn new() -> Self {
        let (stop, _) = watch::channel(false);
        Self {
            stop,
            running: Vec::new(),
        }
    }

    /// A listener for the request to stop, for tasks that are not workers.
    pub fn shutdown(&self) -> Shutdown {
        Shutdown {
            requested: self.stop.subscribe(),
        }
    }

    /// Starts `worker` on the runtime.
    pub fn spawn<W: Worker>(&mut self, worker: W) {
        let drain = worker.drain();
        let handle = tokio::spawn(worker.run(self.shutdown()));
        tracing::debug!(worker = W::NAME, "started");
        self.running.push(Running {
            name: W::NAME,
            drain,
            handle,
        });
    }

    /// Names of the workers started so far.
    pub fn names(&self) -> Vec<&'static str> {
        self.running.iter().map(|r| r.name).collect()
    }

    /// Asks every worker to stop and waits for each up to its drain time,
    /// all at once; a worker still running then is aborted.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let waits = self.running.into_iter().map(|mut r| async move {
            match tokio::time::timeout(r.drain, &mut r.handle).await {
                Ok(Ok(())) => tracing::debug!(worker = r.name, "stopped"),
                Ok(Err(e)) => tracing::error!(worker = r.name, error = %e, "ended abnormally"),
                Err(_) => {
                    r.handle.abort();
                    tracing::warn!(
                        worker = r.name,
                        drain_ms = r.drain.as_millis() as u64,
                        "did not stop in time; aborted"
                    );
                }
            }
        });
        futures::future::join_all(waits).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    struct Polite(Arc<AtomicBool>);

    impl Worker for Polite {
        const NAME: &'static str = "polite";
        async fn run(self, mut shutdown: Shutdown) {
            shutdown.recv().await;
            self.0.store(true, Ordering::SeqCst);
        }
    }

    struct Stuck(Arc<AtomicBool>);

    impl Worker for Stuck {
        const NAME: &'static str = "stuck";
        fn drain(&self) -> Duration {
            Duration::from_millis(50)
        }
        async fn run(self, _shutdown: Shutdown) {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn stop_lets_listening_workers_finish_and_cuts_off_the_rest() {
        let finished = Arc::new(AtomicBool::new(false));
        let overran = Arc::new(AtomicBool::new(false));
        let mut supervisor = Supervisor::new();
        supervisor.spawn(Polite(finished.clone()));
        supervisor.spawn(Stuck(overran.clone()));
        assert_eq!(supervisor.names(), ["polite", "stuck"]);
        let started = std::time::Instant::now();
        supervisor.stop().await;
        assert!(finished.load(Ordering::SeqCst), "the listening worker ran to its end");
        assert!(!overran.load(Ordering::SeqCst), "the stuck worker was aborted");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "stop waited only the drain time"
        );
    }

    #[tokio::test]
    async fn a_listener_made_after_the_request_sees_it_at_once() {
        let supervisor = Supervisor::new();
        supervisor.stop.send_replace(true);
        let mut late = supervisor.shutdown();
        assert!(late.is_shutdown());
        tokio::time::timeout(Duration::from_secs(1), late.recv())
            .await
            .expect("completes at once");
    }
}
