//! A receiver whose certificate comes from a private CA is reached only when
//! that CA is given to the client.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use supplyrisk_webhook::{AllowList, AttemptError, Delivery, ExtraRoots, Secret, WebhookClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const CA: &[u8] = include_bytes!("fixtures/test-ca.pem");
const CERT: &[u8] = include_bytes!("fixtures/localhost.pem");
const KEY: &[u8] = include_bytes!("fixtures/localhost.key");

/// An HTTPS receiver on loopback with the `localhost` certificate that
/// answers every request 204; returns its port.
async fn receiver() -> u16 {
    let chain = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

async fn post(client: &WebhookClient, port: u16) -> Result<u16, AttemptError> {
    let secret = Secret::parse(&Secret::generate()).unwrap();
    let url = format!("https://localhost:{port}/hook");
    let delivery = Delivery {
        url: &url,
        secret: &secret,
        id: "private-ca",
        body: Bytes::from_static(b"{}"),
    };
    client.post(&delivery, 0).await
}

#[tokio::test]
async fn a_receiver_under_a_private_ca_is_trusted_only_with_that_ca() {
    let port = receiver().await;
    let allow = || AllowList::parse("127.0.0.1,::1").unwrap();
    let timeout = Duration::from_secs(5);

    let public_only = WebhookClient::new(allow(), timeout, &ExtraRoots::default());
    let err = post(&public_only, port).await.expect_err("unknown issuer");
    assert!(matches!(err, AttemptError::Connect { .. }), "{err}");
    assert!(!err.is_permanent(), "a TLS failure is retried");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    let roots = ExtraRoots::from_pem(CA).unwrap();
    assert_eq!(roots.len(), 1);
    let with_ca = WebhookClient::new(allow(), timeout, &roots);
    assert_eq!(post(&with_ca, port).await.unwrap(), 204);
}

#[test]
fn bundles_without_a_usable_certificate_are_refused() {
    assert!(ExtraRoots::from_pem(b"").unwrap_err().contains("no certificate"));
    assert!(ExtraRoots::from_pem(KEY).unwrap_err().contains("no certificate"));
    let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(ExtraRoots::from_pem(broken).is_err());
    let two = [CA, CERT].concat();
    assert_eq!(ExtraRoots::from_pem(&two).unwrap().len(), 2);
}
