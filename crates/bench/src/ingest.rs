//! The ingest benchmarks: streamed trade flows against redis SET, and
//! dataset imports against that ingest rate, with their memory.

use std::time::Instant;

use supplyrisk_testkit::{INGESTER_TOKEN, ingest_client};

use crate::measure::{peak_rss_mib, redis_set_ops};
use crate::report::verdict;
use crate::workload::{MESSAGE_FLOWS, flows, import_stream, ingest_alone};

/// Target from the foundation issue: records/s ≥ 0.25 × SET ops/s.
const INGEST_TARGET_RATIO: f64 = 0.25;

/// Streams `n` trade flows through `IngestTradeFlows`, next to
/// `redis-benchmark` SET on the same server.
pub(crate) async fn bench_ingest(n: usize) {
    let (redis, ingest) = ingest_alone();
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
        verdict(ratio >= INGEST_TARGET_RATIO)
    );
}

/// Imports the shipped BACI file, then a generated stream ten times its
/// size, next to the `ingest` baseline, with the peak memory after each.
pub(crate) async fn bench_import() {
    let (redis, ingest) = ingest_alone();
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
