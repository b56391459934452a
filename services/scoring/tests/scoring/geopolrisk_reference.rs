//! GeoPolRisk through the service, fed the three files its reference
//! implementation reads (BACI, World Mining Data, WGI PV) through the real
//! import path, equals the reference on every cell: every material the
//! shipped trade covers, every importer the country registry knows and the
//! EU-27, 2018–2024. The offline [`GprDataset`] is the yardstick; it is
//! itself checked against geopolrisk-py's own output in the engine's tests.
//! The full six-dimension WGI is loaded too, as `scripts/run` does: the
//! method must still read only its own PV series (Taiwan, absent from that
//! series, weighs 0.5 although the WGI scores it).
#![allow(clippy::unwrap_used)]

#[path = "../../../../crates/engine/tests/engine/common/mod.rs"]
mod shipped;

use std::collections::HashMap;

use futures::StreamExt;

use shipped::{GprFiles, rel_diff};
use supplyrisk_api::ingest::v1::DatasetFormat;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_domain::{Catalog, Countries, CountryKind};
use supplyrisk_engine::{GprDataset, GprImporter, GprValues};
use supplyrisk_testkit::import::import_shipped;
use supplyrisk_testkit::{Bearer, Cluster, ClusterOptions, READER_TOKEN};

const TOL: f64 = 1e-9;

/// Values printed by geopolrisk-py 2.0.1 for 25 importers (see the engine's
/// `gpr_reference` test): material, country (BACI name), year, score, cf,
/// hhi, ir, price.
const PEER_REFERENCE: &str =
    include_str!("../../../../crates/engine/tests/engine/data/geopolrisk_py_2_0_1_reference.csv");

/// One requested cell and what the offline computation gives for it.
struct Cell {
    mineral: String,
    importer: String,
    year: u16,
    want: GprValues,
}

fn component(s: &pb::RiskScore, name: &str) -> f64 {
    s.components
        .iter()
        .find(|c| c.name == name)
        .map_or(f64::NAN, |c| c.value)
}

/// Compares one answer with the offline values; returns the worst relative
/// difference of score, CF, HHI, import risk and price.
fn check(cell: &Cell, got: &pb::RiskScore) -> f64 {
    let what = format!("{} {} {}", cell.mineral, cell.importer, cell.year);
    assert_eq!(
        got.methodology.as_ref().map(|m| m.id.as_str()),
        Some("geopolrisk"),
        "{what}: computed as published, not extended: {:?}",
        got.notes
    );
    assert_eq!(got.data_year, u32::from(cell.year), "{what}");
    let mut worst = 0.0f64;
    for (name, a, b) in [
        ("score", got.score, cell.want.score),
        (
            "characterization_factor",
            component(got, "characterization_factor"),
            cell.want.cf,
        ),
        ("hhi", component(got, "hhi"), cell.want.hhi),
        ("import_risk", component(got, "import_risk"), cell.want.import_risk),
        ("price_usd_per_kg", component(got, "price_usd_per_kg"), cell.want.price),
    ] {
        let e = rel_diff(a, b);
        assert!(e <= TOL, "{what} {name}: service {a}, reference {b} (rel {e:e})");
        worst = worst.max(e);
    }
    worst
}

/// Catalog mineral id of each reference material (by its World Mining Data
/// sheet, which the catalog names).
fn catalog_ids(d: &GprDataset) -> HashMap<String, String> {
    let catalog = Catalog::builtin();
    d.materials()
        .iter()
        .filter(|m| m.trade_complete)
        .map(|m| {
            let id = catalog
                .minerals()
                .iter()
                .find(|c| c.wmd_sheet.as_deref() == Some(m.sheet.as_str()))
                .unwrap_or_else(|| panic!("no catalog mineral for sheet {}", m.sheet))
                .id
                .to_string();
            (m.reference_id.clone(), id)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geopolrisk_through_the_service_equals_the_reference_on_every_cell() {
    let files = GprFiles::read().expect("the shipped data files");
    let d = files.dataset();
    // Durability is not under test here: no fsync per cached snapshot.
    // Ingest ages its connections out every 20 s, so scoring's snapshot
    // calls meet closing connections many times over the run, and none of
    // them may surface as an error.
    let cluster = Cluster::start_with(ClusterOptions {
        fsync: "everysec",
        ingest_env: vec![("SUPPLYRISK__GRPC__MAX_CONNECTION_AGE_SECS".into(), "20".into())],
        ..Default::default()
    });
    let e = cluster.ingest.endpoint();
    import_shipped(&e, DatasetFormat::Wgi, "worldbank-wgi/WGIData.csv").await;
    import_shipped(
        &e,
        DatasetFormat::WgiPv,
        "wgi-pv/wgi_pv_estimate_and_normalized_long.csv",
    )
    .await;
    import_shipped(
        &e,
        DatasetFormat::WorldMiningData,
        "world-mining-data/wmd_production_2018-2024_long.csv",
    )
    .await;
    import_shipped(
        &e,
        DatasetFormat::Baci,
        "baci/baci_hs92_V202401b_critical_2018-2024.csv.gz",
    )
    .await;

    let ids = catalog_ids(&d);
    assert_eq!(ids.len(), 34, "materials whose HS codes the shipped trade covers");
    let registry = Countries::builtin();
    let mut importers: Vec<(String, GprImporter)> = d
        .countries()
        .iter()
        .filter_map(|c| {
            registry
                .by_baci_code(c.code)
                .filter(|r| matches!(r.kind, CountryKind::Country | CountryKind::Territory))
                // A former code (58 Belgium-Luxembourg, 280, 736) is its own
                // country offline but the same ISO3 in the service.
                .filter(|r| r.baci_codes.first() == Some(&c.code))
                .map(|r| (r.iso3.clone(), GprImporter::Country(c.code)))
        })
        .collect();
    // Historic codes (Czechoslovakia, former codes of Belgium, Germany and
    // Sudan) and reporting aggregates are not importers.
    let not_importers = d.countries().len() - importers.len();
    importers.push(("EU27".into(), GprImporter::Eu));

    let mut cells = Vec::new();
    for m in d.materials().iter().filter(|m| m.trade_complete) {
        for year in d.years() {
            for (iso3, importer) in &importers {
                let want = d.score(&m.reference_id, importer, year).expect("offline score");
                cells.push(Cell {
                    mineral: ids[&m.reference_id].clone(),
                    importer: iso3.clone(),
                    year,
                    want,
                });
            }
        }
    }

    let client = ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&cluster.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    )
    .max_decoding_message_size(64 << 20);
    let request = |c: &Cell| pb::GetRiskScoreRequest {
        mineral: c.mineral.clone(),
        importer: c.importer.clone(),
        year: u32::from(c.year),
        methodology: pb::Methodology::Geopolrisk as i32,
        ..Default::default()
    };
    // A few batches in flight keep both service processes busy.
    let answers: Vec<Vec<pb::RiskScore>> = futures::stream::iter(cells.chunks(100))
        .map(|batch| {
            let mut client = client.clone();
            let cluster = &cluster;
            let requests = batch.iter().map(request).collect();
            async move {
                let request = pb::BatchGetRiskScoresRequest { requests };
                // Scoring ages this connection out too: a call its server
                // never processed is sent again, as gRPC clients do.
                let answer = match client.batch_get_risk_scores(request.clone()).await {
                    Err(s) if supplyrisk_grpc::never_processed(&s) => client.batch_get_risk_scores(request).await,
                    answer => answer,
                };
                answer
                    .unwrap_or_else(|s| {
                        panic!(
                            "{s:?}\nscoring:\n{}\ningest:\n{}",
                            cluster.scoring.logs(),
                            cluster.ingest.logs()
                        )
                    })
                    .into_inner()
                    .scores
            }
        })
        .buffered(4)
        .collect()
        .await;
    let mut worst = 0.0f64;
    let mut scores: HashMap<(String, String, u16), f64> = HashMap::new();
    for (batch, got) in cells.chunks(100).zip(&answers) {
        assert_eq!(got.len(), batch.len());
        for (cell, got) in batch.iter().zip(got) {
            worst = worst.max(check(cell, got));
            scores.insert((cell.mineral.clone(), cell.importer.clone(), cell.year), got.score);
        }
    }
    assert!(
        cells.len() > 50_000,
        "{} cells ({not_importers} dataset codes are not importers)",
        cells.len()
    );

    // And straight against geopolrisk-py's printed values.
    let names: HashMap<String, u16> = {
        let mut r = csv::Reader::from_reader(files.countries.as_bytes());
        r.records()
            .map(|x| x.unwrap())
            .map(|x| (x[1].to_string(), x[0].parse().unwrap()))
            .collect()
    };
    let mut peer_rows = 0;
    for row in csv::Reader::from_reader(PEER_REFERENCE.as_bytes()).records() {
        let row = row.unwrap();
        let importer = if &row[1] == "EU" {
            "EU27".to_string()
        } else {
            registry.by_baci_code(names[&row[1]]).unwrap().iso3.clone()
        };
        let key = (ids[&row[0]].clone(), importer, row[2].parse::<u16>().unwrap());
        let got = scores[&key];
        let want: f64 = row[3].parse().unwrap();
        assert!(
            rel_diff(got, want) <= TOL,
            "{key:?}: service {got}, geopolrisk-py {want}"
        );
        peer_rows += 1;
    }
    assert_eq!(peer_rows, 34 * 25 * 7);
    println!(
        "{} cells equal the offline computation and {peer_rows} geopolrisk-py values; worst relative difference {worst:e}",
        cells.len()
    );
}
