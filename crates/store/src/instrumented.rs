//! The connection every store method uses: the connection manager plus, per
//! command or pipeline, a client span (inside sampled traces only) and the
//! Redis error counter.
//!
//! A command that meets a connection Redis has dropped (Redis restarted
//! faster than the health probe looks) is sent once more, on the
//! connection the manager opens in its place, so a client that waited for
//! `SERVING` never sees the dead connection. Every command the store sends
//! is safe to repeat: writes are idempotent upserts, and stream appends are
//! consumed at least once anyway. A timeout is not repeated: the command may
//! still be running.
//!
//! Spans carry the command name and never its arguments: keys name minerals
//! and importers, values hold data and tokens never pass through here, but a
//! span is the wrong place for either. A transaction is one span named
//! `MULTI` listing its command names.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Arg, Cmd, Pipeline, RedisError, RedisFuture, ServerError, Value};
use supplyrisk_telemetry::{SpanExt, SpanStatus, attributes, metrics};
use tracing::{Instrument, Span};

/// Replies that are control flow, not failures: redis-rs loads a script on
/// `NOSCRIPT` and retries; `ensure_group` expects `BUSYGROUP`.
const EXPECTED_ERROR_CODES: [&str; 2] = ["NOSCRIPT", "BUSYGROUP"];

/// A [`ConnectionManager`] whose commands are traced and whose failures are counted.
#[derive(Clone)]
pub(crate) struct InstrumentedConnection {
    inner: ConnectionManager,
}

impl InstrumentedConnection {
    pub(crate) fn new(inner: ConnectionManager) -> Self {
        Self { inner }
    }
}

/// The command name: the first argument, e.g. `EVALSHA`.
fn command_name(cmd: &Cmd) -> &str {
    match cmd.args_iter().next() {
        Some(Arg::Simple(name)) => std::str::from_utf8(name).unwrap_or("UNKNOWN"),
        _ => "UNKNOWN",
    }
}

/// `MULTI` for a transaction, `PIPELINE` for a plain pipeline.
fn pipeline_name(pipeline: &Pipeline) -> &'static str {
    if pipeline.is_transaction() { "MULTI" } else { "PIPELINE" }
}

fn pipeline_commands(pipeline: &Pipeline) -> String {
    pipeline.cmd_iter().map(command_name).collect::<Vec<_>>().join(" ")
}

/// A client span for `operation` when the caller's trace is sampled, else a disabled span.
fn command_span(operation: &str, sampled: bool) -> Span {
    if !sampled {
        return Span::none();
    }
    let span = tracing::info_span!("redis", otel.name = %operation, otel.kind = "client");
    span.set_attribute(attributes::DB_SYSTEM_NAME, "redis");
    span.set_attribute(attributes::DB_OPERATION_NAME, operation.to_string());
    span
}

/// What kind of failure `e` is, as the `error.type` attribute says it.
fn error_type(e: &RedisError) -> &str {
    if let Some(code) = e.code() {
        code
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_connection_refusal() {
        "connection_refused"
    } else if e.is_io_error() || e.is_connection_dropped() {
        "io"
    } else {
        "other"
    }
}

/// The first error reply in `values`, looking one level into arrays (a
/// transaction answers with one array holding every command's reply).
fn server_error(values: &[Value]) -> Option<&ServerError> {
    values.iter().find_map(|v| match v {
        Value::ServerError(e) => Some(e),
        Value::Array(items) => items.iter().find_map(|i| match i {
            Value::ServerError(e) => Some(e),
            _ => None,
        }),
        _ => None,
    })
}

/// Marks the span failed and counts the error, unless it is expected control flow.
fn failed(span: &Span, operation: &str, error_type: &str) {
    if EXPECTED_ERROR_CODES.contains(&error_type) {
        return;
    }
    metrics::redis_error(operation, error_type);
    if !span.is_disabled() {
        span.set_attribute(attributes::ERROR_TYPE, error_type.to_string());
        span.set_status(SpanStatus::error(error_type.to_string()));
    }
}

/// Counts a failed connection attempt.
pub(crate) fn connect_failed(e: &RedisError) {
    metrics::redis_error("CONNECT", error_type(e));
}

/// Whether `e` says the connection was gone before an answer came.
fn connection_lost(e: &RedisError) -> bool {
    !e.is_timeout() && (e.is_connection_dropped() || e.is_io_error())
}

/// Sends `cmd`, once more on a fresh connection if the first was lost.
async fn with_reconnect(mut inner: ConnectionManager, cmd: &Cmd) -> redis::RedisResult<Value> {
    match inner.req_packed_command(cmd).await {
        Err(e) if connection_lost(&e) => {
            tracing::info!(error = %e, "redis connection lost; sending once more on a new one");
            inner.req_packed_command(cmd).await
        }
        other => other,
    }
}

/// As [`with_reconnect`], for a pipeline.
async fn pipeline_with_reconnect(
    mut inner: ConnectionManager,
    pipeline: &Pipeline,
    offset: usize,
    count: usize,
) -> redis::RedisResult<Vec<Value>> {
    match inner.req_packed_commands(pipeline, offset, count).await {
        Err(e) if connection_lost(&e) => {
            tracing::info!(error = %e, "redis connection lost; sending once more on a new one");
            inner.req_packed_commands(pipeline, offset, count).await
        }
        other => other,
    }
}

impl ConnectionLike for InstrumentedConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let sampled = supplyrisk_telemetry::current_trace_sampled();
        let reply = with_reconnect(self.inner.clone(), cmd);
        if !sampled && !metrics::enabled() {
            return Box::pin(reply);
        }
        let operation = command_name(cmd);
        let span = command_span(operation, sampled);
        Box::pin(async move {
            let result = reply.instrument(span.clone()).await;
            match &result {
                Ok(Value::ServerError(e)) => failed(&span, operation, e.code()),
                Ok(_) => {}
                Err(e) => failed(&span, operation, error_type(e)),
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let sampled = supplyrisk_telemetry::current_trace_sampled();
        let reply = pipeline_with_reconnect(self.inner.clone(), pipeline, offset, count);
        if !sampled && !metrics::enabled() {
            return Box::pin(reply);
        }
        let operation = pipeline_name(pipeline);
        let span = command_span(operation, sampled);
        if sampled {
            span.set_attribute(attributes::DB_OPERATION_BATCH_SIZE, pipeline.len() as i64);
            span.set_attribute(attributes::REDIS_COMMANDS, pipeline_commands(pipeline));
        }
        Box::pin(async move {
            let result = reply.instrument(span.clone()).await;
            match &result {
                Ok(values) => {
                    if let Some(e) = server_error(values) {
                        failed(&span, operation, e.code());
                    }
                }
                Err(e) => failed(&span, operation, error_type(e)),
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_command_not_its_arguments() {
        let mut cmd = redis::cmd("XADD");
        cmd.arg("sr:v1:events:data").arg("*").arg("payload").arg("secret-ish");
        assert_eq!(command_name(&cmd), "XADD");
        let mut pipe = redis::pipe();
        pipe.atomic().hset("k", "f", "v").ignore().cmd("XADD").arg("s").arg("*");
        assert_eq!(pipeline_name(&pipe), "MULTI");
        assert_eq!(pipeline_commands(&pipe), "HSET XADD");
        assert_eq!(pipeline_name(&redis::pipe()), "PIPELINE");
    }
}
