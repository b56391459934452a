//! What the benchmarks send: generated trade flows, the shipped datasets
//! the scores read, and streaming imports through `ImportDataset`.

use std::time::Instant;

use supplyrisk_api::common::v1 as common;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_testkit::{INGESTER_TOKEN, RedisServer, ServiceProcess, ingest_client};

/// Flows per streamed message.
pub(crate) const MESSAGE_FLOWS: usize = 5000;

/// `n` valid trade flows between 100 countries over five HS codes, month
/// by month from 2013, in messages of [`MESSAGE_FLOWS`].
pub(crate) fn flows(n: usize) -> Vec<pb::IngestTradeFlowsRequest> {
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

/// A redis-server of its own (AOF fsync every second) and an ingest service
/// on it, logging warnings plus the gRPC and ingest info lines.
pub(crate) fn ingest_alone() -> (RedisServer, ServiceProcess) {
    let redis = RedisServer::start_with_fsync("everysec");
    let url = redis.url();
    let logs = format!("{QUIET_LOGS},supplyrisk_ingest=info");
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[
            ("SUPPLYRISK__REDIS__URL", &url),
            ("SUPPLYRISK__TELEMETRY__LOG_FILTER", &logs),
        ],
    );
    (redis, ingest)
}

/// Service logs kept to warnings, plus the health lines and the address
/// line the test kit reads (`supplyrisk_service`'s `listening`).
const QUIET_LOGS: &str = "warn,supplyrisk_grpc=info,supplyrisk_service=info";

/// Settings that keep service logs to warnings (plus the address line the test kit reads).
pub(crate) fn quiet_env() -> Vec<(String, String)> {
    vec![("SUPPLYRISK__TELEMETRY__LOG_FILTER".into(), QUIET_LOGS.into())]
}

/// [`quiet_env`], also logging `more` (e.g. `supplyrisk_scoring=info`).
pub(crate) fn quiet_env_with(more: &str) -> Vec<(String, String)> {
    vec![(
        "SUPPLYRISK__TELEMETRY__LOG_FILTER".into(),
        format!("{QUIET_LOGS},{more}"),
    )]
}

/// Streams `chunks` through ImportDataset; returns (rows, records stored, seconds).
pub(crate) async fn import_stream(
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
pub(crate) async fn import_format(
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
pub(crate) const SCORED_DATASETS: [(pb::DatasetFormat, &str); 8] = [
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
