//! `supplyrisk-bench`: load benchmarks against real processes.
//!
//! Each benchmark measures its own baseline in the same run (the machine is
//! shared and noisy, so only ratios measured together mean anything) and
//! prints both figures and their ratio against the target.
//!
//! `supplyrisk-bench ingest [N]` streams N (default 1,000,000) valid trade
//! flows through `IngestTradeFlows` into a release build backed by its own
//! redis-server, next to `redis-benchmark -P 16 -t set` on that server.
//!
//! `supplyrisk-bench import` imports the shipped BACI file (gzip) through
//! `ImportDataset`, then a generated BACI stream ten times its size, and
//! prints rows/s next to the `ingest` baseline measured in the same run, plus
//! the service's peak resident memory after each, to show memory stays flat
//! in the file size.
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

/// Peak resident set size of a process, in MiB (Linux `VmHWM`).
fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Streams `chunks` through ImportDataset; returns (rows, records stored, seconds).
async fn import_stream(
    endpoint: &str,
    upload_id: &str,
    chunks: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> (u64, u64, f64) {
    use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};
    let header = pb::ImportHeader {
        format: pb::DatasetFormat::Baci as i32,
        source_name: String::new(),
        upload_id: upload_id.into(),
    };
    let first = pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Header(header)),
    };
    let body = chunks.map(|c| pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Chunk(c)),
    });
    let mut client = ingest_client(endpoint, Some(INGESTER_TOKEN)).await;
    let start = Instant::now();
    let mut stream = client
        .import_dataset(tokio_stream::iter(std::iter::once(first).chain(body)))
        .await
        .expect("import")
        .into_inner();
    while let Some(msg) = stream.message().await.expect("import stream") {
        if let Some(import_dataset_response::Item::Summary(s)) = msg.item {
            let t = s.totals.unwrap_or_default();
            assert_eq!(t.rejected, 0, "{:?}", s.rejected_rows);
            return (t.rows_read, t.accepted + t.unchanged, start.elapsed().as_secs_f64());
        }
    }
    panic!("no summary");
}

async fn bench_import() {
    let redis = RedisServer::start_with_fsync("everysec");
    let url = redis.url();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[
            ("SUPPLYRISK__REDIS__URL", &url),
            ("SUPPLYRISK__TELEMETRY__LOG_FILTER", "warn,supplyrisk_ingest=info"),
        ],
    );
    let endpoint = ingest.endpoint();
    let pid = ingest.pid();

    let baseline_n = 300_000;
    let messages = flows(baseline_n);
    let mut client = ingest_client(&endpoint, Some(INGESTER_TOKEN)).await;
    let start = Instant::now();
    client
        .ingest_trade_flows(tokio_stream::iter(messages))
        .await
        .expect("baseline upload");
    let baseline = baseline_n as f64 / start.elapsed().as_secs_f64();
    let _ = redis.cli(&["FLUSHALL"]);

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/baci/baci_hs92_V202401b_critical_2018-2024.csv.gz"
    );
    let gz = std::fs::read(path).expect("shipped BACI file");
    let chunks: Vec<Vec<u8>> = gz.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
    let (rows, records, secs) = import_stream(&endpoint, "bench-baci", chunks.into_iter()).await;
    let rss_shipped = peak_rss_mib(pid);

    // A generated BACI stream of 2,000,000 rows (about 60 MB of text), sent
    // in 256 KiB chunks without holding it in memory on either side.
    let big_rows: u64 = 2_000_000;
    let exporters = [156u16, 842, 392, 276, 410];
    let importers: Vec<u16> = supplyrisk_domain::Countries::builtin()
        .iter()
        .filter(|c| c.kind == supplyrisk_domain::CountryKind::Country)
        .filter_map(|c| c.baci_codes.first().copied())
        .filter(|c| !exporters.contains(c))
        .collect();
    let generated = (0..big_rows / 20_000).map(move |block| {
        let mut text = if block == 0 {
            String::from("t,i,j,k,v,q\n")
        } else {
            String::new()
        };
        for i in 0..20_000u64 {
            let n = block * 20_000 + i;
            let year = 1990 + (n / 400_000);
            let exporter = exporters[(n % 5) as usize];
            let importer = importers[((n / 5) % importers.len() as u64) as usize];
            text.push_str(&format!(
                "{year},{exporter},{importer},284690,{}.5,{}\n",
                n % 1000,
                n % 97
            ));
        }
        text.into_bytes()
    });
    let (big_read, big_records, big_secs) = import_stream(&endpoint, "bench-generated", generated).await;
    let rss_big = peak_rss_mib(pid);

    println!();
    println!("ingest baseline (IngestTradeFlows)  {baseline:>10.0} records/s ({baseline_n} flows)");
    println!(
        "BACI shipped file (gzip)            {:>10.0} rows/s, {:>10.0} records/s ({rows} rows, {records} records, {secs:.2} s)",
        rows as f64 / secs,
        records as f64 / secs
    );
    println!(
        "  records/s vs baseline             {:>10.3}",
        records as f64 / secs / baseline
    );
    println!(
        "BACI generated stream               {:>10.0} rows/s ({big_read} rows, {big_records} records, {big_secs:.2} s)",
        big_read as f64 / big_secs
    );
    println!("ingest peak RSS after shipped file  {rss_shipped:>10.1} MiB");
    println!("ingest peak RSS after 2M-row stream {rss_big:>10.1} MiB (flat if close to the line above)");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ingest") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
            bench_ingest(n).await;
        }
        Some("import") => bench_import().await,
        _ => {
            eprintln!("usage: supplyrisk-bench ingest [FLOWS] | import");
            std::process::exit(2);
        }
    }
}
