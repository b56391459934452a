//! Calling another supplyrisk service: one channel per endpoint, the
//! service's own bearer token, and a client span around every call whose
//! context is what the callee's server span takes as its parent; and
//! reading every page of a list call ([`all_pages`]), for services and the
//! command-line client alike.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use supplyrisk_config::{ClientTls, EndpointSettings, TlsFileError};
use supplyrisk_telemetry::metrics::RpcTimer;
use supplyrisk_telemetry::{SpanExt, SpanStatus, propagation};
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

use crate::call_span;

/// Adds `authorization` to outgoing calls (trace context is added by
/// [`ClientSpan`], which knows the client span).
#[derive(Clone)]
pub struct ClientInterceptor {
    bearer: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl ClientInterceptor {
    /// An interceptor presenting `token` (none when empty).
    pub fn new(token: &SecretString) -> Self {
        let t = token.expose_secret();
        let bearer = (!t.is_empty()).then(|| format!("Bearer {t}").parse().ok()).flatten();
        Self { bearer }
    }
}

impl Interceptor for ClientInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(b) = &self.bearer {
            req.metadata_mut().insert("authorization", b.clone());
        }
        Ok(req)
    }
}

/// Every item of a paged list call, page after page, in the order served.
///
/// `fetch` is called with the page token to send (empty for the first page)
/// and answers with that page's items and its `next_page_token`. Reading
/// stops after the page whose next token is empty, or is the token just
/// sent: a server handing back the same token would otherwise serve the
/// same page forever. The first failed call ends the reading with its status.
///
/// Each call's future owns what it needs, so `fetch` usually clones the
/// client (clones share one channel):
///
/// ```no_run
/// # use supplyrisk_api::ingest::v1 as pb;
/// # use supplyrisk_api::ingest::v1::ingest_service_client::IngestServiceClient;
/// # async fn every_event(
/// #     client: &IngestServiceClient<tonic::transport::Channel>,
/// # ) -> Result<Vec<pb::PolicyEvent>, tonic::Status> {
/// supplyrisk_grpc::client::all_pages(|page_token| {
///     let mut client = client.clone();
///     let request = pb::ListPolicyEventsRequest {
///         page_size: 500,
///         page_token,
///         ..Default::default()
///     };
///     async move {
///         let page = client.list_policy_events(request).await?.into_inner();
///         Ok((page.events, page.next_page_token))
///     }
/// })
/// .await
/// # }
/// ```
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, tonic::Status>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (page, next) = fetch(token.clone()).await?;
        items.extend(page);
        if next.is_empty() || next == token {
            return Ok(items);
        }
        token = next;
    }
}

/// The channel to another supplyrisk service: tonic's channel with a client
/// span and a duration measurement around every call.
pub type Channel = ClientSpan<tonic::transport::Channel>;

/// Why a channel to another service cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The endpoint or the TLS material was refused by the transport.
    #[error("{0}")]
    Transport(#[from] tonic::transport::Error),
    /// A TLS file could not be read.
    #[error("{0}")]
    TlsFile(#[from] TlsFileError),
}

impl ChannelError {
    /// The setting of the endpoint's section to fix, e.g. `endpoint` or `tls.ca`.
    pub fn setting(&self) -> String {
        match self {
            ChannelError::Transport(_) => "endpoint".into(),
            ChannelError::TlsFile(e) => format!("tls.{}", e.setting),
        }
    }
}

/// Client TLS from `files`: the CA to trust and, for mutual TLS, the
/// certificate to present; a `domain`, when given, is the name checked.
pub fn client_tls(files: &ClientTls) -> Result<ClientTlsConfig, ChannelError> {
    let material = files.read()?;
    let mut tls = ClientTlsConfig::new();
    if let Some(ca) = material.ca {
        tls = tls.ca_certificate(Certificate::from_pem(ca));
    }
    if let Some((cert, key)) = material.identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    if !files.domain.trim().is_empty() {
        tls = tls.domain_name(files.domain.trim());
    }
    Ok(tls)
}

/// A lazily connecting channel to `settings.endpoint`, over TLS for an
/// `https://` endpoint.
pub fn channel(settings: &EndpointSettings) -> Result<Channel, ChannelError> {
    let mut endpoint = Endpoint::from_shared(settings.endpoint.trim().to_string())?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_millis(settings.timeout_ms))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if settings.uses_tls() {
        endpoint = endpoint.tls_config(client_tls(&settings.tls)?)?;
    }
    let layer = ClientSpanLayer::new(endpoint.uri());
    Ok(layer.layer(endpoint.connect_lazy()))
}

/// The called server, as client spans name it.
#[derive(Debug)]
struct Peer {
    address: String,
    port: u16,
}

/// Layer opening a client span (kind client, RPC semantic-convention
/// attributes) around each call and injecting its context, so the callee's
/// server span becomes its child.
#[derive(Debug, Clone)]
pub struct ClientSpanLayer {
    peer: Arc<Peer>,
}

impl ClientSpanLayer {
    /// A layer for calls to the server at `uri`.
    pub fn new(uri: &http::Uri) -> Self {
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        Self {
            peer: Arc::new(Peer {
                address: uri.host().unwrap_or_default().to_string(),
                port: uri.port_u16().unwrap_or(default_port),
            }),
        }
    }
}

impl<S> Layer<S> for ClientSpanLayer {
    type Service = ClientSpan<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientSpan {
            inner,
            peer: self.peer.clone(),
        }
    }
}

/// The service produced by [`ClientSpanLayer`].
#[derive(Debug, Clone)]
pub struct ClientSpan<S> {
    inner: S,
    peer: Arc<Peer>,
}

/// The status code of a call whose response headers are `headers`: a
/// failure answered without a body carries `grpc-status` there; otherwise
/// the response started normally (0). As on the server side, a streaming
/// call that fails after its response started still shows 0.
fn status_from_headers(status: http::StatusCode, headers: &http::HeaderMap) -> i64 {
    match headers.get("grpc-status").and_then(|v| v.to_str().ok()) {
        Some(code) => code.parse().unwrap_or(tonic::Code::Unknown as i64),
        None if status == http::StatusCode::OK => 0,
        None => tonic::Code::Unknown as i64,
    }
}

/// The status code tonic reports for a call that failed in transport: a
/// status in the error chain, `CANCELLED` for the channel's own timeout (as
/// tonic maps it), `UNAVAILABLE` for anything else (connection refused or lost).
fn status_from_error(error: &(dyn std::error::Error + 'static)) -> i64 {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(status) = e.downcast_ref::<tonic::Status>() {
            return status.code() as i64;
        }
        if e.is::<tonic::TimeoutExpired>() {
            return tonic::Code::Cancelled as i64;
        }
        source = e.source();
    }
    tonic::Code::Unavailable as i64
}

/// Records how a call ended on its span and in the duration histogram.
fn finish(span: &tracing::Span, timer: RpcTimer, path: &str, code: i64) {
    timer.called(path, code);
    call_span::record_status(span, code);
    if code != 0 && !span.is_disabled() {
        // Client spans fail on any non-OK status (semantic conventions).
        span.set_status(SpanStatus::error(format!("grpc status {code}")));
    }
}

impl<S, B, ResponseBody> Service<http::Request<B>> for ClientSpan<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResponseBody>>,
    S::Error: std::error::Error + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let timer = RpcTimer::start();
        let path = req.uri().path().to_string();
        let span = tracing::info_span!("rpc.client", otel.name = %path.trim_start_matches('/'), otel.kind = "client");
        call_span::describe_call(&span, &path, &self.peer.address, self.peer.port);
        // Without a client span (filtered out), the caller's context still travels.
        let carrier = if span.is_disabled() {
            tracing::Span::current()
        } else {
            span.clone()
        };
        propagation::inject_headers(&carrier, req.headers_mut());
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.instrument(span.clone()).await;
            let code = match &result {
                Ok(resp) => status_from_headers(resp.status(), resp.headers()),
                Err(e) => status_from_error(e),
            };
            finish(&span, timer, &path, code);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_comes_from_headers_or_transport_error() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_from_headers(http::StatusCode::OK, &headers), 0);
        assert_eq!(
            status_from_headers(http::StatusCode::SERVICE_UNAVAILABLE, &headers),
            tonic::Code::Unknown as i64
        );
        headers.insert("grpc-status", "5".parse().expect("header"));
        assert_eq!(status_from_headers(http::StatusCode::OK, &headers), 5);

        let status = tonic::Status::permission_denied("no");
        assert_eq!(status_from_error(&status), tonic::Code::PermissionDenied as i64);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(status_from_error(&io), tonic::Code::Unavailable as i64);
    }

    /// A list of `items` served `per_page` at a time, the next page's
    /// offset as its token, and the tokens it was sent.
    struct PagedList {
        items: Vec<u32>,
        per_page: usize,
        sent: std::sync::Mutex<Vec<String>>,
    }

    impl PagedList {
        fn new(count: u32, per_page: usize) -> Self {
            Self {
                items: (1..=count).collect(),
                per_page,
                sent: std::sync::Mutex::new(Vec::new()),
            }
        }

        async fn page(&self, token: String) -> Result<(Vec<u32>, String), tonic::Status> {
            self.sent.lock().expect("lock").push(token.clone());
            let start: usize = if token.is_empty() {
                0
            } else {
                token
                    .parse()
                    .map_err(|_| tonic::Status::invalid_argument("bad token"))?
            };
            let end = (start + self.per_page).min(self.items.len());
            let next = if end < self.items.len() {
                end.to_string()
            } else {
                String::new()
            };
            Ok((self.items[start..end].to_vec(), next))
        }

        fn sent(&self) -> Vec<String> {
            self.sent.lock().expect("lock").clone()
        }
    }

    #[tokio::test]
    async fn all_pages_reads_every_page_in_order() {
        let list = PagedList::new(7, 3);
        let items = all_pages(|token| list.page(token)).await.expect("pages");
        assert_eq!(items, (1..=7).collect::<Vec<_>>());
        assert_eq!(list.sent(), ["", "3", "6"]);

        // One page, and a list with nothing in it, take one call each.
        let list = PagedList::new(3, 3);
        assert_eq!(all_pages(|token| list.page(token)).await.expect("page"), [1, 2, 3]);
        assert_eq!(list.sent(), [""]);
        let list = PagedList::new(0, 3);
        assert!(all_pages(|token| list.page(token)).await.expect("page").is_empty());
        assert_eq!(list.sent(), [""]);
    }

    #[tokio::test]
    async fn all_pages_stops_when_the_server_repeats_its_token() {
        let mut calls = 0;
        let items = all_pages(|token| {
            calls += 1;
            async move { Ok((vec![calls], if token.is_empty() { "a".into() } else { token })) }
        })
        .await
        .expect("pages");
        assert_eq!(
            items,
            [1, 2],
            "the page answering \"a\" with \"a\" is the last one read"
        );
    }

    #[tokio::test]
    async fn all_pages_ends_at_the_first_failed_call() {
        let list = PagedList::new(7, 3);
        let failed = all_pages(|token| {
            let token = if token == "3" { "x".to_string() } else { token };
            list.page(token)
        })
        .await
        .expect_err("a failed page");
        assert_eq!(failed.code(), tonic::Code::InvalidArgument);
        assert_eq!(list.sent(), ["", "x"]);
    }

    #[test]
    fn peer_comes_from_the_endpoint() {
        let layer = ClientSpanLayer::new(&"http://supplyrisk-ingest:50051".parse().expect("uri"));
        assert_eq!(
            (layer.peer.address.as_str(), layer.peer.port),
            ("supplyrisk-ingest", 50051)
        );
        let layer = ClientSpanLayer::new(&"https://ingest.example".parse().expect("uri"));
        assert_eq!(layer.peer.port, 443);
    }
}
