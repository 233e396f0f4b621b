//! Safe retries of creating requests (Stripe's `Idempotency-Key`): the first request with a
//! key stores its response in the same transaction as what it created; a retry with the same
//! key, caller and body gets that response again and creates nothing; the same key with
//! another body is refused.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::InvalidValue;

/// A client's key for one logical request: 1-255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key accepted.
    pub const MAX_LEN: usize = 255;

    /// # Errors
    /// [`InvalidValue::Empty`], [`InvalidValue::TooLong`], or [`InvalidValue::ControlCharacters`]
    /// for anything but printable ASCII.
    pub fn parse(key: &str) -> Result<Self, InvalidValue> {
        if key.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if key.len() > Self::MAX_LEN {
            return Err(InvalidValue::TooLong { max: Self::MAX_LEN });
        }
        if !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(InvalidValue::ControlCharacters);
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request that carries a key: who sent it, for which operation, and a fingerprint of its
/// body (equal bodies, equal fingerprints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentRequest {
    /// The caller's token subject: keys are per caller.
    pub subject: String,
    /// The client's key.
    pub key: IdempotencyKey,
    /// The operation, e.g. `createOrder`.
    pub operation: String,
    /// A hash of the request body.
    pub fingerprint: String,
}

/// The response the first request got, as the edge encoded it (for the HTTP API: status
/// line, headers and body, written by `orderdesk_api::idempotency`). Opaque here and in the
/// stores, which keep it as it is and give it back for a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse(String);

impl StoredResponse {
    /// Wraps an encoded response.
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    /// The encoded response, as given to [`StoredResponse::new`].
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key with the response it produced, kept until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The first request.
    pub request: IdempotentRequest,
    /// Its response.
    pub response: StoredResponse,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When the key may be used afresh.
    pub expires_at: DateTime<Utc>,
}

/// A key reused for a different request (another body or operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this Idempotency-Key was used for a different request")]
pub struct KeyReused;

impl IdempotencyRecord {
    /// Records `response` for `request` at `now`, kept for `retention`.
    pub fn new(request: IdempotentRequest, response: StoredResponse, now: DateTime<Utc>, retention: Duration) -> Self {
        let keep = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::hours(24));
        Self { request, response, created_at: now, expires_at: now + keep }
    }

    /// The response to replay to `retry`.
    ///
    /// # Errors
    /// [`KeyReused`] when `retry` is not the same request (operation and body).
    pub fn replay_for(&self, retry: &IdempotentRequest) -> Result<&StoredResponse, KeyReused> {
        if retry.operation == self.request.operation && retry.fingerprint == self.request.fingerprint {
            Ok(&self.response)
        } else {
            Err(KeyReused)
        }
    }
}

/// Renders a value a use case wrote as the response a retry of its request replays.
pub type Respond<T> = Box<dyn Fn(&T) -> StoredResponse + Send + Sync>;

/// How a use case records what it wrote for the request's key: the request, how the edge
/// renders the written value as its response, and how long to keep it.
pub struct Recorder<T> {
    /// The keyed request.
    pub request: IdempotentRequest,
    /// The response the written value gets.
    pub respond: Respond<T>,
    /// How long a retry can replay it (`idempotency.retention_hours`).
    pub retention: Duration,
}

impl<T> Recorder<T> {
    /// The record of `value`, written at `now`.
    pub fn record(&self, value: &T, now: DateTime<Utc>) -> IdempotencyRecord {
        IdempotencyRecord::new(self.request.clone(), (self.respond)(value), now, self.retention)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &str) -> IdempotentRequest {
        IdempotentRequest {
            subject: "auth0|a".into(),
            key: IdempotencyKey::parse("k-1").unwrap(),
            operation: "createOrder".into(),
            fingerprint: body.into(),
        }
    }

    #[test]
    fn keys_are_1_to_255_printable_ascii() {
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert_eq!(IdempotencyKey::parse(&"k".repeat(256)), Err(InvalidValue::TooLong { max: 255 }));
        assert_eq!(IdempotencyKey::parse(""), Err(InvalidValue::Empty));
        assert_eq!(IdempotencyKey::parse("a\nb"), Err(InvalidValue::ControlCharacters));
        assert_eq!(IdempotencyKey::parse("clé"), Err(InvalidValue::ControlCharacters));
    }

    #[test]
    fn the_same_request_replays_and_another_is_refused() {
        let response = StoredResponse::new("201 /x {}");
        let now = Utc::now();
        let record = IdempotencyRecord::new(request("a"), response.clone(), now, Duration::from_secs(3600));
        assert_eq!(record.expires_at, now + chrono::Duration::hours(1));
        assert_eq!(record.replay_for(&request("a")), Ok(&response));
        assert_eq!(record.replay_for(&request("b")), Err(KeyReused));
        let other_operation = IdempotentRequest { operation: "createCustomer".into(), ..request("a") };
        assert_eq!(record.replay_for(&other_operation), Err(KeyReused));
    }
}
