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
use supplyrisk_store::{Store, StreamEntry, keys};
use supplyrisk_telemetry::propagation::{self, TraceCarrier};
use tokio::sync::Notify;
use tracing::Instrument;

use crate::isolation::{self, EvaluationError};
use crate::rules;
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
            let state_key = rules::state_field(&sub.id, i, &c.mineral, &c.importer, &c.methodology);
            let (fire, states) = match &rule.kind {
                Some(pb::rule::Kind::Threshold(t)) => {
                    let armed = self
                        .store
                        .rule_states(std::slice::from_ref(&state_key))
                        .await?
                        .pop()
                        .flatten();
                    let armed = armed.as_deref() != Some("0");
                    let o = rules::threshold(t.value, t.hysteresis, armed, c.new_score);
                    let states = if o.armed != armed {
                        vec![(state_key, if o.armed { "1" } else { "0" }.to_string())]
                    } else {
                        Vec::new()
                    };
                    (o.fire, states)
                }
                Some(pb::rule::Kind::Delta(d)) => (rules::delta(d.min_delta, c.old_score, c.new_score), Vec::new()),
                // Policy rules fire on data events, not on score changes.
                Some(pb::rule::Kind::Policy(_)) | None => (false, Vec::new()),
            };
            if !fire {
                self.store.set_rule_states(&states).await?;
                continue;
            }
            let alert = pb::Alert {
                id: rules::alert_id(&sub.id, i, event_id, &c.mineral, &c.importer, &c.methodology),
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
            };
            crate::delivery::record_alert(&self.store, sub, &alert, &states).await?;
            tracing::info!(
                subscription = sub.id,
                alert = alert.id,
                rule = alert.rule,
                "alert recorded"
            );
            recorded += 1;
        }
        Ok(recorded)
    }
}
