//! What the store keeps for a subscription is bounded, and goes with it.

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_store::deliveries::NewDelivery;
use supplyrisk_store::{RuleStateChange, Store, StoreOptions, keys};
use supplyrisk_testkit::RedisServer;

/// A store keeping `alerts_per_subscription` alerts.
fn store_keeping(redis: &RedisServer, alerts_per_subscription: u64) -> Store {
    let options = StoreOptions {
        alerts_per_subscription,
        ..StoreOptions::default()
    };
    crate::store(redis, options)
}

fn alert(subscription: &str, id: &str) -> pb::Alert {
    pb::Alert {
        id: id.into(),
        subscription_id: subscription.into(),
        mineral: "REE".into(),
        importer: "JPN".into(),
        ..Default::default()
    }
}

fn count(redis: &RedisServer, command: &str, key: &str) -> u64 {
    redis.cli(&[command, key]).trim().parse().expect(command)
}

/// Records alert `id` of `sub` with a queued delivery and one rule state.
async fn record(store: &Store, sub: &str, id: &str) {
    let delivery = pb::WebhookDelivery::default();
    let states = vec![RuleStateChange {
        field: format!("{sub}|0|{id}|JPN|eu-crm"),
        expected: None,
        value: "0@1-0".into(),
    }];
    store
        .record_alert(
            &alert(sub, id),
            &states,
            Some(NewDelivery {
                due_ms: 1,
                state: &delivery,
            }),
        )
        .await
        .expect("recorded")
        .expect("no state changed under it");
}

#[tokio::test]
async fn a_subscription_keeps_its_newest_alerts_and_nothing_of_the_dropped_ones() {
    let redis = RedisServer::start();
    let store = store_keeping(&redis, 2);
    for id in ["a1", "a2", "a3"] {
        record(&store, "sub-1", id).await;
    }
    store.acknowledge_alert("sub-1", "a2").await.expect("ack");
    record(&store, "sub-1", "a4").await;

    assert_eq!(count(&redis, "XLEN", &keys::alerts("sub-1")), 2, "the newest two");
    assert_eq!(store.alert_entry("sub-1", "a1").await.expect("read"), None);
    assert_eq!(store.alert_entry("sub-1", "a2").await.expect("read"), None);
    assert!(store.alert_entry("sub-1", "a4").await.expect("read").is_some());
    assert_eq!(count(&redis, "HLEN", &keys::alert_index("sub-1")), 2);
    assert_eq!(count(&redis, "HLEN", &keys::deliveries("sub-1")), 2);
    assert_eq!(
        count(&redis, "SCARD", &keys::acknowledged("sub-1")),
        0,
        "a2's acknowledgement went with it"
    );
    assert_eq!(
        count(&redis, "ZCARD", &keys::deliveries_due()),
        2,
        "and its queued delivery"
    );
}

#[tokio::test]
async fn deleting_a_subscription_removes_its_rule_states_and_queued_deliveries() {
    let redis = RedisServer::start();
    let store = store_keeping(&redis, 100);
    let owned = |id: &str| pb::Subscription {
        id: id.into(),
        name: id.into(),
        owner: "team-a".into(),
        ..Default::default()
    };
    for sub in ["sub-1", "sub-2"] {
        store.put_subscription(&owned(sub)).await.expect("saved");
        record(&store, sub, "a1").await;
    }
    assert_eq!(store.owned_subscription_count("team-a").await.expect("count"), 2);
    assert!(store.delete_subscription("sub-1").await.expect("deleted"));

    assert_eq!(
        count(&redis, "HLEN", &keys::rule_states()),
        1,
        "only sub-2's rule state"
    );
    assert_eq!(
        count(&redis, "ZCARD", &keys::deliveries_due()),
        1,
        "only sub-2's delivery"
    );
    assert_eq!(count(&redis, "EXISTS", &keys::alerts("sub-1")), 0);
    assert_eq!(count(&redis, "EXISTS", &keys::alert_index("sub-1")), 0);
    assert_eq!(count(&redis, "EXISTS", &keys::deliveries("sub-1")), 0);
    assert_eq!(store.owned_subscription_count("team-a").await.expect("count"), 1);
    assert!(!store.delete_subscription("sub-1").await.expect("second delete"));
}

#[tokio::test]
async fn rule_states_change_only_from_what_their_writer_read() {
    let redis = RedisServer::start();
    let store = store_keeping(&redis, 100);
    let field = "sub-1|0|REE|JPN|eu-crm".to_string();
    let change = |expected: Option<&str>, value: &str| RuleStateChange {
        field: field.clone(),
        expected: expected.map(Into::into),
        value: value.into(),
    };
    assert!(store.set_rule_states(&[change(None, "1@1-0")]).await.expect("set"));
    // A second writer that also read "no state" loses, and writes nothing.
    assert!(!store.set_rule_states(&[change(None, "1@2-0")]).await.expect("refused"));
    assert_eq!(
        store.rule_states(std::slice::from_ref(&field)).await.expect("read"),
        [Some("1@1-0".to_string())]
    );
    // An alert is recorded only with a state change that still applies.
    let stale = [change(None, "0@3-0")];
    let refused = store
        .record_alert(&alert("sub-1", "a1"), &stale, None)
        .await
        .expect("script");
    assert_eq!(refused, None);
    assert_eq!(count(&redis, "XLEN", &keys::alerts("sub-1")), 0, "nothing recorded");
    let fresh = [change(Some("1@1-0"), "0@3-0")];
    let recorded = store
        .record_alert(&alert("sub-1", "a1"), &fresh, None)
        .await
        .expect("script");
    assert!(recorded.is_some());
    // The same alert again is answered with its entry, whatever the states.
    let again = store
        .record_alert(&alert("sub-1", "a1"), &stale, None)
        .await
        .expect("script");
    assert_eq!(again, recorded);
}

#[tokio::test]
async fn an_attempt_saves_only_while_its_lease_holds() {
    let redis = RedisServer::start();
    let store = store_keeping(&redis, 100);
    record(&store, "sub-1", "a1").await;
    let first = store.claim_deliveries(10, 1_000, 10).await.expect("claim").remove(0);
    assert_eq!(first.lease_until_ms, 1_000);
    assert!(
        store.claim_deliveries(500, 1_500, 10).await.expect("claim").is_empty(),
        "leased"
    );
    // The lease runs out; another replica claims the delivery.
    let second = store.claim_deliveries(1_001, 2_000, 10).await.expect("claim").remove(0);
    let state = |attempts: u32| pb::WebhookDelivery {
        attempt_count: attempts,
        ..Default::default()
    };
    assert!(
        store
            .save_delivery(&second, &state(2), Some(5_000))
            .await
            .expect("save")
    );
    assert!(
        !store.save_delivery(&first, &state(1), None).await.expect("fenced"),
        "the late first attempt cannot overwrite the newer one"
    );
    let saved = store.delivery_states("sub-1", &["a1".into()]).await.expect("read");
    assert_eq!(saved[0].as_ref().map(|s| s.attempt_count), Some(2));
    assert_eq!(count(&redis, "ZCARD", &keys::deliveries_due()), 1, "still queued");
}
