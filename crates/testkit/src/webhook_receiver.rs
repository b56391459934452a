//! A real HTTP server that records webhook requests, for end-to-end tests
//! of delivery: it can answer any status, go away (connections refused) and
//! come back on the same port, like a receiver that is down for a while.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Request path and query.
    pub path: String,
    /// `webhook-id` header.
    pub id: String,
    /// `webhook-timestamp` header.
    pub timestamp: String,
    /// `webhook-signature` header.
    pub signature: String,
    /// `content-type` header.
    pub content_type: String,
    /// Raw body.
    pub body: Vec<u8>,
    /// When the request head arrived.
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    status: AtomicU16,
    delay_ms: AtomicU64,
}

/// A webhook receiver on 127.0.0.1.
pub struct WebhookReceiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    running: Option<(tokio::sync::oneshot::Sender<()>, std::thread::JoinHandle<()>)>,
}

fn header(req: &hyper::Request<hyper::body::Incoming>, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

impl WebhookReceiver {
    /// Starts on a free port, answering 204.
    pub fn start() -> WebhookReceiver {
        let shared = Arc::new(Shared::default());
        shared.status.store(204, Ordering::SeqCst);
        let mut receiver = WebhookReceiver {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            shared,
            running: None,
        };
        receiver.serve();
        receiver
    }

    fn serve(&mut self) {
        let std_listener = std::net::TcpListener::bind(self.addr).expect("bind webhook receiver");
        std_listener.set_nonblocking(true).expect("nonblocking");
        self.addr = std_listener.local_addr().expect("local addr");
        let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = self.shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).expect("listener");
                let mut connections = tokio::task::JoinSet::new();
                loop {
                    let stream = tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(_) => continue,
                        },
                    };
                    let shared = shared.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let shared = shared.clone();
                            async move {
                                let at = Instant::now();
                                let mut r = Received {
                                    path: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
                                    id: header(&req, "webhook-id"),
                                    timestamp: header(&req, "webhook-timestamp"),
                                    signature: header(&req, "webhook-signature"),
                                    content_type: header(&req, "content-type"),
                                    body: Vec::new(),
                                    at,
                                };
                                r.body = req.into_body().collect().await?.to_bytes().to_vec();
                                shared.received.lock().expect("lock").push(r);
                                let delay = shared.delay_ms.load(Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(delay)).await;
                                let status = shared.status.load(Ordering::SeqCst);
                                let response = hyper::Response::builder()
                                    .status(status)
                                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                                    .expect("respond_with takes a valid status");
                                Ok::<_, hyper::Error>(response)
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Dropping the listener and open connections: the receiver is gone.
                connections.abort_all();
            });
        });
        self.running = Some((stop_tx, thread));
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answer every following request with `status`.
    pub fn respond_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    /// Hold each following answer for `delay` after the request has been
    /// recorded (a slow receiver, to catch a sender mid-delivery).
    pub fn respond_after(&self, delay: Duration) {
        self.shared.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests have arrived; returns them all.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops listening: connections are refused until [`WebhookReceiver::restart`].
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }

    /// Listens again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.serve();
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}
