//! Running a server: limits, TLS, health, reflection, the edge layer and
//! graceful shutdown, the same way for every service.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use supplyrisk_config::GrpcSettings;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::RoutesBuilder;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::edge::EdgeLayer;
use crate::health::HealthMonitor;
use crate::small_frames::{self, ScalarWrites};

/// The server could not start or failed while running.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Binding or I/O failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// TLS or transport setup failed.
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection could not be built.
    #[error("reflection: {0}")]
    Reflection(String),
    /// TLS files could not be read.
    #[error("{0}")]
    Config(String),
}

/// Binds `addr`; port 0 picks a free port. Returns the bound address.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), ServeError> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Services every server answers besides its own.
const STANDARD_SERVICES: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Adds health and reflection (v1 and v1alpha: grpcurl 1.8 speaks only
/// v1alpha) to `routes`. Reflection lists the services in `served` and the
/// standard ones, not every service the shared descriptor set describes.
pub fn with_standard_services(
    mut routes: RoutesBuilder,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    served: &[&'static str],
) -> Result<RoutesBuilder, ServeError> {
    let configure = || {
        served
            .iter()
            .chain(&STANDARD_SERVICES)
            .fold(tonic_reflection::server::Builder::configure(), |b, name| {
                b.with_service_name(*name)
            })
            .register_encoded_file_descriptor_set(supplyrisk_api::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = configure()
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    let v1alpha = configure()
        .build_v1alpha()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    routes.add_service(health).add_service(v1).add_service(v1alpha);
    Ok(routes)
}

/// A running plain-text server of `grpc.health.v1` only.
pub struct HealthOnly {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl HealthOnly {
    /// Stops it (after the main server, so probes see NOT_SERVING while it drains).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `health` alone on `listener`, in plain text, until stopped: for
/// probes that cannot speak TLS while the main port requires it. It shares
/// the main server's health state, so it says what the main port would.
pub fn serve_health_only(
    listener: TcpListener,
    health: tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
) -> HealthOnly {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the health listener stopped");
        }
    });
    HealthOnly { stop, task }
}

/// Serves `routes` on `listener` until `shutdown` completes, then marks
/// health NOT_SERVING, stops accepting, and lets in-flight calls finish for
/// up to the configured grace period.
pub async fn serve(
    settings: &GrpcSettings,
    listener: TcpListener,
    routes: RoutesBuilder,
    edge: EdgeLayer,
    health: HealthMonitor,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(settings.keepalive_interval_secs)))
        .http2_keepalive_timeout(Some(Duration::from_secs(settings.keepalive_timeout_secs)))
        .max_connection_age(Duration::from_secs(settings.max_connection_age_secs))
        .max_concurrent_streams(Some(settings.max_concurrent_streams))
        .timeout(Duration::from_secs(settings.request_timeout_secs));
    let tls = settings.tls().map_err(|e| ServeError::Config(e.to_string()))?;
    // Answers are cut below HTTP/2's copy threshold, which depends on
    // whether the connection reports vectored writes (TLS streams do).
    let edge = edge
        .with_answer_piece(if tls.is_some() {
            small_frames::PIECE_TLS
        } else {
            small_frames::PIECE_PLAIN
        })
        .with_call_limit(settings.max_concurrent_calls);
    if let Some((cert, key)) = tls {
        let cert = std::fs::read(&cert).map_err(|e| ServeError::Config(format!("tls_cert {}: {e}", cert.display())))?;
        let key = std::fs::read(&key).map_err(|e| ServeError::Config(format!("tls_key {}: {e}", key.display())))?;
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = settings.client_ca() {
            let ca =
                std::fs::read(&ca).map_err(|e| ServeError::Config(format!("tls_client_ca {}: {e}", ca.display())))?;
            // Every client must present a certificate this CA signed.
            tls = tls.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder.tls_config(tls)?;
    }
    let incoming = TcpListenerStream::new(listener).map(|conn| {
        conn.map(|stream| {
            // Small unary replies must not wait for Nagle.
            let _ = stream.set_nodelay(true);
            ScalarWrites(stream)
        })
    });
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutdown requested: NOT_SERVING, draining in-flight calls");
        health.shutting_down().await;
        let _ = stopped_tx.send(());
    };
    let server = builder
        .layer(edge)
        .add_routes(routes.routes())
        .serve_with_incoming_shutdown(incoming, signal);
    tokio::pin!(server);
    let grace = settings.shutdown_grace();
    tokio::select! {
        result = &mut server => result?,
        _ = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over; closing remaining calls");
        }
    }
    Ok(())
}

/// Completes on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when first polled, so a signal sent right after the server
/// reports its address is never lost (call it inside the runtime).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM received"),
                    _ = int.recv() => tracing::info!("SIGINT received"),
                }
            }
            (term, int) => {
                tracing::error!(term = ?term.err(), int = ?int.err(), "cannot install signal handlers; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
