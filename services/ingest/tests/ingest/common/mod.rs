//! Shared set-up for ingest integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use supplyrisk_api::common::v1 as common;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_testkit::{Bearer, RedisServer, ServiceProcess};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The ingest client the tests use.
pub type Client = IngestServiceClient<InterceptedService<Channel, Bearer>>;

pub struct Cluster {
    pub redis: RedisServer,
    pub ingest: ServiceProcess,
}

pub fn start() -> Cluster {
    start_with(&[])
}

pub fn start_with(extra: &[(&str, &str)]) -> Cluster {
    let redis = RedisServer::start();
    let url = redis.url();
    let mut env = vec![("SUPPLYRISK__REDIS__URL", url.as_str())];
    env.extend_from_slice(extra);
    let ingest = ServiceProcess::spawn(&supplyrisk_testkit::binary("supplyrisk-ingest"), &env);
    Cluster { redis, ingest }
}

pub fn flow(reporter: &str, partner: &str, hs: &str, year: u32, value: f64, weight: Option<f64>) -> pb::TradeFlow {
    pb::TradeFlow {
        reporter: reporter.into(),
        partner: partner.into(),
        hs_code: hs.into(),
        period: Some(common::Period { year, month: 0 }),
        flow: pb::FlowDirection::Import as i32,
        value_usd: value,
        net_weight_kg: weight,
        source: "TEST".into(),
    }
}

pub fn production(mineral: &str, country: &str, year: u32, qty: Option<f64>) -> pb::ProductionStat {
    pb::ProductionStat {
        mineral: mineral.into(),
        stage: common::SupplyStage::Mining as i32,
        country: country.into(),
        year,
        quantity: qty,
        unit: "t".into(),
        source: "TEST".into(),
        ..Default::default()
    }
}

pub fn request(upload_id: &str, flows: Vec<pb::TradeFlow>) -> pb::IngestTradeFlowsRequest {
    pb::IngestTradeFlowsRequest {
        upload_id: upload_id.into(),
        flows,
    }
}

/// Field paths of the BadRequest violations in a status.
pub fn violations(status: &tonic::Status) -> Vec<String> {
    supplyrisk_testkit::field_violations(status)
        .into_iter()
        .map(|(field, _)| field)
        .collect()
}

/// Uploads `flows` as one message under `upload_id` and returns the answer.
pub async fn upload(client: &mut Client, upload_id: &str, flows: Vec<pb::TradeFlow>) -> pb::IngestTradeFlowsResponse {
    client
        .ingest_trade_flows(tokio_stream::iter(vec![request(upload_id, flows)]))
        .await
        .unwrap()
        .into_inner()
}

/// The rare-earth snapshot of `importer` for 2023.
pub async fn ree_snapshot_2023(client: &mut Client, importer: &str) -> pb::SupplySnapshot {
    client
        .get_supply_snapshot(pb::GetSupplySnapshotRequest {
            mineral: "REE".into(),
            year: 2023,
            importer: importer.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}
