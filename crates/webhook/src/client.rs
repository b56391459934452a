//! One webhook attempt: resolve, guard, connect, sign, POST, read the status.
//!
//! Each attempt opens its own connection to the exact address the guard
//! approved (no pooling: webhooks are rare and receivers many), follows no
//! redirects (a redirect could lead past the guard) and is bounded by one
//! timeout covering everything from the DNS lookup to the response head.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use crate::guard::{AllowList, Refusal};
use crate::signature::{Secret, headers};

/// Sent as `user-agent`.
const USER_AGENT: &str = concat!("supplyrisk-alerting/", env!("CARGO_PKG_VERSION"));

/// A failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttemptError {
    /// The URL is not an absolute http(s) URL with a host.
    #[error("invalid webhook URL: {0}")]
    InvalidUrl(String),
    /// The guard refused every address of the host.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's message.
        reason: String,
    },
    /// No connection (refused, unreachable, TLS failure).
    #[error("cannot connect to {address}: {reason}")]
    Connect {
        /// The address tried.
        address: SocketAddr,
        /// What went wrong.
        reason: String,
    },
    /// The connection broke before a response arrived.
    #[error("HTTP exchange failed: {0}")]
    Http(String),
    /// No response within the timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
}

impl AttemptError {
    /// True when retrying cannot help (the URL or its addresses are not allowed).
    pub fn is_permanent(&self) -> bool {
        matches!(self, AttemptError::InvalidUrl(_) | AttemptError::Refused(_))
    }
}

/// What a receiver's answer means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: delivered.
    Delivered,
    /// 410 Gone: the receiver asks us to stop; the webhook is disabled.
    Gone,
    /// Anything else (including redirects, which are not followed): retry.
    Retry,
}

/// Classifies an HTTP status.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        410 => Outcome::Gone,
        _ => Outcome::Retry,
    }
}

/// One message to deliver.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    /// Destination URL.
    pub url: &'a str,
    /// Signing secret of the subscription.
    pub secret: &'a Secret,
    /// `webhook-id`: the alert id, identical on every retry so receivers can deduplicate.
    pub id: &'a str,
    /// JSON body.
    pub body: Bytes,
}

/// A parsed, checked destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// True for https.
    pub tls: bool,
    /// Host as written (brackets removed from IPv6 literals).
    pub host: String,
    /// Port (default 80 or 443).
    pub port: u16,
    /// `host[:port]` for the Host header.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

/// Parses an http(s) URL. Rejects credentials in the URL and fragments.
pub fn parse_url(url: &str) -> Result<Destination, AttemptError> {
    let invalid = |why: &str| AttemptError::InvalidUrl(why.to_string());
    if url.len() > 2048 {
        return Err(invalid("longer than 2048 characters"));
    }
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(invalid("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| invalid("a host is required"))?;
    if authority.as_str().contains('@') {
        return Err(invalid(
            "credentials in the URL are not allowed; use the signing secret",
        ));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if host.is_empty() {
        return Err(invalid("a host is required"));
    }
    Ok(Destination {
        tls,
        port: authority.port_u16().unwrap_or(if tls { 443 } else { 80 }),
        authority: authority.as_str().to_string(),
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        host,
    })
}

/// Certificate authorities a receiver's certificate may chain to besides
/// the bundled public roots: a company CA for internal receivers, say.
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots(Vec<CertificateDer<'static>>);

impl ExtraRoots {
    /// Every certificate of a PEM bundle; a bundle without one, or with one
    /// that cannot be a trust anchor, is refused whole.
    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in the PEM bundle".into());
        }
        let mut check = RootCertStore::empty();
        for (i, cert) in certs.iter().enumerate() {
            check
                .add(cert.clone())
                .map_err(|e| format!("certificate {} of the bundle: {e}", i + 1))?;
        }
        Ok(Self(certs))
    }

    /// How many certificates there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Posts signed webhooks.
#[derive(Clone)]
pub struct WebhookClient {
    allow: Arc<AllowList>,
    timeout: Duration,
    tls: TlsConnector,
}

impl std::fmt::Debug for WebhookClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookClient")
            .field("allow", &self.allow)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookClient {
    /// A client that refuses internal addresses not in `allow` and gives
    /// each attempt `timeout`. TLS trusts the bundled public CA roots and
    /// `extra_roots`.
    pub fn new(allow: AllowList, timeout: Duration, extra_roots: &ExtraRoots) -> Self {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        // Checked when they were read (`ExtraRoots::from_pem`).
        let (_added, _ignored) = roots.add_parsable_certificates(extra_roots.0.iter().cloned());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"));
        Self {
            allow: Arc::new(allow),
            timeout,
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Checks a URL as far as possible without resolving it: form, and a
    /// literal address against the guard. Used when a subscription is saved.
    pub fn check_url(&self, url: &str) -> Result<Destination, AttemptError> {
        let dest = parse_url(url)?;
        if let Ok(address) = dest.host.parse::<IpAddr>() {
            self.allow.check(&dest.host, address).map_err(AttemptError::Refused)?;
        }
        Ok(dest)
    }

    /// Sends one signed attempt stamped `timestamp` (Unix seconds) and
    /// returns the receiver's HTTP status.
    pub async fn post(&self, delivery: &Delivery<'_>, timestamp: i64) -> Result<u16, AttemptError> {
        match tokio::time::timeout(self.timeout, self.attempt(delivery, timestamp)).await {
            Ok(result) => result,
            Err(_) => Err(AttemptError::Timeout(self.timeout)),
        }
    }

    async fn attempt(&self, delivery: &Delivery<'_>, timestamp: i64) -> Result<u16, AttemptError> {
        let dest = parse_url(delivery.url)?;
        let address = self.resolve(&dest).await?;
        let tcp = TcpStream::connect(address).await.map_err(|e| AttemptError::Connect {
            address,
            reason: e.to_string(),
        })?;
        let _ = tcp.set_nodelay(true);
        let request = http::Request::post(dest.path.as_str())
            .header(http::header::HOST, dest.authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(headers::ID, delivery.id)
            .header(headers::TIMESTAMP, timestamp.to_string())
            .header(
                headers::SIGNATURE,
                delivery.secret.sign(delivery.id, timestamp, &delivery.body),
            )
            .body(Full::new(delivery.body.clone()))
            .map_err(|e| AttemptError::InvalidUrl(e.to_string()))?;
        if dest.tls {
            let name = ServerName::try_from(dest.host.clone()).map_err(|e| AttemptError::InvalidUrl(e.to_string()))?;
            let stream = self.tls.connect(name, tcp).await.map_err(|e| AttemptError::Connect {
                address,
                reason: format!("TLS: {e}"),
            })?;
            exchange(stream, request).await
        } else {
            exchange(tcp, request).await
        }
    }

    /// The first address of the host that the guard allows.
    async fn resolve(&self, dest: &Destination) -> Result<SocketAddr, AttemptError> {
        let addresses: Vec<SocketAddr> = match dest.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, dest.port)],
            Err(_) => tokio::net::lookup_host((dest.host.as_str(), dest.port))
                .await
                .map_err(|e| AttemptError::Resolve {
                    host: dest.host.clone(),
                    reason: e.to_string(),
                })?
                .collect(),
        };
        let mut refusal = None;
        for address in addresses {
            match self.allow.check(&dest.host, address.ip()) {
                Ok(()) => return Ok(address),
                Err(r) => refusal = Some(r),
            }
        }
        Err(match refusal {
            Some(r) => AttemptError::Refused(r),
            None => AttemptError::Resolve {
                host: dest.host.clone(),
                reason: "no addresses".into(),
            },
        })
    }
}

async fn exchange<S>(stream: S, request: http::Request<Full<Bytes>>) -> Result<u16, AttemptError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| AttemptError::Http(e.to_string()))?;
    // The connection task ends when `sender` is dropped after the response head.
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| AttemptError::Http(e.to_string()))?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        let d = parse_url("https://hooks.example.com/alerts?x=1").expect("valid");
        assert_eq!(
            (d.tls, d.host.as_str(), d.port, d.path.as_str()),
            (true, "hooks.example.com", 443, "/alerts?x=1")
        );
        let d = parse_url("http://[::1]:8080").expect("valid");
        assert_eq!((d.host.as_str(), d.port, d.path.as_str()), ("::1", 8080, "/"));
        for bad in ["ftp://x/", "/relative", "https://user:pw@x/", "not a url"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses_map_to_outcomes() {
        assert_eq!(classify(204), Outcome::Delivered);
        assert_eq!(classify(410), Outcome::Gone);
        assert_eq!(classify(301), Outcome::Retry);
        assert_eq!(classify(503), Outcome::Retry);
    }

    #[tokio::test]
    async fn internal_destinations_are_refused_before_connecting() {
        let client = WebhookClient::new(AllowList::default(), Duration::from_secs(2), &ExtraRoots::default());
        assert!(matches!(
            client.check_url("http://10.0.0.7/hook"),
            Err(AttemptError::Refused(_))
        ));
        let secret = Secret::parse(&Secret::generate()).expect("secret");
        let delivery = Delivery {
            url: "http://127.0.0.1:9/hook",
            secret: &secret,
            id: "a1",
            body: Bytes::from_static(b"{}"),
        };
        let err = client.post(&delivery, 0).await.expect_err("loopback is refused");
        assert!(err.is_permanent(), "{err}");
    }
}
