//! What makes the ingest service itself: its method policy, store options
//! and handler. The rest of start-up is `supplyrisk_service`'s.

use std::time::Duration;

use supplyrisk_api::ingest::v1::ingest_service_server::IngestServiceServer;
use supplyrisk_service::{Service, Start, StartupError, StreamTrimmer};
use supplyrisk_store::{StoreOptions, keys};

use crate::bulk::BulkRuntime;
use crate::service::IngestHandler;
use crate::settings::{IngestSettings, Settings};

/// The ingest service.
pub struct Ingest;

/// A bound, ready-to-run ingest server.
pub type Application = supplyrisk_service::Application<Ingest>;

impl Service for Ingest {
    type Settings = IngestSettings;
    type Server = IngestServiceServer<IngestHandler>;
    const BINARY: &'static str = "supplyrisk-ingest";

    const READS: &'static [&'static str] = &["ListMinerals", "ListPolicyEvents", "GetSupplySnapshot"];
    const WRITES: &'static [&'static str] = &[
        "IngestTradeFlows",
        "UpsertProduction",
        "UpsertGovernance",
        "RecordPolicyEvent",
        "UpsertStockpile",
        "ImportDataset",
    ];

    fn store_options(settings: &Settings) -> StoreOptions {
        let ingest = &settings.own.ingest;
        StoreOptions {
            stream_maxlen: ingest.stream_maxlen,
            upload_ttl: Duration::from_secs(ingest.upload_ttl_secs),
            snapshot_ttl: Duration::from_secs(ingest.snapshot_ttl_secs),
            max_write_records: ingest.write_chunk_records,
            max_policy_events_per_mineral: ingest.max_policy_events_per_mineral,
            ..Default::default()
        }
    }

    fn start(start: Start<'_, IngestSettings>) -> Result<(), StartupError> {
        let ingest = &start.settings.own.ingest;
        let bulk = BulkRuntime::start(ingest.bulk_threads)?;
        let idle = start.settings.common.grpc.stream_idle_timeout();
        let handler = IngestHandler::new(start.store.clone(), ingest.clone(), bulk, idle);
        let max = start.max_message_bytes();
        start.routes.add_service(
            IngestServiceServer::new(handler)
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        );
        start
            .workers
            .spawn(StreamTrimmer::new(start.store.clone(), keys::DATA_STREAM));
        Ok(())
    }
}
