//! Redis over TLS (`rediss://`) with a configured CA and client certificate.

use supplyrisk_config::{ClientTls, RedisSettings};
use supplyrisk_store::{Store, StoreOptions};
use supplyrisk_testkit::RedisServer;
use supplyrisk_testkit::tls::TestPki;

fn settings(url: &str, ca: &str, cert: &str, key: &str) -> RedisSettings {
    RedisSettings {
        tls: ClientTls::files(ca, cert, key),
        ..RedisSettings::at(url)
    }
}

#[tokio::test]
async fn a_store_talks_tls_with_its_ca_and_certificate() {
    let pki = TestPki::new();
    let redis = RedisServer::start_tls(&pki);
    let url = redis.tls_url().expect("tls");

    let store = Store::new(
        &settings(&url, &pki.ca, &pki.client_cert, &pki.client_key),
        StoreOptions::default(),
    )
    .expect("store");
    store.set_policy_clock_day("2026-12-03").await.expect("write over TLS");
    assert_eq!(
        store.policy_clock_day().await.expect("read over TLS").as_deref(),
        Some("2026-12-03")
    );
    assert_eq!(
        redis.cli(&["GET", &supplyrisk_store::keys::policy_clock()]),
        "2026-12-03",
        "the same server behind both ports"
    );

    // Without a client certificate the server refuses the connection.
    let anonymous = Store::new(&settings(&url, &pki.ca, "", ""), StoreOptions::default()).expect("lazy");
    assert!(anonymous.policy_clock_day().await.is_err());
    // Without the CA, the server's certificate is not trusted.
    let untrusting = Store::new(
        &settings(&url, "", &pki.client_cert, &pki.client_key),
        StoreOptions::default(),
    )
    .expect("lazy");
    assert!(untrusting.policy_clock_day().await.is_err());
    // A missing file is named at once.
    let err = Store::new(&settings(&url, "/nonexistent/ca.pem", "", ""), StoreOptions::default())
        .expect_err("no such CA file");
    assert!(err.to_string().contains("SUPPLYRISK__REDIS__TLS__CA"), "{err}");
}
