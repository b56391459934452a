//! An in-process OTLP/gRPC receiver: what a collector would get from the
//! services, kept in memory for assertions.
//!
//! It runs on its own thread and runtime, so a test may block (waiting for
//! a service to exit after SIGTERM) while the services' exporters flush into
//! it.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// The generated OTLP types, for tests that look deeper than the helpers here.
pub use opentelemetry_proto::tonic as proto;

/// A span as received, with the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// `service.name` of the sender's resource.
    pub service: String,
    /// The span.
    pub span: Span,
}

/// A metric as received, with the `service.name` of the process that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedMetric {
    /// `service.name` of the sender's resource.
    pub service: String,
    /// The metric with its data points.
    pub metric: Metric,
}

/// An attribute value in a form convenient to compare.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string value.
    Str(String),
    /// An integer value.
    Int(i64),
    /// A float value.
    Double(f64),
    /// A boolean value.
    Bool(bool),
    /// Anything else (arrays, maps, bytes).
    Other,
}

/// The value of one attribute.
pub fn value_of(kv: &KeyValue) -> Option<AttrValue> {
    Some(match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => AttrValue::Str(s.clone()),
        any_value::Value::IntValue(i) => AttrValue::Int(*i),
        any_value::Value::DoubleValue(d) => AttrValue::Double(*d),
        any_value::Value::BoolValue(b) => AttrValue::Bool(*b),
        _ => AttrValue::Other,
    })
}

/// The value of attribute `key` in `attributes`.
pub fn attribute(attributes: &[KeyValue], key: &str) -> Option<AttrValue> {
    value_of(attributes.iter().find(|kv| kv.key == key)?)
}

/// The string value of attribute `key`, if it is a string.
pub fn str_attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match attributes
        .iter()
        .find(|kv| kv.key == key)?
        .value
        .as_ref()?
        .value
        .as_ref()?
    {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

impl ReceivedSpan {
    /// The span's attribute `key`.
    pub fn attr(&self, key: &str) -> Option<AttrValue> {
        attribute(&self.span.attributes, key)
    }

    /// True when the span has a link to trace `trace_id` (and, if given, to span `span_id`).
    pub fn links_to(&self, trace_id: &[u8], span_id: Option<&[u8]>) -> bool {
        self.span
            .links
            .iter()
            .any(|l| l.trace_id == trace_id && span_id.is_none_or(|s| l.span_id == s))
    }

    /// The span's kind (`proto::trace::v1::span::SpanKind`).
    pub fn kind(&self) -> proto::trace::v1::span::SpanKind {
        proto::trace::v1::span::SpanKind::try_from(self.span.kind)
            .unwrap_or(proto::trace::v1::span::SpanKind::Unspecified)
    }
}

/// One histogram or sum data point's attributes and count (histograms) or value (sums, gauges).
#[derive(Debug, Clone)]
pub struct Point {
    /// The point's attributes.
    pub attributes: Vec<KeyValue>,
    /// Histogram: number of measurements; sum or gauge: the value as f64.
    pub value: f64,
}

impl ReceivedMetric {
    /// Every data point of the metric, whatever its type.
    pub fn points(&self) -> Vec<Point> {
        let number = |p: &proto::metrics::v1::NumberDataPoint| Point {
            attributes: p.attributes.clone(),
            value: match p.value {
                Some(proto::metrics::v1::number_data_point::Value::AsDouble(d)) => d,
                Some(proto::metrics::v1::number_data_point::Value::AsInt(i)) => i as f64,
                None => 0.0,
            },
        };
        match &self.metric.data {
            Some(metric::Data::Histogram(h)) => h
                .data_points
                .iter()
                .map(|p| Point {
                    attributes: p.attributes.clone(),
                    value: p.count as f64,
                })
                .collect(),
            Some(metric::Data::Sum(s)) => s.data_points.iter().map(number).collect(),
            Some(metric::Data::Gauge(g)) => g.data_points.iter().map(number).collect(),
            _ => Vec::new(),
        }
    }

    /// True for a histogram.
    pub fn is_histogram(&self) -> bool {
        matches!(self.metric.data, Some(metric::Data::Histogram(_)))
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    metrics: Vec<ReceivedMetric>,
}

fn service_of(resource: Option<&Resource>) -> String {
    resource
        .and_then(|r| str_attribute(&r.attributes, "service.name"))
        .unwrap_or_default()
        .to_string()
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        for resource_spans in request.into_inner().resource_spans {
            let service = service_of(resource_spans.resource.as_ref());
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    received.spans.push(ReceivedSpan {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        for resource_metrics in request.into_inner().resource_metrics {
            let service = service_of(resource_metrics.resource.as_ref());
            for scope in resource_metrics.scope_metrics {
                for metric in scope.metrics {
                    received.metrics.push(ReceivedMetric {
                        service: service.clone(),
                        metric,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

/// An OTLP/gRPC receiver on `127.0.0.1:<free port>`, accepting spans and
/// metrics until dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtlpReceiver {
    /// Starts the receiver and returns once it accepts connections.
    pub fn start() -> OtlpReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the OTLP receiver");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("receiver address");
        let received = Arc::new(Mutex::new(Received::default()));
        let sink = Sink(received.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("receiver runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                let max = 64 << 20;
                tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(sink.clone()).max_decoding_message_size(max))
                    .add_service(MetricsServiceServer::new(sink).max_decoding_message_size(max))
                    .serve_with_incoming_shutdown(incoming, async {
                        let _ = stopped.await;
                    })
                    .await
                    .expect("OTLP receiver");
            });
        });
        OtlpReceiver {
            addr,
            received,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, for `SUPPLYRISK__TELEMETRY__OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.received.lock().map(|r| r.spans.clone()).unwrap_or_default()
    }

    /// Every metric export received so far (one entry per metric per export).
    pub fn metrics(&self) -> Vec<ReceivedMetric> {
        self.received.lock().map(|r| r.metrics.clone()).unwrap_or_default()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The spans of one trace, indexed for walking parent links.
pub struct Trace<'a> {
    by_id: HashMap<&'a [u8], &'a ReceivedSpan>,
}

impl<'a> Trace<'a> {
    /// The spans of `spans` in trace `trace_id`.
    pub fn of(spans: &'a [ReceivedSpan], trace_id: &[u8]) -> Trace<'a> {
        Trace {
            by_id: spans
                .iter()
                .filter(|s| s.span.trace_id == trace_id)
                .map(|s| (s.span.span_id.as_slice(), s))
                .collect(),
        }
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no span of the trace arrived.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// True when `ancestor` is `span`'s parent, grandparent, …
    pub fn descends_from(&self, span: &ReceivedSpan, ancestor: &[u8]) -> bool {
        let mut seen = HashSet::new();
        let mut parent = span.span.parent_span_id.as_slice();
        while !parent.is_empty() && seen.insert(parent) {
            if parent == ancestor {
                return true;
            }
            match self.by_id.get(parent) {
                Some(p) => parent = p.span.parent_span_id.as_slice(),
                None => return false,
            }
        }
        false
    }

    /// Spans whose parent is named but did not arrive: holes in the trace.
    /// `outside` lists parents known to live elsewhere (a caller that does not export).
    pub fn orphans(&self, outside: &[&[u8]]) -> Vec<&'a ReceivedSpan> {
        self.by_id
            .values()
            .filter(|s| {
                let parent = s.span.parent_span_id.as_slice();
                !parent.is_empty() && !self.by_id.contains_key(parent) && !outside.contains(&parent)
            })
            .copied()
            .collect()
    }

    /// Spans without a parent (the trace's roots).
    pub fn roots(&self) -> Vec<&'a ReceivedSpan> {
        self.by_id
            .values()
            .filter(|s| s.span.parent_span_id.is_empty())
            .copied()
            .collect()
    }
}
