//! `ImportDataset` over real shipped files, streamed in chunks.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::import_dataset_request;
use supplyrisk_testkit::import::{data, import, messages};
use supplyrisk_testkit::{INGESTER_TOKEN, ingest_client};
use tonic::Code;

async fn snapshot(endpoint: &str, mineral: &str, year: u32, importer: &str) -> pb::SupplySnapshot {
    let mut client = ingest_client(endpoint, Some(INGESTER_TOKEN)).await;
    let req = pb::GetSupplySnapshotRequest {
        mineral: mineral.into(),
        year,
        importer: importer.into(),
        ..Default::default()
    };
    client.get_supply_snapshot(req).await.unwrap().into_inner()
}

/// The first `rows` data rows of the shipped BACI file, gzip-compressed again
/// (the whole file is imported by `scripts/run` and the benchmark; a debug
/// test build takes a slice of it).
fn baci_slice(rows: usize) -> (Vec<u8>, u64) {
    use std::io::{Read, Write};
    let mut text = String::new();
    flate2::read::GzDecoder::new(data("baci/baci_hs92_V202401b_critical_2018-2024.csv.gz").as_slice())
        .read_to_string(&mut text)
        .unwrap();
    let kept: String = text.lines().take(rows + 1).flat_map(|l| [l, "\n"]).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(kept.as_bytes()).unwrap();
    (gz.finish().unwrap(), rows as u64)
}

#[tokio::test]
async fn shipped_baci_gzip_imports_with_progress_and_replays() {
    let c = start();
    let e = c.ingest.endpoint();
    let (bytes, rows) = baci_slice(40_000);
    let (progress, s) = import(&e, pb::DatasetFormat::Baci, "baci-1", &bytes, 64 * 1024)
        .await
        .unwrap();
    let t = s.totals.unwrap();
    assert_eq!(t.rows_read, rows);
    assert_eq!(t.bytes_read, bytes.len() as u64);
    assert_eq!(t.rejected, 0, "{:?}", s.rejected_rows);
    // Each BACI row is an import of the importer and an export of the exporter;
    // rows of HS codes outside the catalog are skipped, not rejected.
    assert_eq!(t.accepted + t.unchanged, 2 * (rows - t.skipped));
    assert!(t.accepted > 60_000, "{t:?}");
    assert!(!progress.is_empty(), "progress arrives while the file streams");
    assert!(progress.windows(2).all(|w| w[0].bytes_read <= w[1].bytes_read));

    // Japan's rare-earth imports from China in 2022 are there, by partner and HS code.
    let snap = snapshot(&e, "REE", 2018, "JPN").await;
    let from_china: Vec<_> = snap
        .trade
        .iter()
        .filter(|t| t.partner == "CHN" && t.flow == pb::FlowDirection::Import as i32)
        .collect();
    assert!(!from_china.is_empty());
    assert!(from_china.iter().all(|t| t.source == "BACI"));

    // The same upload id and file return the stored summary (however the
    // file is chunked); a new id finds nothing new.
    let (_, again) = import(&e, pb::DatasetFormat::Baci, "baci-1", &bytes, 100 * 1024)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.totals, Some(t));
    let (_, second) = import(&e, pb::DatasetFormat::Baci, "baci-2", &bytes, 8 * 1024)
        .await
        .unwrap();
    let t2 = second.totals.unwrap();
    assert_eq!((t2.accepted, t2.unchanged), (0, t.accepted + t.unchanged));
}

#[tokio::test]
async fn usgs_world_production_keeps_totals_and_withheld_values() {
    let c = start();
    let e = c.ingest.endpoint();
    let bytes = data("usgs-mcs2025/world_data/MCS2025_World_Data.csv");
    let (_, s) = import(&e, pb::DatasetFormat::UsgsMcsWorld, "usgs-world", &bytes, 4096)
        .await
        .unwrap();
    let t = s.totals.unwrap();
    assert_eq!(t.rejected, 0, "{:?}", s.rejected_rows);
    assert!(t.accepted > 0);
    assert!(
        s.skipped_by_kind.contains_key("outside_catalog"),
        "{:?}",
        s.skipped_by_kind
    );

    let snap = snapshot(&e, "REE", 2024, "").await;
    let usgs = snap.production.iter().find(|p| p.source.starts_with("USGS")).unwrap();
    assert!(usgs.world_total_published, "shares use the published world total");
    assert_eq!(usgs.world_total, 390_000.0);
    let chn = usgs.producers.iter().find(|p| p.country == "CHN").unwrap();
    assert!((chn.share.unwrap() - 270_000.0 / 390_000.0).abs() < 1e-12);
    // The rounded world total is below the sum of the rows: nothing is unattributed.
    assert_eq!(usgs.unattributed_share, 0.0);

    // Germanium: every figure withheld, so there is no HHI rather than HHI = 0.
    let ge = snapshot(&e, "GE", 2024, "").await;
    for p in &ge.production {
        assert_eq!(p.hhi, None, "{p:?}");
    }
    assert!(
        ge.gaps.iter().any(|g| g.contains("no usable production")),
        "{:?}",
        ge.gaps
    );
}

#[tokio::test]
async fn wmd_wgi_and_policy_files_import_cleanly() {
    let c = start();
    let e = c.ingest.endpoint();
    let cases = [
        (
            pb::DatasetFormat::WorldMiningData,
            "world-mining-data/wmd_production_2018-2024_long.csv",
        ),
        (pb::DatasetFormat::WmdHsCodeMap, "world-mining-data/hs_code_map.csv"),
        (pb::DatasetFormat::Wgi, "worldbank-wgi/WGIData.csv"),
        (
            pb::DatasetFormat::WgiPv,
            "wgi-pv/wgi_pv_estimate_and_normalized_long.csv",
        ),
        (pb::DatasetFormat::PolicyEvents, "policy_events.csv"),
        (
            pb::DatasetFormat::UsgsImportReliance,
            "usgs-mcs2025/industry_trends/MCS2025_Fig2_Net_Import_Reliance.csv",
        ),
        (
            pb::DatasetFormat::UsgsMcsSalient,
            "usgs-mcs2025/salient_commodity/mcs2025-galli_salient.csv",
        ),
        (pb::DatasetFormat::BaciCountryCodes, "baci/country_codes_V202401b.csv"),
    ];
    for (format, path) in cases {
        let (_, s) = import(&e, format, &format!("{format:?}"), &data(path), 16 * 1024)
            .await
            .unwrap();
        let t = s.totals.unwrap();
        assert_eq!(t.rejected, 0, "{path}: {:?}", s.rejected_rows);
        assert!(t.accepted + t.skipped > 0, "{path}: {t:?}");
    }
    // WMD and USGS would be separate sources; here WMD alone, labelled.
    let snap = snapshot(&e, "LI", 2022, "").await;
    assert!(
        snap.production.iter().any(|p| p.source == "WMD" && p.hhi.is_some()),
        "{:?}",
        snap.production
    );
    // PV 2024 exists only in the long PV file.
    let snap = snapshot(&e, "CO", 2024, "").await;
    assert!(snap.governance.iter().any(|g| g.year == 2024));
    // U.S. net import reliance keeps its qualifier.
    let ga = snapshot(&e, "GA", 2024, "").await;
    let nir = ga
        .reported_statistics
        .iter()
        .find(|r| r.category == "net_import_reliance")
        .unwrap();
    assert_eq!(nir.country, "USA");
    assert!(nir.value.is_some() || !nir.qualifier.is_empty(), "{nir:?}");
    // Policy events are listed after import.
    let mut client = ingest_client(&e, Some(INGESTER_TOKEN)).await;
    let list = client
        .list_policy_events(pb::ListPolicyEventsRequest {
            mineral: "GA".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!list.into_inner().events.is_empty());
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_good_rows_kept_in_any_chunking() {
    let c = start();
    let e = c.ingest.endpoint();
    let file = b"t,i,j,k,v,q\n2022,156,392,284690,1000.5,12.0\n2022,999,392,284690,5,1\n2022,156,392,284690,abc,1\n2022,156,842,284690,20,NA\n2022,156,842,999999,1,1\n";
    let (_, whole) = import(&e, pb::DatasetFormat::Baci, "bad-1", file, file.len())
        .await
        .unwrap();
    let t = whole.totals.unwrap();
    assert_eq!(t.rows_read, 5);
    assert_eq!(t.rejected, 2);
    let lines: Vec<u64> = whole.rejected_rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![3, 4]);
    assert!(
        whole.rejected_rows[0].reason.contains("999"),
        "{:?}",
        whole.rejected_rows[0]
    );
    assert_eq!(whole.rejected_rows[1].column, "v");
    assert_eq!(t.accepted, 4, "two good rows, each an import and an export");
    assert_eq!(t.skipped, 1, "an HS code outside the catalog is skipped");

    let (_, tiny) = import(&e, pb::DatasetFormat::Baci, "bad-2", file, 7).await.unwrap();
    let t2 = tiny.totals.unwrap();
    assert_eq!(
        (t2.rejected, t2.unchanged, t2.skipped),
        (2, 4, 1),
        "7-byte chunks give the same rows"
    );
    assert_eq!(tiny.rejected_rows, whole.rejected_rows);
    let snap = snapshot(&e, "REE", 2022, "USA").await;
    let flow = snap.trade.iter().find(|t| t.partner == "CHN").unwrap();
    assert_eq!(flow.net_weight_kg, None, "NA quantity is unknown, not zero");
    assert_eq!(flow.value_usd, 20_000.0);
    assert_eq!(
        snap.trade_flow_count, 4,
        "flows stored for REE in 2022, counted without a scan"
    );
}

#[tokio::test]
async fn import_requests_are_validated() {
    let c = start();
    let e = c.ingest.endpoint();
    let err = import(&e, pb::DatasetFormat::Unspecified, "", b"x", 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), vec!["header.format", "header.upload_id"]);
    let mut client = ingest_client(&e, Some(INGESTER_TOKEN)).await;
    let chunk_first = vec![pb::ImportDatasetRequest {
        item: Some(import_dataset_request::Item::Chunk(b"t,i".to_vec())),
    }];
    let mut stream = client
        .import_dataset(tokio_stream::iter(chunk_first))
        .await
        .unwrap()
        .into_inner();
    let err = stream.message().await.unwrap_err();
    assert_eq!(violations(&err), vec!["header"]);
    let mut reader = ingest_client(&e, Some(supplyrisk_testkit::READER_TOKEN)).await;
    let err = reader
        .import_dataset(tokio_stream::iter(messages(pb::DatasetFormat::Baci, "r", b"", 1)))
        .await;
    let code = match err {
        Err(s) => s.code(),
        Ok(r) => r.into_inner().message().await.unwrap_err().code(),
    };
    assert_eq!(code, Code::PermissionDenied);
}
