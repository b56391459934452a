//! The attributes a call's span carries on either end.
//!
//! Server and client spans describe the same call, so both take their
//! attributes from here: a trace viewer then groups and filters both ends
//! by the same keys and values (OpenTelemetry RPC semantic conventions).

use supplyrisk_telemetry::{SpanExt, attributes};

/// `/pkg.Service/Method` → (`pkg.Service`, `Method`); empty parts when the
/// path has no such shape.
pub(crate) fn service_and_method(path: &str) -> (&str, &str) {
    path.trim_start_matches('/').split_once('/').unwrap_or(("", ""))
}

/// Sets the RPC system, service and method of `path` and the server's
/// address and port on `span`; nothing when the span is not recorded.
pub(crate) fn describe_call(span: &tracing::Span, path: &str, server_address: &str, server_port: u16) {
    if span.is_disabled() {
        return;
    }
    let (service, method) = service_and_method(path);
    span.set_attribute(attributes::RPC_SYSTEM, "grpc");
    span.set_attribute(attributes::RPC_SERVICE, service.to_string());
    span.set_attribute(attributes::RPC_METHOD, method.to_string());
    span.set_attribute(attributes::SERVER_ADDRESS, server_address.to_string());
    span.set_attribute(attributes::SERVER_PORT, i64::from(server_port));
}

/// Sets the call's gRPC status code on `span`.
pub(crate) fn record_status(span: &tracing::Span, code: i64) {
    if !span.is_disabled() {
        span.set_attribute(attributes::RPC_GRPC_STATUS_CODE, code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_service_and_method() {
        assert_eq!(
            service_and_method("/supplyrisk.scoring.v1.ScoringService/GetRiskScore"),
            ("supplyrisk.scoring.v1.ScoringService", "GetRiskScore")
        );
        assert_eq!(service_and_method("/no-method"), ("", ""));
    }

    #[test]
    fn unrecorded_spans_are_left_alone() {
        // No subscriber: the span is disabled and setting attributes is skipped.
        let span = tracing::info_span!("rpc");
        describe_call(&span, "/a.B/C", "127.0.0.1", 1);
        record_status(&span, 0);
        assert!(span.is_disabled());
    }
}
