//! A small hand-made rare-earth world shared by end-to-end tests and
//! benchmarks: two producers with very different governance, so moving
//! production between them moves Japan's score in a known direction.

use supplyrisk_api::alerting::v1 as apb;
use supplyrisk_api::common::v1 as cpb;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::scoring::v1 as spb;

use crate::{Bearer, Cluster, INGESTER_TOKEN, READER_TOKEN, ingest_client};

/// Governance indicators: every WGI dimension of each country at its estimate.
pub fn governance(countries: &[(&str, f64)], year: u32) -> ipb::UpsertGovernanceRequest {
    let indicators = countries
        .iter()
        .flat_map(|(country, estimate)| {
            (1..=6).map(move |dimension| ipb::GovernanceIndicator {
                country: country.to_string(),
                year,
                dimension,
                estimate: *estimate,
            })
        })
        .collect();
    ipb::UpsertGovernanceRequest { indicators }
}

/// Rare-earth processing in 2023: CHN `chn` t, AUS 100 − `chn` t.
pub fn ree_production(chn: f64) -> ipb::UpsertProductionRequest {
    let stat = |country: &str, quantity: f64| ipb::ProductionStat {
        mineral: "REE".into(),
        stage: cpb::SupplyStage::Processing as i32,
        country: country.into(),
        year: 2023,
        quantity: Some(quantity),
        unit: "t".into(),
        source: "TEST".into(),
        ..Default::default()
    };
    ipb::UpsertProductionRequest {
        stats: vec![stat("CHN", chn), stat("AUS", 100.0 - chn)],
    }
}

/// Writes [`ree_production`] through the ingest API.
pub async fn set_ree_production(cluster: &Cluster, chn: f64) {
    let mut ingest = ingest_client(&cluster.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    ingest
        .upsert_production(ree_production(chn))
        .await
        .expect("rare-earth production accepted");
}

/// Seeds governance for CHN (poor), AUS and JPN (good) in 2023 and an even
/// CHN/AUS split of rare-earth processing.
pub async fn seed_ree(cluster: &Cluster) {
    let mut ingest = ingest_client(&cluster.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    ingest
        .upsert_governance(governance(&[("CHN", -0.5), ("AUS", 1.5), ("JPN", 1.2)], 2023))
        .await
        .expect("governance accepted");
    set_ree_production(cluster, 50.0).await;
}

/// `reporter`'s 2023 import of `tonnes` of rare-earth compounds (HS 284690)
/// from `partner`, at 10,000 USD a tonne.
pub fn ree_import(reporter: &str, partner: &str, tonnes: f64) -> ipb::TradeFlow {
    ipb::TradeFlow {
        reporter: reporter.into(),
        partner: partner.into(),
        hs_code: "284690".into(),
        period: Some(cpb::Period { year: 2023, month: 0 }),
        flow: ipb::FlowDirection::Import as i32,
        value_usd: tonnes * 10_000.0,
        net_weight_kg: Some(tonnes * 1000.0),
        source: "TEST".into(),
    }
}

/// Japan's rare-earth imports in 2023 as (supplier, tonnes, governance
/// estimate). Canada ships 13.5% of them but, well governed and a producer
/// itself ([`CANADA_REE_TONNES`]), contributes least to the score: it is
/// not among its five top suppliers. (A partner producing nothing at the
/// stage would carry the governance of world supply: traced origin.)
pub const JAPAN_REE_IMPORTS: [(&str, f64, f64); 7] = [
    ("CHN", 40.0, -0.5),
    ("MMR", 12.0, -1.0),
    ("VNM", 11.0, -1.0),
    ("RUS", 10.0, -1.0),
    ("LAO", 9.0, -1.0),
    ("MYS", 8.0, -1.0),
    ("CAN", 14.0, 1.5),
];

/// Canada's own rare-earth processing in 2023, tonnes.
pub const CANADA_REE_TONNES: f64 = 1.0;

/// Writes [`JAPAN_REE_IMPORTS`]: the suppliers' governance, Japan's import
/// flows ([`ree_import`]) and Canada's own processing.
pub async fn seed_japan_ree_imports(cluster: &Cluster) {
    let mut ingest = ingest_client(&cluster.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut canada = ree_production(0.0);
    canada.stats.truncate(1);
    canada.stats[0].country = "CAN".into();
    canada.stats[0].quantity = Some(CANADA_REE_TONNES);
    ingest
        .upsert_production(canada)
        .await
        .expect("Canadian production accepted");
    let estimates: Vec<(&str, f64)> = JAPAN_REE_IMPORTS.iter().map(|&(c, _, e)| (c, e)).collect();
    ingest
        .upsert_governance(governance(&estimates, 2023))
        .await
        .expect("governance accepted");
    let flows = JAPAN_REE_IMPORTS
        .iter()
        .map(|&(partner, tonnes, _)| ree_import("JPN", partner, tonnes))
        .collect();
    ingest
        .ingest_trade_flows(tokio_stream::iter(vec![ipb::IngestTradeFlowsRequest {
            upload_id: "japan-ree-imports".into(),
            flows,
        }]))
        .await
        .expect("flows accepted");
}

/// Japan's latest eu-crm score for rare earths.
pub async fn ree_score_for_japan(cluster: &Cluster) -> f64 {
    let mut client = spb::scoring_service_client::ScoringServiceClient::with_interceptor(
        crate::channel(&cluster.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );
    client
        .get_risk_score(ree_japan_score_request())
        .await
        .expect("score")
        .into_inner()
        .score
}

/// A request for Japan's latest eu-crm score for rare earths.
pub fn ree_japan_score_request() -> spb::GetRiskScoreRequest {
    spb::GetRiskScoreRequest {
        mineral: "REE".into(),
        importer: "JPN".into(),
        year: 0,
        methodology: spb::Methodology::EuCrm as i32,
        ..Default::default()
    }
}

/// Waits up to 20 s for scoring's first `ScoreChanged` (the score of the
/// seed); true when it was published.
pub async fn first_score_published(cluster: &Cluster) -> bool {
    let redis = &cluster.redis;
    crate::eventually(std::time::Duration::from_secs(20), || async {
        redis.cli(&["XLEN", "sr:v1:events:scores"]) != "0"
    })
    .await
}

/// A subscription to Japan's eu-crm rare-earth score with one rule and,
/// optionally, a webhook.
pub fn ree_japan_subscription(name: &str, rule: apb::rule::Kind, webhook: Option<apb::Webhook>) -> apb::Subscription {
    apb::Subscription {
        name: name.into(),
        filter: Some(apb::Filter {
            minerals: vec!["REE".into()],
            importers: vec!["JPN".into()],
            methodology: "eu-crm".into(),
            ..Default::default()
        }),
        rules: vec![apb::Rule { kind: Some(rule) }],
        webhook,
        ..Default::default()
    }
}
