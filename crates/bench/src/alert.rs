//! The alerting benchmark: from an ingest acknowledgement to the alert it
//! causes, on the stream and at a webhook, with the time split by service.

use std::time::Instant;

use supplyrisk_testkit::{Cluster, ClusterOptions, INGESTER_TOKEN, ingest_client};

use crate::measure::unix_ms;
use crate::report::{percentile, report_latency};
use crate::workload::{flows, quiet_env};

/// Times, with an ingest load running, each write's alert on
/// `StreamAlerts` and at a webhook, `rounds` times.
pub(crate) async fn bench_alert(rounds: usize) {
    use supplyrisk_api::alerting::v1 as apb;
    let mut env = quiet_env();
    env.push(("SUPPLYRISK__ALERTING__WEBHOOK_ALLOW".into(), "127.0.0.1".into()));
    let cluster = Cluster::start_with(ClusterOptions {
        fsync: "everysec",
        env,
        ..Default::default()
    });
    let receiver = supplyrisk_testkit::webhook_receiver::WebhookReceiver::start();
    let (ingest_endpoint, alerting) = (cluster.ingest.endpoint(), &cluster.alerting);
    let mut client = ingest_client(&ingest_endpoint, Some(INGESTER_TOKEN)).await;
    supplyrisk_testkit::fixtures::seed_ree(&cluster).await;
    let production = supplyrisk_testkit::fixtures::ree_production;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    let channel = supplyrisk_testkit::channel(&alerting.endpoint()).await;
    let mut alerts = apb::alerting_service_client::AlertingServiceClient::with_interceptor(
        channel,
        supplyrisk_testkit::Bearer(Some(INGESTER_TOKEN.into())),
    );
    let sub = supplyrisk_testkit::fixtures::ree_japan_subscription(
        "bench",
        apb::rule::Kind::Delta(apb::DeltaRule { min_delta: 1e-6 }),
        Some(apb::Webhook {
            url: receiver.url("/bench"),
            secret: supplyrisk_webhook::Secret::generate(),
            ..Default::default()
        }),
    );
    let sub = alerts
        .create_subscription(apb::CreateSubscriptionRequest {
            subscription: Some(sub),
        })
        .await
        .expect("subscribe")
        .into_inner();
    let mut stream = alerts
        .stream_alerts(apb::StreamAlertsRequest {
            subscription_id: sub.id.clone(),
            resume_after: String::new(),
        })
        .await
        .expect("stream")
        .into_inner();

    // Background ingest load: trade flows for other minerals, continuously.
    let load_endpoint = ingest_endpoint.clone();
    let loaded = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let load_counter = loaded.clone();
    let load = tokio::spawn(async move {
        let mut client = ingest_client(&load_endpoint, Some(INGESTER_TOKEN)).await;
        let mut round = 0u32;
        loop {
            let mut msgs = flows(50_000);
            for m in &mut msgs {
                m.upload_id = format!("load-{round}");
                for f in &mut m.flows {
                    f.hs_code = "282520".into();
                    f.value_usd += f64::from(round);
                }
            }
            match client.ingest_trade_flows(tokio_stream::iter(msgs)).await {
                Ok(resp) => {
                    load_counter.fetch_add(resp.into_inner().accepted, std::sync::atomic::Ordering::Relaxed);
                }
                Err(_) => return,
            }
            round += 1;
        }
    });
    let load_started = Instant::now();

    let mut latencies = Vec::with_capacity(rounds);
    let mut webhook_latencies = Vec::with_capacity(rounds);
    let (mut to_score, mut to_evaluate, mut to_stream) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let chn = if i % 2 == 0 {
            80.0 + (i % 7) as f64
        } else {
            40.0 + (i % 5) as f64
        };
        client.upsert_production(production(chn)).await.expect("write");
        let acked = Instant::now();
        let acked_unix_ms = unix_ms(std::time::SystemTime::now());
        let alert = match tokio::time::timeout(std::time::Duration::from_secs(10), stream.message()).await {
            Ok(Ok(Some(alert))) => alert,
            other => panic!("no alert after write {i}: {other:?}"),
        };
        latencies.push(acked.elapsed().as_secs_f64() * 1000.0);
        // Where the time went, to the millisecond: the score change's stream
        // id and the alert's creation time are stamped by the same clock.
        let scored_ms = alert
            .cause_event_id
            .split('-')
            .next()
            .and_then(|ms| ms.parse::<u64>().ok())
            .unwrap_or(acked_unix_ms);
        let created_ms = alert
            .create_time
            .and_then(|t| std::time::SystemTime::try_from(t).ok())
            .map_or(scored_ms, unix_ms);
        let received_ms = unix_ms(std::time::SystemTime::now());
        to_score.push(scored_ms.saturating_sub(acked_unix_ms) as f64);
        to_evaluate.push(created_ms.saturating_sub(scored_ms) as f64);
        to_stream.push(received_ms.saturating_sub(created_ms) as f64);
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let arrived = loop {
            if let Some(r) = receiver.received().iter().find(|r| r.id == alert.id) {
                break r.at;
            }
            assert!(Instant::now() < deadline, "no webhook for alert {}", alert.id);
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        };
        webhook_latencies.push(arrived.duration_since(acked).as_secs_f64() * 1000.0);
    }
    load.abort();
    let load_rate = loaded.load(std::sync::atomic::Ordering::Relaxed) as f64 / load_started.elapsed().as_secs_f64();
    println!();
    println!("{rounds} rounds with an ingest load running ({load_rate:.0} flows/s accepted)");
    report_latency("ingest ack -> alert on StreamAlerts", &mut latencies, 50.0);
    report_latency("ingest ack -> webhook received", &mut webhook_latencies, 100.0);
    println!("segments (ms resolution; p50 / p99):");
    for (what, v) in [
        ("  ack -> ScoreChanged appended (scoring)", &mut to_score),
        ("  ScoreChanged -> alert evaluated (alerting)", &mut to_evaluate),
        ("  evaluated -> alert received (record + stream)", &mut to_stream),
    ] {
        v.sort_by(f64::total_cmp);
        let pct = |p: usize| percentile(v, p);
        println!(
            "{what:<50} {:>5.0} / {:>5.0}   (p90 {:.0}, max {:.0})",
            pct(50),
            pct(99),
            pct(90),
            v[v.len() - 1]
        );
    }
}
