//! Alerting end to end: Redis, ingest, scoring and alerting as real processes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::common::v1 as cpb;
use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN, eventually};
use tonic::Code;

use crate::common::*;

#[tokio::test]
async fn threshold_crossing_alerts_once_with_hysteresis_and_streams_resume() {
    let c = start();
    seed(&c).await;
    // Wait for the first score (computed from the seed).
    assert!(first_score_published(&c).await);
    let base = current_score(&c).await;
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let sub = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(threshold_subscription(base + 0.2, 0.3)),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(sub.id.starts_with("sub-"));
    assert_eq!(
        sub.filter.as_ref().unwrap().minerals,
        vec!["REE"],
        "names resolve to catalog ids"
    );
    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut stream = open_stream(&mut reader, sub.id.clone(), String::new()).await;

    // China's share rises: the score crosses the threshold.
    set_production(&c, 90.0).await;
    let first = next_alert(&mut stream).await;
    assert_eq!((first.mineral.as_str(), first.importer.as_str()), ("REE", "JPN"));
    assert!(first.new_score >= base + 0.2, "{first:?}");
    assert!(first.rule.starts_with("threshold"));

    // Noise just under the line (inside the hysteresis band) and back up: no new alert.
    set_production(&c, 85.0).await;
    set_production(&c, 92.0).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        alert_count(&mut reader, &sub.id).await,
        1,
        "hysteresis prevents flapping"
    );

    // Far below (re-arms), then above again: a second alert.
    set_production(&c, 10.0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    set_production(&c, 95.0).await;
    let second = next_alert(&mut stream).await;
    assert_ne!(second.id, first.id);
    drop(stream);

    // A client that saw only the first alert resumes and gets exactly the missed one.
    let mut resumed = open_stream(&mut reader, sub.id.clone(), first.id.clone()).await;
    let replay = tokio::time::timeout(Duration::from_secs(5), resumed.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(replay.id, second.id);
    assert!(
        tokio::time::timeout(Duration::from_millis(800), resumed.message())
            .await
            .is_err(),
        "no duplicates"
    );

    let acked = writer
        .acknowledge_alert(pb::AcknowledgeAlertRequest {
            subscription_id: sub.id.clone(),
            alert_id: first.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(acked.acknowledged);
    let history = reader
        .list_alerts(pb::ListAlertsRequest {
            subscription_id: sub.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(history.alerts.len(), 2);
    assert_eq!(history.alerts[0].id, second.id, "newest first");
    assert!(history.alerts[1].acknowledged);
}

#[tokio::test]
async fn subscriptions_are_validated_and_managed() {
    let c = start();
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let bad = pb::Subscription {
        name: String::new(),
        filter: Some(pb::Filter {
            minerals: vec!["unobtainium".into()],
            applications: vec!["toys".into()],
            ..Default::default()
        }),
        rules: vec![pb::Rule {
            kind: Some(pb::rule::Kind::Delta(pb::DeltaRule { min_delta: 0.0 })),
        }],
        ..Default::default()
    };
    let err = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(bad),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let created = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(threshold_subscription(3.0, 0.1)),
        })
        .await
        .unwrap()
        .into_inner();
    let mut reader = alerting(&c, READER_TOKEN).await;
    assert_eq!(
        reader
            .get_subscription(pb::GetSubscriptionRequest { id: created.id.clone() })
            .await
            .unwrap()
            .into_inner(),
        created
    );
    let err = reader
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(threshold_subscription(3.0, 0.1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut renamed = created.clone();
    renamed.name = "renamed".into();
    let updated = writer
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(renamed),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.create_time, created.create_time);
    let list = reader
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.subscriptions.len(), 1);
    let err = reader
        .stream_alerts(pb::StreamAlertsRequest {
            subscription_id: created.id.clone(),
            resume_after: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    writer
        .delete_subscription(pb::DeleteSubscriptionRequest { id: created.id.clone() })
        .await
        .unwrap();
    let err = reader
        .get_subscription(pb::GetSubscriptionRequest { id: created.id })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn kill9_of_alerting_loses_no_alert_and_adds_no_duplicate() {
    let mut c = start();
    seed(&c).await;
    assert!(first_score_published(&c).await);
    let base = current_score(&c).await;
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let sub = writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(threshold_subscription(base + 0.2, 0.3)),
        })
        .await
        .unwrap()
        .into_inner();
    c.alerting.kill9();
    // Counted before the change: scoring may publish before the ingest call returns.
    let redis = &c.redis;
    let before = redis.cli(&["XLEN", "sr:v1:events:scores"]);
    set_production(&c, 90.0).await;
    // Scoring publishes the change while alerting is down; a consumer that
    // read it and died holds it pending.
    assert!(
        eventually(Duration::from_secs(20), || async {
            redis.cli(&["XLEN", "sr:v1:events:scores"]) != before
        })
        .await
    );
    redis.cli(&["XGROUP", "CREATE", "sr:v1:events:scores", "alerting", "0", "MKSTREAM"]);
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "alerting",
        "dead-consumer",
        "COUNT",
        "100",
        "STREAMS",
        "sr:v1:events:scores",
        ">",
    ]);
    c.alerting.restart();
    let mut reader = alerting(&c, READER_TOKEN).await;
    let n = first_alerts(&mut reader, &sub.id, Duration::from_secs(20)).await;
    assert_eq!(n, 1, "the pending event was reclaimed and alerted once");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(alert_count(&mut reader, &sub.id).await, 1, "no duplicate");
}

async fn create_subscription(writer: &Alerting, subscription: pb::Subscription) -> pb::Subscription {
    writer
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(subscription),
        })
        .await
        .unwrap()
        .into_inner()
}

fn policy_subscription(mineral: &str, importer: Option<&str>, min_share: f64) -> pb::Subscription {
    pb::Subscription {
        name: format!("{mineral} restrictions"),
        filter: Some(pb::Filter {
            minerals: vec![mineral.into()],
            importers: importer.map(|i| vec![i.to_string()]).unwrap_or_default(),
            ..Default::default()
        }),
        rules: vec![pb::Rule {
            kind: Some(pb::rule::Kind::Policy(pb::PolicyRule {
                min_supplier_share: min_share,
            })),
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn policy_events_alert_subscribers_of_the_mineral_and_of_exposed_importers() {
    let c = start();
    seed(&c).await;
    assert!(first_score_published(&c).await);
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let create = |s: pb::Subscription| create_subscription(&writer, s);
    let any_ree = create(policy_subscription("REE", None, 0.0)).await;
    let exposed = create(policy_subscription("REE", Some("JPN"), 0.3)).await;
    let barely = create(policy_subscription("REE", Some("JPN"), 0.99)).await;
    let gallium = create(policy_subscription("GA", None, 0.0)).await;

    let policy_id = record_ree_licensing(&c, "CHN", "Licensing of medium and heavy rare earths").await;

    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut stream = open_stream(&mut reader, any_ree.id.clone(), String::new()).await;
    let alert = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .unwrap_or_else(|_| panic!("no policy alert; alerting logs:\n{}", c.alerting.logs()))
        .unwrap()
        .unwrap();
    assert_eq!(alert.policy_event_id, policy_id);
    assert!(
        alert.top_reason.contains("CHN export licensing"),
        "{}",
        alert.top_reason
    );

    let n = first_alerts(&mut reader, &exposed.id, Duration::from_secs(10)).await;
    assert_eq!(n, 1, "China supplies at least 30% of Japan's sourcing");
    assert_eq!(alert_count(&mut reader, &barely.id).await, 0, "but not 99%");
    assert_eq!(
        alert_count(&mut reader, &gallium.id).await,
        0,
        "a rare-earth measure does not touch gallium"
    );
}

#[tokio::test]
async fn a_policy_rule_weighs_suppliers_beyond_the_five_a_score_lists() {
    use supplyrisk_api::scoring::v1 as spb;

    let c = start();
    seed(&c).await;
    supplyrisk_testkit::fixtures::seed_japan_ree_imports(&c).await;
    assert!(first_score_published(&c).await);
    let mut scoring = spb::scoring_service_client::ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.scoring.endpoint()).await,
        supplyrisk_testkit::Bearer(Some(READER_TOKEN.into())),
    );
    let score = scoring
        .get_risk_score(spb::GetRiskScoreRequest {
            mineral: "REE".into(),
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        score.top_suppliers.iter().all(|s| s.country != "CAN"),
        "Canada (13.5% of Japan's imports) is not among the five listed"
    );

    let writer = alerting(&c, INGESTER_TOKEN).await;
    let create = |s: pb::Subscription| create_subscription(&writer, s);
    let exposed = create(policy_subscription("REE", Some("JPN"), 0.12)).await;
    let barely = create(policy_subscription("REE", Some("JPN"), 0.2)).await;

    record_ree_licensing(&c, "CAN", "Licensing of rare-earth compound exports").await;

    let mut reader = alerting(&c, READER_TOKEN).await;
    let n = first_alerts(&mut reader, &exposed.id, Duration::from_secs(20)).await;
    assert_eq!(n, 1, "Canada supplies at least 12% of Japan's sourcing");
    assert_eq!(alert_count(&mut reader, &barely.id).await, 0, "but not 20%");
}

/// Today (UTC), as the services see it.
fn today() -> cpb::Date {
    supplyrisk_api::convert::date_to_pb(supplyrisk_domain::Date::today())
}

#[tokio::test]
async fn a_licensing_event_effective_today_raises_todays_score_and_fires_a_threshold_alert() {
    let c = start();
    seed(&c).await;
    assert!(first_score_published(&c).await);
    // The seed's data year is 2023: an event from today counts only
    // because scores answer as of today.
    let base = current_score(&c).await;
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let sub = create_subscription(&writer, threshold_subscription(base + 0.01, 0.005)).await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut stream = open_stream(&mut reader, sub.id.clone(), String::new()).await;
    record_ree_licensing_from(&c, "CHN", "licensing from today", today()).await;
    let alert = next_alert(&mut stream).await;
    assert_eq!((alert.mineral.as_str(), alert.importer.as_str()), ("REE", "JPN"));
    assert!(alert.new_score > base + 0.01, "{alert:?} against {base}");
    assert!(current_score(&c).await > base + 0.01);
}

/// The description of the `page_token` violation in a status.
fn page_token_violation(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let violations = details
        .bad_request()
        .map(|b| b.field_violations.clone())
        .unwrap_or_default();
    let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["page_token"], "{status:?}");
    violations[0].description.clone()
}

#[tokio::test]
async fn list_page_tokens_resume_only_the_query_they_came_from() {
    let c = start();
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let any_ree = create_subscription(&writer, policy_subscription("REE", None, 0.0)).await;
    let gallium = create_subscription(&writer, policy_subscription("GA", None, 0.0)).await;
    for month in [4, 5] {
        let from = cpb::Date {
            year: 2025,
            month,
            day: 4,
        };
        record_ree_licensing_from(&c, "CHN", "Licensing of rare earths", from).await;
    }
    let mut reader = alerting(&c, READER_TOKEN).await;
    let both_alerted = eventually(Duration::from_secs(20), || {
        let mut reader = reader.clone();
        let id = any_ree.id.clone();
        async move { alert_count(&mut reader, &id).await == 2 }
    })
    .await;
    assert!(both_alerted, "alerting logs:\n{}", c.alerting.logs());

    let alerts_of = |subscription_id: &str, page_token: &str| pb::ListAlertsRequest {
        subscription_id: subscription_id.into(),
        page_size: 1,
        page_token: page_token.into(),
        ..Default::default()
    };
    let first = reader
        .list_alerts(alerts_of(&any_ree.id, ""))
        .await
        .unwrap()
        .into_inner();
    let token = first.next_page_token;
    assert!(!token.is_empty());
    let second = reader
        .list_alerts(alerts_of(&any_ree.id, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.alerts.len(), 1);
    assert_ne!(second.alerts[0].id, first.alerts[0].id);

    let other_filters = [
        alerts_of(&gallium.id, &token),
        pb::ListAlertsRequest {
            delivery_status: pb::DeliveryStatus::DeadLettered as i32,
            ..alerts_of(&any_ree.id, &token)
        },
    ];
    for request in other_filters {
        let status = reader.list_alerts(request).await.unwrap_err();
        assert_eq!(page_token_violation(&status), "belongs to a request with other filters");
    }
    // The token's own text with its stream entry replaced: refused before
    // it reaches the store.
    let text = String::from_utf8(hex::decode(&token).unwrap()).unwrap();
    let (_, fingerprint) = text.rsplit_once('.').unwrap();
    let forged = hex::encode(format!("garbage.{fingerprint}"));
    for malformed in ["not a token", "7a7a", forged.as_str()] {
        let status = reader.list_alerts(alerts_of(&any_ree.id, malformed)).await.unwrap_err();
        assert_eq!(page_token_violation(&status), "is not a token returned by this call");
    }

    let subscriptions = |page_token: &str| pb::ListSubscriptionsRequest {
        page_size: 1,
        page_token: page_token.into(),
    };
    let first = reader.list_subscriptions(subscriptions("")).await.unwrap().into_inner();
    let second = reader
        .list_subscriptions(subscriptions(&first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.subscriptions.len() + second.subscriptions.len(), 2);
    assert_ne!(first.subscriptions[0].id, second.subscriptions[0].id);
    let status = reader.list_subscriptions(subscriptions("zz")).await.unwrap_err();
    assert_eq!(page_token_violation(&status), "is not a token returned by this call");
    // A ListAlerts token belongs to a query with a subscription and a status.
    let status = reader.list_subscriptions(subscriptions(&token)).await.unwrap_err();
    assert_eq!(page_token_violation(&status), "belongs to a request with other filters");
}

#[tokio::test]
async fn a_subscription_that_no_longer_decodes_is_skipped_without_ending_the_list() {
    let c = start();
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let kept = [
        create_subscription(&writer, policy_subscription("REE", None, 0.0))
            .await
            .id,
        create_subscription(&writer, policy_subscription("GA", None, 0.0))
            .await
            .id,
    ];
    // A damaged record whose id sorts first ('g' opens no valid protobuf field).
    let damaged = "sub-";
    c.redis
        .cli(&["HSET", &supplyrisk_store::keys::subscriptions(), damaged, "garbage"]);
    c.redis
        .cli(&["ZADD", &supplyrisk_store::keys::subscription_index(), "0", damaged]);

    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut listed = Vec::new();
    let mut page_token = String::new();
    for _ in 0..5 {
        let page = reader
            .list_subscriptions(pb::ListSubscriptionsRequest {
                page_size: 1,
                page_token: page_token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        listed.extend(page.subscriptions.into_iter().map(|s| s.id));
        page_token = page.next_page_token;
        if page_token.is_empty() {
            break;
        }
    }
    listed.sort();
    let mut expected = kept.to_vec();
    expected.sort();
    assert_eq!(listed, expected, "every readable subscription is listed");
    // The log is read from the process as it writes; give a busy machine a moment.
    assert!(
        eventually(Duration::from_secs(5), || async {
            c.alerting
                .logs()
                .contains("stored subscription does not decode; skipped")
        })
        .await
    );
}
