//! The scoring service with real ingest and Redis processes.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use supplyrisk_api::common::v1 as cpb;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_testkit::fixtures::ree_import as flow;
use supplyrisk_testkit::{Bearer, Cluster, ClusterOptions, INGESTER_TOKEN, READER_TOKEN, eventually, ingest_client};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The cluster with scoring tracking Japan and the USA+JPN bloc.
fn start() -> Cluster {
    Cluster::start_with(ClusterOptions {
        tracked_importers: "JPN,USA+JPN".into(),
        ..Default::default()
    })
}

async fn scoring(c: &Cluster) -> ScoringServiceClient<InterceptedService<Channel, Bearer>> {
    ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    )
}

fn gov(country: &str, year: u32, estimate: f64) -> Vec<ipb::GovernanceIndicator> {
    (1..=6)
        .map(|d| ipb::GovernanceIndicator {
            country: country.into(),
            year,
            dimension: d,
            estimate,
        })
        .collect()
}

fn prod(country: &str, qty: f64) -> ipb::ProductionStat {
    ipb::ProductionStat {
        mineral: "REE".into(),
        stage: cpb::SupplyStage::Processing as i32,
        country: country.into(),
        year: 2023,
        quantity: Some(qty),
        unit: "t".into(),
        source: "USGS_TEST".into(),
        ..Default::default()
    }
}

/// Rare earths 2023: CHN 80 t, AUS 20 t; JPN imports 90 t from CHN, 10 t from AUS.
async fn seed(c: &Cluster) {
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut indicators = gov("CHN", 2023, -0.5);
    indicators.extend(gov("AUS", 2023, 1.5));
    indicators.extend(gov("JPN", 2023, 1.2));
    indicators.extend(gov("USA", 2023, 1.0));
    ingest
        .upsert_governance(ipb::UpsertGovernanceRequest { indicators })
        .await
        .unwrap();
    ingest
        .upsert_production(ipb::UpsertProductionRequest {
            stats: vec![prod("CHN", 80.0), prod("AUS", 20.0)],
        })
        .await
        .unwrap();
    let flows = vec![
        flow("JPN", "CHN", 90.0),
        flow("JPN", "AUS", 10.0),
        flow("USA", "AUS", 50.0),
    ];
    ingest
        .ingest_trade_flows(tokio_stream::iter(vec![ipb::IngestTradeFlowsRequest {
            upload_id: "seed".into(),
            flows,
        }]))
        .await
        .unwrap();
}

fn request(importer: &str, method: pb::Methodology) -> pb::GetRiskScoreRequest {
    pb::GetRiskScoreRequest {
        mineral: "rare earths".into(),
        importer: importer.into(),
        year: 0,
        methodology: method as i32,
        ..Default::default()
    }
}

#[tokio::test]
async fn explains_scores_for_countries_and_blocs() {
    let c = start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let s = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (s.mineral.as_str(), s.importer.as_str(), s.data_year),
        ("REE", "JPN", 2023)
    );
    assert_eq!(s.methodology.as_ref().unwrap().id, "eu-crm");
    assert!(s.score > 0.0);
    assert_eq!(s.top_suppliers[0].country, "CHN", "{:?}", s.top_suppliers);
    assert!(s.top_reason.starts_with("CHN"), "{}", s.top_reason);
    assert!(!s.components.is_empty());
    assert!(s.confidence > 0.0 && s.confidence <= 1.0);
    assert!(!s.data_version.is_empty());
    assert!(s.computed_at.is_some());

    let gpr = client
        .get_risk_score(request("JPN", pb::Methodology::Geopolrisk))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(gpr.methodology.unwrap().id, "geopolrisk");

    let bloc = client
        .get_risk_score(request("usa+jpn", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bloc.importer, "JPN+USA");
    assert_ne!(bloc.score, s.score, "the bloc sources differently from Japan alone");

    let list = client
        .list_risk_scores(pb::ListRiskScoresRequest {
            importer: "JPN".into(),
            application: "magnets".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        list.total_size, 1,
        "only REE has data; minerals without data are not ranked as zero"
    );

    let blocs = client.list_blocs(pb::ListBlocsRequest {}).await.unwrap().into_inner();
    assert!(blocs.blocs.iter().any(|b| b.id == "EU27" && b.members.len() == 27));
}

/// `GetRiskScoreRequest` with a field the service does not know.
#[derive(Clone, PartialEq, prost::Message)]
struct RequestWithUnknownField {
    #[prost(string, tag = "1")]
    mineral: String,
    #[prost(string, tag = "2")]
    importer: String,
    #[prost(string, tag = "99")]
    unknown: String,
}

#[tokio::test]
async fn repeats_are_answered_from_memory_and_other_encodings_in_full() {
    let c = start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let first = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..3 {
        let again = client
            .get_risk_score(request("JPN", pb::Methodology::EuCrm))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, first, "a repeat gets the answer computed first");
    }

    // Bytes never remembered reach the service, which ignores the unknown field.
    let channel = supplyrisk_testkit::channel(&c.scoring.endpoint()).await;
    let mut grpc = tonic::client::Grpc::new(InterceptedService::new(channel, Bearer(Some(READER_TOKEN.into()))));
    let path = http::uri::PathAndQuery::from_static("/supplyrisk.scoring.v1.ScoringService/GetRiskScore");
    for _ in 0..2 {
        grpc.ready().await.unwrap();
        let answer: pb::RiskScore = grpc
            .unary(
                tonic::Request::new(RequestWithUnknownField {
                    mineral: "rare earths".into(),
                    importer: "JPN".into(),
                    unknown: "ignored".into(),
                }),
                path.clone(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer, first);
    }

    // A refused request is never remembered: a repeat is refused again.
    for _ in 0..2 {
        let status = client
            .get_risk_score(request("", pb::Methodology::EuCrm))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn lists_every_supplier_behind_a_score_page_by_page() {
    let c = start();
    supplyrisk_testkit::fixtures::seed_ree(&c).await;
    supplyrisk_testkit::fixtures::seed_japan_ree_imports(&c).await;
    let mut client = scoring(&c).await;
    let score = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(score.top_suppliers.len(), 5);

    let list = |page_token: String| pb::ListScoreSuppliersRequest {
        mineral: "rare earths".into(),
        importer: "JPN".into(),
        page_size: 3,
        page_token,
        ..Default::default()
    };
    let mut suppliers = Vec::new();
    let mut token = String::new();
    loop {
        let page = client.list_score_suppliers(list(token)).await.unwrap().into_inner();
        assert!(page.suppliers.len() <= 3);
        assert_eq!(page.stage, score.stage);
        assert_eq!(page.data_version, score.data_version);
        assert_eq!(page.total_size, 8, "seven exporters to Japan, and AUS producing");
        suppliers.extend(page.suppliers);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(suppliers.len(), 8);
    let countries: Vec<&str> = suppliers.iter().map(|s| s.country.as_str()).collect();
    let top: Vec<&str> = score.top_suppliers.iter().map(|s| s.country.as_str()).collect();
    assert_eq!(countries[..5], top[..], "the score lists the first five");
    assert_eq!(
        *countries.last().unwrap(),
        "CAN",
        "well governed, producing its own: least"
    );
    assert!(suppliers.windows(2).all(|w| w[0].contribution >= w[1].contribution));
    let canada = suppliers.last().unwrap();
    assert!((canada.share - 14.0 / 104.0).abs() < 1e-9, "{}", canada.share);
    let sourcing: f64 = suppliers.iter().map(|s| s.share).sum();
    assert!(
        (sourcing - 1.0).abs() < 1e-9,
        "shares of Japan's sourcing sum to one: {sourcing}"
    );

    let status = client
        .list_score_suppliers(list("not a token".into()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("page_token"), "{}", status.message());
    let token = client
        .list_score_suppliers(list(String::new()))
        .await
        .unwrap()
        .into_inner()
        .next_page_token;
    let status = client
        .list_score_suppliers(pb::ListScoreSuppliersRequest {
            importer: "USA".into(),
            ..list(token)
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("belongs to a request with other filters"),
        "{}",
        status.message()
    );
    let status = client
        .list_score_suppliers(pb::ListScoreSuppliersRequest {
            mineral: "unobtainium".into(),
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn invalid_and_unknown_inputs_are_refused_clearly() {
    let c = start();
    let mut client = scoring(&c).await;
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "lithum".into(),
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("LI"), "{}", err.message());
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "LI".into(),
            importer: "JAPAN".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().contains("JPN"), "{}", err.message());
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "LI".into(),
            importer: "JPN".into(),
            year: 1200,
            methodology: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .get_risk_score(pb::GetRiskScoreRequest {
            mineral: "LI".into(),
            importer: "JPN".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "no data is reported as missing, never as a zero score"
    );
    let mut anonymous = ScoringServiceClient::new(supplyrisk_testkit::channel(&c.scoring.endpoint()).await);
    assert_eq!(
        anonymous.list_blocs(pb::ListBlocsRequest {}).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn a_data_change_rescores_publishes_score_changed_and_invalidates_the_cache() {
    let c = start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let before = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    assert!(
        supplyrisk_testkit::fixtures::first_score_published(&c).await,
        "the recomputer publishes first scores"
    );
    let redis = &c.redis;
    let published = redis.cli(&["XLEN", "sr:v1:events:scores"]);

    // Japan now buys everything from China.
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let flows = vec![flow("JPN", "CHN", 100.0), flow("JPN", "AUS", 0.0)];
    ingest
        .ingest_trade_flows(tokio_stream::iter(vec![ipb::IngestTradeFlowsRequest {
            upload_id: "shift".into(),
            flows,
        }]))
        .await
        .unwrap();
    let mut moved = false;
    for _ in 0..50 {
        let now = client
            .get_risk_score(request("JPN", pb::Methodology::EuCrm))
            .await
            .unwrap()
            .into_inner();
        if now.score > before.score {
            moved = true;
            assert_ne!(now.data_version, before.data_version);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(moved, "a cached score is replaced after the data changed");
    assert!(
        eventually(Duration::from_secs(20), || async {
            redis.cli(&["XLEN", "sr:v1:events:scores"]) != published
        })
        .await,
        "a ScoreChanged event follows the data change"
    );
    let history = client
        .get_score_history(pb::GetScoreHistoryRequest {
            mineral: "REE".into(),
            importer: "JPN".into(),
            methodology: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        history
            .points
            .iter()
            .any(|p| p.kind == "data_year" && p.data_year == 2023)
    );
    assert!(history.points.iter().filter(|p| p.kind == "recomputation").count() >= 1);
    // Every point says which day's policy events it reflects: today's here.
    let today = supplyrisk_api::convert::date_to_pb(supplyrisk_domain::Date::today());
    assert!(
        history.points.iter().all(|p| p.as_of == Some(today)),
        "{:?}",
        history.points
    );
}

#[tokio::test]
async fn scenarios_report_scores_before_and_after_and_the_shortfall() {
    let c = start();
    seed(&c).await;
    let mut client = scoring(&c).await;
    let req = pb::SimulateScenarioRequest {
        shocks: vec![pb::Shock {
            supplier: "CHN".into(),
            mineral: "REE".into(),
            cut: 0.5,
        }],
        importers: vec!["JPN".into()],
        methodology: 0,
        year: 0,
        rerouting_headroom: 0.0,
    };
    let r = client.simulate_scenario(req.clone()).await.unwrap().into_inner();
    let res = &r.results[0];
    assert_eq!((res.importer.as_str(), res.mineral.as_str()), ("JPN", "REE"));
    let shortfall = res.shortfall_tonnes.unwrap();
    assert!(
        (shortfall - 45.0).abs() < 1e-6,
        "half of 90 t from China is lost and nothing re-routed: {shortfall}"
    );
    // The headline names its stage, and every stage with trade data is listed.
    assert_eq!(res.shortfall_stage, cpb::SupplyStage::Processing as i32);
    let processing = res
        .stage_shortfalls
        .iter()
        .find(|s| s.stage == res.shortfall_stage)
        .expect("the headline stage is among the stage shortfalls");
    assert_eq!(
        (
            processing.lost_tonnes,
            processing.rerouted_tonnes,
            processing.shortfall_tonnes
        ),
        (45.0, 0.0, shortfall)
    );
    assert!(
        res.days_of_cover.is_none(),
        "no stockpile data: cover is missing, not zero"
    );
    assert!(res.before.is_some() && res.after.is_some());

    let mut bad = req;
    bad.shocks[0].cut = 1.5;
    bad.importers.clear();
    let err = client.simulate_scenario(bad).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn kill9_of_the_scoring_process_loses_no_event() {
    let mut c = start();
    seed(&c).await;
    c.scoring.kill9();
    // A change arrives while no scoring process runs, then one restarts.
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    ingest
        .upsert_production(ipb::UpsertProductionRequest {
            stats: vec![prod("MMR", 30.0)],
        })
        .await
        .unwrap();
    // A consumer that read the event and died before acknowledging it: the
    // entry stays pending under its name until another consumer reclaims it.
    let taken = c.redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "scoring",
        "crashed-consumer",
        "COUNT",
        "100",
        "STREAMS",
        "sr:v1:events:data",
        ">",
    ]);
    assert!(!taken.is_empty());
    assert!(
        !c.redis
            .cli(&["XPENDING", "sr:v1:events:data", "scoring"])
            .starts_with('0')
    );
    c.scoring.restart();
    let redis = &c.redis;
    assert!(
        eventually(Duration::from_secs(30), || async {
            redis.cli(&["XINFO", "GROUPS", "sr:v1:events:data"]).contains("lag\n0")
                && redis
                    .cli(&["XPENDING", "sr:v1:events:data", "scoring"])
                    .starts_with('0')
                && redis.cli(&["XLEN", "sr:v1:events:scores"]) != "0"
        })
        .await,
        "every data event is processed after the restart: {}",
        redis.cli(&["XINFO", "GROUPS", "sr:v1:events:data"])
    );
    // The score reflects the production that arrived while scoring was down.
    let mut client = scoring(&c).await;
    let s = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .unwrap()
        .into_inner();
    let stored = redis.cli(&["HGET", "sr:v1:{REE}:latest:eu-crm", "JPN"]);
    assert!(!stored.is_empty());
    assert!(s.data_version.contains("REE@"), "{}", s.data_version);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_without_the_token_ingest_requires_stays_out_of_rotation_and_says_why() {
    let c = start();
    let redis = c.redis.url();
    let ingest = c.ingest.endpoint();
    // The endpoint under its name of the previous release, and no token.
    let held = supplyrisk_testkit::ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-scoring"),
        &[
            ("SUPPLYRISK__REDIS__URL", redis.as_str()),
            ("SUPPLYRISK__INGEST__ENDPOINT", ingest.as_str()),
            ("SUPPLYRISK__SCORING__CONSUMER_GROUP", "held"),
        ],
    );
    let reason = "requires a token and SUPPLYRISK__UPSTREAM__INGEST__TOKEN is empty";
    assert!(
        eventually(Duration::from_secs(15), || async { held.logs().contains(reason) }).await,
        "the reason is logged:\n{}",
        held.logs()
    );
    assert!(
        held.logs()
            .contains("SUPPLYRISK__INGEST__ENDPOINT is deprecated; use SUPPLYRISK__UPSTREAM__INGEST__ENDPOINT"),
        "{}",
        held.logs()
    );
    const SERVING: i32 = 1;
    const NOT_SERVING: i32 = 2;
    let name = "supplyrisk.scoring.v1.ScoringService";
    assert!(
        eventually(Duration::from_secs(5), || async {
            supplyrisk_testkit::health(&held.endpoint(), name).await.ok() == Some(NOT_SERVING)
        })
        .await
    );
    // Redis answers it every second; the hold outlasts that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        supplyrisk_testkit::health(&held.endpoint(), "").await.unwrap(),
        NOT_SERVING
    );
    assert_eq!(
        supplyrisk_testkit::health(&c.scoring.endpoint(), name).await.unwrap(),
        SERVING
    );

    // A call that reaches it anyway is worth retrying elsewhere, not a bug.
    let mut client = ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&held.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );
    let err = client
        .get_risk_score(request("JPN", pb::Methodology::EuCrm))
        .await
        .expect_err("ingest refuses the replica");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
}
