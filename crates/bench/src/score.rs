//! The scoring benchmark: cached `GetRiskScore` under h2load against the
//! server's own `Health/Check` as the ceiling.

use std::time::Instant;

use supplyrisk_api::encoded::grpc_frame;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{Cluster, ClusterOptions, INGESTER_TOKEN, ingest_client};

use crate::measure::{cpu_seconds, h2load};
use crate::report::verdict;
use crate::workload::quiet_env;

/// Drives cached `GetRiskScore` with h2load, next to `Health/Check` on the
/// same server as the ceiling.
pub(crate) async fn bench_score(requests: u32) {
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
        verdict(r >= 0.9)
    );
    println!(
        "ratio p99              {p:>10.3}   target <= 1.5 -> {}",
        verdict(p <= 1.5)
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
