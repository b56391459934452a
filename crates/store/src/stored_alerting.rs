//! Stored forms of the alerting service's values: subscriptions, alerts and
//! webhook delivery states.
//!
//! As with [`crate::stored`], each has its own type here, converted from and
//! to the API's messages at the store's edge: a field added to the API is
//! stored only once added here, and the field numbers are those the values
//! were first stored with, so earlier data reads unchanged.

use prost_types::Timestamp;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::common::v1::TraceContext;

/// A subscription (webhook secrets are stored apart, see `webhook_secret`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredSubscription {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, optional, tag = "3")]
    pub filter: Option<StoredFilter>,
    #[prost(message, repeated, tag = "4")]
    pub rules: Vec<StoredRule>,
    #[prost(message, optional, tag = "5")]
    pub create_time: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub update_time: Option<Timestamp>,
    #[prost(message, optional, tag = "7")]
    pub webhook: Option<StoredWebhook>,
    /// The principal that created it; empty for subscriptions stored before
    /// owners were recorded (read as [`LEGACY_OWNER`]).
    #[prost(string, tag = "10")]
    pub owner: String,
}

/// The owner of a subscription stored before owners were recorded: the
/// principal every unnamed ingester token stands for, so the callers that
/// could change it before still can.
pub const LEGACY_OWNER: &str = "ingester";

/// Why a subscription last failed to be evaluated.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredSubscriptionError {
    #[prost(string, tag = "1")]
    pub message: String,
    #[prost(message, optional, tag = "2")]
    pub time: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredFilter {
    #[prost(string, repeated, tag = "1")]
    pub minerals: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub importers: Vec<String>,
    #[prost(string, repeated, tag = "3")]
    pub applications: Vec<String>,
    #[prost(string, tag = "4")]
    pub methodology: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredRule {
    #[prost(oneof = "StoredRuleKind", tags = "1, 2, 3")]
    pub kind: Option<StoredRuleKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum StoredRuleKind {
    #[prost(message, tag = "1")]
    Threshold(StoredThreshold),
    #[prost(message, tag = "2")]
    Delta(StoredDelta),
    #[prost(message, tag = "3")]
    Policy(StoredPolicyRule),
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredThreshold {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(double, tag = "2")]
    pub hysteresis: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredDelta {
    #[prost(double, tag = "1")]
    pub min_delta: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredPolicyRule {
    #[prost(double, tag = "1")]
    pub min_supplier_share: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredWebhook {
    #[prost(string, tag = "1")]
    pub url: String,
    #[prost(string, tag = "2")]
    pub secret: String,
    #[prost(bool, tag = "3")]
    pub disabled: bool,
    #[prost(string, tag = "4")]
    pub disabled_reason: String,
}

impl From<&pb::Subscription> for StoredSubscription {
    fn from(s: &pb::Subscription) -> Self {
        StoredSubscription {
            id: s.id.clone(),
            name: s.name.clone(),
            filter: s.filter.as_ref().map(|f| StoredFilter {
                minerals: f.minerals.clone(),
                importers: f.importers.clone(),
                applications: f.applications.clone(),
                methodology: f.methodology.clone(),
            }),
            rules: s
                .rules
                .iter()
                .map(|r| StoredRule {
                    kind: r.kind.as_ref().map(|k| match k {
                        pb::rule::Kind::Threshold(t) => StoredRuleKind::Threshold(StoredThreshold {
                            value: t.value,
                            hysteresis: t.hysteresis,
                        }),
                        pb::rule::Kind::Delta(d) => StoredRuleKind::Delta(StoredDelta { min_delta: d.min_delta }),
                        pb::rule::Kind::Policy(p) => StoredRuleKind::Policy(StoredPolicyRule {
                            min_supplier_share: p.min_supplier_share,
                        }),
                    }),
                })
                .collect(),
            create_time: s.create_time,
            update_time: s.update_time,
            webhook: s.webhook.as_ref().map(|w| StoredWebhook {
                url: w.url.clone(),
                secret: w.secret.clone(),
                disabled: w.disabled,
                disabled_reason: w.disabled_reason.clone(),
            }),
            owner: s.owner.clone(),
        }
    }
}

impl From<StoredSubscription> for pb::Subscription {
    fn from(s: StoredSubscription) -> Self {
        pb::Subscription {
            id: s.id,
            name: s.name,
            filter: s.filter.map(|f| pb::Filter {
                minerals: f.minerals,
                importers: f.importers,
                applications: f.applications,
                methodology: f.methodology,
            }),
            rules: s
                .rules
                .into_iter()
                .map(|r| pb::Rule {
                    kind: r.kind.map(|k| match k {
                        StoredRuleKind::Threshold(t) => pb::rule::Kind::Threshold(pb::ThresholdRule {
                            value: t.value,
                            hysteresis: t.hysteresis,
                        }),
                        StoredRuleKind::Delta(d) => pb::rule::Kind::Delta(pb::DeltaRule { min_delta: d.min_delta }),
                        StoredRuleKind::Policy(p) => pb::rule::Kind::Policy(pb::PolicyRule {
                            min_supplier_share: p.min_supplier_share,
                        }),
                    }),
                })
                .collect(),
            create_time: s.create_time,
            update_time: s.update_time,
            webhook: s.webhook.map(|w| pb::Webhook {
                url: w.url,
                secret: w.secret,
                disabled: w.disabled,
                disabled_reason: w.disabled_reason,
            }),
            // Kept apart (`keys::subscription_errors`) and added by the store.
            last_error: String::new(),
            last_error_time: None,
            owner: if s.owner.is_empty() {
                LEGACY_OWNER.to_string()
            } else {
                s.owner
            },
        }
    }
}

/// An alert as recorded. Whether it is acknowledged and how its webhook
/// delivery stands are kept apart and joined when read.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredAlert {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub subscription_id: String,
    #[prost(string, tag = "3")]
    pub rule: String,
    #[prost(string, tag = "4")]
    pub mineral: String,
    #[prost(string, tag = "5")]
    pub importer: String,
    #[prost(string, tag = "6")]
    pub methodology: String,
    #[prost(double, optional, tag = "7")]
    pub old_score: Option<f64>,
    #[prost(double, tag = "8")]
    pub new_score: f64,
    #[prost(double, tag = "9")]
    pub delta: f64,
    #[prost(string, tag = "10")]
    pub top_reason: String,
    #[prost(message, optional, tag = "11")]
    pub trace: Option<StoredTrace>,
    #[prost(message, optional, tag = "12")]
    pub create_time: Option<Timestamp>,
    #[prost(string, tag = "14")]
    pub cause_event_id: String,
    #[prost(string, tag = "15")]
    pub policy_event_id: String,
    #[prost(string, tag = "16")]
    pub policy_summary: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredTrace {
    #[prost(string, tag = "1")]
    pub traceparent: String,
    #[prost(string, tag = "2")]
    pub tracestate: String,
}

impl From<&pb::Alert> for StoredAlert {
    fn from(a: &pb::Alert) -> Self {
        StoredAlert {
            id: a.id.clone(),
            subscription_id: a.subscription_id.clone(),
            rule: a.rule.clone(),
            mineral: a.mineral.clone(),
            importer: a.importer.clone(),
            methodology: a.methodology.clone(),
            old_score: a.old_score,
            new_score: a.new_score,
            delta: a.delta,
            top_reason: a.top_reason.clone(),
            trace: a.trace.as_ref().map(|t| StoredTrace {
                traceparent: t.traceparent.clone(),
                tracestate: t.tracestate.clone(),
            }),
            create_time: a.create_time,
            cause_event_id: a.cause_event_id.clone(),
            policy_event_id: a.policy_event_id.clone(),
            policy_summary: a.policy_summary.clone(),
        }
    }
}

impl From<StoredAlert> for pb::Alert {
    fn from(a: StoredAlert) -> Self {
        pb::Alert {
            id: a.id,
            subscription_id: a.subscription_id,
            rule: a.rule,
            mineral: a.mineral,
            importer: a.importer,
            methodology: a.methodology,
            old_score: a.old_score,
            new_score: a.new_score,
            delta: a.delta,
            top_reason: a.top_reason,
            trace: a.trace.map(|t| TraceContext {
                traceparent: t.traceparent,
                tracestate: t.tracestate,
            }),
            create_time: a.create_time,
            acknowledged: false,
            cause_event_id: a.cause_event_id,
            policy_event_id: a.policy_event_id,
            policy_summary: a.policy_summary,
            webhook_delivery: None,
        }
    }
}

/// How a webhook delivery stands.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredDelivery {
    /// See [`status_code`].
    #[prost(int32, tag = "1")]
    pub status: i32,
    #[prost(message, repeated, tag = "2")]
    pub attempts: Vec<StoredAttempt>,
    #[prost(message, optional, tag = "3")]
    pub next_attempt_time: Option<Timestamp>,
    #[prost(uint32, tag = "4")]
    pub attempt_count: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredAttempt {
    #[prost(message, optional, tag = "1")]
    pub time: Option<Timestamp>,
    #[prost(uint32, tag = "2")]
    pub http_status: u32,
    #[prost(string, tag = "3")]
    pub error: String,
    #[prost(uint32, tag = "4")]
    pub duration_ms: u32,
}

/// The stored code of a delivery status; fixed, whatever the API's enum becomes.
fn status_code(status: i32) -> i32 {
    match pb::DeliveryStatus::try_from(status).unwrap_or(pb::DeliveryStatus::Unspecified) {
        pb::DeliveryStatus::Unspecified => 0,
        pb::DeliveryStatus::Pending => 1,
        pb::DeliveryStatus::Delivered => 2,
        pb::DeliveryStatus::DeadLettered => 3,
        pb::DeliveryStatus::Disabled => 4,
    }
}

fn status_of(code: i32) -> pb::DeliveryStatus {
    match code {
        1 => pb::DeliveryStatus::Pending,
        2 => pb::DeliveryStatus::Delivered,
        3 => pb::DeliveryStatus::DeadLettered,
        4 => pb::DeliveryStatus::Disabled,
        _ => pb::DeliveryStatus::Unspecified,
    }
}

impl From<&pb::WebhookDelivery> for StoredDelivery {
    fn from(d: &pb::WebhookDelivery) -> Self {
        StoredDelivery {
            status: status_code(d.status),
            attempts: d
                .attempts
                .iter()
                .map(|a| StoredAttempt {
                    time: a.time,
                    http_status: a.http_status,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
            next_attempt_time: d.next_attempt_time,
            attempt_count: d.attempt_count,
        }
    }
}

impl From<StoredDelivery> for pb::WebhookDelivery {
    fn from(d: StoredDelivery) -> Self {
        pb::WebhookDelivery {
            status: status_of(d.status) as i32,
            attempts: d
                .attempts
                .into_iter()
                .map(|a| pb::DeliveryAttempt {
                    time: a.time,
                    http_status: a.http_status,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
            next_attempt_time: d.next_attempt_time,
            attempt_count: d.attempt_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn subscription() -> pb::Subscription {
        pb::Subscription {
            id: "sub-1".into(),
            name: "magnets for Japan".into(),
            filter: Some(pb::Filter {
                minerals: vec!["NDPR".into()],
                importers: vec!["JPN".into(), "USA+JPN".into()],
                applications: vec!["magnets".into()],
                methodology: "eu-crm".into(),
            }),
            rules: vec![
                pb::Rule {
                    kind: Some(pb::rule::Kind::Threshold(pb::ThresholdRule {
                        value: 4.0,
                        hysteresis: 0.2,
                    })),
                },
                pb::Rule {
                    kind: Some(pb::rule::Kind::Delta(pb::DeltaRule { min_delta: 0.5 })),
                },
                pb::Rule {
                    kind: Some(pb::rule::Kind::Policy(pb::PolicyRule {
                        min_supplier_share: 0.3,
                    })),
                },
            ],
            create_time: Some(Timestamp {
                seconds: 1_764_000_000,
                nanos: 5,
            }),
            update_time: None,
            webhook: Some(pb::Webhook {
                url: "https://hooks.example/a".into(),
                secret: String::new(),
                disabled: true,
                disabled_reason: "410 Gone".into(),
            }),
            last_error: String::new(),
            last_error_time: None,
            owner: "team-a".into(),
        }
    }

    fn alert() -> pb::Alert {
        pb::Alert {
            id: "a-1".into(),
            subscription_id: "sub-1".into(),
            rule: "score >= 4".into(),
            mineral: "NDPR".into(),
            importer: "JPN".into(),
            methodology: "eu-crm".into(),
            old_score: Some(3.9),
            new_score: 4.1,
            delta: 0.2,
            top_reason: "China processes 90%".into(),
            trace: Some(TraceContext {
                traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
                tracestate: String::new(),
            }),
            create_time: Some(Timestamp {
                seconds: 1_764_000_001,
                nanos: 0,
            }),
            acknowledged: false,
            cause_event_id: "1-0".into(),
            policy_event_id: String::new(),
            policy_summary: String::new(),
            webhook_delivery: None,
        }
    }

    fn delivery() -> pb::WebhookDelivery {
        pb::WebhookDelivery {
            status: pb::DeliveryStatus::DeadLettered as i32,
            attempts: vec![pb::DeliveryAttempt {
                time: Some(Timestamp {
                    seconds: 1_764_000_002,
                    nanos: 0,
                }),
                http_status: 503,
                error: "service unavailable".into(),
                duration_ms: 12,
            }],
            next_attempt_time: None,
            attempt_count: 9,
        }
    }

    /// Values written by earlier releases (the API messages of then) read
    /// back the same, and the store writes the same bytes.
    #[test]
    fn alerting_values_stored_as_wire_messages_by_earlier_releases_still_read() {
        let s = subscription();
        let before = s.encode_to_vec();
        assert_eq!(StoredSubscription::from(&s).encode_to_vec(), before);
        assert_eq!(
            pb::Subscription::from(StoredSubscription::decode(before.as_slice()).expect("decodes")),
            s
        );
        // Stored before owners were recorded: the unnamed ingesters' principal.
        let unowned = pb::Subscription {
            owner: String::new(),
            ..s.clone()
        }
        .encode_to_vec();
        let read = pb::Subscription::from(StoredSubscription::decode(unowned.as_slice()).expect("decodes"));
        assert_eq!(read.owner, LEGACY_OWNER);

        let a = alert();
        let before = a.encode_to_vec();
        assert_eq!(StoredAlert::from(&a).encode_to_vec(), before);
        assert_eq!(
            pb::Alert::from(StoredAlert::decode(before.as_slice()).expect("decodes")),
            a
        );

        let d = delivery();
        let before = d.encode_to_vec();
        assert_eq!(StoredDelivery::from(&d).encode_to_vec(), before);
        assert_eq!(
            pb::WebhookDelivery::from(StoredDelivery::decode(before.as_slice()).expect("decodes")),
            d
        );
    }

    #[test]
    fn what_an_alert_reader_joins_is_not_stored_with_the_alert() {
        let mut a = alert();
        a.acknowledged = true;
        a.webhook_delivery = Some(delivery());
        let read =
            pb::Alert::from(StoredAlert::decode(StoredAlert::from(&a).encode_to_vec().as_slice()).expect("decodes"));
        assert!(!read.acknowledged && read.webhook_delivery.is_none());
    }
}
