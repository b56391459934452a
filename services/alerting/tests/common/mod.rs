//! Helpers shared by the alerting end-to-end tests.
#![allow(clippy::unwrap_used, dead_code)]

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_api::common::v1 as cpb;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::scoring::v1 as spb;
use supplyrisk_testkit::{Bearer, Cluster, INGESTER_TOKEN, READER_TOKEN, ingest_client};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// An alerting client with `token`.
pub type Alerting = AlertingServiceClient<InterceptedService<Channel, Bearer>>;

pub fn start() -> Cluster {
    Cluster::start()
}

pub async fn alerting(c: &Cluster, token: &str) -> Alerting {
    AlertingServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.alerting.endpoint()).await,
        Bearer(Some(token.into())),
    )
}

pub fn prod(country: &str, qty: f64) -> ipb::ProductionStat {
    ipb::ProductionStat {
        mineral: "REE".into(),
        stage: cpb::SupplyStage::Processing as i32,
        country: country.into(),
        year: 2023,
        quantity: Some(qty),
        unit: "t".into(),
        source: "TEST".into(),
    }
}

/// Sets rare-earth production: CHN `chn` t, AUS 100 − `chn` t (governance: CHN worse).
pub async fn set_production(c: &Cluster, chn: f64) {
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    ingest
        .upsert_production(ipb::UpsertProductionRequest {
            stats: vec![prod("CHN", chn), prod("AUS", 100.0 - chn)],
        })
        .await
        .unwrap();
}

pub async fn seed(c: &Cluster) {
    let mut ingest = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let mut indicators = Vec::new();
    for (country, est) in [("CHN", -0.5), ("AUS", 1.5), ("JPN", 1.2)] {
        for d in 1..=6 {
            indicators.push(ipb::GovernanceIndicator {
                country: country.into(),
                year: 2023,
                dimension: d,
                estimate: est,
            });
        }
    }
    ingest
        .upsert_governance(ipb::UpsertGovernanceRequest { indicators })
        .await
        .unwrap();
    set_production(c, 50.0).await;
}

pub async fn current_score(c: &Cluster) -> f64 {
    let mut client = spb::scoring_service_client::ScoringServiceClient::with_interceptor(
        supplyrisk_testkit::channel(&c.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );
    let req = spb::GetRiskScoreRequest {
        mineral: "REE".into(),
        importer: "JPN".into(),
        year: 0,
        methodology: 1,
    };
    client.get_risk_score(req).await.unwrap().into_inner().score
}

pub fn threshold_subscription(value: f64, hysteresis: f64) -> pb::Subscription {
    pb::Subscription {
        name: "REE for Japan".into(),
        filter: Some(pb::Filter {
            minerals: vec!["rare earths".into()],
            importers: vec!["JPN".into()],
            methodology: "eu-crm".into(),
            ..Default::default()
        }),
        rules: vec![pb::Rule {
            kind: Some(pb::rule::Kind::Threshold(pb::ThresholdRule { value, hysteresis })),
        }],
        ..Default::default()
    }
}

pub async fn alert_count(client: &mut Alerting, sub: &str) -> usize {
    client
        .list_alerts(pb::ListAlertsRequest {
            subscription_id: sub.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts
        .len()
}
