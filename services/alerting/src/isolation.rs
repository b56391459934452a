//! One subscription's failure is its own: the workers evaluate each
//! subscription apart, and a failure that retrying cannot cure (scoring
//! refuses the subscription's importer, its stored state does not decode) is
//! recorded on that subscription — its `last_error`, a warning and a metric —
//! while the batch goes on. Only a failure a retry may cure (Redis or an
//! upstream unavailable) fails the batch, which then stays pending.

use supplyrisk_api::alerting::v1 as pb;
use supplyrisk_grpc::ServiceError;
use supplyrisk_store::{Store, StoreError};
use supplyrisk_telemetry::metrics;

/// Why evaluating a subscription (or a whole batch) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvaluationError {
    /// Worth retrying the whole batch: Redis or an upstream is unavailable.
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help: recorded on the subscription; for a batch,
    /// its entries count toward the consumer group's dead letters.
    #[error("{0}")]
    Permanent(String),
}

impl EvaluationError {
    /// True when a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, EvaluationError::Transient(_))
    }
}

impl From<tonic::Status> for EvaluationError {
    /// Read the way every upstream answer is (`ServiceError`'s mapping):
    /// only an unavailable upstream is worth a retry.
    fn from(status: tonic::Status) -> Self {
        match ServiceError::from(status) {
            ServiceError::Unavailable(m) => EvaluationError::Transient(m),
            other => EvaluationError::Permanent(other.to_string()),
        }
    }
}

impl From<StoreError> for EvaluationError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => EvaluationError::Transient(e.to_string()),
            StoreError::Internal(_) | StoreError::LimitReached(_) => EvaluationError::Permanent(e.to_string()),
        }
    }
}

/// The outcome of evaluating `sub` for the batch: alerts recorded, or 0
/// after recording a failure of its own on it; `Err` (always transient)
/// only for a failure the batch must be retried for, recording included.
pub async fn settle(
    store: &Store,
    worker: &'static str,
    sub: &pb::Subscription,
    outcome: Result<usize, EvaluationError>,
) -> Result<usize, EvaluationError> {
    match outcome {
        Ok(recorded) => Ok(recorded),
        Err(e @ EvaluationError::Transient(_)) => Err(e),
        Err(EvaluationError::Permanent(reason)) => {
            tracing::warn!(
                subscription = sub.id,
                worker,
                error = reason,
                "subscription not evaluated; the others are"
            );
            metrics::subscription_failure(worker);
            store.record_subscription_error(&sub.id, &reason).await.map_err(|e| {
                EvaluationError::Transient(format!("recording the error of subscription {}: {e}", sub.id))
            })?;
            Ok(0)
        }
    }
}
