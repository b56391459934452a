//! Refusals of oversized input stay small enough for every gRPC client.
//!
//! grpc-core clients (Python, C++, C#, Ruby) drop a response whose header
//! list passes 16 KiB and report their own `RESOURCE_EXHAUSTED`. This
//! client enforces the same limit, so a refusal that echoed a 5,000-byte
//! value (or a hundred of them) would arrive here as a transport failure
//! instead of the `INVALID_ARGUMENT` or `NOT_FOUND` the server meant.

use std::future::Future;

use supplyrisk_api::alerting::v1 as apb;
use supplyrisk_api::alerting::v1::alerting_service_client::AlertingServiceClient;
use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1 as pb;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_testkit::{Bearer, Cluster, ClusterOptions, INGESTER_TOKEN, READER_TOKEN};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// The header-list limit of grpc-core clients.
const HEADER_LIST_LIMIT: u32 = 16 * 1024;

async fn strict_channel(endpoint: &str) -> Channel {
    Endpoint::from_shared(endpoint.to_string())
        .expect("endpoint")
        .http2_max_header_list_size(HEADER_LIST_LIMIT)
        .connect()
        .await
        .expect("connect")
}

type Authorised = InterceptedService<Channel, Bearer>;

/// Asserts that `call` is refused as the server meant, with a bounded message.
async fn refused<T: std::fmt::Debug>(
    what: &str,
    call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) {
    let err = call.await.expect_err(what);
    assert!(
        matches!(err.code(), Code::InvalidArgument | Code::NotFound),
        "{what}: {:?} {}",
        err.code(),
        err.message().chars().take(200).collect::<String>()
    );
    assert!(
        err.message().len() <= 1024,
        "{what}: a {}-byte message",
        err.message().len()
    );
    assert!(
        err.details().len() <= 8 * 1024,
        "{what}: {} bytes of details",
        err.details().len()
    );
}

#[tokio::test]
async fn refusals_of_huge_values_reach_a_strict_client_intact() {
    let c = Cluster::start_with(ClusterOptions::default());
    let long = "X".repeat(5000);
    let many = |n: usize| vec![long.clone(); n];
    let mut ingest: IngestServiceClient<Authorised> = IngestServiceClient::with_interceptor(
        strict_channel(&c.ingest.endpoint()).await,
        Bearer(Some(INGESTER_TOKEN.into())),
    );
    let mut scoring: ScoringServiceClient<Authorised> = ScoringServiceClient::with_interceptor(
        strict_channel(&c.scoring.endpoint()).await,
        Bearer(Some(READER_TOKEN.into())),
    );
    let mut alerting: AlertingServiceClient<Authorised> = AlertingServiceClient::with_interceptor(
        strict_channel(&c.alerting.endpoint()).await,
        Bearer(Some(INGESTER_TOKEN.into())),
    );

    for (mineral, importer) in [(long.as_str(), "JPN"), ("REE", long.as_str())] {
        let snapshot = ipb::GetSupplySnapshotRequest {
            mineral: mineral.into(),
            importer: importer.into(),
            ..Default::default()
        };
        refused("GetSupplySnapshot", ingest.get_supply_snapshot(snapshot)).await;
        let score = pb::GetRiskScoreRequest {
            mineral: mineral.into(),
            importer: importer.into(),
            ..Default::default()
        };
        refused("GetRiskScore", scoring.get_risk_score(score)).await;
        let history = pb::GetScoreHistoryRequest {
            mineral: mineral.into(),
            importer: importer.into(),
            ..Default::default()
        };
        refused("GetScoreHistory", scoring.get_score_history(history)).await;
        let suppliers = pb::ListScoreSuppliersRequest {
            mineral: mineral.into(),
            importer: importer.into(),
            ..Default::default()
        };
        refused("ListScoreSuppliers", scoring.list_score_suppliers(suppliers)).await;
    }
    let shocks = (0..64)
        .map(|_| pb::Shock {
            supplier: long.clone(),
            mineral: "REE".into(),
            cut: 0.5,
        })
        .collect();
    let scenario = pb::SimulateScenarioRequest {
        shocks,
        importers: many(20),
        ..Default::default()
    };
    refused("SimulateScenario", scoring.simulate_scenario(scenario)).await;

    let event = ipb::PolicyEvent {
        country: long.clone(),
        minerals: many(64),
        target_countries: many(250),
        source_reference: long.clone(),
        summary: long.clone(),
        ..Default::default()
    };
    let record = ipb::RecordPolicyEventRequest { event: Some(event) };
    refused("RecordPolicyEvent", ingest.record_policy_event(record)).await;
    let list = ipb::ListPolicyEventsRequest {
        mineral: long.clone(),
        country: long.clone(),
        ..Default::default()
    };
    refused("ListPolicyEvents", ingest.list_policy_events(list)).await;
    let stockpile = ipb::Stockpile {
        country: long.clone(),
        mineral: long.clone(),
        quantity_tonnes: 1.0,
        ..Default::default()
    };
    let upsert = ipb::UpsertStockpileRequest {
        stockpile: Some(stockpile),
    };
    refused("UpsertStockpile", ingest.upsert_stockpile(upsert)).await;

    let subscription = apb::Subscription {
        name: long.clone(),
        filter: Some(apb::Filter {
            minerals: many(100),
            importers: many(100),
            applications: many(100),
            methodology: long.clone(),
        }),
        ..Default::default()
    };
    let create = apb::CreateSubscriptionRequest {
        subscription: Some(subscription),
    };
    refused("CreateSubscription", alerting.create_subscription(create)).await;
}
