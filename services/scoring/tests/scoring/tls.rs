//! TLS everywhere: ingest, scoring and alerting each serve TLS and ask
//! every client for a certificate (mutual TLS); scoring and alerting call
//! their upstreams over TLS with a configured CA and present their own
//! certificate; every service reaches Redis over TLS with its certificate.
#![allow(clippy::unwrap_used)]

use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
use supplyrisk_api::scoring::v1::scoring_service_client::ScoringServiceClient;
use supplyrisk_testkit::fixtures::{governance, ree_production};
use supplyrisk_testkit::tls::TestPki;
use supplyrisk_testkit::{
    ALERTING_SECRET_KEYS, Bearer, INGESTER_TOKEN, READER_TOKEN, RedisServer, ServiceProcess, binary,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A channel to `addr` trusting the test CA, with the client certificate
/// when `with_certificate`.
async fn tls_channel(addr: &str, pki: &TestPki, with_certificate: bool) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(std::fs::read(&pki.ca).unwrap()));
    if with_certificate {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(&pki.client_cert).unwrap(),
            std::fs::read(&pki.client_key).unwrap(),
        ));
    }
    Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
}

/// Settings of a server with mutual TLS.
fn server_tls(pki: &TestPki) -> Vec<(String, String)> {
    vec![
        ("SUPPLYRISK__GRPC__TLS_CERT".into(), pki.server_cert.clone()),
        ("SUPPLYRISK__GRPC__TLS_KEY".into(), pki.server_key.clone()),
        ("SUPPLYRISK__GRPC__TLS_CLIENT_CA".into(), pki.ca.clone()),
    ]
}

/// Settings of an upstream `name` at `addr`, over TLS with the client certificate.
fn upstream_tls(name: &str, addr: &str, pki: &TestPki) -> Vec<(String, String)> {
    let key = |k: &str| format!("SUPPLYRISK__UPSTREAM__{name}__{k}");
    vec![
        (key("ENDPOINT"), format!("https://{addr}")),
        (key("TOKEN"), READER_TOKEN.into()),
        (key("TLS__CA"), pki.ca.clone()),
        (key("TLS__CERT"), pki.client_cert.clone()),
        (key("TLS__KEY"), pki.client_key.clone()),
    ]
}

fn spawn(name: &str, env: Vec<(String, String)>) -> ServiceProcess {
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    ServiceProcess::spawn(&binary(name), &refs)
}

#[tokio::test]
async fn services_call_each_other_over_mutual_tls() {
    let pki = TestPki::new();
    // Redis over TLS too, asking each service for its certificate.
    let redis = RedisServer::start_tls(&pki);
    let mut common = server_tls(&pki);
    common.extend([
        ("SUPPLYRISK__REDIS__URL".into(), redis.tls_url().unwrap()),
        ("SUPPLYRISK__REDIS__TLS__CA".into(), pki.ca.clone()),
        ("SUPPLYRISK__REDIS__TLS__CERT".into(), pki.client_cert.clone()),
        ("SUPPLYRISK__REDIS__TLS__KEY".into(), pki.client_key.clone()),
    ]);

    let mut ingest_env = common.clone();
    ingest_env.push(("SUPPLYRISK__GRPC__HEALTH_LISTEN".into(), "127.0.0.1:0".into()));
    let ingest = spawn("supplyrisk-ingest", ingest_env);
    let mut scoring_env = common.clone();
    scoring_env.extend(upstream_tls("INGEST", ingest.addr(), &pki));
    scoring_env.push(("SUPPLYRISK__SCORING__TRACKED_IMPORTERS".into(), "JPN".into()));
    let scoring = spawn("supplyrisk-scoring", scoring_env);
    let mut alerting_env = common.clone();
    alerting_env.extend(upstream_tls("INGEST", ingest.addr(), &pki));
    alerting_env.extend(upstream_tls("SCORING", scoring.addr(), &pki));
    alerting_env.push(("SUPPLYRISK__ALERTING__SECRET_KEYS".into(), ALERTING_SECRET_KEYS.into()));
    let alerting = spawn("supplyrisk-alerting", alerting_env);

    // A client without a certificate is refused by every server.
    for server in [&ingest, &scoring, &alerting] {
        let refused = match tls_channel(server.addr(), &pki, false).await {
            Err(_) => true,
            Ok(channel) => {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                health
                    .check(tonic_health::pb::HealthCheckRequest::default())
                    .await
                    .is_err()
            }
        };
        assert!(refused, "{} served a client without a certificate", server.addr());
    }

    // Data in through ingest, a score out of scoring: scoring read its
    // snapshot from ingest over TLS with its own certificate.
    let mut ingest_client = IngestServiceClient::with_interceptor(
        tls_channel(ingest.addr(), &pki, true).await.unwrap(),
        Bearer(Some(INGESTER_TOKEN.into())),
    );
    ingest_client
        .upsert_governance(governance(&[("CHN", -0.5), ("AUS", 1.5), ("JPN", 1.2)], 2023))
        .await
        .unwrap();
    ingest_client.upsert_production(ree_production(50.0)).await.unwrap();
    let mut scoring_client = ScoringServiceClient::with_interceptor(
        tls_channel(scoring.addr(), &pki, true).await.unwrap(),
        Bearer(Some(READER_TOKEN.into())),
    );
    let score = scoring_client
        .get_risk_score(supplyrisk_testkit::fixtures::ree_japan_score_request())
        .await
        .unwrap()
        .into_inner();
    assert!(score.score > 0.0, "{score:?}");

    // Alerting checked its credentials with both upstreams over TLS at
    // start: it serves only once both accepted them.
    let health =
        tonic_health::pb::health_client::HealthClient::new(tls_channel(alerting.addr(), &pki, true).await.unwrap());
    let serving = supplyrisk_testkit::eventually(std::time::Duration::from_secs(20), || {
        let mut health = health.clone();
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: "supplyrisk.alerting.v1.AlertingService".into(),
                })
                .await
                .is_ok_and(|r| {
                    r.into_inner().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                })
        }
    })
    .await;
    assert!(serving, "alerting logs:\n{}", alerting.logs());

    // Probes that cannot speak TLS ask a plain-text health listener, which
    // reports the main server's state and serves nothing else.
    let logs = ingest.logs();
    let health_addr = logs
        .split("health_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no health listener logged:\n{logs}"));
    let plain = format!("http://{health_addr}");
    let status = supplyrisk_testkit::health(&plain, "supplyrisk.ingest.v1.IngestService")
        .await
        .unwrap();
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    let mut minerals = IngestServiceClient::new(supplyrisk_testkit::channel(&plain).await);
    let err = minerals
        .list_minerals(supplyrisk_api::ingest::v1::ListMineralsRequest {})
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        tonic::Code::Unimplemented,
        "only health is served in plain text"
    );
}
