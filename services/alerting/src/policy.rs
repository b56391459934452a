//! Policy rules: alerts on new or changed export restrictions.
//!
//! A consumer group on the data stream picks out policy-event writes, reads
//! each event from the ingest service, and fires every policy rule whose
//! filter covers one of the event's minerals — optionally only when the
//! restricting country supplies at least the rule's share of a filtered
//! importer's sourcing, as the scoring service reports it for the eu-crm
//! score (every supplier, not only the five a score lists).

use std::future::Future;
use std::sync::Arc;

use prost::Message;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::events::v1::{DataChanged, DataKind};
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_grpc::client::Channel;
use supplyrisk_grpc::client::ClientInterceptor;
use supplyrisk_service::{Shutdown, Worker};
use supplyrisk_store::consumer::{ConsumerConfig, consume};
use supplyrisk_store::{Store, StreamEntry, keys};
use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;

use crate::rules;
use crate::settings::AlertingSection;

/// Suppliers asked for per page: the most scoring sends at once, so one
/// page covers every country that supplies anything.
const SUPPLIERS_PAGE: i32 = 500;

/// Client of the ingest service.
pub type IngestClient = IngestServiceClient<InterceptedService<Channel, ClientInterceptor>>;
/// Client of the scoring service.
pub type ScoringClient = ScoringServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Watches policy-event writes.
pub struct PolicyWatcher {
    store: Store,
    /// Reads policy events.
    ingest: IngestClient,
    /// Reads importers' supplier shares.
    scoring: ScoringClient,
    /// Woken when an alert is recorded.
    recorded: Arc<Notify>,
    consumer: ConsumerConfig,
}

impl PolicyWatcher {
    /// A watcher in its own consumer group of the data stream (named after
    /// the group of `settings`), reading events from `ingest` and supplier
    /// shares from `scoring`, waking `recorded` whenever it records alerts.
    pub fn new(
        store: Store,
        ingest: IngestClient,
        scoring: ScoringClient,
        recorded: Arc<Notify>,
        settings: &AlertingSection,
    ) -> Self {
        let consumer = ConsumerConfig::new(
            keys::DATA_STREAM,
            &format!("{}-policy", settings.consumer_group),
            &settings.consumer_name,
            settings.reclaim_idle_ms,
            200,
        );
        Self {
            store,
            ingest,
            scoring,
            recorded,
            consumer,
        }
    }
}

impl Worker for PolicyWatcher {
    const NAME: &'static str = "policy-watcher";

    fn run(self, shutdown: Shutdown) -> impl Future<Output = ()> + Send {
        let store = self.store.clone();
        let config = self.consumer.clone();
        let this = Arc::new(self);
        consume(store, config, shutdown.signal(), move |entries| {
            let this = this.clone();
            let span = policy_span(&entries);
            async move { tracing::Instrument::instrument(this.process(&entries), span).await }
        })
    }
}

impl PolicyWatcher {
    async fn event(&self, id: &str, minerals: &[String]) -> Result<Option<ipb::PolicyEvent>, String> {
        let mut client = self.ingest.clone();
        let mut token = String::new();
        loop {
            let req = ipb::ListPolicyEventsRequest {
                mineral: minerals.first().cloned().unwrap_or_default(),
                page_size: 500,
                page_token: token.clone(),
                ..Default::default()
            };
            let resp = client
                .list_policy_events(req)
                .await
                .map_err(|s| s.message().to_string())?
                .into_inner();
            if let Some(e) = resp.events.into_iter().find(|e| e.id == id) {
                return Ok(Some(e));
            }
            if resp.next_page_token.is_empty() {
                return Ok(None);
            }
            token = resp.next_page_token;
        }
    }

    /// Share of `supplier` in `importer`'s sourcing of `mineral`, at the
    /// stage of its eu-crm score, from every supplier behind that score
    /// (`None` when the supplier is not one of them, or the mineral or
    /// importer has no score).
    async fn supplier_share(&self, mineral: &str, importer: &str, supplier: &str) -> Result<Option<f64>, String> {
        let mut page_token = String::new();
        loop {
            let req = spb::ListScoreSuppliersRequest {
                mineral: mineral.to_string(),
                importer: importer.to_string(),
                methodology: spb::Methodology::EuCrm as i32,
                page_size: SUPPLIERS_PAGE,
                page_token,
                ..Default::default()
            };
            let page = match self.scoring.clone().list_score_suppliers(req).await {
                Ok(page) => page.into_inner(),
                Err(s) if matches!(s.code(), tonic::Code::NotFound | tonic::Code::FailedPrecondition) => {
                    return Ok(None);
                }
                Err(s) => return Err(format!("scoring: {}", s.message())),
            };
            if let Some(found) = page.suppliers.iter().find(|t| t.country == supplier) {
                return Ok(Some(found.share));
            }
            if page.next_page_token.is_empty() {
                return Ok(None);
            }
            page_token = page.next_page_token;
        }
    }

    /// Fires policy rules for the policy writes in `entries`; idempotent.
    pub async fn process(&self, entries: &[StreamEntry]) -> Result<(), String> {
        let mut subscriptions: Option<Vec<pb::Subscription>> = None;
        let mut recorded = 0;
        for entry in entries {
            let Ok(change) = DataChanged::decode(entry.payload.as_slice()) else {
                continue;
            };
            if change.kind != DataKind::PolicyEvents as i32 {
                continue;
            }
            if subscriptions.is_none() {
                let all = self.store.all_subscriptions().await.map_err(|e| e.to_string())?;
                subscriptions = Some(
                    all.iter()
                        .filter_map(|b| pb::Subscription::decode(b.as_slice()).ok())
                        .collect(),
                );
            }
            let subs = subscriptions.as_deref().unwrap_or_default();
            for id in &change.policy_event_ids {
                let Some(event) = self.event(id, &change.minerals).await? else {
                    continue;
                };
                for sub in subs {
                    let Some(filter) = &sub.filter else { continue };
                    if !rules::policy_matches(filter, &event.minerals) {
                        continue;
                    }
                    for (i, rule) in sub.rules.iter().enumerate() {
                        let Some(pb::rule::Kind::Policy(p)) = &rule.kind else {
                            continue;
                        };
                        let mineral = event
                            .minerals
                            .iter()
                            .find(|m| filter.minerals.is_empty() || filter.minerals.contains(m))
                            .cloned()
                            .unwrap_or_default();
                        let importers: Vec<String> = if filter.importers.is_empty() {
                            vec![String::new()]
                        } else {
                            filter.importers.clone()
                        };
                        for importer in importers {
                            let mut reason = format!(
                                "{} {} on {}",
                                event.country,
                                measure(event.measure),
                                event.minerals.join(", ")
                            );
                            if p.min_supplier_share > 0.0 {
                                if importer.is_empty() {
                                    continue;
                                }
                                match self.supplier_share(&mineral, &importer, &event.country).await? {
                                    Some(share) if share >= p.min_supplier_share => {
                                        reason = format!(
                                            "{reason}; {} supplies {:.0}% of {importer}'s sourcing",
                                            event.country,
                                            share * 100.0
                                        );
                                    }
                                    _ => continue,
                                }
                            }
                            let alert = pb::Alert {
                                id: rules::alert_id(&sub.id, i, &entry.id, &mineral, &importer, id),
                                subscription_id: sub.id.clone(),
                                rule: rules::describe(rule),
                                mineral: mineral.clone(),
                                importer: importer.clone(),
                                methodology: String::new(),
                                old_score: None,
                                new_score: 0.0,
                                delta: 0.0,
                                top_reason: reason,
                                trace: crate::delivery::alert_trace(change.trace.as_ref()),
                                create_time: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
                                acknowledged: false,
                                cause_event_id: entry.id.clone(),
                                policy_event_id: event.id.clone(),
                                policy_summary: event.summary.clone(),
                                webhook_delivery: None,
                            };
                            crate::delivery::record_alert(&self.store, sub, &alert, &[])
                                .await
                                .map_err(|e| e.to_string())?;
                            recorded += 1;
                        }
                    }
                }
            }
        }
        if recorded > 0 {
            self.recorded.notify_waiters();
        }
        Ok(())
    }
}

fn measure(value: i32) -> &'static str {
    match ipb::PolicyMeasure::try_from(value).unwrap_or(ipb::PolicyMeasure::Other) {
        ipb::PolicyMeasure::Licensing => "export licensing",
        ipb::PolicyMeasure::Quota => "export quota",
        ipb::PolicyMeasure::Tax => "export tax",
        ipb::PolicyMeasure::Ban => "export ban",
        _ => "export restriction",
    }
}

/// `alerting.policy`: one span per batch that holds policy writes, linked to
/// the trace of each write (an asynchronous hop, like `scoring.recompute`);
/// batches of other data changes get none.
fn policy_span(entries: &[StreamEntry]) -> tracing::Span {
    use supplyrisk_telemetry::propagation::{TraceCarrier, link_from_carrier};
    let mut span = None;
    for change in entries
        .iter()
        .filter_map(|e| DataChanged::decode(e.payload.as_slice()).ok())
    {
        if change.kind != DataKind::PolicyEvents as i32 {
            continue;
        }
        let span = span.get_or_insert_with(|| tracing::info_span!("policy", otel.name = "alerting.policy"));
        if let Some(t) = &change.trace {
            let carrier = TraceCarrier {
                traceparent: t.traceparent.clone(),
                tracestate: t.tracestate.clone(),
            };
            link_from_carrier(span, &carrier);
        }
    }
    span.unwrap_or_else(tracing::Span::none)
}
