//! What makes the scoring service itself: its method policy, the ingest
//! client, the handler with its answer cache in front, and the workers
//! that follow and recompute. The rest of start-up is `supplyrisk_service`'s.

use std::sync::Arc;

use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1::preencoded::scoring_service_server::ScoringServiceServer;
use supplyrisk_grpc::Permission;
use supplyrisk_grpc::cached_answers::CachedAnswersFirst;
use supplyrisk_service::dead_letters::ConsumerGroup;
use supplyrisk_service::{Service, Start, StartupError, StreamTrimmer, StreamWorker, Upstream};
use supplyrisk_store::{StoreOptions, keys};

use crate::fanout::Fanout;
use crate::importers::Importers;
use crate::scorer::Scorer;
use crate::service::ScoringHandler;
use crate::settings::{ScoringSettings, Settings};
use crate::worker::{Follower, PolicyClock, Recomputer};

/// The scoring service.
pub struct Scoring;

/// A bound, ready-to-run scoring server.
pub type Application = supplyrisk_service::Application<Scoring>;

impl Service for Scoring {
    type Settings = ScoringSettings;
    type Server = ScoringServiceServer<ScoringHandler>;
    const BINARY: &'static str = "supplyrisk-scoring";
    const ALSO_SERVES: &'static [&'static str] = &[supplyrisk_service::dead_letters::SERVICE_NAME];

    /// Every scoring call is a read.
    fn method_policy(path: &str) -> Permission {
        if path.starts_with("/supplyrisk.scoring.v1.ScoringService/") {
            Permission::Read
        } else {
            Permission::Admin
        }
    }

    fn store_options(settings: &Settings) -> StoreOptions {
        StoreOptions {
            stream_maxlen: settings.own.scoring.stream_maxlen,
            ..Default::default()
        }
    }

    fn start(start: Start<'_, ScoringSettings>) -> Result<(), StartupError> {
        let own = &start.settings.own;
        let max = start.max_message_bytes();
        let importers = Arc::new(Importers::from_settings(&own.scoring).map_err(supplyrisk_config::ConfigError)?);
        let (channel, auth) = Upstream::ingest(&own.upstream.ingest).connect()?;
        let ingest = IngestServiceClient::with_interceptor(channel, auth).max_decoding_message_size(max);
        let scorer = Scorer::new(
            ingest,
            importers.clone(),
            own.scoring.cache_entries,
            Fanout::new(own.scoring.max_concurrent_snapshot_calls),
        );

        start
            .workers
            .spawn(Follower::new(start.store.dedicated(), scorer.generations()));
        let recomputer = Arc::new(Recomputer::new(
            start.store.clone(),
            scorer.clone(),
            importers.clone(),
            own.scoring.clone(),
        ));
        let consumers = Recomputer::consumers(&own.scoring);
        let groups = consumers.iter().map(ConsumerGroup::from).collect();
        start
            .routes
            .add_service(supplyrisk_service::dead_letters::server(start.store.clone(), groups));
        for consumer in consumers {
            start.workers.spawn(StreamWorker::<Recomputer>::new(
                start.store.clone(),
                consumer,
                recomputer.clone(),
            ));
        }
        start.workers.spawn(PolicyClock::new(recomputer));
        start
            .workers
            .spawn(StreamTrimmer::new(start.store.clone(), keys::SCORE_STREAM));

        let answers = scorer.clone();
        let handler = ScoringHandler::new(scorer, start.store.clone(), importers);
        let server = ScoringServiceServer::new(handler)
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        // Repeated GetRiskScore calls are answered before the framework decodes them.
        start
            .routes
            .add_service(CachedAnswersFirst::new(server, "GetRiskScore", move |request| {
                answers.cached_answer(request)
            }));
        Ok(())
    }
}
