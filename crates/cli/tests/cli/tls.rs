//! The CLI reaches a service over TLS, presenting a client certificate when
//! the service requires one, and says what is missing when it cannot.

use supplyrisk_testkit::tls::TestPki;
use supplyrisk_testkit::{READER_TOKEN, RedisServer, ServiceProcess};

use crate::cli;

#[test]
fn reaches_a_mutual_tls_service_with_its_ca_and_certificate() {
    let pki = TestPki::new();
    let redis = RedisServer::start();
    let ingest = ServiceProcess::spawn(
        &supplyrisk_testkit::binary("supplyrisk-ingest"),
        &[
            ("SUPPLYRISK__REDIS__URL", &redis.url()),
            ("SUPPLYRISK__GRPC__TLS_CERT", &pki.server_cert),
            ("SUPPLYRISK__GRPC__TLS_KEY", &pki.server_key),
            ("SUPPLYRISK__GRPC__TLS_CLIENT_CA", &pki.ca),
        ],
    );
    let endpoint = format!("https://{}", ingest.addr());
    let tls = [
        "--ca-file",
        &pki.ca,
        "--cert-file",
        &pki.client_cert,
        "--key-file",
        &pki.client_key,
    ];

    let mut args = tls.to_vec();
    args.push("minerals");
    let (ok, out, err) = cli(&endpoint, READER_TOKEN, &args);
    assert!(ok, "{err}");
    assert!(out.contains("REE"), "{out}");

    // No CA: named before any connection is tried.
    let (ok, _, err) = cli(&endpoint, READER_TOKEN, &["minerals"]);
    assert!(!ok);
    assert!(err.contains("--ca-file"), "{err}");
    // The CA but no certificate: the service refuses the connection.
    let (ok, _, err) = cli(&endpoint, READER_TOKEN, &["--ca-file", &pki.ca, "minerals"]);
    assert!(!ok, "served without a client certificate");
    assert!(!err.is_empty());
}
