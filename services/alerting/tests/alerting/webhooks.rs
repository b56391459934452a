//! Webhook delivery end to end: Redis, ingest, scoring and alerting as real
//! processes, and a real HTTP receiver on loopback (allow-listed).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_testkit::webhook_receiver::{Received, WebhookReceiver};
use supplyrisk_testkit::{Cluster, INGESTER_TOKEN, READER_TOKEN, eventually};
use tonic::Code;

use crate::common::*;

/// 32 bytes, as a subscriber would generate them.
const SECRET: &str = "whsec_c3VwcGx5cmlzay13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYg==";

fn cluster(extra: &[(&str, &str)]) -> Cluster {
    Cluster::start_with(webhook_options(extra))
}

/// Verifies a request the way a Standard Webhooks receiver does, written
/// here from the specification rather than with the service's own code.
fn verify(r: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.signature.split(' ').any(|s| s == expected)
}

fn delta_subscription(url: &str, secret: &str) -> pb::Subscription {
    ree_japan_subscription(
        "REE moves, to a webhook",
        pb::rule::Kind::Delta(pb::DeltaRule { min_delta: 0.01 }),
        Some(pb::Webhook {
            url: url.into(),
            secret: secret.into(),
            ..Default::default()
        }),
    )
}

async fn create(client: &mut Alerting, sub: pb::Subscription) -> pb::Subscription {
    client
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(sub),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn alerts(client: &mut Alerting, sub: &str, status: pb::DeliveryStatus) -> Vec<pb::Alert> {
    client
        .list_alerts(pb::ListAlertsRequest {
            subscription_id: sub.into(),
            delivery_status: status as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
}

async fn ready(c: &Cluster) {
    seed(c).await;
    assert!(first_score_published(c).await);
}

/// Waits until `sub` has `n` alerts with delivery `status`.
async fn wait_status(
    client: &mut Alerting,
    sub: &str,
    status: pb::DeliveryStatus,
    n: usize,
    within: Duration,
) -> Vec<pb::Alert> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let found = alerts(client, sub, status).await;
        if found.len() >= n || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn alerts_arrive_signed_secrets_stay_hidden_and_gone_or_failing_receivers_stop() {
    let c = cluster(&[("SUPPLYRISK__ALERTING__WEBHOOK_MAX_AGE_SECS", "3")]);
    ready(&c).await;
    let receiver = WebhookReceiver::start();
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let mut reader = alerting(&c, READER_TOKEN).await;

    // Field-level errors: a refused address, a malformed secret, a missing secret.
    let err = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(delta_subscription("http://10.1.2.3/hook", "whsec_short")),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = tonic_types::StatusExt::get_error_details(&err);
    let fields: Vec<String> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("subscription.webhook.url: refused: 10.1.2.3 is a private address")),
        "{fields:?}"
    );
    assert!(
        fields.iter().any(|f| f.starts_with("subscription.webhook.secret")),
        "{fields:?}"
    );
    for url in [
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/x",
        "ftp://example.com/x",
    ] {
        let err = writer
            .create_subscription(pb::CreateSubscriptionRequest {
                subscription: Some(delta_subscription(url, SECRET)),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{url}");
    }
    let err = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(delta_subscription(&receiver.url("/hook"), "")),
        })
        .await
        .unwrap_err();
    assert!(
        err.message().contains("subscription.webhook.secret"),
        "{}",
        err.message()
    );

    // A valid webhook: the secret is write-only.
    let sub = create(
        &mut writer,
        delta_subscription(&receiver.url("/hook?team=procurement"), SECRET),
    )
    .await;
    assert_eq!(
        sub.webhook.as_ref().unwrap().secret,
        "",
        "create never echoes the secret"
    );
    let got = reader
        .get_subscription(pb::GetSubscriptionRequest { id: sub.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.webhook.as_ref().unwrap().secret, "");
    let listed = reader
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed
            .subscriptions
            .iter()
            .all(|s| s.webhook.as_ref().is_none_or(|w| w.secret.is_empty()))
    );
    assert_eq!(got.webhook.as_ref().unwrap().url, "", "a reader does not see the URL");
    // An update without a secret keeps the stored one (the owner reads the URL).
    let mut renamed = writer
        .get_subscription(pb::GetSubscriptionRequest { id: sub.id.clone() })
        .await
        .unwrap()
        .into_inner();
    renamed.name = "renamed".into();
    writer
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(renamed),
        })
        .await
        .unwrap();

    // One data change crossing the delta: one alert on the stream, one signed webhook.
    let mut stream = open_stream(&mut reader, sub.id.clone(), String::new()).await;
    set_production(&c, 90.0).await;
    let alert = next_alert(&mut stream).await;
    let received = receiver.wait_for(1, Duration::from_secs(10));
    assert_eq!(received.len(), 1, "exactly one webhook");
    let r = &received[0];
    assert_eq!(r.id, alert.id, "webhook-id is the alert id");
    assert_eq!(r.path, "/hook?team=procurement");
    assert_eq!(r.content_type, "application/json");
    assert!(verify(r, SECRET), "signature verifies with the subscription secret");
    assert!(
        !verify(r, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        "and not with another"
    );
    let ts: i64 = r.timestamp.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 60, "timestamp is current");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["type"], "alert.fired");
    assert_eq!(body["data"]["id"], alert.id.as_str());
    assert_eq!(body["data"]["mineral"], "REE");
    assert_eq!(body["data"]["new_score"], alert.new_score);
    let delivered = wait_status(
        &mut reader,
        &sub.id,
        pb::DeliveryStatus::Delivered,
        1,
        Duration::from_secs(5),
    )
    .await;
    let delivery = delivered[0].webhook_delivery.as_ref().unwrap();
    assert_eq!(delivery.attempt_count, 1);
    assert_eq!(delivery.attempts[0].http_status, 204);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "no duplicate after success");

    // 410 Gone disables the webhook; later alerts are not sent.
    receiver.respond_with(410);
    set_production(&c, 40.0).await;
    let disabled = wait_status(
        &mut reader,
        &sub.id,
        pb::DeliveryStatus::Disabled,
        1,
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(disabled.len(), 1);
    let got = reader
        .get_subscription(pb::GetSubscriptionRequest { id: sub.id.clone() })
        .await
        .unwrap()
        .into_inner();
    let webhook = got.webhook.unwrap();
    assert!(webhook.disabled);
    assert!(webhook.disabled_reason.contains("410"), "{}", webhook.disabled_reason);
    let sent = receiver.received().len();
    set_production(&c, 80.0).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            alert_count(&mut alerting(&c, READER_TOKEN).await, &sub.id).await == 3
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), sent, "a disabled webhook gets nothing");

    // A receiver that keeps failing: retried with backoff, then dead-lettered
    // after the maximum age (3 s here), and findable by that status.
    let failing = WebhookReceiver::start();
    failing.respond_with(503);
    let sub2 = create(&mut writer, delta_subscription(&failing.url("/"), SECRET)).await;
    set_production(&c, 30.0).await;
    let dead = wait_status(
        &mut reader,
        &sub2.id,
        pb::DeliveryStatus::DeadLettered,
        1,
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(dead.len(), 1, "dead-lettered and listed by status");
    let delivery = dead[0].webhook_delivery.as_ref().unwrap();
    assert!(delivery.attempt_count >= 3, "retried first: {delivery:?}");
    assert!(delivery.attempts.iter().all(|a| a.http_status == 503));
    let ids: std::collections::HashSet<String> = failing.received().iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), 1, "every retry carries the same webhook-id");
    assert!(
        alerts(&mut reader, &sub2.id, pb::DeliveryStatus::Delivered)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_receiver_down_for_30_seconds_gets_the_alert_when_it_is_back() {
    let c = cluster(&[]);
    ready(&c).await;
    let mut receiver = WebhookReceiver::start();
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    let sub = create(&mut writer, delta_subscription(&receiver.url("/down"), SECRET)).await;
    receiver.stop();
    set_production(&c, 90.0).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let pending = alerts(&mut reader, &sub.id, pb::DeliveryStatus::Pending).await;
    assert_eq!(pending.len(), 1, "still pending while the receiver is down");
    let delivery = pending[0].webhook_delivery.as_ref().unwrap();
    assert!(delivery.attempt_count >= 5, "{delivery:?}");
    assert!(
        delivery
            .attempts
            .iter()
            .all(|a| a.http_status == 0 && !a.error.is_empty())
    );
    assert!(delivery.next_attempt_time.is_some());
    receiver.restart();
    let got = receiver.wait_for(1, Duration::from_secs(10));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, pending[0].id);
    assert!(verify(&got[0], SECRET));
    let delivered = wait_status(
        &mut reader,
        &sub.id,
        pb::DeliveryStatus::Delivered,
        1,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(delivered.len(), 1);
}

#[tokio::test]
async fn kill9_of_alerting_mid_delivery_delivers_every_alert_with_duplicates_only_by_id() {
    let mut c = cluster(&[("SUPPLYRISK__ALERTING__WEBHOOK_TIMEOUT_MS", "1500")]);
    ready(&c).await;
    let receiver = WebhookReceiver::start();
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let sub = create(&mut writer, delta_subscription(&receiver.url("/slow"), SECRET)).await;
    // The receiver holds its answers, so the process dies with attempts in flight.
    receiver.respond_after(Duration::from_secs(60));
    for chn in [90.0, 20.0, 70.0] {
        set_production(&c, chn).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(
        eventually(Duration::from_secs(20), || async {
            alert_count(&mut alerting(&c, READER_TOKEN).await, &sub.id).await == 3
        })
        .await
    );
    assert!(
        !receiver.wait_for(1, Duration::from_secs(10)).is_empty(),
        "an attempt is in flight"
    );
    c.alerting.kill9();
    receiver.respond_after(Duration::ZERO);
    c.alerting.restart();
    // Leases run out (timeout + 5 s) and the restarted process sends again.
    let mut reader = alerting(&c, READER_TOKEN).await;
    let all = alerts(&mut reader, &sub.id, pb::DeliveryStatus::Unspecified).await;
    let expected: std::collections::BTreeSet<String> = all.iter().map(|a| a.id.clone()).collect();
    assert_eq!(expected.len(), 3);
    let delivered = wait_status(
        &mut reader,
        &sub.id,
        pb::DeliveryStatus::Delivered,
        3,
        Duration::from_secs(40),
    )
    .await;
    assert_eq!(delivered.len(), 3, "every alert delivered after the restart");
    let received = receiver.received();
    let got: std::collections::BTreeSet<String> = received.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        got, expected,
        "receiver saw exactly the alerts' ids (duplicates share an id)"
    );
    assert!(received.iter().all(|r| verify(r, SECRET)));
}
