//! Start-up: settings → telemetry → store and ingest client → workers and
//! server, and an orderly stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1::preencoded::scoring_service_server::ScoringServiceServer;
use supplyrisk_grpc::Permission;
pub use supplyrisk_grpc::StartupError;
use supplyrisk_grpc::client::ClientInterceptor;
use supplyrisk_grpc::recalled::RecallFirst;
use supplyrisk_store::{Store, StoreOptions};
use tokio::net::TcpListener;

use crate::importers::Importers;
use crate::scorer::Scorer;
use crate::service::ScoringHandler;
use crate::settings::Settings;
use crate::worker::{Recomputer, spawn_follower};

/// Fully qualified service name, as used by health checks.
pub const SERVICE_NAME: &str = "supplyrisk.scoring.v1.ScoringService";

/// What each method requires of its caller: every scoring call is a read.
pub fn method_policy(path: &str) -> Permission {
    if path.starts_with("/supplyrisk.scoring.v1.ScoringService/") {
        Permission::Read
    } else {
        Permission::Admin
    }
}

/// A bound, ready-to-run scoring server.
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
        let options = StoreOptions {
            stream_maxlen: settings.scoring.stream_maxlen,
            ..Default::default()
        };
        let store = Store::new(&settings.redis, options)?;
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

    /// Serves until `shutdown` completes, then drains and stops the workers.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let importers =
            Arc::new(Importers::from_settings(&self.settings.scoring).map_err(supplyrisk_config::ConfigError)?);
        let channel = supplyrisk_grpc::client::channel(&self.settings.ingest)?;
        let ingest =
            IngestServiceClient::with_interceptor(channel, ClientInterceptor::new(&self.settings.ingest.token))
                .max_decoding_message_size(self.settings.grpc.max_message_bytes);
        let scorer = Scorer::new(ingest, importers.clone(), self.settings.scoring.cache_entries);

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let follower = spawn_follower(self.store.dedicated(), scorer.generations(), stop_rx.clone());
        let recomputer = Recomputer {
            store: self.store.clone(),
            scorer: scorer.clone(),
            importers: importers.clone(),
            settings: self.settings.scoring.clone(),
            mineral_locks: Default::default(),
        }
        .spawn(stop_rx);

        let recall = scorer.clone();
        let handler = ScoringHandler::new(scorer, self.store.clone(), importers);
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
                let server = ScoringServiceServer::new(handler)
                    .max_decoding_message_size(max)
                    .max_encoding_message_size(max);
                // Repeated GetRiskScore calls are answered before the framework decodes them.
                routes.add_service(RecallFirst::new(server, "GetRiskScore", move |request| {
                    recall.recall(request)
                }));
            },
            shutdown,
        )
        .await;
        let _ = stop_tx.send(true);
        // The recomputer acknowledges only finished work; stopping it mid-batch leaves
        // the batch pending for the next consumer.
        let _ = tokio::time::timeout(Duration::from_secs(5), recomputer).await;
        follower.abort();
        result?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Entry point of the binary.
pub async fn run() -> Result<(), StartupError> {
    let settings = Settings::load(supplyrisk_config::config_file_from_args().as_deref())?;
    let telemetry = supplyrisk_telemetry::init(&settings.telemetry, "supplyrisk-scoring")?;
    let app = Application::build(settings).await?;
    let result = app.run_until(supplyrisk_grpc::shutdown_signal()).await;
    telemetry.shutdown();
    result
}
