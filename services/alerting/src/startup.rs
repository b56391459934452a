//! What makes the alerting service itself: its method policy, its clients
//! of ingest and scoring, the handler, and the workers that match score
//! changes, watch policy events and deliver webhooks. The rest of start-up
//! is `supplyrisk_service`'s.

use std::sync::Arc;
use std::time::Duration;

use supplyrisk_api::alerting::v1::alerting_service_server::AlertingServiceServer;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_service::dead_letters::ConsumerGroup;
use supplyrisk_service::{Service, Start, StartupError, StreamWorker, Upstream};
use supplyrisk_store::StoreOptions;
use supplyrisk_webhook::WebhookClient;
use tokio::sync::Notify;

use crate::delivery::Deliverer;
use crate::feed::AlertFeed;
use crate::policy::PolicyWatcher;
use crate::reseal::Resealer;
use crate::service::AlertingHandler;
use crate::settings::{AlertingSettings, Settings};
use crate::worker::Matcher;

/// The alerting service.
pub struct Alerting;

/// A bound, ready-to-run alerting server.
pub type Application = supplyrisk_service::Application<Alerting>;

impl Service for Alerting {
    type Settings = AlertingSettings;
    type Server = AlertingServiceServer<AlertingHandler>;
    const BINARY: &'static str = "supplyrisk-alerting";
    const ALSO_SERVES: &'static [&'static str] = &[supplyrisk_service::dead_letters::SERVICE_NAME];

    /// Reads need a reader; managing subscriptions and acknowledging need
    /// ingester or admin; the dead-letter service is admin only.
    const READS: &'static [&'static str] = &["GetSubscription", "ListSubscriptions", "StreamAlerts", "ListAlerts"];
    const WRITES: &'static [&'static str] = &[
        "CreateSubscription",
        "UpdateSubscription",
        "DeleteSubscription",
        "AcknowledgeAlert",
    ];

    fn store_options(settings: &Settings) -> StoreOptions {
        StoreOptions {
            alerts_per_subscription: settings.own.alerting.alerts_per_subscription,
            ..Default::default()
        }
    }

    fn start(start: Start<'_, AlertingSettings>) -> Result<(), StartupError> {
        let own = &start.settings.own;
        let section = &own.alerting;
        let store = start.store;
        // Woken whenever this process records an alert: the deliverer looks
        // for due webhooks. Open streams wake on the feed, from every replica.
        let recorded = Arc::new(Notify::new());

        // Upstream answers may be as large as this server's own messages
        // (a page of many policy events), not the client's 4 MiB default.
        let max = start.max_message_bytes();
        let (channel, auth) = Upstream::ingest(&own.upstream.ingest).connect()?;
        let ingest = IngestServiceClient::with_interceptor(channel, auth).max_decoding_message_size(max);
        let (channel, auth) = Upstream::scoring(&own.upstream.scoring).connect()?;
        let scoring = ScoringServiceClient::with_interceptor(channel, auth).max_decoding_message_size(max);
        let keys = Arc::new(section.secret_keys()?);
        let feed = AlertFeed::new();
        start.workers.spawn(feed.listener(store.clone()));
        start.workers.spawn(Resealer::new(store.clone(), keys.clone()));
        let timeout = Duration::from_millis(section.webhook_timeout_ms);
        let webhooks = WebhookClient::new(section.webhook_allow_list()?, timeout, &section.webhook_extra_roots()?);

        let groups = vec![
            ConsumerGroup::from(&Matcher::consumer(section)),
            ConsumerGroup::from(&PolicyWatcher::consumer(section)),
        ];
        start
            .routes
            .add_service(supplyrisk_service::dead_letters::server(store.clone(), groups));
        start.workers.spawn(StreamWorker::new(
            store.clone(),
            Matcher::consumer(section),
            Matcher::new(store.clone(), recorded.clone()),
        ));
        start.workers.spawn(StreamWorker::new(
            store.clone(),
            PolicyWatcher::consumer(section),
            PolicyWatcher::new(store.clone(), ingest, scoring.clone(), recorded.clone()),
        ));
        start.workers.spawn(Deliverer::new(
            store.clone(),
            webhooks.clone(),
            recorded.clone(),
            section,
            keys.clone(),
        ));

        let handler = AlertingHandler::new(store.clone(), section, webhooks, scoring, keys, feed);
        start.routes.add_service(
            AlertingServiceServer::new(handler)
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        );
        Ok(())
    }
}
