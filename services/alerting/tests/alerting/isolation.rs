//! One subscription's trouble stays its own: importers scoring would refuse
//! are refused at save time, and a stored subscription that fails anyway
//! (saved before validation existed) costs only itself.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_testkit::{INGESTER_TOKEN, READER_TOKEN};
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

/// A subscription to policy events on rare earths for `importers`, firing
/// only when the restricting country supplies at least 30% of the sourcing
/// (so evaluating it asks scoring about each importer).
fn exposure_subscription(importers: &[&str]) -> pb::Subscription {
    pb::Subscription {
        name: "REE exposure".into(),
        filter: Some(pb::Filter {
            minerals: vec!["REE".into()],
            importers: importers.iter().map(ToString::to_string).collect(),
            ..Default::default()
        }),
        rules: vec![pb::Rule {
            kind: Some(pb::rule::Kind::Policy(pb::PolicyRule {
                min_supplier_share: 0.3,
            })),
        }],
        ..Default::default()
    }
}

/// The fields of a status's field violations, in order.
fn violated_fields(status: &tonic::Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.field, v.description))
        .collect()
}

#[tokio::test]
async fn importers_scoring_would_refuse_are_refused_at_save_time() {
    let c = start();
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    let create = |s: pb::Subscription| {
        let mut writer = writer.clone();
        async move {
            writer
                .create_subscription(pb::CreateSubscriptionRequest { subscription: Some(s) })
                .await
        }
    };

    let status = create(exposure_subscription(&["JPN", "USA+USA", "JPN+XYZ", "EU28", "quad"]))
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        names,
        [
            "subscription.filter.importers[1]",
            "subscription.filter.importers[2]",
            "subscription.filter.importers[3]"
        ],
        "{fields:?}"
    );
    assert!(fields[0].1.contains("two different members"), "{fields:?}");
    assert!(fields[1].1.contains("XYZ"), "{fields:?}");
    assert!(
        fields[2].1.contains("EU27"),
        "the closest configured bloc is suggested: {fields:?}"
    );

    // Countries, ad-hoc blocs and configured blocs are saved in the form
    // scores carry, so they match score events.
    let saved = create(exposure_subscription(&["jpn", "usa+jpn", "quad"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saved.filter.as_ref().unwrap().importers, ["JPN", "JPN+USA", "QUAD"]);

    // An update is held to the same rules.
    let mut bad = saved.clone();
    bad.filter.as_mut().unwrap().importers = vec!["JPN".into(), "JPN+XYZ".into()];
    let status = writer
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(bad),
        })
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].0, "subscription.filter.importers[1]");
}

/// Records export licensing by China on rare earths; returns the event id.
async fn record_ree_licensing(c: &supplyrisk_testkit::Cluster) -> String {
    use supplyrisk_api::common::v1 as cpb;
    use supplyrisk_api::ingest::v1 as ipb;
    let mut ingest = supplyrisk_testkit::ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let event = ipb::PolicyEvent {
        country: "CHN".into(),
        minerals: vec!["REE".into()],
        measure: ipb::PolicyMeasure::Licensing as i32,
        effective_from: Some(cpb::Date {
            year: 2025,
            month: 4,
            day: 4,
        }),
        severity: 0.5,
        source_reference: "test notice".into(),
        summary: "Licensing of rare earths".into(),
        ..Default::default()
    };
    let recorded = ingest
        .record_policy_event(ipb::RecordPolicyEventRequest { event: Some(event) })
        .await
        .unwrap()
        .into_inner();
    recorded.event.unwrap().id
}

/// A store on the cluster's Redis, for writing what the API would refuse.
fn store(c: &supplyrisk_testkit::Cluster) -> supplyrisk_store::Store {
    let settings = supplyrisk_config::RedisSettings {
        url: c.redis.url().into(),
        connect_timeout_ms: 2000,
        response_timeout_ms: 2000,
    };
    supplyrisk_store::Store::new(&settings, Default::default()).unwrap()
}

#[tokio::test]
async fn a_stored_subscription_scoring_refuses_costs_only_itself() {
    let c = start();
    seed(&c).await;
    assert!(first_score_published(&c).await);
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let good = writer
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(exposure_subscription(&["JPN"])),
        })
        .await
        .unwrap()
        .into_inner();
    // Saved before importers were validated: scoring refuses `USA+USA`.
    let bad = pb::Subscription {
        id: "sub-0-predates-validation".into(),
        ..exposure_subscription(&["USA+USA"])
    };
    store(&c).put_subscription(&bad).await.unwrap();

    record_ree_licensing(&c).await;

    let mut reader = alerting(&c, READER_TOKEN).await;
    let n = first_alerts(&mut reader, &good.id, Duration::from_secs(20)).await;
    assert_eq!(
        n,
        1,
        "the good subscription is alerted; alerting logs:\n{}",
        c.alerting.logs()
    );
    let mut failed = None;
    for _ in 0..50 {
        let got = reader
            .get_subscription(pb::GetSubscriptionRequest { id: bad.id.clone() })
            .await
            .unwrap()
            .into_inner();
        if !got.last_error.is_empty() {
            failed = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let failed = failed.expect("the bad subscription shows its error");
    assert!(
        failed.last_error.contains("two different members"),
        "{}",
        failed.last_error
    );
    assert!(failed.last_error_time.is_some());
    assert_eq!(alert_count(&mut reader, &bad.id).await, 0);
    let listed = reader
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    let listed_bad = listed.iter().find(|s| s.id == bad.id).unwrap();
    assert_eq!(listed_bad.last_error, failed.last_error, "lists show the error too");
    assert!(c.alerting.logs().contains("subscription not evaluated; the others are"));

    // Saving it again (now validated) clears the error with the cause.
    let mut fixed = failed.clone();
    fixed.filter.as_mut().unwrap().importers = vec!["JPN".into()];
    let updated = writer
        .clone()
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(fixed),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(updated.last_error.is_empty());
    let read = reader
        .get_subscription(pb::GetSubscriptionRequest { id: bad.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(read.last_error.is_empty() && read.last_error_time.is_none(), "{read:?}");
}
