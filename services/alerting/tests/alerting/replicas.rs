//! Two replicas of scoring and of alerting on one Redis, one of each killed
//! with SIGKILL while data keeps changing: the latest score is a fresh
//! computation over the latest data, every score change gives exactly one
//! alert, and every alert reaches the webhook.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_testkit::webhook_receiver::WebhookReceiver;
use supplyrisk_testkit::{Bearer, Cluster, INGESTER_TOKEN, READER_TOKEN, ServiceProcess, eventually};

use crate::common::*;

const SECRET: &str = "whsec_c3VwcGx5cmlzay13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYg==";

async fn alerting_at(p: &ServiceProcess, token: &str) -> Alerting {
    AlertingServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&p.endpoint()).await,
        Bearer(Some(token.into())),
    )
}

/// The latest recorded score and a fresh computation, from `scoring`.
async fn recorded_and_fresh(scoring: &ServiceProcess) -> (f64, f64) {
    let mut client = ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );
    let history = client
        .get_score_history(spb::GetScoreHistoryRequest {
            mineral: "REE".into(),
            importer: "JPN".into(),
            methodology: spb::Methodology::EuCrm as i32,
        })
        .await
        .unwrap()
        .into_inner();
    let fresh = client
        .get_risk_score(supplyrisk_testkit::fixtures::ree_japan_score_request())
        .await
        .unwrap()
        .into_inner();
    (history.points.first().map_or(f64::NAN, |p| p.score), fresh.score)
}

/// Every alert of `sub`, in the order of the score events that caused them.
async fn alerts_in_event_order(client: &mut Alerting, sub: &str) -> Vec<pb::Alert> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = client
            .list_alerts(pb::ListAlertsRequest {
                subscription_id: sub.into(),
                page_size: 500,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        all.extend(page.alerts);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let order = |a: &pb::Alert| supplyrisk_store::entry_id(&a.cause_event_id).unwrap();
    all.sort_by_key(order);
    all
}

#[tokio::test]
async fn two_replicas_of_each_with_one_killed_repeat_and_lose_nothing() {
    let mut c = Cluster::start_with(webhook_options(&[]));
    seed(&c).await;
    assert!(first_score_published(&c).await);
    let scoring2 = c.scoring.replica();
    let alerting2 = c.alerting.replica();
    let receiver = WebhookReceiver::start();
    let mut writer = alerting_at(&alerting2, INGESTER_TOKEN).await;
    let every_move = ree_japan_subscription(
        "every move of REE for Japan",
        pb::rule::Kind::Delta(pb::DeltaRule { min_delta: 1e-9 }),
        Some(pb::Webhook {
            url: receiver.url("/hook"),
            secret: SECRET.into(),
            ..Default::default()
        }),
    );
    let sub = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(every_move),
        })
        .await
        .unwrap()
        .into_inner();

    // Writes in quick succession, so both replicas recompute and match at
    // once; half way, the first replica of each is killed.
    for i in 0..24u32 {
        let chn = if i % 2 == 0 { 80.0 } else { 30.0 } + f64::from(i);
        set_production(&c, chn).await;
        if i == 15 {
            c.scoring.kill9();
            c.alerting.kill9();
        }
        tokio::time::sleep(Duration::from_millis(if i % 4 == 3 { 100 } else { 5 })).await;
    }

    // Scores converge on the latest data (a killed replica's pending
    // entries are reclaimed by the other after a second).
    let converged = eventually(Duration::from_secs(30), || async {
        let (recorded, fresh) = recorded_and_fresh(&scoring2).await;
        (recorded - fresh).abs() < 1e-12
    })
    .await;
    let (recorded, fresh) = recorded_and_fresh(&scoring2).await;
    assert!(converged, "latest recorded {recorded} vs fresh {fresh}");

    // One alert per score change: each alert starts where the one before
    // ended, the last ends at the latest score, and no id comes twice.
    let mut reader = alerting_at(&alerting2, INGESTER_TOKEN).await;
    let complete = eventually(Duration::from_secs(30), || async {
        let alerts = alerts_in_event_order(&mut reader.clone(), &sub.id).await;
        alerts.last().is_some_and(|a| (a.new_score - fresh).abs() < 1e-12)
    })
    .await;
    let alerts = alerts_in_event_order(&mut reader, &sub.id).await;
    assert!(complete, "the last alert does not reach the latest score: {alerts:#?}");
    assert!(alerts.len() >= 6, "{} alerts", alerts.len());
    let ids: HashSet<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids.len(), alerts.len(), "an alert recorded twice");
    for pair in alerts.windows(2) {
        assert_eq!(
            pair[0].new_score,
            pair[1].old_score.unwrap(),
            "a score change without its alert, or a change published twice: {pair:#?}"
        );
    }

    // Every alert reaches the webhook (at least once; receivers dedupe by id).
    let delivered = receiver.wait_for(alerts.len(), Duration::from_secs(30));
    let delivered_ids: HashSet<String> = delivered
        .iter()
        .map(|r| {
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            body["data"]["id"].as_str().unwrap().to_string()
        })
        .collect();
    for a in &alerts {
        assert!(delivered_ids.contains(&a.id), "alert {} never delivered", a.id);
    }
}
