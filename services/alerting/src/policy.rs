//! Policy rules: alerts on new or changed export restrictions.
//!
//! A consumer group on the data stream picks out policy-event writes, reads
//! each event from the ingest service, and fires every policy rule whose
//! filter covers one of the event's minerals — optionally only when the
//! restricting country supplies at least the rule's share of a filtered
//! importer's sourcing, as the scoring service reports it for the eu-crm
//! score (every supplier, not only the five a score lists).

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
use supplyrisk_service::StreamProcessor;
use supplyrisk_store::consumer::ConsumerConfig;
use supplyrisk_store::{Store, StreamEntry, keys};
use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;

use crate::isolation::{self, EvaluationError};
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
}

impl PolicyWatcher {
    /// A watcher reading events from `ingest` and supplier shares from
    /// `scoring`, waking `recorded` whenever it records alerts.
    pub fn new(store: Store, ingest: IngestClient, scoring: ScoringClient, recorded: Arc<Notify>) -> Self {
        Self {
            store,
            ingest,
            scoring,
            recorded,
        }
    }

    /// Its place in the data stream: a consumer group of its own, named
    /// after the group of `settings`.
    pub fn consumer(settings: &AlertingSection) -> ConsumerConfig {
        settings.consumer(keys::DATA_STREAM, &format!("{}-policy", settings.consumer_group))
    }
}

impl StreamProcessor for PolicyWatcher {
    const NAME: &'static str = "policy-watcher";
    type Error = EvaluationError;

    fn transient(error: &EvaluationError) -> bool {
        error.is_transient()
    }

    async fn process(&self, entries: Vec<StreamEntry>) -> Result<(), EvaluationError> {
        let span = policy_span(&entries);
        tracing::Instrument::instrument(self.fire(&entries), span).await
    }
}

impl PolicyWatcher {
    async fn event(&self, id: &str, minerals: &[String]) -> Result<Option<ipb::PolicyEvent>, EvaluationError> {
        let mut client = self.ingest.clone();
        let mut token = String::new();
        loop {
            let req = ipb::ListPolicyEventsRequest {
                mineral: minerals.first().cloned().unwrap_or_default(),
                page_size: 500,
                page_token: token.clone(),
                ..Default::default()
            };
            let resp = client.list_policy_events(req).await?.into_inner();
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
    async fn supplier_share(
        &self,
        mineral: &str,
        importer: &str,
        supplier: &str,
    ) -> Result<Option<f64>, EvaluationError> {
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
                // The mineral has no score for this importer (no usable data).
                Err(s) if s.code() == tonic::Code::FailedPrecondition => return Ok(None),
                // Anything else about this importer (unknown, not a bloc
                // scoring accepts) is this subscription's alone.
                Err(s) => return Err(EvaluationError::from(s)),
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
    /// Each subscription is evaluated apart: one that fails records its
    /// error and the others still get their alerts.
    async fn fire(&self, entries: &[StreamEntry]) -> Result<(), EvaluationError> {
        let mut subscriptions: Option<Vec<pb::Subscription>> = None;
        let mut recorded = 0;
        for entry in entries {
            let Some(change) = policy_change(entry) else {
                continue;
            };
            if subscriptions.is_none() {
                subscriptions = Some(self.store.all_subscriptions().await?);
            }
            let subs = subscriptions.as_deref().unwrap_or_default();
            for id in &change.policy_event_ids {
                let Some(event) = self.event(id, &change.minerals).await? else {
                    continue;
                };
                for sub in subs {
                    let outcome = self.fire_for(sub, entry, &change, &event).await;
                    recorded += isolation::settle(&self.store, Self::NAME, sub, outcome).await?;
                }
            }
        }
        if recorded > 0 {
            self.recorded.notify_waiters();
        }
        Ok(())
    }

    /// Fires `sub`'s policy rules for `event`; the number of alerts recorded.
    async fn fire_for(
        &self,
        sub: &pb::Subscription,
        cause: &StreamEntry,
        change: &DataChanged,
        event: &ipb::PolicyEvent,
    ) -> Result<usize, EvaluationError> {
        let mut recorded = 0;
        for candidate in policy_candidates(sub, event) {
            let Some(reason) = self.confirm(&candidate, event).await? else {
                continue;
            };
            let alert = PolicyAlert {
                subscription: sub,
                candidate: &candidate,
                reason,
                cause,
                change,
                event,
            }
            .alert();
            crate::delivery::record_alert(&self.store, sub, &alert, &[]).await?;
            recorded += 1;
        }
        Ok(recorded)
    }

    /// The reason of `candidate`'s alert, once its supplier-share condition
    /// (if any) holds; `None` when it does not.
    async fn confirm(
        &self,
        candidate: &PolicyCandidate,
        event: &ipb::PolicyEvent,
    ) -> Result<Option<String>, EvaluationError> {
        if candidate.min_supplier_share <= 0.0 {
            return Ok(Some(candidate.reason.clone()));
        }
        let share = self
            .supplier_share(&candidate.mineral, &candidate.importer, &event.country)
            .await?;
        Ok(share.filter(|s| *s >= candidate.min_supplier_share).map(|share| {
            format!(
                "{}; {} supplies {:.0}% of {}'s sourcing",
                candidate.reason,
                event.country,
                share * 100.0,
                candidate.importer
            )
        }))
    }
}

/// The change of `entry` if it is a policy-event write.
fn policy_change(entry: &StreamEntry) -> Option<DataChanged> {
    DataChanged::decode(entry.payload.as_slice())
        .ok()
        .filter(|c| c.kind == DataKind::PolicyEvents as i32)
}

/// An alert a policy event may give one subscription: one per policy rule
/// and watched importer, before any supplier-share condition is checked.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyCandidate {
    /// The rule's position in the subscription.
    pub rule_index: usize,
    /// The first of the event's minerals the subscription watches.
    pub mineral: String,
    /// A watched importer; empty when the subscription names none.
    pub importer: String,
    /// Share of the importer's sourcing the event's country must supply; 0 = no condition.
    pub min_supplier_share: f64,
    /// What happened, as the alert will say.
    pub reason: String,
}

/// Which alerts `event` may give `sub`: pure, so the matching is tested
/// without a store or another service.
pub fn policy_candidates(sub: &pb::Subscription, event: &ipb::PolicyEvent) -> Vec<PolicyCandidate> {
    let Some(filter) = &sub.filter else {
        return Vec::new();
    };
    if !rules::policy_matches(filter, &event.minerals) {
        return Vec::new();
    }
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
    let reason = format!(
        "{} {} on {}",
        event.country,
        measure(event.measure),
        event.minerals.join(", ")
    );
    let mut candidates = Vec::new();
    for (rule_index, rule) in sub.rules.iter().enumerate() {
        let Some(pb::rule::Kind::Policy(p)) = &rule.kind else {
            continue;
        };
        // A supplier-share condition needs a named importer.
        let importers = importers
            .iter()
            .filter(|importer| p.min_supplier_share <= 0.0 || !importer.is_empty());
        candidates.extend(importers.map(|importer| PolicyCandidate {
            rule_index,
            mineral: mineral.clone(),
            importer: importer.clone(),
            min_supplier_share: p.min_supplier_share,
            reason: reason.clone(),
        }));
    }
    candidates
}

/// Everything one policy alert is made of.
struct PolicyAlert<'a> {
    subscription: &'a pb::Subscription,
    candidate: &'a PolicyCandidate,
    reason: String,
    cause: &'a StreamEntry,
    change: &'a DataChanged,
    event: &'a ipb::PolicyEvent,
}

impl PolicyAlert<'_> {
    fn alert(self) -> pb::Alert {
        let PolicyAlert {
            subscription: sub,
            candidate: c,
            reason,
            cause,
            change,
            event,
        } = self;
        pb::Alert {
            id: rules::alert_id(&sub.id, c.rule_index, &cause.id, &c.mineral, &c.importer, &event.id),
            subscription_id: sub.id.clone(),
            rule: rules::describe(&sub.rules[c.rule_index]),
            mineral: c.mineral.clone(),
            importer: c.importer.clone(),
            methodology: String::new(),
            old_score: None,
            new_score: 0.0,
            delta: 0.0,
            top_reason: reason,
            trace: crate::delivery::alert_trace(change.trace.as_ref()),
            create_time: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            acknowledged: false,
            cause_event_id: cause.id.clone(),
            policy_event_id: event.id.clone(),
            policy_summary: event.summary.clone(),
            webhook_delivery: None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_rule(min_supplier_share: f64) -> pb::Rule {
        pb::Rule {
            kind: Some(pb::rule::Kind::Policy(pb::PolicyRule { min_supplier_share })),
        }
    }

    fn threshold_rule() -> pb::Rule {
        pb::Rule {
            kind: Some(pb::rule::Kind::Threshold(pb::ThresholdRule::default())),
        }
    }

    fn subscription(minerals: &[&str], importers: &[&str], rules: Vec<pb::Rule>) -> pb::Subscription {
        pb::Subscription {
            id: "s1".into(),
            filter: Some(pb::Filter {
                minerals: minerals.iter().map(ToString::to_string).collect(),
                importers: importers.iter().map(ToString::to_string).collect(),
                ..Default::default()
            }),
            rules,
            ..Default::default()
        }
    }

    fn ban(minerals: &[&str]) -> ipb::PolicyEvent {
        ipb::PolicyEvent {
            id: "p1".into(),
            country: "CHN".into(),
            minerals: minerals.iter().map(ToString::to_string).collect(),
            measure: ipb::PolicyMeasure::Ban as i32,
            ..Default::default()
        }
    }

    #[test]
    fn each_policy_rule_gives_one_candidate_per_watched_importer() {
        let sub = subscription(&["GA"], &["JPN", "USA"], vec![threshold_rule(), policy_rule(0.0)]);
        let got = policy_candidates(&sub, &ban(&["GE", "GA"]));
        let importers: Vec<&str> = got.iter().map(|c| c.importer.as_str()).collect();
        assert_eq!(importers, ["JPN", "USA"]);
        assert!(got.iter().all(|c| c.rule_index == 1 && c.mineral == "GA"));
        assert_eq!(got[0].reason, "CHN export ban on GE, GA");
    }

    #[test]
    fn a_supplier_share_condition_needs_a_named_importer() {
        let sub = subscription(&["GA"], &[], vec![policy_rule(0.5), policy_rule(0.0)]);
        let got = policy_candidates(&sub, &ban(&["GA"]));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].rule_index, got[0].importer.as_str()), (1, ""));
    }

    #[test]
    fn events_on_minerals_nobody_watches_give_nothing() {
        let sub = subscription(&["LI"], &["JPN"], vec![policy_rule(0.0)]);
        assert!(policy_candidates(&sub, &ban(&["GA"])).is_empty());
        let unfiltered = pb::Subscription {
            filter: None,
            ..subscription(&[], &[], vec![policy_rule(0.0)])
        };
        assert!(policy_candidates(&unfiltered, &ban(&["GA"])).is_empty());
    }
}
