//! What the store keeps for a subscription is bounded, and goes with it.

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_store::deliveries::NewDelivery;
use supplyrisk_store::{Store, StoreOptions, keys};
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
    let states = vec![(format!("{sub}|0|REE|JPN|eu-crm"), "1".to_string())];
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
        .expect("recorded");
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
