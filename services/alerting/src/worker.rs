//! Matching score changes against subscriptions.
//!
//! A consumer group on the score stream: for every `ScoreChanged` and every
//! subscription watching it, each rule is evaluated; a firing rule records
//! its alert (id derived from the subscription, rule and event) atomically
//! with the rule's new state, and the entry is acknowledged only after that.
//! A redelivered event finds its alert already recorded and adds nothing.

use std::sync::Arc;

use prost::Message;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::events::v1::ScoreChanged;
use supplyrisk_service::StreamProcessor;
use supplyrisk_store::consumer::ConsumerConfig;
use supplyrisk_store::{RuleStateChange, Store, StoreError, StreamEntry, keys};
use supplyrisk_telemetry::propagation::{self, TraceCarrier};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::isolation::{self, EvaluationError};
use crate::rules::{self, RuleState};
use crate::settings::AlertingSection;

/// Evaluates score changes and records alerts.
pub struct Matcher {
    store: Store,
    /// Woken whenever this process records an alert (open streams re-read).
    recorded: Arc<Notify>,
}

impl Matcher {
    /// A matcher waking `recorded` whenever it records alerts.
    pub fn new(store: Store, recorded: Arc<Notify>) -> Self {
        Self { store, recorded }
    }

    /// Its place in the score stream's consumer group of `settings`.
    pub fn consumer(settings: &AlertingSection) -> ConsumerConfig {
        settings.consumer(keys::SCORE_STREAM, &settings.consumer_group)
    }
}

impl StreamProcessor for Matcher {
    const NAME: &'static str = "score-matcher";
    type Error = EvaluationError;

    fn transient(error: &EvaluationError) -> bool {
        error.is_transient()
    }

    async fn process(&self, entries: Vec<StreamEntry>) -> Result<(), EvaluationError> {
        self.match_changes(&entries).await
    }
}

impl Matcher {
    /// Evaluates every subscription against `entries`; idempotent.
    async fn match_changes(&self, entries: &[StreamEntry]) -> Result<(), EvaluationError> {
        let subscriptions = self.store.all_subscriptions().await?;
        let mut recorded = 0usize;
        for entry in entries {
            let Ok(change) = ScoreChanged::decode(entry.payload.as_slice()) else {
                continue;
            };
            let span = tracing::info_span!("evaluate", otel.name = "alerting.evaluate", mineral = %change.mineral);
            if let Some(t) = &change.trace {
                let carrier = TraceCarrier {
                    traceparent: t.traceparent.clone(),
                    tracestate: t.tracestate.clone(),
                };
                propagation::link_from_carrier(&span, &carrier);
            }
            recorded += self
                .evaluate(&subscriptions, &entry.id, &change)
                .instrument(span)
                .await?;
        }
        if recorded > 0 {
            self.recorded.notify_waiters();
        }
        Ok(())
    }

    /// Evaluates each subscription apart: one that fails records its error
    /// and the others are still evaluated.
    async fn evaluate(
        &self,
        subscriptions: &[pb::Subscription],
        event_id: &str,
        c: &ScoreChanged,
    ) -> Result<usize, EvaluationError> {
        let mut recorded = 0;
        for sub in subscriptions {
            let Some(filter) = &sub.filter else { continue };
            if !rules::matches(filter, &c.mineral, &c.importer, &c.methodology) {
                continue;
            }
            let outcome = self.evaluate_one(sub, event_id, c).await;
            recorded += isolation::settle(&self.store, Self::NAME, sub, outcome).await?;
        }
        Ok(recorded)
    }

    /// Evaluates `sub`'s rules against one score change; the alerts recorded.
    async fn evaluate_one(
        &self,
        sub: &pb::Subscription,
        event_id: &str,
        c: &ScoreChanged,
    ) -> Result<usize, EvaluationError> {
        let mut recorded = 0;
        for (i, rule) in sub.rules.iter().enumerate() {
            let fired = match &rule.kind {
                Some(pb::rule::Kind::Threshold(t)) => self.apply_threshold(sub, i, t, event_id, c).await?,
                Some(pb::rule::Kind::Delta(d)) if rules::delta(d.min_delta, c.old_score, c.new_score) => {
                    let alert = alert_of(sub, i, rule, event_id, c);
                    crate::delivery::record_alert(&self.store, sub, &alert, &[]).await?;
                    Some(alert)
                }
                // Policy rules fire on data events, not on score changes.
                Some(pb::rule::Kind::Delta(_) | pb::rule::Kind::Policy(_)) | None => None,
            };
            if let Some(alert) = fired {
                tracing::info!(
                    subscription = sub.id,
                    alert = alert.id,
                    rule = alert.rule,
                    "alert recorded"
                );
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    /// Applies one score event to threshold rule `index` of `sub`: reads the
    /// rule's state, evaluates, and stores the new state (with the alert,
    /// when it fires) only if the state is still what was read. Replicas
    /// handling events of one series at once thus never both fire, and an
    /// event older than the last applied changes nothing.
    async fn apply_threshold(
        &self,
        sub: &pb::Subscription,
        index: usize,
        t: &pb::ThresholdRule,
        event_id: &str,
        c: &ScoreChanged,
    ) -> Result<Option<pb::Alert>, EvaluationError> {
        let Some(event) = supplyrisk_store::entry_id(event_id) else {
            return Ok(None);
        };
        let field = rules::state_field(&sub.id, index, &c.mineral, &c.importer, &c.methodology);
        for _ in 0..MAX_STATE_ATTEMPTS {
            let stored = self
                .store
                .rule_states(std::slice::from_ref(&field))
                .await?
                .pop()
                .flatten();
            let state = RuleState::parse(stored.as_deref());
            if !state.applies(event) {
                return Ok(None);
            }
            let outcome = rules::threshold(t.value, t.hysteresis, state.armed, c.new_score);
            let change = RuleStateChange {
                field: field.clone(),
                expected: stored,
                value: state.after(event, outcome).encode(),
            };
            if outcome.fire {
                let alert = alert_of(sub, index, &sub.rules[index], event_id, c);
                let states = std::slice::from_ref(&change);
                if crate::delivery::record_alert(&self.store, sub, &alert, states)
                    .await?
                    .is_some()
                {
                    return Ok(Some(alert));
                }
            } else if self.store.set_rule_states(std::slice::from_ref(&change)).await? {
                return Ok(None);
            }
        }
        Err(StoreError::Unavailable(format!(
            "the state of rule {index} of {} kept changing under this evaluation",
            sub.id
        ))
        .into())
    }
}

/// Tries at applying one event to a rule while other replicas apply events
/// of the same series; past them the batch is retried by the consumer group.
const MAX_STATE_ATTEMPTS: usize = 4;

/// The alert rule `index` of `sub` raises for score change `c`.
fn alert_of(sub: &pb::Subscription, index: usize, rule: &pb::Rule, event_id: &str, c: &ScoreChanged) -> pb::Alert {
    pb::Alert {
        id: rules::alert_id(&sub.id, index, event_id, &c.mineral, &c.importer, &c.methodology),
        subscription_id: sub.id.clone(),
        rule: rules::describe(rule),
        mineral: c.mineral.clone(),
        importer: c.importer.clone(),
        methodology: c.methodology.clone(),
        old_score: c.old_score,
        new_score: c.new_score,
        delta: c.delta,
        top_reason: c.reasons.first().cloned().unwrap_or_default(),
        trace: crate::delivery::alert_trace(c.trace.as_ref()),
        create_time: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        acknowledged: false,
        cause_event_id: event_id.to_string(),
        policy_event_id: String::new(),
        policy_summary: String::new(),
        webhook_delivery: None,
    }
}
