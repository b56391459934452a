//! The one place where failures become gRPC status codes.
//!
//! Handlers return [`ServiceError`]; its `From` impls classify library
//! errors, and `From<ServiceError> for Status` picks the code and attaches
//! rich details (`google.rpc.BadRequest`, `ResourceInfo`, `RetryInfo`).

use std::time::Duration;

use supplyrisk_domain::Violations;
use supplyrisk_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::echo;

/// Why a call failed, in terms a client can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// The request is invalid; every bad field is listed.
    #[error("invalid request: {0}")]
    InvalidArgument(Violations),
    /// A named resource does not exist.
    #[error("{resource_type} '{name}' not found")]
    NotFound {
        /// Kind of resource, e.g. `mineral`.
        resource_type: &'static str,
        /// What was asked for.
        name: String,
        /// Closest valid names.
        suggestions: Vec<String>,
    },
    /// The request conflicts with the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// A name the caller chose is already taken, by other content.
    #[error("{resource_type} '{name}' already exists: {description}")]
    AlreadyExists {
        /// Kind of resource, e.g. `upload`.
        resource_type: &'static str,
        /// The name taken.
        name: String,
        /// Why it is taken and what to do.
        description: String,
    },
    /// This process is already doing as much of this as it may; the caller
    /// retries after `retry_after` (sent as `RetryInfo`).
    #[error("{what}")]
    ResourceExhausted {
        /// What ran out, for the caller.
        what: String,
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// A dependency (Redis, another service) is unreachable; retry later.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupted data; details are logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Violations> for ServiceError {
    fn from(v: Violations) -> Self {
        ServiceError::InvalidArgument(v)
    }
}

impl From<Status> for ServiceError {
    /// A failed call to another supplyrisk service: keep what the caller can act on.
    /// A failure of the transport rather than an answer of the upstream
    /// (the channel's own timeout, a connection closed under the call, a
    /// stream a GOAWAY refused: tonic reports these as `CANCELLED`,
    /// `UNKNOWN` or `INTERNAL`) is `UNAVAILABLE`: worth a retry.
    fn from(s: Status) -> Self {
        if from_transport(&s) {
            return ServiceError::Unavailable(format!("upstream transport: {}", s.message()));
        }
        match s.code() {
            Code::NotFound | Code::InvalidArgument => ServiceError::FailedPrecondition(s.message().to_string()),
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                ServiceError::Unavailable(format!("upstream: {}", s.message()))
            }
            // This replica's credentials are wrong; health holds it out of
            // rotation (see the start-up check), and another replica may serve.
            Code::Unauthenticated | Code::PermissionDenied => ServiceError::Unavailable(format!(
                "upstream refuses this service's credentials ({:?}): {}",
                s.code(),
                s.message()
            )),
            _ => ServiceError::Internal(format!("upstream {:?}: {}", s.code(), s.message())),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            StoreError::Internal(m) => ServiceError::Internal(m),
            StoreError::LimitReached(m) => ServiceError::FailedPrecondition(m),
        }
    }
}

impl From<ServiceError> for Status {
    /// Every message and detail is bounded here ([`echo`]): quoted caller
    /// values keep a short prefix and the whole error stays a few KiB.
    fn from(err: ServiceError) -> Status {
        match err {
            ServiceError::InvalidArgument(v) => {
                let mut details = ErrorDetails::new();
                for fv in v.0.iter().take(echo::MAX_VIOLATIONS) {
                    details.add_bad_request_violation(
                        echo::clip(&fv.field, echo::MAX_FIELD_BYTES),
                        echo::clip(&echo::clip_quoted(&fv.description), echo::MAX_DESCRIPTION_BYTES),
                    );
                }
                let more = v.0.len().saturating_sub(echo::MAX_VIOLATIONS);
                let listed = Violations(v.0.into_iter().take(echo::MAX_VIOLATIONS).collect());
                let mut message = format!("invalid request: {listed}");
                if more > 0 {
                    message = format!("{} (and {more} more violations)", echo::message(&message));
                }
                Status::with_error_details(Code::InvalidArgument, echo::message(&message), details)
            }
            ServiceError::NotFound {
                resource_type,
                name,
                suggestions,
            } => {
                let name = echo::echo(&name);
                let hint = if suggestions.is_empty() {
                    String::new()
                } else {
                    format!("; did you mean {}?", suggestions.join(", "))
                };
                let details =
                    ErrorDetails::with_resource_info(resource_type, name.clone(), "", hint.trim_start_matches("; "));
                Status::with_error_details(
                    Code::NotFound,
                    echo::message(&format!("{resource_type} '{name}' not found{hint}")),
                    details,
                )
            }
            ServiceError::FailedPrecondition(m) => Status::failed_precondition(echo::message(&m)),
            ServiceError::AlreadyExists {
                resource_type,
                name,
                description,
            } => {
                let name = echo::echo(&name);
                let message = echo::message(&format!("{resource_type} '{name}' already exists: {description}"));
                let details = ErrorDetails::with_resource_info(resource_type, name, "", description);
                Status::with_error_details(Code::AlreadyExists, message, details)
            }
            ServiceError::ResourceExhausted { what, retry_after } => {
                let details = ErrorDetails::with_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, echo::message(&what), details)
            }
            ServiceError::Unavailable(m) => {
                tracing::warn!(error = %m, "dependency unavailable");
                let details = ErrorDetails::with_retry_info(Some(Duration::from_secs(1)));
                Status::with_error_details(Code::Unavailable, "storage temporarily unavailable; retry", details)
            }
            ServiceError::Internal(m) => {
                tracing::error!(error = %m, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// Shorthand for handler results.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// True when the upstream provably never processed the call: it was still
/// queued when its connection closed, or the server's GOAWAY refused its
/// stream (tonic reports the latter as `INTERNAL`).
pub fn never_processed(s: &Status) -> bool {
    any_source(s, |e| {
        e.downcast_ref::<hyper::Error>().is_some_and(hyper::Error::is_canceled)
            || e.downcast_ref::<h2::Error>()
                .is_some_and(|h| h.is_go_away() && h.reason() == Some(h2::Reason::NO_ERROR))
    })
}

/// True when `s` is the transport's failure rather than an answer of the
/// upstream (an answer carries no source error).
pub fn from_transport(s: &Status) -> bool {
    s.code() == Code::Cancelled
        || any_source(s, |e| {
            e.is::<tonic::transport::Error>() || e.is::<hyper::Error>() || e.is::<h2::Error>()
        })
}

/// True when an error in the source chain of `s` satisfies `test`.
fn any_source(s: &Status, test: impl Fn(&(dyn std::error::Error + 'static)) -> bool) -> bool {
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        if test(e) {
            return true;
        }
        source = e.source();
    }
    false
}

/// Runs an idempotent read, retrying once after a short pause when the store
/// or an upstream service was unavailable: the first command after Redis
/// restarts meets the dead connection, and a call queued on a connection the
/// upstream server just closed never left; both have reconnected by the retry.
pub async fn retry_read<T, F, Fut>(mut read: F) -> ServiceResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ServiceResult<T>>,
{
    match read().await {
        Err(ServiceError::Unavailable(first)) => {
            tracing::debug!(error = %first, "read failed; retrying once");
            tokio::time::sleep(Duration::from_millis(50)).await;
            read().await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supplyrisk_domain::FieldViolation;

    #[test]
    fn violations_become_bad_request_details() {
        let err = ServiceError::InvalidArgument(Violations(vec![FieldViolation::new("flows[2].hs_code", "bad")]));
        let status: Status = err.into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let br = details.bad_request().expect("bad request details");
        assert_eq!(br.field_violations[0].field, "flows[2].hs_code");
    }

    #[test]
    fn not_found_names_suggestions() {
        let status: Status = ServiceError::NotFound {
            resource_type: "mineral",
            name: "lithum".into(),
            suggestions: vec!["LI".into()],
        }
        .into();
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().contains("did you mean LI"));
    }

    #[test]
    fn unavailable_store_maps_to_unavailable() {
        let status: Status = ServiceError::from(StoreError::Unavailable("down".into())).into();
        assert_eq!(status.code(), Code::Unavailable);
    }

    #[test]
    fn transport_failures_of_upstream_calls_are_unavailable_answers_keep_their_code() {
        let cancelled = ServiceError::from(Status::cancelled("operation was canceled"));
        assert!(matches!(cancelled, ServiceError::Unavailable(_)), "{cancelled:?}");
        let answered = ServiceError::from(Status::internal("a bug upstream"));
        assert!(matches!(answered, ServiceError::Internal(_)), "{answered:?}");
        assert!(!never_processed(&Status::internal("a bug upstream")));
    }
}
