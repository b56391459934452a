//! `grpc.health.v1` driven by what the service depends on.
//!
//! A service is SERVING only while its probe (Redis answering) succeeds and
//! nothing holds it out of rotation: Kubernetes readiness probes then take a
//! replica out within seconds of losing its store, and put it back when the
//! store returns. A held replica (say, an upstream refuses its credentials)
//! stays NOT_SERVING until restarted with a fixed configuration. At shutdown
//! every name flips to NOT_SERVING first, so balancers stop routing before
//! draining.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Owns the health state of one server.
#[derive(Clone)]
pub struct HealthMonitor {
    reporter: HealthReporter,
    names: Arc<Vec<String>>,
    stopping: watch::Sender<bool>,
    /// Why the service is held NOT_SERVING whatever the probe says.
    held: Arc<Mutex<Option<String>>>,
    /// The probe's last answer.
    probe_up: Arc<Mutex<bool>>,
    /// One publication at a time, so the last one reflects the latest state.
    publishing: Arc<tokio::sync::Mutex<()>>,
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
            held: Arc::default(),
            probe_up: Arc::default(),
            publishing: Arc::default(),
        };
        monitor.set(ServingStatus::NotServing).await;
        monitor
    }

    async fn set(&self, status: ServingStatus) {
        for name in self.names.iter() {
            self.reporter.set_service_status(name, status).await;
        }
    }

    /// Runs `probe` every `interval` until shutdown, flipping the status on
    /// every change; `probe` answers whether the service's dependencies are up.
    pub fn spawn_probe<P, F>(&self, probe: P, interval: Duration) -> tokio::task::JoinHandle<()>
    where
        P: Fn() -> F + Send + 'static,
        F: Future<Output = bool> + Send,
    {
        let monitor = self.clone();
        let mut stopping = self.stopping.subscribe();
        tokio::spawn(async move {
            let mut serving = false;
            loop {
                if *stopping.borrow() {
                    return;
                }
                let up = probe().await;
                if *stopping.borrow() {
                    return;
                }
                *lock(&monitor.probe_up) = up;
                if up != serving {
                    serving = up;
                    if up {
                        tracing::info!("redis reachable");
                    } else {
                        tracing::warn!("redis unreachable: NOT_SERVING");
                    }
                    monitor.refresh().await;
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stopping.changed() => return,
                }
            }
        })
    }

    /// Holds the service NOT_SERVING for `reason` until the process stops:
    /// for a fault only a change of configuration can fix.
    pub async fn hold(&self, reason: String) {
        tracing::error!(reason = %reason, "NOT_SERVING until restarted with a fixed configuration");
        *lock(&self.held) = Some(reason);
        self.refresh().await;
    }

    /// Why the service is held NOT_SERVING, if it is.
    pub fn held(&self) -> Option<String> {
        lock(&self.held).clone()
    }

    /// Publishes the status the probe and any hold give.
    async fn refresh(&self) {
        let _publishing = self.publishing.lock().await;
        if *self.stopping.borrow() {
            return;
        }
        let serving = *lock(&self.probe_up) && lock(&self.held).is_none();
        if serving {
            tracing::info!("SERVING");
        }
        self.set(if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        })
        .await;
    }

    /// Marks every name NOT_SERVING for good (start of shutdown).
    pub async fn shutting_down(&self) {
        let _ = self.stopping.send(true);
        self.set(ServingStatus::NotServing).await;
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
