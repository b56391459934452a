//! Start-up: settings → telemetry → store → server, and an orderly stop.

use std::net::SocketAddr;
use std::time::Duration;

use supplyrisk_api::ingest::v1::ingest_service_server::IngestServiceServer;
use supplyrisk_grpc::Permission;
pub use supplyrisk_grpc::StartupError;
use supplyrisk_store::{Store, StoreOptions};
use tokio::net::TcpListener;

use crate::bulk::BulkRuntime;
use crate::service::IngestHandler;
use crate::settings::Settings;

/// Fully qualified service name, as used by health checks.
pub const SERVICE_NAME: &str = "supplyrisk.ingest.v1.IngestService";

/// What each method requires of its caller.
pub fn method_policy(path: &str) -> Permission {
    match path.rsplit('/').next().unwrap_or_default() {
        "ListMinerals" | "ListPolicyEvents" | "GetSupplySnapshot" => Permission::Read,
        "IngestTradeFlows" | "UpsertProduction" | "UpsertGovernance" | "RecordPolicyEvent" | "UpsertStockpile"
        | "ImportDataset" => Permission::Write,
        _ => Permission::Admin,
    }
}

/// A bound, ready-to-run ingest server.
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
            stream_maxlen: settings.ingest.stream_maxlen,
            upload_ttl: Duration::from_secs(settings.ingest.upload_ttl_secs),
            snapshot_ttl: Duration::from_secs(settings.ingest.snapshot_ttl_secs),
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

    /// Serves until `shutdown` completes, then drains.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let bulk = BulkRuntime::start(self.settings.ingest.bulk_threads).map_err(supplyrisk_grpc::ServeError::from)?;
        let handler = IngestHandler::new(self.store.clone(), self.settings.ingest.clone(), bulk);
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
                    IngestServiceServer::new(handler)
                        .max_decoding_message_size(max)
                        .max_encoding_message_size(max),
                );
            },
            shutdown,
        )
        .await;
        result?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Entry point of the binary: load settings, start telemetry, serve until
/// SIGTERM/SIGINT, flush telemetry.
pub async fn run() -> Result<(), StartupError> {
    let settings = Settings::load(supplyrisk_config::config_file_from_args().as_deref())?;
    let telemetry = supplyrisk_telemetry::init(&settings.telemetry, "supplyrisk-ingest")?;
    let app = Application::build(settings).await?;
    let result = app.run_until(supplyrisk_grpc::shutdown_signal()).await;
    telemetry.shutdown();
    result
}
