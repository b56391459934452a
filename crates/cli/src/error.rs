//! The one error type of the CLI. Every command fails with a [`CliError`];
//! `main` prints it as a single `supplyrisk: …` line on stderr and exits
//! with status 1, so scripts can rely on one line and one exit code.

use std::path::PathBuf;

/// Why a command failed, worded for the person or script reading stderr.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A service answered a call with an error status.
    #[error("{}", status_line(.0))]
    Status(#[from] tonic::Status),
    /// The endpoint is not a URI a channel can be built for.
    #[error("bad endpoint {endpoint}: {source}")]
    BadEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        source: http::uri::InvalidUri,
    },
    /// No connection could be made to a service.
    #[error("cannot reach the {service} service at {endpoint}: {source}")]
    Unreachable {
        /// Which service: ingest, scoring or alerting.
        service: &'static str,
        /// The endpoint tried.
        endpoint: String,
        /// Why the connection failed.
        source: tonic::transport::Error,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Input refused before or instead of a call: a flag, a file's rows, a manifest.
    #[error("{0}")]
    Invalid(String),
    /// A chart of the report could not be drawn.
    #[error("cannot draw a chart: {0}")]
    Chart(String),
    /// Anything else that stopped the command.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// Whether this is an error status with one of `codes`.
    pub fn is_status(&self, codes: &[tonic::Code]) -> bool {
        matches!(self, CliError::Status(status) if codes.contains(&status.code()))
    }
}

/// A status as one line: the code in words, the service's message, and
/// for a missing or refused token how to give one.
pub fn status_line(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unauthenticated => format!(
            "not authenticated: {} (pass --token or set SUPPLYRISK_TOKEN)",
            status.message()
        ),
        tonic::Code::PermissionDenied => format!("permission denied: {}", status.message()),
        tonic::Code::Unavailable => format!("service unavailable: {}", status.message()),
        _ => format!("{:?}: {}", status.code(), status.message()),
    }
}

/// An error as one line, so scripts can read stderr line by line.
pub fn one_line(error: &CliError) -> String {
    error.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_before() {
        let unauthenticated = CliError::from(tonic::Status::unauthenticated("unknown token"));
        assert_eq!(
            unauthenticated.to_string(),
            "not authenticated: unknown token (pass --token or set SUPPLYRISK_TOKEN)"
        );
        let not_found = CliError::from(tonic::Status::not_found("no subscription s1"));
        assert_eq!(not_found.to_string(), "NotFound: no subscription s1");
        assert!(not_found.is_status(&[tonic::Code::NotFound]));
        assert!(!CliError::Failed("NotFound".into()).is_status(&[tonic::Code::NotFound]));
    }

    #[test]
    fn errors_print_on_one_line() {
        let error = CliError::Invalid("a\n  b\tc ".into());
        assert_eq!(one_line(&error), "a b c");
    }
}
