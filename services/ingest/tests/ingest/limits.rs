//! Ingest under abuse: millions of rows in one import message, a
//! compression bomb, more imports at once than a replica runs, and writes
//! large enough to hold Redis for everyone else.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use crate::common::*;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::import_dataset_request;
use supplyrisk_testkit::import::{import, messages};
use supplyrisk_testkit::{INGESTER_TOKEN, ingest_client};
use tonic::Code;
use tonic_types::StatusExt;

/// Peak resident memory of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn millions_of_rows_in_one_message_are_parsed_in_bounded_batches() {
    let c = start();
    let e = c.ingest.endpoint();
    // Two million one-letter rows in a single 4 MiB message: each is a
    // rejection, and none may be held until the message ends.
    let rows = 2_000_000;
    let mut bytes = b"t,i,j,k,v,q\n".to_vec();
    bytes.extend(b"x\n".repeat(rows));
    let before = peak_rss(c.ingest.pid());
    let (_, summary) = import(&e, pb::DatasetFormat::Baci, "many-rows", &bytes, bytes.len())
        .await
        .unwrap();
    let totals = summary.totals.unwrap();
    assert_eq!(totals.rows_read, rows as u64);
    assert_eq!(totals.rejected, rows as u64, "every row is counted");
    assert_eq!(summary.rejected_rows.len(), 1000, "and the first 1,000 are listed");
    assert_eq!(summary.rejected_rows[0].line, 2);
    let grown = peak_rss(c.ingest.pid()).saturating_sub(before);
    assert!(
        grown < 96 << 20,
        "the peak grew by {} MiB for a 4 MiB message",
        grown >> 20
    );
}

#[tokio::test]
async fn a_compression_bomb_is_refused_and_the_rows_before_it_kept() {
    let c = start();
    let e = c.ingest.endpoint();
    let mut text = b"t,i,j,k,v,q\n2022,156,392,284690,1500.0,12.5\n".to_vec();
    text.extend(vec![b' '; 256 << 20]);
    let bomb = gzip(&text);
    assert!(bomb.len() < 512 << 10, "{} bytes", bomb.len());
    let (_, summary) = import(&e, pb::DatasetFormat::Baci, "bomb", &bomb, 64 << 10)
        .await
        .unwrap();
    let totals = summary.totals.unwrap();
    assert_eq!(
        totals.accepted, 2,
        "the row before the bomb is kept (an import and an export)"
    );
    let refused = summary
        .rejected_rows
        .iter()
        .find(|r| r.reason.contains("gzip stream refused: it inflates more than 200:1"))
        .unwrap_or_else(|| panic!("{:?}", summary.rejected_rows));
    assert!(refused.line >= 2, "{refused:?}");
}

#[tokio::test]
async fn more_imports_than_a_replica_runs_are_refused_with_a_retry_delay() {
    let c = start_with(&[("SUPPLYRISK__INGEST__MAX_CONCURRENT_IMPORTS", "1")]);
    let e = c.ingest.endpoint();
    // The first import sends its header and holds its stream open.
    let (first_tx, first_rx) = tokio::sync::mpsc::channel(4);
    let header = messages(pb::DatasetFormat::Baci, "held-open", b"", 1).remove(0);
    first_tx.send(header).await.unwrap();
    let mut first = ingest_client(&e, Some(INGESTER_TOKEN))
        .await
        .import_dataset(tokio_stream::wrappers::ReceiverStream::new(first_rx))
        .await
        .unwrap()
        .into_inner();

    let rows = b"t,i,j,k,v,q\n2022,156,392,284690,1500.0,12.5\n";
    let err = import(&e, pb::DatasetFormat::Baci, "second", rows, 1024)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("1 imports are already running"),
        "{}",
        err.message()
    );
    let retry = err.get_error_details().retry_info().and_then(|r| r.retry_delay);
    assert_eq!(retry, Some(std::time::Duration::from_secs(5)));

    // Once the first ends, the second goes through.
    first_tx
        .send(pb::ImportDatasetRequest {
            item: Some(import_dataset_request::Item::Chunk(rows.to_vec())),
        })
        .await
        .unwrap();
    drop(first_tx);
    while first.message().await.unwrap().is_some() {}
    let (_, summary) = import(&e, pb::DatasetFormat::Baci, "second", rows, 1024).await.unwrap();
    assert_eq!(summary.totals.unwrap().accepted, 0, "the same rows: unchanged now");
}

#[tokio::test]
async fn large_writes_are_split_into_bounded_scripts() {
    let c = start_with(&[("SUPPLYRISK__INGEST__WRITE_CHUNK_RECORDS", "1000")]);
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let partners: Vec<&str> = ["CHN", "AUS", "USA", "VNM", "MYS", "IND", "BRA", "FRA", "EST", "KOR"].to_vec();
    // 10 partners × 13 periods × 2 directions × 40 sources = 10,400 distinct flows.
    let mut flows = Vec::new();
    for source in 0..40 {
        for partner in &partners {
            for month in 0..13 {
                for flow in [pb::FlowDirection::Import, pb::FlowDirection::Export] {
                    let mut f = supplyrisk_testkit::fixtures::ree_import("JPN", partner, 1.0 + f64::from(month));
                    f.period = Some(supplyrisk_api::common::v1::Period { year: 2023, month });
                    f.flow = flow as i32;
                    f.source = format!("S{source}");
                    flows.push(f);
                }
            }
        }
    }
    let n = flows.len() as u64;
    c.redis.cli(&["CONFIG", "RESETSTAT"]);
    let resp = upload(&mut client, "one-large-message", flows).await;
    assert_eq!(resp.accepted, n, "{resp:?}");
    let calls = c.redis.command_calls("evalsha");
    assert!(
        calls >= n.div_ceil(1000),
        "{n} flows in one message ran as {calls} scripts"
    );

    // A unary upsert of 5,000 statistics: five scripts of 1,000.
    let stats: Vec<pb::ProductionStat> = (0..5000)
        .map(|i| pb::ProductionStat {
            mineral: "REE".into(),
            stage: supplyrisk_api::common::v1::SupplyStage::Mining as i32,
            country: partners[i % partners.len()].into(),
            year: 2023,
            quantity: Some(1.0),
            unit: "t".into(),
            source: format!("S{i}"),
            ..Default::default()
        })
        .collect();
    c.redis.cli(&["CONFIG", "RESETSTAT"]);
    let resp = client
        .upsert_production(pb::UpsertProductionRequest { stats })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.accepted, 5000, "{resp:?}");
    assert_eq!(c.redis.command_calls("evalsha"), 5);
}

/// An upload that sends its first message and then holds its stream open.
async fn held_open_upload(
    endpoint: &str,
) -> (
    tokio::sync::mpsc::Sender<pb::IngestTradeFlowsRequest>,
    tokio::task::JoinHandle<Result<pb::IngestTradeFlowsResponse, tonic::Status>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(request(
        "held",
        vec![supplyrisk_testkit::fixtures::ree_import("JPN", "CHN", 1.0)],
    ))
    .await
    .unwrap();
    let mut client = ingest_client(endpoint, Some(INGESTER_TOKEN)).await;
    let call = tokio::spawn(async move {
        client
            .ingest_trade_flows(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map(tonic::Response::into_inner)
    });
    (tx, call)
}

#[tokio::test]
async fn calls_past_the_servers_limit_are_shed_but_health_still_answers() {
    let c = start_with(&[("SUPPLYRISK__GRPC__MAX_CONCURRENT_CALLS", "1")]);
    let e = c.ingest.endpoint();
    let (mut upload, mut call) = held_open_upload(&e).await;
    let mut client = ingest_client(&e, Some(INGESTER_TOKEN)).await;
    // Once the upload's call is in the handler, it holds the one slot. A
    // probe in flight when the upload arrived has it shed instead: then
    // the upload is held open again.
    let mut refused = None;
    for _ in 0..200 {
        if call.is_finished() {
            (upload, call) = held_open_upload(&e).await;
        } else if let Err(e) = client.list_minerals(pb::ListMineralsRequest {}).await {
            refused = Some(e);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let err = refused.expect("a call past the limit is refused");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("limit of concurrent calls"), "{}", err.message());
    let retry = err.get_error_details().retry_info().and_then(|r| r.retry_delay);
    assert_eq!(retry, Some(std::time::Duration::from_millis(200)));
    let serving = supplyrisk_testkit::health(&e, "").await.unwrap();
    assert_eq!(serving, 1, "probes are never shed");

    drop(upload);
    let resp = call.await.unwrap().unwrap();
    assert_eq!(resp.accepted, 1);
    client.list_minerals(pb::ListMineralsRequest {}).await.unwrap();
}

#[tokio::test]
async fn a_silent_upload_stream_is_ended_after_the_idle_bound() {
    let c = start_with(&[("SUPPLYRISK__GRPC__STREAM_IDLE_TIMEOUT_SECS", "1")]);
    let (_upload, call) = held_open_upload(&c.ingest.endpoint()).await;
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), call)
        .await
        .expect("ended by the server")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("the upload sent nothing for 1 s"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn policy_events_are_bounded_in_size_and_in_number_per_mineral() {
    let c = start_with(&[("SUPPLYRISK__INGEST__MAX_POLICY_EVENTS_PER_MINERAL", "2")]);
    let client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let event = |minerals: &[&str], month: i32| pb::PolicyEvent {
        country: "CHN".into(),
        minerals: minerals.iter().map(|s| s.to_string()).collect(),
        measure: pb::PolicyMeasure::Licensing as i32,
        effective_from: Some(supplyrisk_api::common::v1::Date {
            year: 2023,
            month,
            day: 1,
        }),
        severity: 0.5,
        source_reference: "MOFCOM announcement".into(),
        ..Default::default()
    };
    let record = |e: pb::PolicyEvent| {
        let mut client = client.clone();
        async move {
            client
                .record_policy_event(pb::RecordPolicyEventRequest { event: Some(e) })
                .await
        }
    };
    let mut long = event(&["GA"], 1);
    long.source_reference = "x".repeat(1001);
    let err = record(long).await.unwrap_err();
    assert_eq!(
        supplyrisk_testkit::field_violations(&err),
        [(
            "event.source_reference".to_string(),
            "must be at most 1000 bytes".to_string()
        )]
    );

    record(event(&["GA"], 1)).await.unwrap();
    record(event(&["GA", "GE"], 2)).await.unwrap();
    let err = record(event(&["GA"], 3)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message()
            .contains("GA already has 2 policy events, the most one mineral keeps (2)"),
        "{}",
        err.message()
    );
    // Germanium has room, and an event already on gallium may still change.
    record(event(&["GE"], 3)).await.unwrap();
    let mut revised = event(&["GA"], 1);
    revised.severity = 0.9;
    assert!(record(revised).await.unwrap().into_inner().changed);
}
