//! `grpc.health.v1` driven by what the service depends on.
//!
//! A service is SERVING only while Redis answers: Kubernetes readiness
//! probes then take a replica out of rotation within seconds of losing its
//! store, and put it back when the store returns. At shutdown every name
//! flips to NOT_SERVING first, so balancers stop routing before draining.

use std::sync::Arc;
use std::time::Duration;

use supplyrisk_store::Store;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Owns the health state of one server.
#[derive(Clone)]
pub struct HealthMonitor {
    reporter: HealthReporter,
    names: Arc<Vec<String>>,
    stopping: watch::Sender<bool>,
}

impl HealthMonitor {
    /// A monitor for `""` plus `service_names`, all NOT_SERVING until the
    /// first successful probe.
    pub async fn new(reporter: HealthReporter, service_names: &[&str]) -> Self {
        let mut names = vec![String::new()];
        names.extend(service_names.iter().map(|s| s.to_string()));
        let (stopping, _) = watch::channel(false);
        let monitor = Self {
            reporter,
            names: Arc::new(names),
            stopping,
        };
        monitor.set(ServingStatus::NotServing).await;
        monitor
    }

    async fn set(&self, status: ServingStatus) {
        for name in self.names.iter() {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// Probes `store` every `interval` until shutdown, flipping the status
    /// on every change.
    pub fn spawn_probe(&self, store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
        let monitor = self.clone();
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            let mut serving = false;
            loop {
                if *stopping.borrow() {
                    return;
                }
                let up = store.ping(interval.max(Duration::from_millis(500))).await;
                if *stopping.borrow() {
                    return;
                }
                if up != serving {
                    serving = up;
                    if up {
                        tracing::info!("redis reachable: SERVING");
                        monitor.set(ServingStatus::Serving).await;
                    } else {
                        tracing::warn!("redis unreachable: NOT_SERVING");
                        monitor.set(ServingStatus::NotServing).await;
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopping.changed() => return,
                }
            }
        })
    }

    /// Marks every name NOT_SERVING for good (start of shutdown).
    pub async fn shutting_down(&self) {
        let _ = self.stopping.send(true);
        self.set(ServingStatus::NotServing).await;
    }
}
