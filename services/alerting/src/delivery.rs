//! Webhook delivery: at least once, signed, retried, and resumable.
//!
//! An alert is recorded together with its queued delivery (one Lua script),
//! so a delivery can never be lost between recording and sending. Any
//! replica claims due deliveries with a lease; an attempt's outcome is
//! saved with the next due time in one transaction. A process killed
//! mid-attempt leaves the lease to expire and the delivery is attempted
//! again, with the same `webhook-id`, so receivers can drop the duplicate.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::common::v1::TraceContext;
use supplyrisk_service::{Shutdown, Worker};
use supplyrisk_store::deliveries::{DueDelivery, NewDelivery};
use supplyrisk_store::{RuleStateChange, Store, StoreError};
use supplyrisk_telemetry::metrics::{self, WebhookOutcome};
use supplyrisk_telemetry::propagation::{self, TraceCarrier};
use supplyrisk_telemetry::{SpanExt, attributes};
use supplyrisk_webhook::client::{Outcome, classify, parse_url};
use supplyrisk_webhook::retry::Next;
use supplyrisk_webhook::{Delivery, RetryPolicy, Secret, SecretKeys, WebhookClient};

use crate::settings::AlertingSection;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument;

/// Attempts kept in an alert's delivery record (the most recent).
const ATTEMPTS_KEPT: usize = 20;
/// How long a claimed delivery stays reserved beyond the attempt timeout.
const LEASE_MARGIN: Duration = Duration::from_secs(5);
/// How often the queue is checked for retries and other replicas' alerts.
const POLL: Duration = Duration::from_millis(250);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn timestamp_ms(ms: u64) -> prost_types::Timestamp {
    prost_types::Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

/// The trace context an alert carries: the evaluation that fired it (itself
/// linked to the score change), so a webhook attempt can link on to it;
/// the triggering event's context when this process is not tracing.
pub fn alert_trace(event: Option<&TraceContext>) -> Option<TraceContext> {
    let carrier = propagation::current_carrier();
    if carrier.traceparent.is_empty() {
        return event.cloned();
    }
    Some(TraceContext {
        traceparent: carrier.traceparent,
        tracestate: carrier.tracestate,
    })
}

/// True when alerts of `sub` go to a webhook.
pub fn has_active_webhook(sub: &pb::Subscription) -> bool {
    sub.webhook.as_ref().is_some_and(|w| !w.url.is_empty() && !w.disabled)
}

/// Records `alert` of `sub` once, with rule `states`, queueing its webhook
/// delivery when the subscription has one. Every alert is recorded here.
pub async fn record_alert(
    store: &Store,
    sub: &pb::Subscription,
    alert: &pb::Alert,
    states: &[RuleStateChange],
) -> Result<Option<String>, StoreError> {
    let initial = pb::WebhookDelivery {
        status: pb::DeliveryStatus::Pending as i32,
        ..Default::default()
    };
    let delivery = has_active_webhook(sub).then(|| NewDelivery {
        due_ms: now_ms(),
        state: &initial,
    });
    store.record_alert(alert, states, delivery).await
}

/// The JSON body of a webhook: Standard Webhooks' `type`, `timestamp`, `data`.
pub fn body(alert: &pb::Alert) -> Bytes {
    let time = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.to_string());
    let value = serde_json::json!({
        "type": "alert.fired",
        "timestamp": time(&alert.create_time),
        "data": {
            "id": alert.id,
            "subscription_id": alert.subscription_id,
            "rule": alert.rule,
            "mineral": alert.mineral,
            "importer": alert.importer,
            "methodology": alert.methodology,
            "old_score": alert.old_score,
            "new_score": alert.new_score,
            "delta": alert.delta,
            "top_reason": alert.top_reason,
            "cause_event_id": alert.cause_event_id,
            "policy_event_id": alert.policy_event_id,
            "policy_summary": alert.policy_summary,
            "create_time": time(&alert.create_time),
            "traceparent": alert.trace.as_ref().map(|t| t.traceparent.as_str()),
        }
    });
    Bytes::from(value.to_string())
}

/// What one attempt means for the delivery.
enum Verdict {
    Delivered,
    /// 410 Gone: the receiver asks us to stop; the webhook is disabled.
    Gone,
    /// The destination is refused or malformed: retrying cannot help.
    Refused,
    Retry,
}

/// Sends queued webhooks until stopped.
pub struct Deliverer {
    store: Store,
    /// Sends one attempt.
    client: WebhookClient,
    /// When to retry and when to give up.
    retry: RetryPolicy,
    /// Bound on one attempt (the client enforces it; the lease covers it).
    timeout: Duration,
    /// Attempts in flight at once.
    concurrency: usize,
    /// Woken when this process records alerts.
    wake: Arc<Notify>,
    /// Open the sealed signing secrets.
    keys: Arc<SecretKeys>,
}

impl Deliverer {
    /// A deliverer sending with `client` on the schedule of `settings`,
    /// woken by `wake` when alerts are recorded.
    pub fn new(
        store: Store,
        client: WebhookClient,
        wake: Arc<Notify>,
        settings: &AlertingSection,
        keys: Arc<SecretKeys>,
    ) -> Self {
        Self {
            store,
            client,
            retry: settings.webhook_retry(),
            timeout: Duration::from_millis(settings.webhook_timeout_ms),
            concurrency: settings.webhook_concurrency,
            wake,
            keys,
        }
    }
}

impl Worker for Deliverer {
    const NAME: &'static str = "webhook-deliverer";

    /// Attempts in flight finish within their timeout; unfinished ones are
    /// retried by whichever process next finds their lease expired.
    fn drain(&self) -> Duration {
        self.timeout + Duration::from_secs(1)
    }

    fn run(self, shutdown: Shutdown) -> impl Future<Output = ()> + Send {
        Arc::new(self).deliver(shutdown)
    }
}

impl Deliverer {
    async fn deliver(self: Arc<Self>, mut shutdown: Shutdown) {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let mut in_flight = JoinSet::new();
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let free = slots.available_permits();
            if free > 0 {
                let now = now_ms();
                let lease = now + (self.timeout + LEASE_MARGIN).as_millis() as u64;
                match self.store.claim_deliveries(now, lease, free).await {
                    Ok(due) => {
                        for d in due {
                            let Ok(slot) = slots.clone().try_acquire_owned() else {
                                break;
                            };
                            let this = self.clone();
                            in_flight.spawn(async move {
                                this.attempt(d).await;
                                drop(slot);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot claim webhook deliveries"),
                }
            }
            while in_flight.try_join_next().is_some() {}
            let wait = match self.store.next_delivery_due().await {
                Ok(Some(due)) => Duration::from_millis(due.saturating_sub(now_ms())).min(POLL),
                _ => POLL,
            };
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(wait) => {}
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = shutdown.recv() => break,
            }
        }
        while in_flight.join_next().await.is_some() {}
    }

    async fn attempt(&self, due: DueDelivery) {
        if let Err(e) = self.try_attempt(&due).await {
            // The lease expires and the delivery comes due again.
            tracing::warn!(subscription = due.subscription, alert = due.alert, error = %e, "webhook attempt not saved");
        }
    }

    async fn try_attempt(&self, due: &DueDelivery) -> Result<(), StoreError> {
        let store = &self.store;
        let alert_ids = [due.alert.clone()];
        // Independent reads, so one round trip's wait instead of four.
        let (sub, payload, state, secret) = tokio::try_join!(
            store.subscription(&due.subscription),
            store.alert(&due.subscription, &due.alert),
            store.delivery_states(&due.subscription, &alert_ids),
            store.webhook_secret(&due.subscription),
        )?;
        let (Some(sub), Some(alert)) = (sub, payload) else {
            // Subscription deleted or alert trimmed away: nothing left to send.
            return store.drop_delivery(&due.subscription, &due.alert).await;
        };
        // A secret that does not open is a configuration fault (a key
        // dropped too soon): the attempt waits for its lease to run out.
        let secret = secret
            .map(|s| self.keys.open(&s))
            .transpose()
            .map_err(|e| StoreError::Internal(format!("webhook secret of {}: {e}", due.subscription)))?;
        let mut state = state.into_iter().next().flatten().unwrap_or_default();
        let webhook = sub.webhook.clone().unwrap_or_default();
        let (Some(secret), true) = (secret, has_active_webhook(&sub)) else {
            state.status = pb::DeliveryStatus::Disabled as i32;
            state.next_attempt_time = None;
            return self.save(due, &state, None).await;
        };
        let span = tracing::info_span!(
            "webhook",
            otel.name = "alerting.webhook.deliver",
            otel.kind = "client",
            alert = alert.id,
            attempt = state.attempt_count + 1
        );
        if let Some(t) = &alert.trace {
            let carrier = TraceCarrier {
                traceparent: t.traceparent.clone(),
                tracestate: t.tracestate.clone(),
            };
            propagation::link_from_carrier(&span, &carrier);
        }
        if let Ok(dest) = parse_url(&webhook.url) {
            span.set_attribute(attributes::SERVER_ADDRESS, dest.host);
            span.set_attribute(attributes::SERVER_PORT, i64::from(dest.port));
        }
        let next = self
            .send(&sub, &webhook, &secret, &alert, &mut state)
            .instrument(span.clone())
            .await?;
        let outcome = match pb::DeliveryStatus::try_from(state.status) {
            Ok(pb::DeliveryStatus::Delivered) => "delivered",
            Ok(pb::DeliveryStatus::DeadLettered) => "dead_lettered",
            Ok(pb::DeliveryStatus::Disabled) => "disabled",
            _ => "retry",
        };
        span.set_attribute(attributes::WEBHOOK_OUTCOME, outcome);
        self.save(due, &state, next).await
    }

    /// Saves an attempt's outcome under its lease; an attempt whose lease
    /// ran out leaves the delivery to the replica that claimed it since.
    async fn save(&self, due: &DueDelivery, state: &pb::WebhookDelivery, next: Option<u64>) -> Result<(), StoreError> {
        if !self.store.save_delivery(due, state, next).await? {
            tracing::warn!(
                subscription = due.subscription,
                alert = due.alert,
                "webhook attempt outlived its lease; the newer claim's outcome stands"
            );
        }
        Ok(())
    }

    /// One attempt; updates `state` and returns the next due time, if any.
    async fn send(
        &self,
        sub: &pb::Subscription,
        webhook: &pb::Webhook,
        secret: &str,
        alert: &pb::Alert,
        state: &mut pb::WebhookDelivery,
    ) -> Result<Option<u64>, StoreError> {
        let started = Instant::now();
        let result = match Secret::parse(secret) {
            Ok(secret) => {
                let delivery = Delivery {
                    url: &webhook.url,
                    secret: &secret,
                    id: &alert.id,
                    body: body(alert),
                };
                let unix = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                self.client.post(&delivery, unix).await
            }
            Err(e) => Err(supplyrisk_webhook::AttemptError::InvalidUrl(format!(
                "stored secret: {e}"
            ))),
        };
        let now = now_ms();
        let mut attempt = pb::DeliveryAttempt {
            time: Some(timestamp_ms(now)),
            duration_ms: started.elapsed().as_millis().min(u128::from(u32::MAX)) as u32,
            ..Default::default()
        };
        let verdict = match &result {
            Ok(status) => {
                attempt.http_status = u32::from(*status);
                match classify(*status) {
                    Outcome::Delivered => Verdict::Delivered,
                    Outcome::Gone => Verdict::Gone,
                    Outcome::Retry => Verdict::Retry,
                }
            }
            Err(e) => {
                attempt.error = e.to_string();
                if e.is_permanent() {
                    Verdict::Refused
                } else {
                    Verdict::Retry
                }
            }
        };
        metrics::webhook_attempt(if matches!(verdict, Verdict::Delivered) {
            WebhookOutcome::Delivered
        } else {
            WebhookOutcome::Failed
        });
        state.attempt_count += 1;
        state.attempts.push(attempt);
        if state.attempts.len() > ATTEMPTS_KEPT {
            state.attempts.remove(0);
        }
        state.next_attempt_time = None;
        tracing::info!(status = ?result, "webhook attempt");
        match verdict {
            Verdict::Delivered => {
                state.status = pb::DeliveryStatus::Delivered as i32;
                Ok(None)
            }
            Verdict::Gone => {
                state.status = pb::DeliveryStatus::Disabled as i32;
                self.disable(&sub.id, "the endpoint answered 410 Gone").await?;
                Ok(None)
            }
            Verdict::Refused => {
                state.status = pb::DeliveryStatus::DeadLettered as i32;
                metrics::webhook_dead_lettered();
                tracing::warn!(alert = alert.id, "webhook dead-lettered: destination refused");
                Ok(None)
            }
            Verdict::Retry => {
                let created = alert
                    .create_time
                    .and_then(|t| SystemTime::try_from(t).ok())
                    .unwrap_or_else(SystemTime::now);
                let age = SystemTime::now().duration_since(created).unwrap_or_default();
                match self.retry.next(state.attempt_count, age, rand::random::<f64>()) {
                    Next::RetryAfter(delay) => {
                        let due = now + delay.as_millis() as u64;
                        state.status = pb::DeliveryStatus::Pending as i32;
                        state.next_attempt_time = Some(timestamp_ms(due));
                        Ok(Some(due))
                    }
                    Next::DeadLetter => {
                        state.status = pb::DeliveryStatus::DeadLettered as i32;
                        metrics::webhook_dead_lettered();
                        tracing::warn!(alert = alert.id, "webhook dead-lettered: maximum age reached");
                        Ok(None)
                    }
                }
            }
        }
    }

    /// Marks the subscription's webhook disabled (it stays visible with the reason).
    async fn disable(&self, subscription: &str, reason: &str) -> Result<(), StoreError> {
        let Some(mut sub) = self.store.subscription(subscription).await? else {
            return Ok(());
        };
        if let Some(w) = sub.webhook.as_mut() {
            w.disabled = true;
            w.disabled_reason = reason.to_string();
            tracing::warn!(subscription, reason, "webhook disabled");
            self.store.put_subscription(&sub).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_follows_the_standard_webhooks_envelope() {
        let alert = pb::Alert {
            id: "a1".into(),
            subscription_id: "sub-1".into(),
            mineral: "REE".into(),
            importer: "JPN".into(),
            old_score: None,
            new_score: 2.5,
            create_time: Some(timestamp_ms(1_700_000_000_000)),
            ..Default::default()
        };
        let v: serde_json::Value = serde_json::from_slice(&body(&alert)).expect("json");
        assert_eq!(v["type"], "alert.fired");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20Z");
        assert_eq!(v["data"]["id"], "a1");
        assert_eq!(v["data"]["old_score"], serde_json::Value::Null);
        assert_eq!(v["data"]["new_score"], 2.5);
    }

    #[test]
    fn only_enabled_webhooks_are_active() {
        let mut sub = pb::Subscription::default();
        assert!(!has_active_webhook(&sub));
        sub.webhook = Some(pb::Webhook {
            url: "https://x.example/h".into(),
            ..Default::default()
        });
        assert!(has_active_webhook(&sub));
        sub.webhook.as_mut().expect("set").disabled = true;
        assert!(!has_active_webhook(&sub));
    }
}
