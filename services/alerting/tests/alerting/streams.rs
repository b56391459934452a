//! Open alert streams: bounded per caller, and free while idle.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_testkit::{Cluster, ClusterOptions, INGESTER_TOKEN, READER_TOKEN};
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::*;

fn start_with_stream_limit(limit: usize) -> Cluster {
    let mut options = ClusterOptions::default();
    options
        .env
        .push(("SUPPLYRISK__ALERTING__MAX_STREAMS_PER_CALLER".into(), limit.to_string()));
    Cluster::start_with(options)
}

async fn subscription(c: &Cluster) -> String {
    let mut writer = alerting(c, INGESTER_TOKEN).await;
    writer
        .create_subscription(pb::CreateSubscriptionRequest {
            subscription: Some(threshold_subscription(3.0, 0.1)),
        })
        .await
        .unwrap()
        .into_inner()
        .id
}

#[tokio::test]
async fn a_caller_holds_a_bounded_number_of_open_streams() {
    let c = start_with_stream_limit(2);
    let sub = subscription(&c).await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    let first = open_stream(&mut reader, sub.clone(), String::new()).await;
    let _second = open_stream(&mut reader, sub.clone(), String::new()).await;
    let request = || pb::StreamAlertsRequest {
        subscription_id: sub.clone(),
        resume_after: String::new(),
    };
    let err = reader.stream_alerts(request()).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("already has 2 alert streams open"),
        "{}",
        err.message()
    );
    let retry = err.get_error_details().retry_info().and_then(|r| r.retry_delay);
    assert_eq!(retry, Some(Duration::from_secs(5)));
    // Another caller has streams of its own.
    let mut writer = alerting(&c, INGESTER_TOKEN).await;
    writer.stream_alerts(request()).await.unwrap();

    // Closing one frees its place.
    drop(first);
    let mut reopened = false;
    for _ in 0..50 {
        if reader.stream_alerts(request()).await.is_ok() {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened, "a closed stream no longer counts");
}

#[tokio::test]
async fn idle_streams_cost_no_redis_calls_and_wake_when_an_alert_is_recorded() {
    let c = start_with_stream_limit(16);
    seed(&c).await;
    let sub = subscription(&c).await;
    let mut reader = alerting(&c, READER_TOKEN).await;
    let mut streams = Vec::new();
    for _ in 0..10 {
        streams.push(open_stream(&mut reader, sub.clone(), String::new()).await);
    }
    // Let every stream finish its first read, then watch Redis while they idle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.redis.cli(&["CONFIG", "RESETSTAT"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(c.redis.command_calls("xrange"), 0, "ten idle streams read nothing");

    // An alert is announced and every stream of the subscription gets it.
    let base = current_score(&c).await;
    set_production(&c, 90.0).await;
    for stream in &mut streams {
        let alert = next_alert(stream).await;
        assert_eq!(alert.subscription_id, sub);
    }
    assert!(current_score(&c).await > base);
}
