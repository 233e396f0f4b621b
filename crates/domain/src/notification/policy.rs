//! What the provider said about a send, and what to do next: exponential backoff with jitter,
//! bounded attempts, and a timeout retried once only (the provider has no idempotency key).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::NotificationId;

/// What the provider said about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The provider's id for the message; delivery reports refer to it.
    pub message_id: String,
    /// The provider's status for the send (e.g. `Success`).
    pub status: String,
    /// What the provider charged, as it wrote it (e.g. `KES 0.80`).
    pub cost: Option<String>,
}

/// Why a send failed, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Nothing was sent (connection refused, 5xx, provider says try later): retry.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// The request may or may not have reached the provider (timeout): retried at most once,
    /// since the provider has no idempotency key.
    #[error("no answer in time: {0}")]
    Ambiguous(String),
    /// Retrying cannot help (invalid number, bad credentials, no balance, blacklisted).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The provider accepted the SMS.
    Sent(SmsReceipt),
    /// The attempt failed; try again later.
    RetryAt {
        /// When the next attempt is due.
        at: DateTime<Utc>,
        /// Why this attempt failed.
        error: String,
    },
    /// The attempt failed and no further attempt will be made.
    GiveUp {
        /// Why sending was abandoned.
        error: String,
    },
}

/// Exponential backoff with jitter, bounded attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many attempts at most before giving up (default 6).
    pub max_attempts: u32,
    /// The delay before the second attempt, before jitter (default 2 s).
    pub initial_backoff: Duration,
    /// The longest delay between attempts, before jitter (default 300 s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 6, initial_backoff: Duration::from_secs(2), max_backoff: Duration::from_secs(300) }
    }
}

impl RetryPolicy {
    /// Decides the next step after attempt number `attempt` (1-based) of `id` ended with `result`.
    /// `previous_ambiguous` says whether an earlier attempt already timed out.
    pub fn after(
        &self,
        id: NotificationId,
        attempt: u32,
        result: Result<SmsReceipt, SmsError>,
        previous_ambiguous: bool,
        now: DateTime<Utc>,
    ) -> AttemptOutcome {
        let error = match result {
            Ok(receipt) => return AttemptOutcome::Sent(receipt),
            Err(SmsError::Permanent(reason)) => return AttemptOutcome::GiveUp { error: reason },
            Err(SmsError::Ambiguous(reason)) if previous_ambiguous => {
                return AttemptOutcome::GiveUp {
                    error: format!("{reason} (second timeout; not retried to avoid a duplicate SMS)"),
                };
            }
            Err(e) => e.to_string(),
        };
        if attempt >= self.max_attempts {
            return AttemptOutcome::GiveUp { error: format!("{error} (gave up after {attempt} attempts)") };
        }
        AttemptOutcome::RetryAt { at: now + self.backoff(id, attempt), error }
    }

    /// `initial * 2^(attempt-1)`, capped, times a jitter factor in [0.5, 1.0) derived from the id
    /// and attempt, so retries of many notifications spread out yet stay reproducible.
    pub fn backoff(&self, id: NotificationId, attempt: u32) -> chrono::Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let base = self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
        let mut hasher = std::hash::DefaultHasher::new();
        (id, attempt).hash(&mut hasher);
        let jitter = 0.5 + (hasher.finish() % 1000) as f64 / 2000.0;
        chrono::Duration::from_std(base.mul_f64(jitter)).unwrap_or(chrono::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_backs_off_then_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(15),
        };
        let id = NotificationId::generate();
        let now = Utc::now();
        let retry = |attempt| policy.after(id, attempt, Err(SmsError::Retryable("500".into())), false, now);
        let AttemptOutcome::RetryAt { at, .. } = retry(1) else { panic!("should retry") };
        assert!(at >= now + chrono::Duration::seconds(5) && at < now + chrono::Duration::seconds(10));
        let AttemptOutcome::RetryAt { at, .. } = retry(2) else { panic!("should retry") };
        assert!(at < now + chrono::Duration::seconds(15), "capped at max_backoff");
        assert!(matches!(retry(3), AttemptOutcome::GiveUp { .. }));
        assert!(matches!(
            policy.after(id, 1, Err(SmsError::Permanent("invalid number".into())), false, now),
            AttemptOutcome::GiveUp { .. }
        ));
        assert!(matches!(
            policy.after(id, 1, Err(SmsError::Ambiguous("timeout".into())), false, now),
            AttemptOutcome::RetryAt { .. }
        ));
        assert!(matches!(
            policy.after(id, 2, Err(SmsError::Ambiguous("timeout".into())), true, now),
            AttemptOutcome::GiveUp { .. }
        ));
    }
}
