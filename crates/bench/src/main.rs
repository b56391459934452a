//! `supplyrisk-bench`: load benchmarks against real processes.
//!
//! Each benchmark measures its own baseline in the same run (the machine is
//! shared and noisy, so only ratios measured together mean anything) and
//! prints both figures and their ratio against the target.
//!
//! `supplyrisk-bench ingest [N]` streams N (default 1,000,000) valid trade
//! flows through `IngestTradeFlows` into a release build backed by its own
//! redis-server, next to `redis-benchmark -P 16 -t set` on that server.
#![forbid(unsafe_code)]

use std::process::Command;
use std::time::Instant;

use supplyrisk_api::common::v1 as common;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{INGESTER_TOKEN, RedisServer, ServiceProcess, ingest_client};

/// Flows per streamed message.
const MESSAGE_FLOWS: usize = 5000;
/// Target from the foundation issue: records/s ≥ 0.25 × SET ops/s.
const INGEST_TARGET_RATIO: f64 = 0.25;

fn redis_set_ops(port: u16, requests: u32) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-p",
            &port.to_string(),
            "-P",
            "16",
            "-t",
            "set",
            "-n",
            &requests.to_string(),
            "--csv",
        ])
        .output()
        .expect("redis-benchmark not found (apt install redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: "test","rps",... with a header line first.
    text.lines()
        .find(|l| l.starts_with("\"SET\""))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("cannot read redis-benchmark output:\n{text}"))
}

fn flows(n: usize) -> Vec<pb::IngestTradeFlowsRequest> {
    let countries: Vec<String> = supplyrisk_domain::Countries::builtin()
        .iter()
        .filter(|c| c.kind == supplyrisk_domain::CountryKind::Country)
        .map(|c| c.iso3.clone())
        .take(100)
        .collect();
    let hs = ["284690", "282520", "260400", "810510", "261100"];
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(MESSAGE_FLOWS);
    let mut count = 0;
    'all: for year in 2013..2025u32 {
        for month in 1..=12u32 {
            for r in &countries {
                for p in &countries {
                    if r == p {
                        continue;
                    }
                    for code in hs {
                        if count == n {
                            break 'all;
                        }
                        batch.push(pb::TradeFlow {
                            reporter: r.clone(),
                            partner: p.clone(),
                            hs_code: code.to_string(),
                            period: Some(common::Period { year, month }),
                            flow: pb::FlowDirection::Import as i32,
                            value_usd: 1000.0 + count as f64,
                            net_weight_kg: Some(10.0),
                            source: "BENCH".to_string(),
                        });
                        count += 1;
                        if batch.len() == MESSAGE_FLOWS {
                            out.push(pb::IngestTradeFlowsRequest {
                                upload_id: "bench".into(),
                                flows: std::mem::take(&mut batch),
                            });
                        }
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        out.push(pb::IngestTradeFlowsRequest {
            upload_id: "bench".into(),
            flows: batch,
        });
    }
    out
}

async fn bench_ingest(n: usize) {
    let redis = RedisServer::start_with_fsync("everysec");
    let url = redis.url();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[
            ("SUPPLYRISK__REDIS__URL", &url),
            ("SUPPLYRISK__TELEMETRY__LOG_FILTER", "warn,supplyrisk_ingest=info"),
        ],
    );
    println!("redis-benchmark -P 16 -t set (same server, AOF everysec) ...");
    let set_ops = redis_set_ops(redis.port(), 2_000_000);
    let _ = redis.cli(&["FLUSHALL"]);
    let messages = flows(n);
    let total: usize = messages.iter().map(|m| m.flows.len()).sum();
    println!("streaming {total} trade flows in messages of {MESSAGE_FLOWS} ...");
    let mut client = ingest_client(&ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let start = Instant::now();
    let resp = client
        .ingest_trade_flows(tokio_stream::iter(messages))
        .await
        .expect("upload")
        .into_inner();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(resp.accepted as usize, total, "every flow accepted: {resp:?}");
    let rate = total as f64 / secs;
    let ratio = rate / set_ops;
    println!();
    println!("ingest records/s        {rate:>12.0}   ({total} flows in {secs:.2} s)");
    println!("redis SET ops/s (-P 16) {set_ops:>12.0}");
    println!(
        "ratio                   {ratio:>12.3}   target >= {INGEST_TARGET_RATIO} -> {}",
        if ratio >= INGEST_TARGET_RATIO { "MET" } else { "NOT MET" }
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ingest") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            bench_ingest(n).await;
        }
        _ => {
            eprintln!("usage: supplyrisk-bench ingest [FLOWS]");
            std::process::exit(2);
        }
    }
}
