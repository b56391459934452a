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
//! `supplyrisk-bench score` drives cached `GetRiskScore` with h2load and, in
//! the same run, `grpc.health.v1.Health/Check` on the same server as the
//! ceiling, printing req/s, p99 and their ratios.
//!
//! `supplyrisk-bench alert [N]` measures, with an ingest load running, the
//! time from an ingest acknowledgement to the alert it causes arriving on
//! `StreamAlerts`, and prints p50 and p99.
//!
//! `supplyrisk-bench recompute [N]` loads the bundled data the scores read,
//! then N times changes one country's governance (which touches every
//! mineral) and prints how long scoring takes to recompute every mineral ×
//! tracked importer × method, from its own log line.
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
use supplyrisk_api::encoded::grpc_frame;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{Cluster, ClusterOptions, INGESTER_TOKEN, RedisServer, ServiceProcess, ingest_client};

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
            (
                "SUPPLYRISK__TELEMETRY__LOG_FILTER",
                "warn,supplyrisk_grpc=info,supplyrisk_ingest=info",
            ),
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
    import_format(endpoint, pb::DatasetFormat::Baci, upload_id, chunks)
        .await
        .expect("import")
}

/// Streams `chunks` in `format`; returns (rows, records stored, seconds),
/// or the service's refusal.
async fn import_format(
    endpoint: &str,
    format: pb::DatasetFormat,
    upload_id: &str,
    chunks: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> Result<(u64, u64, f64), tonic::Status> {
    use supplyrisk_api::ingest::v1::{import_dataset_request, import_dataset_response};
    let header = pb::ImportHeader {
        format: format as i32,
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
        .await?
        .into_inner();
    while let Some(msg) = stream.message().await? {
        if let Some(import_dataset_response::Item::Summary(s)) = msg.item {
            let t = s.totals.unwrap_or_default();
            assert_eq!(t.rejected, 0, "{:?}", s.rejected_rows);
            return Ok((t.rows_read, t.accepted + t.unchanged, start.elapsed().as_secs_f64()));
        }
    }
    panic!("no summary");
}

/// The bundled datasets the scores read, in import order (format, file under data/).
const SCORED_DATASETS: [(pb::DatasetFormat, &str); 8] = [
    (pb::DatasetFormat::PolicyEvents, "policy_events.csv"),
    (pb::DatasetFormat::Wgi, "worldbank-wgi/WGIData.csv"),
    (
        pb::DatasetFormat::WgiPv,
        "wgi-pv/wgi_pv_estimate_and_normalized_long.csv",
    ),
    (
        pb::DatasetFormat::UsgsMcsWorld,
        "usgs-mcs2025/world_data/MCS2025_World_Data.csv",
    ),
    (
        pb::DatasetFormat::WorldMiningData,
        "world-mining-data/wmd_production_2018-2024_long.csv",
    ),
    (
        pb::DatasetFormat::EuCrmSupplyShares,
        "eu-crm-2023/eu_crm2023_global_supply_shares.csv",
    ),
    (
        pb::DatasetFormat::IeaCmdeSupply,
        "iea-cmde-2025/iea_cmde2025_supply_by_country.csv",
    ),
    (
        pb::DatasetFormat::Baci,
        "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz",
    ),
];

/// Importers the recompute benchmark tracks.
const RECOMPUTE_IMPORTERS: &str = "JPN,USA,USA+JPN,DEU,KOR,CHN,IND,EU27";

/// `elapsed_ms` of every "scores recomputed" line in a scoring log.
fn recompute_times(logs: &str) -> Vec<f64> {
    logs.lines()
        .filter(|l| l.contains("scores recomputed"))
        .filter_map(|l| {
            let at = l.find("elapsed_ms")?;
            let digits: String = l[at..]
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

async fn bench_recompute(rounds: usize) {
    let cluster = Cluster::start_with(ClusterOptions {
        tracked_importers: RECOMPUTE_IMPORTERS.into(),
        fsync: "everysec",
        env: vec![(
            "SUPPLYRISK__TELEMETRY__LOG_FILTER".into(),
            "warn,supplyrisk_grpc=info,supplyrisk_scoring=info".into(),
        )],
        ..Default::default()
    });
    let endpoint = cluster.ingest.endpoint();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");
    for (format, file) in SCORED_DATASETS {
        let bytes = std::fs::read(format!("{data}{file}")).expect("shipped file");
        let chunks: Vec<Vec<u8>> = bytes.chunks(256 * 1024).map(<[u8]>::to_vec).collect();
        let upload_id = format!("bench-{}", file.replace('/', "-"));
        match import_format(&endpoint, format, &upload_id, chunks.into_iter()).await {
            Ok((rows, _, secs)) => println!("imported {file}: {rows} rows in {secs:.1} s"),
            // A build without this format (an older release) leaves its data out.
            Err(e) if e.message().contains("header.format") => println!("skipped {file}: {}", e.message()),
            Err(e) => panic!("{file}: {e}"),
        }
    }
    // Let the recomputes the imports caused finish.
    let mut settled = recompute_times(&cluster.scoring.logs()).len();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let now = recompute_times(&cluster.scoring.logs()).len();
        if now == settled {
            break;
        }
        settled = now;
    }
    let importers = RECOMPUTE_IMPORTERS.split(',').count();
    let minerals = supplyrisk_domain::Catalog::builtin().minerals().len();
    println!(
        "recomputing every mineral ({minerals}) × {importers} tracked importers × 2 methods after a governance change, {rounds} rounds"
    );
    let mut client = ingest_client(&endpoint, Some(INGESTER_TOKEN)).await;
    let mut times = Vec::new();
    for round in 0..rounds {
        let before = recompute_times(&cluster.scoring.logs()).len();
        // A governance change touches every mineral.
        let estimate = -0.5 + 0.01 * (round as f64 + 1.0);
        let indicators = (1..=6)
            .map(|dimension| pb::GovernanceIndicator {
                country: "CHN".into(),
                year: 2024,
                dimension,
                estimate,
            })
            .collect();
        client
            .upsert_governance(pb::UpsertGovernanceRequest { indicators })
            .await
            .expect("governance");
        let deadline = Instant::now() + std::time::Duration::from_secs(600);
        let ms = loop {
            let all = recompute_times(&cluster.scoring.logs());
            if all.len() > before {
                break all[before];
            }
            assert!(Instant::now() < deadline, "no recompute within 10 minutes");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        println!("round {}: {ms:.0} ms", round + 1);
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!();
    println!(
        "recompute, every mineral x {importers} importers x 2 methods: median {median:.0} ms, min {:.0} ms, max {:.0} ms",
        times[0],
        times[times.len() - 1]
    );
}

async fn bench_import() {
    let redis = RedisServer::start_with_fsync("everysec");
    let url = redis.url();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[
            ("SUPPLYRISK__REDIS__URL", &url),
            (
                "SUPPLYRISK__TELEMETRY__LOG_FILTER",
                "warn,supplyrisk_grpc=info,supplyrisk_ingest=info",
            ),
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

/// Settings that keep service logs to warnings (plus the address line the test kit reads).
fn quiet_env() -> Vec<(String, String)> {
    vec![(
        "SUPPLYRISK__TELEMETRY__LOG_FILTER".into(),
        "warn,supplyrisk_grpc=info".into(),
    )]
}

/// Runs h2load against `url` with `body`; returns (req/s, p99 ms, non-200 count).
fn h2load(url: &str, body: &[u8], token: Option<&str>, requests: u32) -> (f64, f64, u64) {
    let dir = tempfile::tempdir().expect("tmp");
    let body_path = dir.path().join("body.bin");
    let log_path = dir.path().join("log.tsv");
    std::fs::write(&body_path, body).expect("body");
    let mut cmd = Command::new("h2load");
    cmd.args(["-n", &requests.to_string(), "-c", "5", "-m", "10", "-t", "1"])
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("authorization: Bearer {t}")]);
    }
    let out = cmd
        .arg("-d")
        .arg(&body_path)
        .arg(format!("--log-file={}", log_path.display()))
        .arg(url)
        .output()
        .expect("h2load not found (apt install nghttp2-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rps = text
        .lines()
        .find(|l| l.starts_with("finished in"))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim().trim_end_matches(" req/s").parse().ok())
        .unwrap_or_else(|| panic!("cannot read h2load output:\n{text}"));
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let mut durations: Vec<u64> = Vec::new();
    let mut not_ok = 0;
    for line in log.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() >= 3 {
            if cols[1] != "200" {
                not_ok += 1;
            }
            if let Ok(us) = cols[2].parse() {
                durations.push(us);
            }
        }
    }
    durations.sort_unstable();
    let p99 = durations.get(durations.len() * 99 / 100).copied().unwrap_or(0) as f64 / 1000.0;
    (rps, p99, not_ok)
}

async fn bench_score(requests: u32) {
    use supplyrisk_api::scoring::v1 as spb;
    let cluster = Cluster::start_with(ClusterOptions {
        fsync: "everysec",
        env: quiet_env(),
        ..Default::default()
    });
    let (ingest_endpoint, scoring) = (cluster.ingest.endpoint(), &cluster.scoring);
    // Real inputs: USGS world production and the shipped BACI trade.
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");
    for (format, file) in [
        (pb::DatasetFormat::Wgi, "worldbank-wgi/WGIData.csv"),
        (
            pb::DatasetFormat::UsgsMcsWorld,
            "usgs-mcs2025/world_data/MCS2025_World_Data.csv",
        ),
        (
            pb::DatasetFormat::Baci,
            "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz",
        ),
    ] {
        let bytes = std::fs::read(format!("{data}{file}")).expect("shipped data");
        use supplyrisk_api::ingest::v1::import_dataset_request;
        let header = pb::ImportHeader {
            format: format as i32,
            source_name: String::new(),
            upload_id: file.replace('/', "-"),
        };
        let mut msgs = vec![pb::ImportDatasetRequest {
            item: Some(import_dataset_request::Item::Header(header)),
        }];
        msgs.extend(bytes.chunks(1 << 20).map(|c| pb::ImportDatasetRequest {
            item: Some(import_dataset_request::Item::Chunk(c.to_vec())),
        }));
        let mut client = ingest_client(&ingest_endpoint, Some(INGESTER_TOKEN)).await;
        let mut stream = client
            .import_dataset(tokio_stream::iter(msgs))
            .await
            .expect("import")
            .into_inner();
        while stream.message().await.expect("import").is_some() {}
    }
    let req = spb::GetRiskScoreRequest {
        mineral: "REE".into(),
        importer: "JPN".into(),
        year: 2024,
        methodology: 0,
        ..Default::default()
    };
    let channel = supplyrisk_testkit::channel(&scoring.endpoint()).await;
    let mut client = spb::scoring_service_client::ScoringServiceClient::with_interceptor(
        channel,
        supplyrisk_testkit::Bearer(Some(supplyrisk_testkit::READER_TOKEN.into())),
    );
    let cold_start = Instant::now();
    let first = client.get_risk_score(req.clone()).await.expect("score").into_inner();
    let cold = cold_start.elapsed();
    println!(
        "REE for JPN (2024): {:.3}, cold call {:.1} ms",
        first.score,
        cold.as_secs_f64() * 1000.0
    );
    // Wait for the recomputer to settle so the cache is not invalidated mid-run.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let _ = client.get_risk_score(req.clone()).await.expect("score");

    let base = format!("http://{}", scoring.addr());
    let health = tonic_health::pb::HealthCheckRequest { service: String::new() };
    let pid = scoring.pid();
    let health_url = format!("{base}/grpc.health.v1.Health/Check");
    let score_url = format!("{base}/supplyrisk.scoring.v1.ScoringService/GetRiskScore");
    let (health_body, score_body) = (grpc_frame(&health), grpc_frame(&req));
    // Two runs each in the order health, score, score, health, so neither
    // side always runs first on a warming (or cooling) machine; figures are
    // the means of each side's two runs.
    let (mut h_rps, mut h_p99, mut h_bad, mut cpu_health) = (0.0, 0.0, 0, 0.0);
    let (mut s_rps, mut s_p99, mut s_bad, mut cpu_score) = (0.0, 0.0, 0, 0.0);
    for health_turn in [true, false, false, true] {
        let cpu_before = cpu_seconds(pid);
        if health_turn {
            let (rps, p99, bad) = h2load(&health_url, &health_body, None, requests);
            (h_rps, h_p99, h_bad) = (h_rps + rps / 2.0, h_p99 + p99 / 2.0, h_bad + bad);
            cpu_health += (cpu_seconds(pid) - cpu_before) / 2.0;
        } else {
            let (rps, p99, bad) = h2load(
                &score_url,
                &score_body,
                Some(supplyrisk_testkit::READER_TOKEN),
                requests,
            );
            (s_rps, s_p99, s_bad) = (s_rps + rps / 2.0, s_p99 + p99 / 2.0, s_bad + bad);
            cpu_score += (cpu_seconds(pid) - cpu_before) / 2.0;
        }
    }
    // h2load counts HTTP 200 only; check a grpc-status separately.
    let check = client.get_risk_score(req).await.expect("score after load").into_inner();
    assert_eq!(check.score, first.score);
    println!();
    println!("Health/Check           {h_rps:>10.0} req/s   p99 {h_p99:>6.2} ms   non-200 {h_bad}");
    println!("GetRiskScore (cached)  {s_rps:>10.0} req/s   p99 {s_p99:>6.2} ms   non-200 {s_bad}");
    let (r, p) = (s_rps / h_rps, s_p99 / h_p99.max(1e-9));
    println!(
        "ratio req/s            {r:>10.3}   target >= 0.9 -> {}",
        if r >= 0.9 { "MET" } else { "NOT MET" }
    );
    println!(
        "ratio p99              {p:>10.3}   target <= 1.5 -> {}",
        if p <= 1.5 { "MET" } else { "NOT MET" }
    );
    // Where the difference goes: the server's own CPU (user + kernel) per
    // call, and the answer's size, which the client on the same cores reads.
    let per_call = |cpu: f64| cpu / f64::from(requests) * 1e6;
    println!(
        "server CPU per call    {:>7.1} µs health, {:>5.1} µs GetRiskScore ({:.2}x); answer {} bytes",
        per_call(cpu_health),
        per_call(cpu_score),
        cpu_score / cpu_health.max(1e-9),
        prost::Message::encoded_len(&first)
    );
}

/// CPU time (user + system) used so far by process `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum());
    // Linux reports these in USER_HZ, 100 per second on every supported architecture.
    ticks / 100.0
}

async fn bench_alert(rounds: usize) {
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
        let pct = |p: usize| v[(v.len() * p / 100).min(v.len() - 1)];
        println!(
            "{what:<50} {:>5.0} / {:>5.0}   (p90 {:.0}, max {:.0})",
            pct(50),
            pct(99),
            pct(90),
            v[v.len() - 1]
        );
    }
}

fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Prints p50 and p99 of `latencies` (ms) against a p99 target.
fn report_latency(what: &str, latencies: &mut [f64], target_p99: f64) {
    latencies.sort_by(f64::total_cmp);
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!("{what}");
    println!(
        "  p50 {:>8.1} ms   p90 {:.1} ms   max {:.1} ms",
        pct(50),
        pct(90),
        latencies[latencies.len() - 1]
    );
    println!(
        "  p99 {:>8.1} ms   target <= {target_p99} ms -> {}",
        pct(99),
        if pct(99) <= target_p99 { "MET" } else { "NOT MET" }
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
        Some("import") => bench_import().await,
        Some("alert") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
            bench_alert(n).await;
        }
        Some("score") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
            bench_score(n).await;
        }
        Some("recompute") => {
            let n = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
            bench_recompute(n).await;
        }
        _ => {
            eprintln!(
                "usage: supplyrisk-bench ingest [FLOWS] | import | score [REQUESTS] | alert [ROUNDS] | recompute [ROUNDS]"
            );
            std::process::exit(2);
        }
    }
}
