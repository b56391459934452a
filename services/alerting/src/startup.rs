//! Start-up: settings → telemetry → store → matcher and server, and an
//! orderly stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use supplyrisk_api::alerting::v1::alerting_service_server::AlertingServiceServer;
use supplyrisk_grpc::Permission;
pub use supplyrisk_grpc::StartupError;
use supplyrisk_store::{Store, StoreOptions};
use supplyrisk_webhook::WebhookClient;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::delivery::Deliverer;
use crate::service::AlertingHandler;
use crate::settings::Settings;
use crate::worker::Matcher;

/// Fully qualified service name, as used by health checks.
pub const SERVICE_NAME: &str = "supplyrisk.alerting.v1.AlertingService";

/// Reads need a reader; managing subscriptions and acknowledging need ingester or admin.
pub fn method_policy(path: &str) -> Permission {
    match path.rsplit('/').next().unwrap_or_default() {
        "GetSubscription" | "ListSubscriptions" | "StreamAlerts" | "ListAlerts" => Permission::Read,
        "CreateSubscription" | "UpdateSubscription" | "DeleteSubscription" | "AcknowledgeAlert" => Permission::Write,
        _ => Permission::Admin,
    }
}

/// A bound, ready-to-run alerting server.
pub struct Application {
    settings: Settings,
    listener: TcpListener,
    addr: SocketAddr,
    store: Store,
}

impl Application {
    /// Binds the listen address (port 0 picks one) and prepares the store.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let (listener, addr) = supplyrisk_grpc::bind(settings.grpc.listen_addr()?).await?;
        let store = Store::new(&settings.redis, StoreOptions::default())?;
        Ok(Application {
            settings,
            listener,
            addr,
            store,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then drains and stops the matcher.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let recorded = Arc::new(Notify::new());
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let matcher = Matcher {
            store: self.store.clone(),
            recorded: recorded.clone(),
        }
        .spawn(&self.settings.alerting, stop_rx.clone());
        let channel = supplyrisk_grpc::client::channel(&self.settings.ingest)?;
        let ingest = supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient::with_interceptor(
            channel,
            supplyrisk_grpc::client::ClientInterceptor::new(&self.settings.ingest.token),
        );
        let scoring = supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient::with_interceptor(
            supplyrisk_grpc::client::channel(&self.settings.scoring)?,
            supplyrisk_grpc::client::ClientInterceptor::new(&self.settings.scoring.token),
        );
        let policies = crate::policy::PolicyWatcher {
            store: self.store.clone(),
            ingest,
            scoring,
            recorded: recorded.clone(),
        }
        .spawn(&self.settings.alerting, stop_rx.clone());
        let section = &self.settings.alerting;
        let timeout = Duration::from_millis(section.webhook_timeout_ms);
        let webhooks = WebhookClient::new(section.webhook_allow_list()?, timeout, &section.webhook_extra_roots()?);
        let deliverer = Deliverer {
            store: self.store.clone(),
            client: webhooks.clone(),
            retry: section.webhook_retry(),
            timeout,
            concurrency: section.webhook_concurrency,
            wake: recorded.clone(),
        }
        .spawn(stop_rx.clone());
        let handler = AlertingHandler::new(
            self.store.clone(),
            recorded,
            Duration::from_millis(section.stream_poll_ms),
            webhooks,
        );
        let max = self.settings.grpc.max_message_bytes;
        let result = supplyrisk_grpc::run_service(
            &self.settings.grpc,
            &self.settings.auth,
            self.listener,
            self.addr,
            self.store.clone(),
            SERVICE_NAME,
            method_policy,
            |routes| {
                routes.add_service(
                    AlertingServiceServer::new(handler)
                        .max_decoding_message_size(max)
                        .max_encoding_message_size(max),
                );
            },
            shutdown,
        )
        .await;
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), matcher).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), policies).await;
        // Attempts in flight finish within their timeout; unfinished ones are
        // retried by whichever process next finds their lease expired.
        let _ = tokio::time::timeout(timeout + Duration::from_secs(1), deliverer).await;
        result?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Entry point of the binary.
pub async fn run() -> Result<(), StartupError> {
    let settings = Settings::load(supplyrisk_config::config_file_from_args().as_deref())?;
    let telemetry = supplyrisk_telemetry::init(&settings.telemetry, "supplyrisk-alerting")?;
    let app = Application::build(settings).await?;
    let result = app.run_until(supplyrisk_grpc::shutdown_signal()).await;
    telemetry.shutdown();
    result
}
