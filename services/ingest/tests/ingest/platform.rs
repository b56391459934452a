//! The operator contract: reflection, TLS, message limits and draining on SIGTERM.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use supplyrisk_api::ingest::v1 as pb;
use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_testkit::{Bearer, INGESTER_TOKEN, READER_TOKEN, ServiceProcess, ingest_client};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_service() {
    let c = start();
    let channel = supplyrisk_testkit::channel(&c.ingest.endpoint()).await;
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut resp = ServerReflectionClient::new(channel.clone())
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.message().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
            panic!("unexpected {msg:?}")
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.contains(&"supplyrisk.ingest.v1.IngestService".to_string()),
            "{names:?}"
        );
        assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "supplyrisk.ingest.v1.IngestService".into(),
            )),
        };
        let mut resp = ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter(vec![req]))
            .await
            .unwrap()
            .into_inner();
        let msg = resp.message().await.unwrap().unwrap();
        assert!(
            matches!(msg.message_response, Some(MessageResponse::FileDescriptorResponse(_))),
            "{msg:?}"
        );
    }
}

#[tokio::test]
async fn serves_tls_when_a_certificate_is_configured() {
    let pki = supplyrisk_testkit::tls::TestPki::new();
    let (ca, cert, key) = (&pki.ca, &pki.server_cert, &pki.server_key);
    let c = start_with(&[("SUPPLYRISK__GRPC__TLS_CERT", cert), ("SUPPLYRISK__GRPC__TLS_KEY", key)]);
    let channel = Channel::from_shared(format!("https://{}", c.ingest.addr()))
        .unwrap()
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = IngestServiceClient::with_interceptor(channel, Bearer(Some(READER_TOKEN.into())));
    assert!(client.list_minerals(pb::ListMineralsRequest {}).await.is_ok());
    // Plain text is refused on a TLS port.
    let mut plain = ingest_client(&c.ingest.endpoint(), Some(READER_TOKEN)).await;
    assert!(plain.list_minerals(pb::ListMineralsRequest {}).await.is_err());
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let c = start_with(&[("SUPPLYRISK__GRPC__MAX_MESSAGE_BYTES", "4096")]);
    let mut client = ingest_client(&c.ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let stats: Vec<_> = (0..300)
        .map(|i| production("LI", "AUS", 1990 + i % 30, Some(f64::from(i))))
        .collect();
    let err = client
        .upsert_production(pb::UpsertProductionRequest { stats })
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), tonic::Code::OutOfRange | tonic::Code::ResourceExhausted),
        "{err:?}"
    );
    let small = vec![production("LI", "AUS", 2024, Some(1.0))];
    assert!(
        client
            .upsert_production(pb::UpsertProductionRequest { stats: small })
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_upload_finish() {
    let redis = supplyrisk_testkit::RedisServer::start();
    let url = redis.url();
    let mut ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[("SUPPLYRISK__REDIS__URL", &url)],
    );
    let mut client = ingest_client(&ingest.endpoint(), Some(INGESTER_TOKEN)).await;
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(request("drain", vec![flow("JPN", "CHN", "284690", 2023, 1.0, None)]))
        .await
        .unwrap();
    let call = tokio::spawn(async move {
        client
            .ingest_trade_flows(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut child = ingest.terminate_async();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(request("", vec![flow("JPN", "AUS", "284690", 2023, 2.0, None)]))
        .await
        .unwrap();
    drop(tx);
    let resp = call.await.unwrap().unwrap().into_inner();
    assert_eq!(resp.accepted, 2, "the upload begun before SIGTERM completes");
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}
