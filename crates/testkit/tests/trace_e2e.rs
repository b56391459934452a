//! One trace across the cluster: an upload that moves a score until an
//! alert fires, followed through the spans and metrics the three service
//! processes export to an in-process OTLP receiver.
//!
//! The upload carries a trace context made here, so its trace is known.
//! Scoring's recompute starts a trace linked to the upload; its snapshot
//! reads are client spans whose ingest server spans are their children;
//! alerting's evaluation starts a trace linked to the recompute. The
//! services are stopped with SIGTERM, which is what makes them flush.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use supplyrisk_api::alerting::v1 as apb;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_telemetry::{attributes, metrics};
use supplyrisk_testkit::fixtures::{
    first_score_published, ree_japan_subscription, ree_production, ree_score_for_japan, seed_ree,
};
use supplyrisk_testkit::otlp::proto::trace::v1::span::SpanKind;
use supplyrisk_testkit::otlp::{
    AttrValue, OtlpReceiver, Point, ReceivedMetric, ReceivedSpan, Trace, attribute, value_of,
};
use supplyrisk_testkit::webhook_receiver::WebhookReceiver;
use supplyrisk_testkit::{Bearer, Cluster, ClusterOptions, INGESTER_TOKEN, eventually, ingest_client};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const INGEST: &str = "supplyrisk-ingest";
const SCORING: &str = "supplyrisk-scoring";
const ALERTING: &str = "supplyrisk-alerting";
const INGEST_SERVICE: &str = "supplyrisk.ingest.v1.IngestService";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A trace id and span id for the test's own (never exported) client span.
fn test_trace_context() -> ([u8; 16], [u8; 8]) {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let seed = nanos ^ (u128::from(std::process::id()) << 64);
    (seed.to_be_bytes(), ((seed as u64) | 1).to_be_bytes())
}

fn port_of(addr: &str) -> i64 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

fn named<'a>(spans: &'a [ReceivedSpan], service: &str, name: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.service == service && s.span.name == name)
        .collect()
}

fn is_redis(span: &ReceivedSpan) -> bool {
    span.attr(attributes::DB_SYSTEM_NAME) == Some(AttrValue::Str("redis".into()))
}

/// The RPC semantic-convention attributes of a span of `service`/`method`
/// that succeeded, served by or sent to `port`.
fn assert_rpc_attributes(span: &ReceivedSpan, kind: SpanKind, method: &str, port: i64) {
    let what = format!("{} span {} of {}", kind.as_str_name(), span.span.name, span.service);
    assert_eq!(span.kind(), kind, "{what}");
    assert_eq!(span.span.name, format!("{INGEST_SERVICE}/{method}"), "{what}");
    assert_eq!(
        span.attr(attributes::RPC_SYSTEM),
        Some(AttrValue::Str("grpc".into())),
        "{what}"
    );
    assert_eq!(
        span.attr(attributes::RPC_SERVICE),
        Some(AttrValue::Str(INGEST_SERVICE.into())),
        "{what}"
    );
    assert_eq!(
        span.attr(attributes::RPC_METHOD),
        Some(AttrValue::Str(method.into())),
        "{what}"
    );
    assert_eq!(
        span.attr(attributes::RPC_GRPC_STATUS_CODE),
        Some(AttrValue::Int(0)),
        "{what}"
    );
    assert_eq!(
        span.attr(attributes::SERVER_ADDRESS),
        Some(AttrValue::Str("127.0.0.1".into())),
        "{what}"
    );
    assert_eq!(span.attr(attributes::SERVER_PORT), Some(AttrValue::Int(port)), "{what}");
}

/// Redis spans name the command and carry no keys or values.
fn assert_redis_span_is_clean(span: &ReceivedSpan) {
    for kv in &span.span.attributes {
        if kv.key.starts_with("db.") {
            assert!(
                [
                    attributes::DB_SYSTEM_NAME,
                    attributes::DB_OPERATION_NAME,
                    attributes::DB_OPERATION_BATCH_SIZE
                ]
                .contains(&kv.key.as_str()),
                "unexpected {} on {}",
                kv.key,
                span.span.name
            );
        }
        if let Some(AttrValue::Str(value)) = value_of(kv) {
            assert!(
                !value.contains("sr:v1") && !value.contains("TEST"),
                "a Redis span carries a key or value: {}={value}",
                kv.key
            );
        }
    }
}

/// Webhook delivery spans (`alerting` spans whose name mentions `webhook`).
fn webhook_delivery_spans(spans: &[ReceivedSpan]) -> Vec<&ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.service == ALERTING && s.span.name.to_ascii_lowercase().contains("webhook"))
        .collect()
}

/// Data points of metric `name` sent by `service`.
fn points(metrics: &[ReceivedMetric], service: &str, name: &str) -> Vec<Point> {
    metrics
        .iter()
        .filter(|m| m.service == service && m.metric.name == name)
        .flat_map(ReceivedMetric::points)
        .collect()
}

fn has_point(points: &[Point], wanted: &[(&str, AttrValue)]) -> bool {
    points.iter().any(|p| {
        p.value >= 1.0
            && wanted
                .iter()
                .all(|(key, value)| attribute(&p.attributes, key).as_ref() == Some(value))
    })
}

/// SIGTERM to every service at once; each drains, then flushes its spans
/// and a last metric reading before it exits.
fn stop_all(cluster: &mut Cluster) {
    let stopping = [
        cluster.alerting.terminate_async(),
        cluster.scoring.terminate_async(),
        cluster.ingest.terminate_async(),
    ];
    for mut child in stopping {
        assert!(child.wait().unwrap().success(), "a service failed to stop cleanly");
    }
}

/// An ingester's alerting client and a new subscription whose threshold
/// Japan's REE score crosses once the upload raises it above `base`.
async fn subscribe_above(
    cluster: &Cluster,
    base: f64,
    webhook: Option<apb::Webhook>,
) -> (
    AlertingServiceClient<InterceptedService<Channel, Bearer>>,
    apb::Subscription,
) {
    let mut alerting = AlertingServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&cluster.alerting.endpoint()).await,
        Bearer(Some(INGESTER_TOKEN.into())),
    );
    let subscription = alerting
        .create_subscription(apb::CreateSubscriptionRequest {
            subscription: Some(ree_japan_subscription(
                "REE for Japan",
                apb::rule::Kind::Threshold(apb::ThresholdRule {
                    value: base + 0.2,
                    hysteresis: 0.3,
                }),
                webhook,
            )),
        })
        .await
        .unwrap()
        .into_inner();
    (alerting, subscription)
}

/// Sends the upload that moves Japan's REE score inside a trace of the
/// test's own (sampled), returning that trace's id and the caller span's id.
async fn upload_in_a_trace_of_our_own(cluster: &Cluster) -> ([u8; 16], [u8; 8]) {
    let (trace_id, caller_span_id) = test_trace_context();
    let mut upload = tonic::Request::new(ree_production(90.0));
    upload.metadata_mut().insert(
        "traceparent",
        format!("00-{}-{}-01", hex(&trace_id), hex(&caller_span_id))
            .parse()
            .unwrap(),
    );
    let mut ingest = ingest_client(&cluster.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    ingest.upsert_production(upload).await.unwrap();
    (trace_id, caller_span_id)
}

/// Waits up to 20 s for the first alert of `subscription`.
async fn alert_fired(
    alerting: &AlertingServiceClient<InterceptedService<Channel, Bearer>>,
    subscription: &str,
) -> bool {
    eventually(Duration::from_secs(20), || {
        let mut alerting = alerting.clone();
        let req = apb::ListAlertsRequest {
            subscription_id: subscription.to_string(),
            ..Default::default()
        };
        async move { !alerting.list_alerts(req).await.unwrap().into_inner().alerts.is_empty() }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_traced_through_ingest_scoring_and_alerting() {
    let receiver = OtlpReceiver::start();
    let mut options = ClusterOptions::default();
    options.env.extend([
        ("SUPPLYRISK__TELEMETRY__OTLP_ENDPOINT".to_string(), receiver.endpoint()),
        ("SUPPLYRISK__TELEMETRY__SAMPLE_RATIO".to_string(), "1".to_string()),
        ("SUPPLYRISK__TELEMETRY__LOG_FORMAT".to_string(), "json".to_string()),
        (
            "SUPPLYRISK__ALERTING__WEBHOOK_ALLOW".to_string(),
            "127.0.0.1".to_string(),
        ),
    ]);
    let hooks = WebhookReceiver::start();
    let mut cluster = Cluster::start_with(options);
    for service in [&cluster.ingest, &cluster.scoring, &cluster.alerting] {
        supplyrisk_testkit::health(&service.endpoint(), "").await.unwrap();
    }
    seed_ree(&cluster).await;
    assert!(first_score_published(&cluster).await, "the seed produced no score");
    let base = ree_score_for_japan(&cluster).await;
    // The same request again is answered from memory.
    assert_eq!(ree_score_for_japan(&cluster).await, base);

    let webhook = apb::Webhook {
        url: hooks.url("/alerts"),
        secret: "whsec_dHJhY2UtdGVzdC13ZWJob29rLXNlY3JldC0zMmI=".into(),
        ..Default::default()
    };
    let (alerting, subscription) = subscribe_above(&cluster, base, Some(webhook)).await;

    // The upload that moves the score, sent inside a trace of our own.
    let (trace_id, caller_span_id) = upload_in_a_trace_of_our_own(&cluster).await;
    assert!(alert_fired(&alerting, &subscription.id).await, "no alert");
    assert_eq!(hooks.wait_for(1, Duration::from_secs(10)).len(), 1, "no webhook");
    drop(alerting);

    // SIGTERM: each service drains, then flushes its spans and a last metric reading.
    let ingest_port = port_of(cluster.ingest.addr());
    stop_all(&mut cluster);
    let spans = receiver.spans();
    let metrics = receiver.metrics();
    assert!(
        !spans.iter().any(|s| s.span.name.starts_with("grpc.health.v1.Health")),
        "health checks are not traced"
    );

    // 1. The upload: the ingest server span, child of our caller span.
    let upload = spans
        .iter()
        .find(|s| s.service == INGEST && s.span.trace_id == trace_id && s.kind() == SpanKind::Server)
        .expect("the ingest server span of the upload");
    assert_eq!(
        upload.span.parent_span_id, caller_span_id,
        "child of the caller's traceparent"
    );
    assert_rpc_attributes(upload, SpanKind::Server, "UpsertProduction", ingest_port);

    // 2. The Redis write under it: the atomic upsert script.
    let write = spans
        .iter()
        .find(|s| s.span.parent_span_id == upload.span.span_id && is_redis(s) && s.span.name == "EVALSHA")
        .expect("the EVALSHA span of the upsert under the upload");
    assert_eq!(write.span.trace_id, trace_id);
    assert_eq!(write.kind(), SpanKind::Client);
    assert_eq!(
        write.attr(attributes::DB_OPERATION_NAME),
        Some(AttrValue::Str("EVALSHA".into()))
    );

    // 3. The recompute: a new trace whose span links to the upload's.
    let recomputes: Vec<&ReceivedSpan> = named(&spans, SCORING, "scoring.recompute")
        .into_iter()
        .filter(|s| s.links_to(&trace_id, Some(&upload.span.span_id)))
        .collect();
    assert!(!recomputes.is_empty(), "no scoring.recompute span links to the upload");

    // 5. The evaluation that fired: alerting's span linked to one of those recomputes.
    let (recompute, evaluation) = recomputes
        .iter()
        .find_map(|r| {
            named(&spans, ALERTING, "alerting.evaluate")
                .into_iter()
                .find(|e| e.links_to(&r.span.trace_id, Some(&r.span.span_id)))
                .map(|e| (*r, e))
        })
        .expect("an alerting.evaluate span linked to the recompute");
    // JSON log lines name their trace: the recompute's summary line leads to it.
    let recompute_trace_id = format!("\"trace_id\":\"{}\"", hex(&recompute.span.trace_id));
    let scoring_logs = cluster.scoring.logs();
    assert!(
        scoring_logs.lines().any(|l| l.contains("scores recomputed")
            && l.contains(&recompute_trace_id)
            && l.contains("\"span_id\":\"")),
        "no JSON log line of the recompute carries its trace id {recompute_trace_id}:\n{scoring_logs}"
    );
    let recompute_trace = Trace::of(&spans, &recompute.span.trace_id);
    assert_ne!(
        recompute.span.trace_id, trace_id,
        "an asynchronous hop starts a new trace"
    );

    // 4. Snapshot reads inside the recompute: client spans whose ingest
    // server span is their child, every one of them.
    let clients: Vec<&ReceivedSpan> = named(&spans, SCORING, &format!("{INGEST_SERVICE}/GetSupplySnapshot"))
        .into_iter()
        .filter(|s| {
            s.span.trace_id == recompute.span.trace_id && recompute_trace.descends_from(s, &recompute.span.span_id)
        })
        .collect();
    assert!(!clients.is_empty(), "no GetSupplySnapshot client span in the recompute");
    for client in &clients {
        assert_rpc_attributes(client, SpanKind::Client, "GetSupplySnapshot", ingest_port);
        let server = spans
            .iter()
            .find(|s| s.service == INGEST && s.span.parent_span_id == client.span.span_id)
            .expect("the ingest server span of a snapshot read, child of the client span");
        assert_eq!(server.span.trace_id, client.span.trace_id);
        assert_rpc_attributes(server, SpanKind::Server, "GetSupplySnapshot", ingest_port);
    }
    assert!(
        spans
            .iter()
            .any(|s| s.service == INGEST && is_redis(s) && s.span.trace_id == recompute.span.trace_id),
        "snapshot reads show their Redis commands"
    );
    // The score is recorded, with its ScoreChanged event, by one script.
    assert!(
        spans.iter().any(|s| {
            s.service == SCORING
                && s.span.parent_span_id == recompute.span.span_id
                && is_redis(s)
                && s.span.name == "EVALSHA"
        }),
        "the recompute's EVALSHA recording the score"
    );

    // The alert is recorded in Redis under the evaluation.
    let evaluation_trace = Trace::of(&spans, &evaluation.span.trace_id);
    assert!(
        spans.iter().any(|s| s.service == ALERTING
            && is_redis(s)
            && evaluation_trace.descends_from(s, &evaluation.span.span_id)),
        "no Redis span under alerting.evaluate"
    );

    // Every span of the flow shares one of the three trace ids, each trace
    // is whole (every named parent arrived) and each later trace's roots
    // link to the trace before it.
    let upload_trace = Trace::of(&spans, &trace_id);
    assert!(
        upload_trace.orphans(&[&caller_span_id]).is_empty(),
        "holes in the upload trace"
    );
    assert!(
        upload_trace.roots().is_empty(),
        "the upload trace hangs off the caller's span"
    );
    assert!(recompute_trace.orphans(&[]).is_empty(), "holes in the recompute trace");
    for root in recompute_trace.roots() {
        assert!(
            root.links_to(&trace_id, None),
            "{} does not link to the upload",
            root.span.name
        );
    }
    assert!(
        evaluation_trace.orphans(&[]).is_empty(),
        "holes in the evaluation trace"
    );
    for root in evaluation_trace.roots() {
        assert!(
            root.links_to(&recompute.span.trace_id, None),
            "{} does not link to the recompute",
            root.span.name
        );
    }
    // 6. The webhook delivery attempt, linked to the evaluation that fired.
    let deliveries = webhook_delivery_spans(&spans);
    assert!(!deliveries.is_empty(), "no webhook delivery span");
    for delivery in &deliveries {
        assert!(
            delivery.span.trace_id == evaluation.span.trace_id || delivery.links_to(&evaluation.span.trace_id, None),
            "webhook span {} is not connected to the evaluation",
            delivery.span.name
        );
        assert_eq!(delivery.kind(), SpanKind::Client);
        assert_eq!(
            delivery.attr(attributes::SERVER_ADDRESS),
            Some(AttrValue::Str("127.0.0.1".into()))
        );
        assert_eq!(
            delivery.attr(attributes::WEBHOOK_OUTCOME),
            Some(AttrValue::Str("delivered".into()))
        );
    }

    // Redis spans name commands only.
    let redis_spans: Vec<&ReceivedSpan> = spans.iter().filter(|s| is_redis(s)).collect();
    assert!(redis_spans.len() >= 3);
    for span in redis_spans {
        assert_redis_span_is_clean(span);
    }

    // Metrics arrived: RPC durations per method and status on both sides,
    // ingest record outcomes, cache lookups, consumer group state.
    let served = points(&metrics, INGEST, metrics::RPC_SERVER_DURATION);
    assert!(
        has_point(
            &served,
            &[
                (attributes::RPC_SYSTEM, AttrValue::Str("grpc".into())),
                (attributes::RPC_SERVICE, AttrValue::Str(INGEST_SERVICE.into())),
                (attributes::RPC_METHOD, AttrValue::Str("UpsertProduction".into())),
                (attributes::RPC_GRPC_STATUS_CODE, AttrValue::Int(0)),
            ]
        ),
        "no {} point for UpsertProduction: {served:?}",
        metrics::RPC_SERVER_DURATION
    );
    assert!(
        metrics
            .iter()
            .filter(|m| m.metric.name == metrics::RPC_SERVER_DURATION)
            .all(|m| m.is_histogram() && m.metric.unit == "s")
    );
    let called = points(&metrics, SCORING, metrics::RPC_CLIENT_DURATION);
    assert!(
        has_point(
            &called,
            &[
                (attributes::RPC_METHOD, AttrValue::Str("GetSupplySnapshot".into())),
                (attributes::RPC_GRPC_STATUS_CODE, AttrValue::Int(0)),
            ]
        ),
        "no {} point for GetSupplySnapshot",
        metrics::RPC_CLIENT_DURATION
    );
    assert!(has_point(
        &points(&metrics, INGEST, metrics::INGEST_RECORDS),
        &[
            (attributes::INGEST_KIND, AttrValue::Str("production".into())),
            (attributes::INGEST_OUTCOME, AttrValue::Str("accepted".into())),
        ]
    ));
    let lookups = points(&metrics, SCORING, metrics::SCORE_CACHE_LOOKUPS);
    for result in ["miss", "remembered"] {
        assert!(
            has_point(&lookups, &[(attributes::CACHE_RESULT, AttrValue::Str(result.into()))]),
            "no {result} lookup counted: {lookups:?}"
        );
    }
    assert!(
        has_point(
            &points(&metrics, ALERTING, metrics::WEBHOOK_ATTEMPTS),
            &[(attributes::WEBHOOK_OUTCOME, AttrValue::Str("delivered".into()))]
        ),
        "no delivered webhook attempt counted"
    );
    for (service, group) in [(SCORING, "scoring"), (ALERTING, "alerting")] {
        assert!(
            points(&metrics, service, metrics::STREAM_GROUP_PENDING)
                .iter()
                .any(|p| attribute(&p.attributes, attributes::MESSAGING_CONSUMER_GROUP)
                    == Some(AttrValue::Str(group.into()))),
            "no {} for group {group}",
            metrics::STREAM_GROUP_PENDING
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_upload_keeps_its_linked_recompute_and_evaluation_at_any_ratio() {
    // Ratio 0: no new trace is kept on its own; the upload is kept only
    // because its caller's traceparent says sampled.
    let receiver = OtlpReceiver::start();
    let mut options = ClusterOptions::default();
    options.env.extend([
        ("SUPPLYRISK__TELEMETRY__OTLP_ENDPOINT".to_string(), receiver.endpoint()),
        ("SUPPLYRISK__TELEMETRY__SAMPLE_RATIO".to_string(), "0".to_string()),
    ]);
    let mut cluster = Cluster::start_with(options);
    seed_ree(&cluster).await;
    assert!(first_score_published(&cluster).await, "the seed produced no score");
    let base = ree_score_for_japan(&cluster).await;
    let (alerting, subscription) = subscribe_above(&cluster, base, None).await;

    let (trace_id, _) = upload_in_a_trace_of_our_own(&cluster).await;
    assert!(alert_fired(&alerting, &subscription.id).await, "no alert");
    drop(alerting);
    stop_all(&mut cluster);
    let spans = receiver.spans();

    assert!(
        spans.iter().any(|s| s.service == INGEST && s.span.trace_id == trace_id),
        "the upload, sampled by its caller, is kept"
    );
    let recompute = named(&spans, SCORING, "scoring.recompute")
        .into_iter()
        .find(|s| s.links_to(&trace_id, None))
        .expect("the recompute linked to the kept upload is kept");
    assert!(
        named(&spans, ALERTING, "alerting.evaluate")
            .iter()
            .any(|e| e.links_to(&recompute.span.trace_id, Some(&recompute.span.span_id))),
        "the evaluation linked to the kept recompute is kept"
    );
    // Nothing else: the seed's recompute linked to no kept span.
    assert!(
        named(&spans, SCORING, "scoring.recompute")
            .iter()
            .all(|s| s.links_to(&trace_id, None)),
        "a recompute of an unsampled write was kept at ratio 0"
    );
}
