//! Looking up what an `Idempotency-Key` already produced, and recording new responses.

use std::sync::Arc;
use std::time::Duration;

use crate::error::RepoError;
use crate::idempotency::{IdempotentRequest, KeyReused, Recorder, Respond, StoredResponse};
use crate::ports::{Clock, IdempotencyRepository};

/// Why a keyed request cannot go ahead.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    /// The key was used for a different request.
    #[error(transparent)]
    Reused(#[from] KeyReused),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// Idempotency keys: what a retry gets, and how long keys are kept.
#[derive(Clone)]
pub struct IdempotencyService {
    keys: Arc<dyn IdempotencyRepository>,
    clock: Arc<dyn Clock>,
    retention: Duration,
}

impl IdempotencyService {
    /// Keys are kept for `retention` (`idempotency.retention_hours`).
    pub fn new(keys: Arc<dyn IdempotencyRepository>, clock: Arc<dyn Clock>, retention: Duration) -> Self {
        Self { keys, clock, retention }
    }

    /// The response stored for this caller's key, if the key is in use and not expired.
    ///
    /// # Errors
    /// [`IdempotencyError::Reused`] when the key belongs to a different request, or storage.
    pub async fn prior(&self, request: &IdempotentRequest) -> Result<Option<StoredResponse>, IdempotencyError> {
        let now = self.clock.now();
        let Some(record) = self.keys.find(&request.subject, request.key.as_str(), now).await? else {
            return Ok(None);
        };
        Ok(Some(record.replay_for(request)?.clone()))
    }

    /// Records the response `respond` renders for whatever the keyed request writes, kept for
    /// the service's retention.
    pub fn recorder<T>(&self, request: IdempotentRequest, respond: Respond<T>) -> Recorder<T> {
        Recorder { request, respond, retention: self.retention }
    }

    /// Deletes expired keys; returns how many.
    ///
    /// # Errors
    /// Storage only.
    pub async fn sweep(&self) -> Result<u64, RepoError> {
        self.keys.sweep(self.clock.now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::{IdempotencyKey, IdempotencyRecord};
    use crate::ports::{MockIdempotencyRepository, SystemClock};

    fn request(fingerprint: &str) -> IdempotentRequest {
        IdempotentRequest {
            subject: "auth0|a".into(),
            key: IdempotencyKey::parse("k").unwrap(),
            operation: "createOrder".into(),
            fingerprint: fingerprint.into(),
        }
    }

    #[tokio::test]
    async fn a_stored_key_replays_the_same_request_and_refuses_another() {
        let response = StoredResponse::new(r#"{"location":"/api/v1/orders/1","etag":"\"0\"","body":{}}"#);
        let record =
            IdempotencyRecord::new(request("a"), response.clone(), chrono::Utc::now(), Duration::from_secs(60));
        let mut keys = MockIdempotencyRepository::new();
        keys.expect_find()
            .withf(|subject, key, _| subject == "auth0|a" && key == "k")
            .returning(move |_, _, _| Ok(Some(record.clone())));
        let service = IdempotencyService::new(Arc::new(keys), Arc::new(SystemClock), Duration::from_secs(60));
        assert_eq!(service.prior(&request("a")).await.unwrap(), Some(response));
        assert!(matches!(service.prior(&request("b")).await, Err(IdempotencyError::Reused(_))));
    }
}
