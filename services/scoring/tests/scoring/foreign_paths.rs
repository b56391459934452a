//! Each server lists and serves only its own services.

use supplyrisk_api::ingest::v1 as ipb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_testkit::{ADMIN_TOKEN, Bearer, Cluster, ClusterOptions, READER_TOKEN, reflected_services};
use tonic::Code;

const STANDARD: [&str; 3] = [
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

fn listed(own: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = own.iter().chain(&STANDARD).map(|s| s.to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn reflection_lists_and_the_server_serves_only_its_own_services() {
    let c = Cluster::start_with(ClusterOptions::default());
    assert_eq!(
        reflected_services(&c.ingest.endpoint()).await,
        listed(&["supplyrisk.ingest.v1.IngestService"])
    );
    assert_eq!(
        reflected_services(&c.scoring.endpoint()).await,
        listed(&[
            "supplyrisk.admin.v1.DeadLetterService",
            "supplyrisk.scoring.v1.ScoringService"
        ])
    );
    assert_eq!(
        reflected_services(&c.alerting.endpoint()).await,
        listed(&[
            "supplyrisk.admin.v1.DeadLetterService",
            "supplyrisk.alerting.v1.AlertingService"
        ])
    );

    // Ingest's methods called on scoring: not served here, whoever asks.
    for token in [None, Some(READER_TOKEN), Some(ADMIN_TOKEN)] {
        let channel = supplyrisk_testkit::channel(&c.scoring.endpoint()).await;
        let mut foreign = IngestServiceClient::with_interceptor(channel, Bearer(token.map(String::from)));
        let err = foreign
            .list_minerals(ipb::ListMineralsRequest {})
            .await
            .expect_err("not served by scoring");
        assert_eq!(err.code(), Code::Unimplemented, "{token:?}: {err:?}");
    }
}
