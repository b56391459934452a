//! One subscription's trouble stays its own: importers scoring would refuse
//! are refused at save time.
#![allow(clippy::unwrap_used)]

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_testkit::INGESTER_TOKEN;
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
