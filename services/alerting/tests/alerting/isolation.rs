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

/// A store on the cluster's Redis, for writing what the API would refuse.
fn store(c: &supplyrisk_testkit::Cluster) -> supplyrisk_store::Store {
    let settings = supplyrisk_config::RedisSettings::at(&c.redis.url());
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

    record_ree_licensing(&c, "CHN", "Licensing of rare earths").await;

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

fn admin_dead_letters(
    c: &supplyrisk_testkit::Cluster,
    token: &str,
) -> impl std::future::Future<
    Output = supplyrisk_api::admin::v1::dead_letter_service_client::DeadLetterServiceClient<
        tonic::service::interceptor::InterceptedService<tonic::transport::Channel, supplyrisk_testkit::Bearer>,
    >,
> {
    let endpoint = c.alerting.endpoint();
    let token = token.to_string();
    async move {
        supplyrisk_api::admin::v1::dead_letter_service_client::DeadLetterServiceClient::with_interceptor(
            supplyrisk_testkit::channel(&endpoint).await,
            supplyrisk_testkit::Bearer(Some(token)),
        )
    }
}

#[tokio::test]
async fn a_poison_entry_is_dead_lettered_alone_and_can_be_redriven() {
    use prost::Message;
    use supplyrisk_api::admin::v1 as adm;
    use supplyrisk_api::events::v1::{DataChanged, DataKind};
    use supplyrisk_store::keys;

    let c = supplyrisk_testkit::Cluster::start_with(supplyrisk_testkit::ClusterOptions {
        env: vec![
            ("SUPPLYRISK__SCORING__RECLAIM_IDLE_MS".into(), "1000".into()),
            ("SUPPLYRISK__ALERTING__RECLAIM_IDLE_MS".into(), "1000".into()),
            ("SUPPLYRISK__ALERTING__MAX_DELIVERIES".into(), "2".into()),
        ],
        ..Default::default()
    });
    let writer = alerting(&c, INGESTER_TOKEN).await;
    let mut any_ree = exposure_subscription(&[]);
    any_ree.rules[0].kind = Some(pb::rule::Kind::Policy(pb::PolicyRule::default()));
    let sub = writer
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(any_ree),
        })
        .await
        .unwrap()
        .into_inner();
    let policy_id = record_ree_licensing(&c, "CHN", "Licensing of rare earths").await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    assert_eq!(first_alerts(&mut reader, &sub.id, Duration::from_secs(20)).await, 1);

    // One batch: a policy write no ingest call can read (ingest refuses its
    // mineral), then the same policy write again (a new cause, a new alert).
    let change = |mineral: &str, id: &str| {
        let bytes = DataChanged {
            kind: DataKind::PolicyEvents as i32,
            minerals: vec![mineral.into()],
            policy_event_ids: vec![id.into()],
            ..Default::default()
        }
        .encode_to_vec();
        String::from_utf8(bytes).unwrap()
    };
    let poison = change("NOT-A-MINERAL", "p-poison");
    let good = change("REE", &policy_id);
    let script = "local a = redis.call('XADD', KEYS[1], '*', 'payload', ARGV[1]) \
                  redis.call('XADD', KEYS[1], '*', 'payload', ARGV[2]) return a";
    let poison_id = c.redis.cli(&["EVAL", script, "1", keys::DATA_STREAM, &poison, &good]);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while alert_count(&mut reader, &sub.id).await < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        alert_count(&mut reader, &sub.id).await,
        2,
        "the good entry of the failing batch is processed; logs:\n{}",
        c.alerting.logs()
    );

    let mut admin = admin_dead_letters(&c, supplyrisk_testkit::ADMIN_TOKEN).await;
    let list = |admin: &mut adm::dead_letter_service_client::DeadLetterServiceClient<_>| {
        let mut admin = admin.clone();
        async move {
            admin
                .list_dead_letters(adm::ListDeadLettersRequest {
                    group: "alerting-policy".into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .dead_letters
        }
    };
    let mut letters = Vec::new();
    for _ in 0..150 {
        letters = list(&mut admin).await;
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(letters.len(), 1, "logs:\n{}", c.alerting.logs());
    let letter = &letters[0];
    assert_eq!(letter.source_id, poison_id);
    assert_eq!(letter.stream, keys::DATA_STREAM);
    assert_eq!(letter.attempts, 2);
    assert!(!letter.reason.is_empty());
    assert_eq!(letter.payload, poison.as_bytes());
    let pending = c.redis.cli(&["XPENDING", keys::DATA_STREAM, "alerting-policy"]);
    assert!(pending.starts_with('0'), "acknowledged in its group: {pending}");
    assert!(c.alerting.logs().contains("entry dead-lettered"));

    // Operators only.
    let mut reader_admin = admin_dead_letters(&c, READER_TOKEN).await;
    let denied = reader_admin
        .list_dead_letters(adm::ListDeadLettersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut ingester_admin = admin_dead_letters(&c, INGESTER_TOKEN).await;
    let denied = ingester_admin
        .redrive_dead_letters(adm::RedriveDeadLettersRequest {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let before = c.redis.cli(&["XLEN", keys::DATA_STREAM]);
    let redriven = admin
        .redrive_dead_letters(adm::RedriveDeadLettersRequest {
            ids: vec![letter.id.clone(), "1-0".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(redriven.redriven.len(), 1);
    assert_eq!(redriven.redriven[0].group, "alerting-policy");
    assert_eq!(redriven.not_found, ["1-0"]);
    let after: u64 = c.redis.cli(&["XLEN", keys::DATA_STREAM]).parse().unwrap();
    assert_eq!(
        after,
        before.parse::<u64>().unwrap() + 1,
        "appended to its stream again"
    );
    let dead = c
        .redis
        .cli(&["XLEN", &keys::dead_letters(keys::DATA_STREAM, "alerting-policy")]);
    // Gone from the dead letters until it fails its deliveries again.
    assert!(
        dead == "0" || list(&mut admin).await.iter().all(|d| d.id != letter.id),
        "{dead}"
    );
}
