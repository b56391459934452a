//! Helpers shared by the alerting end-to-end tests.
#![allow(clippy::unwrap_used, dead_code, unused_imports)]

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_testkit::{Bearer, Cluster};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// An alerting client with `token`.
pub type Alerting = AlertingServiceClient<InterceptedService<Channel, Bearer>>;

pub fn start() -> Cluster {
    Cluster::start()
}

pub async fn alerting(c: &Cluster, token: &str) -> Alerting {
    AlertingServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.alerting.endpoint()).await,
        Bearer(Some(token.into())),
    )
}

pub use supplyrisk_testkit::fixtures::{
    first_score_published, ree_japan_subscription, ree_score_for_japan as current_score, seed_ree as seed,
    set_ree_production as set_production,
};

pub fn threshold_subscription(value: f64, hysteresis: f64) -> pb::Subscription {
    let rule = pb::rule::Kind::Threshold(pb::ThresholdRule { value, hysteresis });
    let mut subscription = ree_japan_subscription("REE for Japan", rule, None);
    // The catalog name rather than the id, so tests also see it normalized.
    subscription.filter.as_mut().unwrap().minerals = vec!["rare earths".into()];
    subscription
}

pub async fn alert_count(client: &mut Alerting, sub: &str) -> usize {
    client
        .list_alerts(pb::ListAlertsRequest {
            subscription_id: sub.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
        .len()
}

/// The subscription's alert count once it is above zero, polling for up to
/// `limit`; zero when none arrived in time.
pub async fn first_alerts(client: &mut Alerting, sub: &str, limit: std::time::Duration) -> usize {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let n = alert_count(client, sub).await;
        if n > 0 || tokio::time::Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Opens `StreamAlerts` for `subscription` after `resume_after` ("" = from the start).
pub async fn open_stream(
    client: &mut Alerting,
    subscription: String,
    resume_after: String,
) -> tonic::Streaming<pb::Alert> {
    client
        .stream_alerts(pb::StreamAlertsRequest {
            subscription_id: subscription,
            resume_after,
        })
        .await
        .unwrap()
        .into_inner()
}

/// The next alert on `stream`, within 20 s.
pub async fn next_alert(stream: &mut tonic::Streaming<pb::Alert>) -> pb::Alert {
    tokio::time::timeout(std::time::Duration::from_secs(20), stream.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
}

/// Cluster options letting alerting post webhooks to loopback receivers,
/// with short retry backoffs, plus `extra` settings.
pub fn webhook_options(extra: &[(&str, &str)]) -> supplyrisk_testkit::ClusterOptions {
    let mut options = supplyrisk_testkit::ClusterOptions::default();
    options.env.extend(
        [
            ("SUPPLYRISK__ALERTING__WEBHOOK_ALLOW", "127.0.0.1"),
            ("SUPPLYRISK__ALERTING__WEBHOOK_INITIAL_BACKOFF_MS", "200"),
            ("SUPPLYRISK__ALERTING__WEBHOOK_MAX_BACKOFF_MS", "1000"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    options
}

/// Records export licensing by `country` on rare earths from 2025-04-04; returns the event id.
pub async fn record_ree_licensing(c: &Cluster, country: &str, summary: &str) -> String {
    let from = supplyrisk_api::common::v1::Date {
        year: 2025,
        month: 4,
        day: 4,
    };
    record_ree_licensing_from(c, country, summary, from).await
}

/// Records export licensing by `country` on rare earths from `from`; returns the event id.
pub async fn record_ree_licensing_from(
    c: &Cluster,
    country: &str,
    summary: &str,
    from: supplyrisk_api::common::v1::Date,
) -> String {
    let mut ingest =
        supplyrisk_testkit::ingest_client(&c.ingest.endpoint(), Some(supplyrisk_testkit::INGESTER_TOKEN)).await;
    let event = supplyrisk_api::ingest::v1::PolicyEvent {
        country: country.into(),
        minerals: vec!["REE".into()],
        measure: supplyrisk_api::ingest::v1::PolicyMeasure::Licensing as i32,
        effective_from: Some(from),
        severity: 0.5,
        source_reference: "test notice".into(),
        summary: summary.into(),
        ..Default::default()
    };
    let recorded = ingest
        .record_policy_event(supplyrisk_api::ingest::v1::RecordPolicyEventRequest { event: Some(event) })
        .await
        .unwrap()
        .into_inner();
    recorded.event.unwrap().id
}
