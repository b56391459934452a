//! Unary answers served from a cache before the gRPC framework runs.
//!
//! A cached `GetRiskScore` is a lookup of well under a microsecond, yet
//! the framework's unary path around it cost 2–3 µs per call: a
//! request object and its metadata, decode and encode buffers, boxed
//! futures, copying the answer into a fresh 8 KiB buffer and building its
//! trailers. For a method whose answers are cached by the request's
//! exact bytes, [`CachedAnswersFirst`] reads the request message, asks the service
//! for a cached answer and, when there is one, sends it as it is.
//! Everything else is handed to the generated server unchanged, with the
//! bytes already read put back in front of the body, so validation, error
//! codes and computing a fresh answer stay in one place. Only a plain
//! request qualifies: one uncompressed message, no `grpc-encoding`, at most
//! [`MAX_RECALLED_REQUEST`] bytes. The edge layer in front still
//! authorises, traces and times every call.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body as _, Frame};
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower_service::Service;

/// Requests longer than this are never looked up (a cached request is
/// a few identifiers).
pub const MAX_RECALLED_REQUEST: usize = 4 * 1024;

/// Looks up the answer for a request message's bytes: one whole gRPC
/// message frame (header and message), or `None` to let the service answer.
pub type Lookup = dyn Fn(&[u8]) -> Option<Bytes> + Send + Sync;

/// Serves one unary method's cached answers in front of `inner`.
pub struct CachedAnswersFirst<S> {
    inner: S,
    path: Arc<str>,
    lookup: Arc<Lookup>,
}

impl<S: Clone> Clone for CachedAnswersFirst<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            path: self.path.clone(),
            lookup: self.lookup.clone(),
        }
    }
}

impl<S: NamedService> CachedAnswersFirst<S> {
    /// Answers `method` of `inner` (e.g. `GetRiskScore`) from `lookup`
    /// when it has the answer.
    pub fn new(inner: S, method: &str, lookup: impl Fn(&[u8]) -> Option<Bytes> + Send + Sync + 'static) -> Self {
        Self {
            inner,
            path: format!("/{}/{method}", S::NAME).into(),
            lookup: Arc::new(lookup),
        }
    }
}

impl<S: NamedService> NamedService for CachedAnswersFirst<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> Service<http::Request<Body>> for CachedAnswersFirst<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if req.uri().path() != &*self.path || !is_identity_encoded(req.headers()) {
            return Box::pin(self.inner.call(req));
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let (parts, mut body) = req.into_parts();
            let read = read_request(&mut body).await;
            if read.complete
                && let Some(message) = single_message(&read.data)
                && let Some(answer) = lookup(message)
            {
                return Ok(answer_response(answer));
            }
            let body = Body::new(Replay {
                data: Some(read.data).filter(|d| !d.is_empty()),
                held: read.held,
                rest: body,
            });
            inner.call(http::Request::from_parts(parts, body)).await
        })
    }
}

/// True when the request body is not compressed.
fn is_identity_encoded(headers: &http::HeaderMap) -> bool {
    headers.get("grpc-encoding").is_none_or(|v| v.as_bytes() == b"identity")
}

/// The request body as far as it was read.
struct ReadRequest {
    data: Bytes,
    /// What stopped the reading early: a non-data frame or an error.
    held: Option<Result<Frame<Bytes>, Status>>,
    /// The body ended after `data`.
    complete: bool,
}

/// Reads the body to its end, unless it grows past
/// [`MAX_RECALLED_REQUEST`] or yields anything but data.
async fn read_request(body: &mut Body) -> ReadRequest {
    let mut read = ReadRequest {
        data: Bytes::new(),
        held: None,
        complete: false,
    };
    while !body.is_end_stream() {
        let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await else {
            break;
        };
        let piece = match frame.map(Frame::into_data) {
            Ok(Ok(piece)) => piece,
            Ok(Err(frame)) => {
                read.held = Some(Ok(frame));
                return read;
            }
            Err(status) => {
                read.held = Some(Err(status));
                return read;
            }
        };
        read.data = if read.data.is_empty() {
            piece
        } else {
            let mut joined = BytesMut::from(&read.data[..]);
            joined.extend_from_slice(&piece);
            joined.freeze()
        };
        if read.data.len() > MAX_RECALLED_REQUEST {
            // Whatever follows reaches the service as sent.
            return read;
        }
    }
    read.complete = true;
    read
}

/// The message of a body that is exactly one uncompressed message frame.
fn single_message(body: &[u8]) -> Option<&[u8]> {
    let (header, message) = body.split_first_chunk::<{ supplyrisk_api::encoded::FRAME_HEADER }>()?;
    let [flag, len @ ..] = *header;
    (flag == 0 && u32::from_be_bytes(len) as usize == message.len()).then_some(message)
}

/// A successful unary answer: the frame, then `grpc-status: 0`.
fn answer_response(frame: Bytes) -> http::Response<Body> {
    let mut response = http::Response::new(Body::new(Answer::Frame(frame)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    response
}

/// Body of a cached answer: the frame, then the trailers, once each.
enum Answer {
    Frame(Bytes),
    Trailers,
    Done,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        Poll::Ready(match std::mem::replace(this, Answer::Done) {
            Answer::Frame(frame) => {
                *this = Answer::Trailers;
                Some(Ok(Frame::data(frame)))
            }
            Answer::Trailers => {
                let mut trailers = http::HeaderMap::with_capacity(1);
                trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
                Some(Ok(Frame::trailers(trailers)))
            }
            Answer::Done => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Answer::Done)
    }
}

/// The request body with the bytes already read put back in front.
struct Replay {
    data: Option<Bytes>,
    held: Option<Result<Frame<Bytes>, Status>>,
    rest: Body,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.get_mut();
        if let Some(data) = this.data.take() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(held) = this.held.take() {
            return Poll::Ready(Some(held));
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.held.is_none() && self.rest.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    const METHOD: &str = "Get";
    const PATH: &str = "/test.Svc/Get";
    const CACHED: &[u8] = b"cached request";

    /// The service behind: answers with the request body it received.
    #[derive(Clone)]
    struct Echo;

    impl NamedService for Echo {
        const NAME: &'static str = "test.Svc";
    }

    impl Service<http::Request<Body>> for Echo {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: http::Request<Body>) -> Self::Future {
            Box::pin(async move {
                let body = req.into_body().collect().await.expect("body").to_bytes();
                let mut response = http::Response::new(Body::new(http_body_util::Full::new(body)));
                response
                    .headers_mut()
                    .insert("answered-by", http::HeaderValue::from_static("service"));
                Ok(response)
            })
        }
    }

    /// Every request message looked up, in order.
    type Lookups = Arc<Mutex<Vec<Vec<u8>>>>;

    /// A layer over [`Echo`] that caches one request and records every lookup.
    fn layer() -> (CachedAnswersFirst<Echo>, Lookups) {
        let looked_up = Arc::new(Mutex::new(Vec::new()));
        let seen = looked_up.clone();
        let layer = CachedAnswersFirst::new(Echo, METHOD, move |request: &[u8]| {
            seen.lock().expect("lock").push(request.to_vec());
            (request == CACHED).then(|| Bytes::from_static(b"\0\0\0\0\x06answer"))
        });
        (layer, looked_up)
    }

    fn frame(message: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&u32::try_from(message.len()).expect("short").to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    fn request(path: &str, pieces: Vec<Vec<u8>>) -> http::Request<Body> {
        let frames = pieces.into_iter().map(|p| Ok::<_, Status>(Frame::data(Bytes::from(p))));
        let body = Body::new(http_body_util::StreamBody::new(futures::stream::iter(frames)));
        http::Request::builder().uri(path).body(body).expect("request")
    }

    /// Calls `layer`; returns the answer's headers, data and trailers.
    async fn call(
        layer: CachedAnswersFirst<Echo>,
        req: http::Request<Body>,
    ) -> (http::HeaderMap, Bytes, Option<http::HeaderMap>) {
        let response = layer.oneshot(req).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let collected = body.collect().await.expect("body");
        let trailers = collected.trailers().cloned();
        (parts.headers, collected.to_bytes(), trailers)
    }

    #[tokio::test]
    async fn a_cached_request_is_answered_without_the_service() {
        let (layer, looked_up) = layer();
        let (headers, data, trailers) = call(layer, request(PATH, vec![frame(CACHED)])).await;
        assert_eq!(headers.get("content-type").expect("content type"), "application/grpc");
        assert!(headers.get("answered-by").is_none());
        assert_eq!(&data[..], b"\0\0\0\0\x06answer");
        assert_eq!(trailers.expect("trailers").get("grpc-status").expect("status"), "0");
        assert_eq!(*looked_up.lock().expect("lock"), vec![CACHED.to_vec()]);
    }

    #[tokio::test]
    async fn a_message_split_over_frames_is_joined_before_the_lookup() {
        let (layer, looked_up) = layer();
        let whole = frame(CACHED);
        let (first, second) = whole.split_at(3);
        let (_, data, _) = call(layer, request(PATH, vec![first.to_vec(), second.to_vec()])).await;
        assert_eq!(&data[..], b"\0\0\0\0\x06answer");
        assert_eq!(*looked_up.lock().expect("lock"), vec![CACHED.to_vec()]);
    }

    #[tokio::test]
    async fn anything_else_reaches_the_service_with_its_body_intact() {
        let mut compressed = frame(CACHED);
        compressed[0] = 1;
        let mut two_messages = frame(CACHED);
        two_messages.extend(frame(CACHED));
        let long = vec![7u8; MAX_RECALLED_REQUEST + 10];
        let cases: Vec<(&str, Vec<Vec<u8>>, bool)> = vec![
            ("an uncached request", vec![frame(b"other")], true),
            ("another method", vec![frame(CACHED)], false),
            ("a compressed message", vec![compressed], false),
            ("two messages", vec![two_messages], false),
            ("a truncated message", vec![frame(CACHED)[..8].to_vec()], false),
            ("an empty body", vec![], false),
            (
                "a long request",
                vec![frame(&long[..2000]), frame(&long[2000..])],
                false,
            ),
        ];
        for (case, pieces, looks_up) in cases {
            let (layer, looked_up) = layer();
            let sent: Vec<u8> = pieces.concat();
            let path = if case == "another method" {
                "/test.Svc/Other"
            } else {
                PATH
            };
            let (headers, data, _) = call(layer, request(path, pieces)).await;
            assert_eq!(headers.get("answered-by").expect(case), "service", "{case}");
            assert_eq!(data.to_vec(), sent, "{case}: the service reads the body as sent");
            assert_eq!(!looked_up.lock().expect("lock").is_empty(), looks_up, "{case}");
        }
    }

    #[tokio::test]
    async fn a_compressed_request_is_left_to_the_service() {
        let (layer, looked_up) = layer();
        let mut req = request(PATH, vec![frame(CACHED)]);
        req.headers_mut()
            .insert("grpc-encoding", http::HeaderValue::from_static("gzip"));
        let (headers, data, _) = call(layer, req).await;
        assert_eq!(headers.get("answered-by").expect("service"), "service");
        assert_eq!(data.to_vec(), frame(CACHED));
        assert!(looked_up.lock().expect("lock").is_empty());
    }
}
