//! JSON log lines that name their trace: `trace_id` and `span_id` of the
//! span the event happened in, as the trace backend shows them, so a log
//! line found in the log store leads straight to its trace (and back).
//! Lines outside any exported span carry neither.

use std::fmt;

use opentelemetry::trace::TraceContextExt as _;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent};
use tracing_subscriber::registry::LookupSpan;

/// The standard JSON line with `trace_id` and `span_id` first.
pub(crate) struct JsonWithTrace {
    inner: Format<Json>,
}

impl JsonWithTrace {
    pub(crate) fn new() -> Self {
        Self {
            inner: tracing_subscriber::fmt::format().json(),
        }
    }
}

/// The current span's trace and span ids (hex), when it belongs to a valid trace.
fn trace_ids<S>(ctx: &FmtContext<'_, S, JsonFields>) -> Option<(String, String)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.lookup_current()?;
    let id = span.id();
    // No extension of the span is held here, as `get_otel_context` requires.
    drop(span);
    let cx = tracing::dispatcher::get_default(|dispatch| tracing_opentelemetry::get_otel_context(&id, dispatch))?;
    let span_context = cx.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| (span_context.trace_id().to_string(), span_context.span_id().to_string()))
}

impl<S> FormatEvent<S, JsonFields> for JsonWithTrace
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = trace_ids(ctx);
        let mut line = String::new();
        self.inner.format_event(ctx, Writer::new(&mut line), event)?;
        match (ids, line.strip_prefix('{')) {
            (Some((trace_id, span_id)), Some(rest)) => {
                write!(writer, "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}")
            }
            _ => writer.write_str(&line),
        }
    }
}
