//! One way to start, serve and stop: settings → telemetry → store →
//! workers and server, then, once asked to stop, health NOT_SERVING, the
//! server drained, the workers drained, telemetry flushed.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use supplyrisk_grpc::{EdgeLayer, HealthMonitor, Permission};
use supplyrisk_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

use crate::StartupError;
use crate::settings::{ServiceSettings, Settings};
use crate::supervisor::Supervisor;

/// How often health asks Redis whether it answers.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// What makes a service itself; the rest is [`Application`]'s.
pub trait Service: Sized + 'static {
    /// Its own settings sections.
    type Settings: ServiceSettings;
    /// The generated server type; its name is the service's health entry.
    type Server: NamedService;
    /// The binary's name, in logs and traces.
    const BINARY: &'static str;
    /// Full names of the other gRPC services `start` adds besides
    /// `Server` (health and reflection aside): a call to any service not
    /// named is `UNIMPLEMENTED`, and reflection lists only these.
    const ALSO_SERVES: &'static [&'static str] = &[];

    /// Methods any role may call.
    const READS: &'static [&'static str] = &[];
    /// Methods that need an ingester or admin token.
    const WRITES: &'static [&'static str] = &[];

    /// What each method (full path) requires of its caller: by default
    /// [`Service::READS`] and [`Service::WRITES`], anything else admin only.
    fn method_policy(path: &str) -> Permission {
        supplyrisk_grpc::edge::permission_of(path, Self::READS, Self::WRITES)
    }

    /// How the store behaves for this service.
    fn store_options(_settings: &Settings<Self::Settings>) -> StoreOptions {
        StoreOptions::default()
    }

    /// Builds the handlers, adds the gRPC services to `start.routes` and
    /// spawns the background workers.
    fn start(start: Start<'_, Self::Settings>) -> Result<(), StartupError>;
}

/// What a service gets to start with.
pub struct Start<'a, S> {
    /// Its settings.
    pub settings: &'a Settings<S>,
    /// The store.
    pub store: &'a Store,
    /// Where its gRPC services go (health and reflection are added after).
    pub routes: &'a mut RoutesBuilder,
    /// Where its background workers go.
    pub workers: &'a mut Supervisor,
}

impl<S> Start<'_, S> {
    /// The largest message the server accepts and sends.
    pub fn max_message_bytes(&self) -> usize {
        self.settings.common.grpc.max_message_bytes
    }
}

/// A bound, ready-to-run service.
pub struct Application<S: Service> {
    settings: Settings<S::Settings>,
    listener: TcpListener,
    addr: SocketAddr,
    /// The plain-text health listener, when configured.
    health_listener: Option<(TcpListener, SocketAddr)>,
    store: Store,
}

impl<S: Service> Application<S> {
    /// Binds the listen address (port 0 picks one) and prepares the store.
    pub async fn build(settings: Settings<S::Settings>) -> Result<Self, StartupError> {
        let (listener, addr) = supplyrisk_grpc::bind(settings.common.grpc.listen_addr()?).await?;
        let health_listener = match settings.common.grpc.health_listen_addr()? {
            Some(health_addr) => Some(supplyrisk_grpc::bind(health_addr).await?),
            None => None,
        };
        let store = Store::new(&settings.common.redis, S::store_options(&settings))?;
        Ok(Self {
            settings,
            listener,
            addr,
            health_listener,
            store,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then drains the server and stops
    /// the workers.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), StartupError> {
        let Self {
            settings,
            listener,
            addr,
            health_listener,
            store,
        } = self;
        for deprecation in settings.deprecations() {
            tracing::warn!("{deprecation}");
        }
        let common = &settings.common;
        let tokens = common.auth.parsed_tokens()?;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let health = HealthMonitor::new(reporter, &[<S::Server as NamedService>::NAME]).await;
        let probe_store = store.clone();
        let probe = health.spawn_probe(
            move || {
                let store = probe_store.clone();
                async move { store.ping(PROBE_INTERVAL).await }
            },
            PROBE_INTERVAL,
        );
        let mut workers = Supervisor::new();
        for upstream in settings.own.upstreams() {
            workers.spawn(upstream.credential_check(health.clone()));
        }
        let served: Vec<&'static str> = std::iter::once(<S::Server as NamedService>::NAME)
            .chain(S::ALSO_SERVES.iter().copied())
            .collect();
        let health_only = health_listener.map(|(listener, health_addr)| {
            tracing::info!(health_addr = %health_addr, "health probes served in plain text");
            supplyrisk_grpc::serve_health_only(listener, health_service.clone())
        });
        let mut routes = RoutesBuilder::default();
        let started = S::start(Start {
            settings: &settings,
            store: &store,
            routes: &mut routes,
            workers: &mut workers,
        })
        .and_then(|()| {
            Ok(supplyrisk_grpc::with_standard_services(
                routes,
                health_service,
                &served,
            )?)
        });
        let result = match started {
            Ok(routes) => {
                let edge = EdgeLayer::new(tokens, common.auth.disabled, S::method_policy, addr).serving(served);
                tracing::info!(addr = %addr, "listening");
                supplyrisk_grpc::serve(&common.grpc, listener, routes, edge, health, shutdown)
                    .await
                    .map_err(StartupError::from)
            }
            Err(e) => Err(e),
        };
        if let Some(health_only) = health_only {
            health_only.stop().await;
        }
        workers.stop().await;
        probe.abort();
        result?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Runs service `S` as a process: loads its settings, starts telemetry,
/// serves until SIGTERM or SIGINT, and flushes telemetry after the server
/// and workers have stopped.
pub async fn run<S: Service>() -> Result<(), StartupError> {
    let settings = Settings::<S::Settings>::load(supplyrisk_config::config_file_from_args().as_deref())?;
    let telemetry = supplyrisk_telemetry::init(&settings.common.telemetry, S::BINARY)?;
    let result = match Application::<S>::build(settings).await {
        Ok(app) => app.run_until(supplyrisk_grpc::shutdown_signal()).await,
        Err(e) => Err(e),
    };
    telemetry.shutdown();
    result
}

/// The whole `main` of a service binary: a multi-threaded runtime running
/// [`run`], and one line naming what to fix if it fails.
pub fn main<S: Service>() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{}: cannot start the runtime: {e}", S::BINARY);
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run::<S>()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", S::BINARY);
            ExitCode::FAILURE
        }
    }
}
