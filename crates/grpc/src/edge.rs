//! The server edge: one tower layer in front of every service that opens
//! the RPC span (with its caller as parent), times the call for
//! `rpc.server.call.duration`, enforces bearer-token authorisation and
//! sheds calls past the server's limit, before any handler runs.
//!
//! Shedding refuses at once rather than queueing: a queued call would wait
//! out its caller's deadline while holding memory, and the caller's retry
//! policy (with the `RetryInfo` delay) spreads the load better than a queue
//! in one replica can. Health and reflection are never shed, so an
//! overloaded replica still answers its probes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use secrecy::{ExposeSecret, SecretString};
use supplyrisk_config::{Principal, Role};
use supplyrisk_telemetry::metrics::{self, RpcTimer};
use supplyrisk_telemetry::{SpanExt, SpanStatus, propagation};
use tokio::sync::Semaphore;
use tonic::Status;

use crate::call_span;
use crate::small_frames::{self, SmallFrames};
use tower_layer::Layer;
use tower_service::Service;
use tracing::Instrument;

/// What a method requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// No token needed (health, reflection).
    Open,
    /// Any role.
    Read,
    /// ingester or admin.
    Write,
    /// admin only.
    Admin,
}

impl Permission {
    /// True when `role` may call a method requiring `self`.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Permission::Open | Permission::Read => true,
            Permission::Write => matches!(role, Role::Ingester | Role::Admin),
            Permission::Admin => role == Role::Admin,
        }
    }
}

/// Maps a full method path (`/pkg.Service/Method`) to what it requires.
pub type MethodPolicy = fn(&str) -> Permission;

/// What the method of `path` requires when `reads` lists the methods any
/// role may call and `writes` those an ingester may: anything else is the
/// admin's, so a method added without a decision is closed, not open.
pub fn permission_of(path: &str, reads: &[&str], writes: &[&str]) -> Permission {
    let method = path.rsplit('/').next().unwrap_or_default();
    if reads.contains(&method) {
        Permission::Read
    } else if writes.contains(&method) {
        Permission::Write
    } else {
        Permission::Admin
    }
}

/// The caller the edge admitted, for a handler: a token's principal, or
/// [`Principal::local`] with authentication disabled.
pub fn caller<T>(request: &tonic::Request<T>) -> crate::ServiceResult<Principal> {
    request
        .extensions()
        .get::<Arc<Principal>>()
        .map(|p| Principal::clone(p))
        .ok_or_else(|| crate::ServiceError::Internal("no caller: the request did not pass the edge".into()))
}

/// Health checks, which are never traced.
fn is_health_path(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

/// Paths open to everyone: health checks and reflection.
fn is_open_path(path: &str) -> bool {
    is_health_path(path) || path.starts_with("/grpc.reflection.")
}

#[derive(Clone)]
struct EdgeConfig {
    /// Full names of the gRPC services this server serves, besides health
    /// and reflection; empty = every path goes to the router.
    served: Vec<&'static str>,
    /// Each token with its principal, shared so admitting a call costs a
    /// reference count, not a copy of the name.
    tokens: Vec<(Arc<Principal>, SecretString)>,
    auth_disabled: bool,
    policy: MethodPolicy,
    local_addr: SocketAddr,
    /// `local_addr`'s IP as the span attribute wants it, formatted once.
    server_address: String,
}

/// When a shed call may try again.
const SHED_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// Layer that adds the RPC span and authorisation to a service.
#[derive(Clone)]
pub struct EdgeLayer {
    config: Arc<EdgeConfig>,
    answer_piece: usize,
    calls: Option<Arc<Semaphore>>,
}

impl EdgeLayer {
    /// An edge for a server at `local_addr` accepting `tokens`, with
    /// per-method requirements from `policy`.
    pub fn new(
        tokens: Vec<(Principal, SecretString)>,
        auth_disabled: bool,
        policy: MethodPolicy,
        local_addr: SocketAddr,
    ) -> Self {
        if auth_disabled {
            tracing::warn!(
                "authentication is DISABLED (auth.disabled=true): every caller is admin; local development only"
            );
        }
        Self {
            config: Arc::new(EdgeConfig {
                served: Vec::new(),
                tokens: tokens.into_iter().map(|(p, t)| (Arc::new(p), t)).collect(),
                auth_disabled,
                policy,
                local_addr,
                server_address: local_addr.ip().to_string(),
            }),
            answer_piece: small_frames::PIECE_PLAIN,
            calls: None,
        }
    }

    /// Serves only the gRPC services named in `served` (besides health and
    /// reflection): a call to any other is `UNIMPLEMENTED` whatever its
    /// token, rather than a request for a role it could never use here.
    pub fn serving(mut self, served: Vec<&'static str>) -> Self {
        Arc::make_mut(&mut self.config).served = served;
        self
    }

    /// Runs at most `limit` calls at once (health and reflection aside);
    /// more are refused with `RESOURCE_EXHAUSTED`.
    pub fn with_call_limit(mut self, limit: usize) -> Self {
        self.calls = Some(Arc::new(Semaphore::new(limit.max(1))));
        self
    }

    /// Sets the largest DATA frame answers are cut into: it must stay below
    /// HTTP/2's copy threshold for the connection type
    /// ([`small_frames::PIECE_PLAIN`] or [`small_frames::PIECE_TLS`]).
    pub fn with_answer_piece(mut self, piece: usize) -> Self {
        self.answer_piece = piece;
        self
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            config: self.config.clone(),
            answer_piece: self.answer_piece,
            calls: self.calls.clone(),
        }
    }
}

/// The service produced by [`EdgeLayer`].
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    config: Arc<EdgeConfig>,
    answer_piece: usize,
    calls: Option<Arc<Semaphore>>,
}

/// Compares without leaking the position of the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl EdgeConfig {
    fn authorise(&self, path: &str, headers: &http::HeaderMap) -> Result<Option<Arc<Principal>>, Status> {
        if is_open_path(path) {
            return Ok(None);
        }
        let service = path.trim_start_matches('/').split('/').next().unwrap_or_default();
        if !self.served.is_empty() && !self.served.contains(&service) {
            return Err(Status::unimplemented(format!(
                "{} is not served here",
                crate::echo::echo(path.trim_start_matches('/'))
            )));
        }
        if self.auth_disabled {
            return Ok(Some(Arc::new(Principal::local())));
        }
        let Some(value) = headers.get("authorization") else {
            return Err(Status::unauthenticated(
                "missing authorization: send 'authorization: Bearer <token>'",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(|| Status::unauthenticated("authorization must be 'Bearer <token>'"))?;
        let mut caller = None;
        for (p, t) in &self.tokens {
            if constant_time_eq(t.expose_secret().as_bytes(), token.as_bytes()) {
                caller = Some(p);
            }
        }
        let caller = caller.ok_or_else(|| Status::unauthenticated("unknown token"))?;
        let need = (self.policy)(path);
        if need.allows(caller.role) {
            Ok(Some(caller.clone()))
        } else {
            Err(Status::permission_denied(format!(
                "role '{}' may not call {} (requires {need:?})",
                caller.role.as_str(),
                crate::echo::echo(path)
            )))
        }
    }
}

impl<S, B> Service<http::Request<B>> for Edge<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let timer = RpcTimer::start();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        let answer_piece = self.answer_piece;
        let path = req.uri().path().to_string();
        // Probes call health every few seconds on every replica: tracing
        // them would bury the calls worth reading (they are still counted).
        let span = if is_health_path(&path) {
            tracing::Span::none()
        } else {
            let span = tracing::info_span!("rpc", otel.name = %path.trim_start_matches('/'), otel.kind = "server");
            call_span::describe_call(&span, &path, &config.server_address, config.local_addr.port());
            propagation::set_parent_from_headers(&span, req.headers());
            span
        };
        // A permit is taken only by an authorised call: refusing a stranger
        // costs nothing. It is held until the answer's headers are out.
        let decision = config.authorise(&path, req.headers()).and_then(|caller| {
            let permit = match (&self.calls, is_open_path(&path)) {
                (Some(calls), false) => Some(calls.clone().try_acquire_owned().map_err(|_| shed())?),
                _ => None,
            };
            Ok((caller, permit))
        });
        // Handlers find the caller among the request's extensions.
        if let Ok((Some(caller), _)) = &decision {
            req.extensions_mut().insert(caller.clone());
        }
        Box::pin(
            async move {
                let span = tracing::Span::current();
                match decision {
                    Err(status) => {
                        let code = status.code() as i64;
                        call_span::record_status(&span, code);
                        // The caller chose the path: keep it out of metric attributes.
                        timer.served(metrics::OTHER_PATH, code);
                        tracing::info!(code = ?status.code(), "call refused");
                        Ok(status.into_http())
                    }
                    Ok((_caller, permit)) => {
                        let resp = inner.call(req).await?;
                        drop(permit);
                        let code = resp
                            .headers()
                            .get("grpc-status")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<i64>().ok())
                            .unwrap_or(0);
                        call_span::record_status(&span, code);
                        if is_server_error(code) {
                            span.set_status(SpanStatus::error(format!("grpc status {code}")));
                        }
                        timer.served(&path, code);
                        Ok(resp.map(|body| tonic::body::Body::new(SmallFrames::new(body, answer_piece))))
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// The refusal of a call past the server's limit.
fn shed() -> Status {
    // Counted by `rpc.server.call.duration` with code 8, like any refusal.
    crate::ServiceError::ResourceExhausted {
        what: "this replica is at its limit of concurrent calls; retry shortly".into(),
        retry_after: SHED_RETRY_AFTER,
    }
    .into()
}

/// Codes that mark a server span failed (semantic conventions: the server's
/// fault, not the caller's): UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
/// INTERNAL, UNAVAILABLE, DATA_LOSS.
fn is_server_error(code: i64) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(path: &str) -> Permission {
        if path.ends_with("/Write") {
            Permission::Write
        } else {
            Permission::Read
        }
    }

    fn principal(name: &str, role: Role) -> Principal {
        Principal {
            name: name.into(),
            role,
        }
    }

    fn config() -> EdgeConfig {
        EdgeConfig {
            served: vec!["x.S"],
            tokens: vec![
                (
                    Arc::new(principal("readers", Role::Reader)),
                    SecretString::from("reader-token"),
                ),
                (
                    Arc::new(principal("team-a", Role::Ingester)),
                    SecretString::from("ingest-token"),
                ),
            ],
            auth_disabled: false,
            policy,
            local_addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            server_address: "127.0.0.1".into(),
        }
    }

    fn headers(token: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(t) = token {
            h.insert("authorization", format!("Bearer {t}").parse().expect("header"));
        }
        h
    }

    #[test]
    fn roles_and_tokens() {
        let c = config();
        assert_eq!(
            c.authorise("/x.S/Read", &headers(None)).expect_err("no token").code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            c.authorise("/x.S/Read", &headers(Some("nope")))
                .expect_err("bad")
                .code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            c.authorise("/x.S/Read", &headers(Some("reader-token"))).expect("ok"),
            Some(Arc::new(principal("readers", Role::Reader)))
        );
        assert_eq!(
            c.authorise("/x.S/Write", &headers(Some("reader-token")))
                .expect_err("denied")
                .code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            c.authorise("/x.S/Write", &headers(Some("ingest-token"))).expect("ok"),
            Some(Arc::new(principal("team-a", Role::Ingester)))
        );
        assert_eq!(
            c.authorise("/grpc.health.v1.Health/Check", &headers(None))
                .expect("open"),
            None
        );
        for token in [None, Some("reader-token"), Some("ingest-token")] {
            assert_eq!(
                c.authorise("/y.Other/Read", &headers(token))
                    .expect_err("not served")
                    .code(),
                tonic::Code::Unimplemented,
                "a service not served here, with {token:?}"
            );
        }
    }

    #[test]
    fn answers_leave_the_edge_in_pieces_http2_copies() {
        use http_body_util::BodyExt;
        let answer = bytes::Bytes::from(vec![1u8; 1739]);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let plain = EdgeLayer::new(Vec::new(), true, policy, SocketAddr::from(([127, 0, 0, 1], 1)));
        for (edge, piece) in [
            (plain.clone(), small_frames::PIECE_PLAIN),
            (
                plain.with_answer_piece(small_frames::PIECE_TLS),
                small_frames::PIECE_TLS,
            ),
        ] {
            let body = answer.clone();
            let inner = tower::service_fn(move |_req: http::Request<()>| {
                let body = body.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(http::Response::new(tonic::body::Body::new(
                        http_body_util::Full::new(body),
                    )))
                }
            });
            let mut edge = edge.layer(inner);
            let pieces = runtime.block_on(async {
                let resp = edge
                    .call(http::Request::builder().uri("/x.S/Read").body(()).expect("request"))
                    .await
                    .expect("response");
                let mut body = resp.into_body();
                let mut pieces = Vec::new();
                while let Some(frame) = body.frame().await {
                    pieces.push(frame.expect("frame").into_data().expect("data"));
                }
                pieces
            });
            assert!(
                pieces.len() > 1,
                "one {}-byte frame would be written on its own",
                answer.len()
            );
            assert!(pieces.iter().all(|p| p.len() <= piece));
            assert_eq!(pieces.concat(), answer.to_vec());
        }
    }
}
