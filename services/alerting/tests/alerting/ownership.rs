//! A subscription belongs to the principal that created it.
#![allow(clippy::unwrap_used)]

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_testkit::{ADMIN_TOKEN, Cluster, ClusterOptions, READER_TOKEN, field_violations};
use tonic::Code;

use crate::common::*;

const TEAM_A: &str = "team-a-token-for-tests";
const TEAM_B: &str = "team-b-token-for-tests";
const SECRET: &str = "whsec_c3VwcGx5cmlzay13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYg==";
const OTHER_SECRET: &str = "whsec_b3RoZXItc3VwcGx5cmlzay13ZWJob29rLXNlY3JldA==";

fn start_two_teams() -> Cluster {
    let mut options = ClusterOptions::default();
    let tokens = format!("reader={READER_TOKEN},ingester:team-a={TEAM_A},ingester:team-b={TEAM_B},admin={ADMIN_TOKEN}");
    options.env.push(("SUPPLYRISK__AUTH__TOKENS".into(), tokens));
    options
        .env
        .push(("SUPPLYRISK__ALERTING__WEBHOOK_ALLOW".into(), "127.0.0.1".into()));
    options
        .env
        .push(("SUPPLYRISK__ALERTING__MAX_SUBSCRIPTIONS_PER_OWNER".into(), "2".into()));
    Cluster::start_with(options)
}

fn with_webhook(url: &str, secret: &str) -> pb::Subscription {
    let mut s = threshold_subscription(3.0, 0.1);
    s.webhook = Some(pb::Webhook {
        url: url.into(),
        secret: secret.into(),
        ..Default::default()
    });
    s
}

async fn create(client: &mut Alerting, s: pb::Subscription) -> Result<pb::Subscription, tonic::Status> {
    client
        .create_subscription(pb::CreateSubscriptionRequest { subscription: Some(s) })
        .await
        .map(tonic::Response::into_inner)
}

async fn get(client: &mut Alerting, id: &str) -> pb::Subscription {
    client
        .get_subscription(pb::GetSubscriptionRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn only_the_owner_or_an_admin_sees_the_url_changes_deletes_or_acknowledges() {
    let c = start_two_teams();
    let mut a = alerting(&c, TEAM_A).await;
    let mut b = alerting(&c, TEAM_B).await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut admin = alerting(&c, ADMIN_TOKEN).await;
    let url = "http://127.0.0.1:9/hook?token=do-not-leak";
    let sub = create(&mut a, with_webhook(url, SECRET)).await.unwrap();
    assert_eq!(sub.owner, "team-a");

    let url_of = |s: &pb::Subscription| s.webhook.as_ref().unwrap().url.clone();
    assert_eq!(url_of(&get(&mut a, &sub.id).await), url);
    assert_eq!(url_of(&get(&mut admin, &sub.id).await), url);
    assert_eq!(url_of(&get(&mut b, &sub.id).await), "", "hidden from another team");
    assert_eq!(url_of(&get(&mut reader, &sub.id).await), "", "and from readers");
    let listed = reader
        .list_subscriptions(pb::ListSubscriptionsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.subscriptions.iter().all(|s| url_of(s).is_empty()));

    // To team B the subscription does not exist for changing.
    let mut changed = sub.clone();
    changed.name = "taken over".into();
    let update = pb::UpdateSubscriptionRequest {
        subscription: Some(changed),
    };
    assert_eq!(b.update_subscription(update).await.unwrap_err().code(), Code::NotFound);
    let delete = pb::DeleteSubscriptionRequest { id: sub.id.clone() };
    assert_eq!(b.delete_subscription(delete).await.unwrap_err().code(), Code::NotFound);
    let ack = pb::AcknowledgeAlertRequest {
        subscription_id: sub.id.clone(),
        alert_id: "any".into(),
    };
    assert_eq!(b.acknowledge_alert(ack).await.unwrap_err().code(), Code::NotFound);

    // The owner moving the webhook must give it a new secret.
    let mut moved = sub.clone();
    moved.webhook = Some(pb::Webhook {
        url: "http://127.0.0.1:9/elsewhere".into(),
        ..Default::default()
    });
    let err = a
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(moved.clone()),
        })
        .await
        .unwrap_err();
    assert_eq!(field_violations(&err)[0].0, "subscription.webhook.secret", "{err:?}");
    moved.webhook.as_mut().unwrap().secret = OTHER_SECRET.into();
    let updated = a
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(moved),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.owner, "team-a", "an update keeps the owner");
    // The same URL again keeps the stored secret.
    let again = a
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(updated.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(url_of(&again), "http://127.0.0.1:9/elsewhere");

    // An admin may change or delete anyone's.
    let mut renamed = again;
    renamed.name = "renamed by an admin".into();
    admin
        .update_subscription(pb::UpdateSubscriptionRequest {
            subscription: Some(renamed),
        })
        .await
        .unwrap();
    admin
        .delete_subscription(pb::DeleteSubscriptionRequest { id: sub.id })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_caller_owns_a_bounded_number_of_subscriptions_with_bounded_filters() {
    let c = start_two_teams();
    let mut a = alerting(&c, TEAM_A).await;
    let mut b = alerting(&c, TEAM_B).await;
    let first = create(&mut a, threshold_subscription(3.0, 0.1)).await.unwrap();
    create(&mut a, threshold_subscription(4.0, 0.1)).await.unwrap();
    let err = create(&mut a, threshold_subscription(5.0, 0.1)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("'team-a' already owns 2 subscriptions"),
        "{}",
        err.message()
    );
    create(&mut b, threshold_subscription(5.0, 0.1)).await.unwrap();
    a.delete_subscription(pb::DeleteSubscriptionRequest { id: first.id })
        .await
        .unwrap();
    create(&mut a, threshold_subscription(5.0, 0.1)).await.unwrap();

    let mut wide = threshold_subscription(3.0, 0.1);
    wide.filter.as_mut().unwrap().minerals = vec!["REE".into(); 65];
    let err = create(&mut b, wide).await.unwrap_err();
    assert_eq!(
        field_violations(&err),
        [(
            "subscription.filter.minerals".to_string(),
            "at most 64 entries, got 65".to_string()
        )]
    );
}

/// The raw stored form of `subscription`'s webhook secret.
fn stored_secret(c: &Cluster, subscription: &str) -> String {
    c.redis
        .cli(&["HGET", &supplyrisk_store::keys::webhook_secrets(), subscription])
        .trim()
        .to_string()
}

#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_and_clear_ones_sealed_at_start() {
    let mut c = start_two_teams();
    let mut a = alerting(&c, TEAM_A).await;
    let sub = create(&mut a, with_webhook("http://127.0.0.1:9/hook", SECRET))
        .await
        .unwrap();
    let stored = stored_secret(&c, &sub.id);
    assert!(stored.starts_with("sealed:v1:test:"), "{stored}");
    assert!(
        !stored.contains(SECRET.trim_start_matches("whsec_")),
        "nothing of it in clear"
    );

    // A secret stored in clear (before sealing) is sealed when alerting starts.
    c.redis
        .cli(&["HSET", &supplyrisk_store::keys::webhook_secrets(), &sub.id, SECRET]);
    c.alerting.restart();
    assert!(
        supplyrisk_testkit::eventually(std::time::Duration::from_secs(10), || async {
            stored_secret(&c, &sub.id).starts_with("sealed:v1:test:")
        })
        .await,
        "sealed again: {}",
        stored_secret(&c, &sub.id)
    );
}
