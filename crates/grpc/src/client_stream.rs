//! Reading a client stream (an upload, an import) with an idle bound.
//!
//! A client-streaming call holds its handler, and a slot of the server's
//! call limit, for as long as the client keeps the stream open. A client
//! that opens one and goes quiet would hold them forever; here each
//! message must arrive within the idle bound, or the call ends.

use std::time::Duration;

use tonic::Streaming;

use crate::{ServiceError, ServiceResult};

/// A client stream whose every message must come within `idle`.
pub struct ClientStream<T> {
    inner: Streaming<T>,
    idle: Duration,
    what: &'static str,
}

impl<T> ClientStream<T> {
    /// Wraps `inner`, the stream of an `what` (e.g. `upload`), named in errors.
    pub fn new(inner: Streaming<T>, idle: Duration, what: &'static str) -> Self {
        Self { inner, idle, what }
    }

    /// The next message, `None` at the end of the stream. A stream that
    /// broke, or sent nothing within the idle bound, is
    /// `FAILED_PRECONDITION`: what was written stays, and sending again
    /// with the same upload id completes it.
    pub async fn next(&mut self) -> ServiceResult<Option<T>> {
        match tokio::time::timeout(self.idle, self.inner.message()).await {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(status)) => Err(ServiceError::FailedPrecondition(format!(
                "{} stream broke: {}",
                self.what,
                status.message()
            ))),
            Err(_) => Err(ServiceError::FailedPrecondition(format!(
                "the {} sent nothing for {} s and was ended; send it again with the same upload id",
                self.what,
                self.idle.as_secs()
            ))),
        }
    }
}
