//! Value chains through real ingest, scoring and Redis processes: a
//! mineral is scored at every stage of its chain, production and trade meet
//! at the same stage, and a stage without data says so.
#![allow(clippy::unwrap_used)]

use supplyrisk_api::common::v1 as cpb;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_testkit::fixtures::ree_import;
use supplyrisk_testkit::{Bearer, Cluster, INGESTER_TOKEN, READER_TOKEN, ingest_client};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

fn gov(country: &str, estimate: f64) -> Vec<ipb::GovernanceIndicator> {
    (1..=6)
        .map(|d| ipb::GovernanceIndicator {
            country: country.into(),
            year: 2023,
            dimension: d,
            estimate,
        })
        .collect()
}

fn stat(stage: cpb::SupplyStage, country: &str, quantity: f64, unit: &str, source: &str) -> ipb::ProductionStat {
    ipb::ProductionStat {
        mineral: "REE".into(),
        stage: stage as i32,
        country: country.into(),
        year: 2023,
        quantity: Some(quantity),
        unit: unit.into(),
        source: source.into(),
        ..Default::default()
    }
}

/// Rare earths as the field sees them: mined in China, the USA and Australia,
/// separated almost only in China; Japan imports oxides, the USA mines ore.
async fn seed(c: &Cluster) {
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut indicators = gov("CHN", -0.5);
    for (country, estimate) in [("AUS", 1.5), ("USA", 1.0), ("JPN", 1.2), ("MYS", 0.5)] {
        indicators.extend(gov(country, estimate));
    }
    ingest
        .upsert_governance(ipb::UpsertGovernanceRequest { indicators })
        .await
        .unwrap();
    use cpb::SupplyStage::{Mining, Processing};
    let stats = vec![
        stat(Mining, "CHN", 70.0, "t", "MINE_TEST"),
        stat(Mining, "USA", 12.0, "t", "MINE_TEST"),
        stat(Mining, "AUS", 18.0, "t", "MINE_TEST"),
        // A separation study publishing shares only, as a 2019–2023 average.
        ipb::ProductionStat {
            first_year: 2019,
            ..stat(Processing, "CHN", 0.9, "share", "SEPARATION_TEST")
        },
        ipb::ProductionStat {
            first_year: 2019,
            ..stat(Processing, "MYS", 0.1, "share", "SEPARATION_TEST")
        },
    ];
    let r = ingest
        .upsert_production(ipb::UpsertProductionRequest { stats })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.rejected_count, 0, "{:?}", r.rejected);
    // Oxides (HS 284690): the separation stage's trade.
    let flows = vec![ree_import("JPN", "CHN", 60.0), ree_import("JPN", "MYS", 40.0)];
    ingest
        .ingest_trade_flows(tokio_stream::iter(vec![ipb::IngestTradeFlowsRequest {
            upload_id: "value-chain".into(),
            flows,
        }]))
        .await
        .unwrap();
}

async fn scoring(c: &Cluster) -> ScoringServiceClient<InterceptedService<Channel, Bearer>> {
    ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    )
}

fn request(mineral: &str, importer: &str, stage: cpb::SupplyStage) -> pb::GetRiskScoreRequest {
    pb::GetRiskScoreRequest {
        mineral: mineral.into(),
        importer: importer.into(),
        stage: stage as i32,
        ..Default::default()
    }
}

fn component(s: &pb::RiskScore, name: &str) -> f64 {
    s.components.iter().find(|c| c.name == name).map(|c| c.value).unwrap()
}

#[tokio::test]
async fn scores_every_stage_and_names_the_bottleneck() {
    let c = Cluster::start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let chain = client
        .get_risk_score(request("REE", "JPN", cpb::SupplyStage::Unspecified))
        .await
        .unwrap()
        .into_inner();
    let stage = |s: cpb::SupplyStage| chain.stages.iter().find(|x| x.stage == s as i32).unwrap();
    let separation = stage(cpb::SupplyStage::Processing);
    assert!(separation.bottleneck, "{:?}", chain.stages);
    assert_eq!(chain.stage, cpb::SupplyStage::Processing as i32);
    assert_eq!(separation.label, "separation (oxides and compounds)");
    assert_eq!(separation.production_source, "SEPARATION_TEST");
    assert_eq!(
        (separation.production_first_year, separation.production_year),
        (2019, 2023)
    );
    // Japan's oxide imports meet the separation stage's production.
    assert!(component(&chain, "imports_t") > 99.0, "{:?}", chain.components);
    assert_eq!(chain.top_suppliers[0].country, "CHN");
    assert_eq!(chain.top_suppliers[0].global_share, Some(0.9));
    // The mine stage is scored from mine output, with its unknown trade said.
    let mining = stage(cpb::SupplyStage::Mining);
    assert!(mining.value.is_some() && !mining.bottleneck);
    // The metal stage has no producer data: skipped, and the note says so.
    let metal = stage(cpb::SupplyStage::Metal);
    assert_eq!(metal.skipped_reason, "no production data for this stage");
    assert!(
        chain
            .notes
            .iter()
            .any(|n| n.contains("bottleneck stage: processing") && n.contains("metal skipped")),
        "{:?}",
        chain.notes
    );

    // One stage on request: the USA's mine stage has no ore trade in the
    // data, so its import reliance is defaulted, never "the USA supplies 100%".
    let us_mining = client
        .get_risk_score(request("REE", "USA", cpb::SupplyStage::Mining))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(us_mining.stage, cpb::SupplyStage::Mining as i32);
    assert!(
        us_mining.defaulted.iter().any(|d| d.term == "import_reliance:mining"),
        "{:?}",
        us_mining.defaulted
    );
    assert_eq!(
        us_mining.top_suppliers[0].country, "CHN",
        "{:?}",
        us_mining.top_suppliers
    );

    // A stage the chain lacks is a bad request; one without data is a precondition.
    let err = client
        .get_risk_score(request("REE", "JPN", cpb::SupplyStage::Manufacturing))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains("stage"), "{}", err.message());
    let err = client
        .get_risk_score(request("REE", "JPN", cpb::SupplyStage::Metal))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // NdFeB magnets are in the catalog, but no shipped source has magnet
    // making: refused, naming what is missing, never a score from nothing.
    let err = client
        .get_risk_score(request("NDFEB", "JPN", cpb::SupplyStage::Unspecified))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("magnet making") && err.message().contains("STAGE_SUPPLY"),
        "{}",
        err.message()
    );
}

fn date(year: i32, month: i32, day: i32) -> cpb::Date {
    cpb::Date { year, month, day }
}

fn as_of(mineral: &str, importer: &str, day: cpb::Date) -> pb::GetRiskScoreRequest {
    pb::GetRiskScoreRequest {
        as_of: Some(day),
        ..request(mineral, importer, cpb::SupplyStage::Unspecified)
    }
}

#[tokio::test]
async fn policy_events_count_from_their_day_for_their_targets_and_not_while_suspended() {
    let c = Cluster::start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    // China bans oxide exports to the USA from 2026-01-01, suspended in June.
    let ban = ipb::PolicyEvent {
        country: "CHN".into(),
        minerals: vec!["REE".into()],
        measure: ipb::PolicyMeasure::Ban as i32,
        target_countries: vec!["USA".into()],
        effective_from: Some(date(2026, 1, 1)),
        suspensions: vec![ipb::Suspension {
            from: Some(date(2026, 6, 1)),
            until: Some(date(2026, 6, 30)),
        }],
        severity: 1.0,
        source_reference: "test notice".into(),
        ..Default::default()
    };
    ingest
        .record_policy_event(ipb::RecordPolicyEventRequest { event: Some(ban) })
        .await
        .unwrap();
    let mut score = async |importer: &str, day: cpb::Date| {
        let s = client
            .get_risk_score(as_of("REE", importer, day))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(s.as_of, Some(day), "the answer says which day it is for");
        s.score
    };
    let usa_before = score("USA", date(2025, 12, 31)).await;
    let usa_during = score("USA", date(2026, 3, 1)).await;
    let usa_suspended = score("USA", date(2026, 6, 15)).await;
    let usa_resumed = score("USA", date(2026, 7, 1)).await;
    assert!(
        usa_during > usa_before,
        "{usa_during} > {usa_before}: the ban counts from its first day"
    );
    assert!((usa_suspended - usa_before).abs() < 1e-12, "not while suspended");
    assert!((usa_resumed - usa_during).abs() < 1e-12, "again after the suspension");
    let jpn_before = score("JPN", date(2025, 12, 31)).await;
    let jpn_during = score("JPN", date(2026, 3, 1)).await;
    assert!(
        (jpn_during - jpn_before).abs() < 1e-12,
        "a US-targeted ban leaves Japan's score alone"
    );

    let err = client
        .get_risk_score(as_of("REE", "JPN", date(2026, 2, 30)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("as_of"), "{}", err.message());
}
