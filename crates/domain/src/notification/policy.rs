//! What the provider said about a send, and when to try again after a failure: capped exponential backoff with
//! jitter inside a retry window (`sms.retry_for`), and an unclear outcome retried once only
//! (Africa's Talking has no idempotency key; contract §1.6).

use std::hash::{Hash, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{NotificationId, SmsCost};

/// What the provider said about one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The provider's id for the message; delivery reports refer to it.
    pub message_id: String,
    /// The provider's status for the send (e.g. `Success`).
    pub status: String,
    /// What the provider charged, as exact money (Africa's Talking's per-recipient `cost`,
    /// `"KES 0.8000"`, read by [`SmsCost::parse_provider`]); `None` when it named none or
    /// charged nothing (`"0"`), or when its text could not be read (then see `unreadable_cost`).
    pub cost: Option<SmsCost>,
    /// How many parts the provider billed the message as (Africa's Talking's `messageParts`).
    pub parts: Option<u32>,
    /// The provider's cost text when it is not exact money (kept in the attempt's log instead
    /// of a cost; the send itself succeeded).
    pub unreadable_cost: Option<String>,
}

impl SmsReceipt {
    /// An accepted send with no cost or part count.
    pub fn accepted(message_id: impl Into<String>, status: impl Into<String>) -> Self {
        Self { message_id: message_id.into(), status: status.into(), cost: None, parts: None, unreadable_cost: None }
    }
}

/// Why a send failed, classified for the retry policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Nothing was sent (connection refused, 5xx, provider says try later): retry.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// The request may have been acted on but the answer does not say so (a timeout, a 2xx
    /// body that cannot be read, a recipient accepted without a message id): retried at most
    /// once, since the provider has no idempotency key.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
    /// Retrying cannot help (invalid number, bad credentials, no balance, blacklisted).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// Capped exponential backoff with jitter, within a retry window: an outage of minutes or
/// hours only delays an SMS; sending gives up once `retry_for` has passed since the window
/// opened ([`super::Notification::retry_since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay before the second attempt, before jitter (`sms.initial_backoff_ms`).
    pub initial_backoff: Duration,
    /// The longest delay between attempts, before jitter (`sms.max_backoff_ms`).
    pub max_backoff: Duration,
    /// How long after the window opened temporary failures are still retried (`sms.retry_for`).
    pub retry_for: Duration,
}

impl Default for RetryPolicy {
    /// 2 s, doubling up to 10 minutes, for 24 hours.
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            retry_for: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// When to try again after attempt number `attempt` (1-based) of `id` failed with `error`:
    /// `Ok(at)`, after the backoff; or `Err(reason)` to give up, `reason` being what the
    /// attempt's log keeps (a permanent failure, a second unclear outcome, or the retry window
    /// ended). `previous_ambiguous` says whether an earlier attempt already ended without a
    /// clear answer; `retry_since` is when the retry window opened.
    ///
    /// # Errors
    /// `Err(reason)` is the decision to give up, not a failure of the policy.
    pub fn retry_at(
        &self,
        id: NotificationId,
        attempt: u32,
        error: &SmsError,
        previous_ambiguous: bool,
        retry_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, String> {
        match error {
            SmsError::Permanent(reason) => return Err(reason.clone()),
            SmsError::Ambiguous(reason) if previous_ambiguous => {
                return Err(format!("{reason} (second unclear outcome; not retried to avoid a duplicate SMS)"));
            }
            SmsError::Ambiguous(_) | SmsError::Retryable(_) => {}
        }
        let deadline = retry_since + chrono::Duration::from_std(self.retry_for).unwrap_or(chrono::Duration::MAX);
        if now >= deadline {
            return Err(format!("{error} (gave up after {attempt} attempts: the retry window of sms.retry_for ended)"));
        }
        Ok(now + self.backoff(id, attempt))
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

    fn policy(retry_for_secs: u64) -> RetryPolicy {
        RetryPolicy {
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(15),
            retry_for: Duration::from_secs(retry_for_secs),
        }
    }

    #[test]
    fn temporary_failures_back_off_until_the_window_ends() {
        let policy = policy(3600);
        let id = NotificationId::generate();
        let since = Utc::now();
        let retry = |attempt, now| policy.retry_at(id, attempt, &SmsError::Retryable("500".into()), false, since, now);
        let Ok(at) = retry(1, since) else { panic!("should retry") };
        assert!(at >= since + chrono::Duration::seconds(5) && at < since + chrono::Duration::seconds(10));
        let Ok(at) = retry(2, since) else { panic!("should retry") };
        assert!(at < since + chrono::Duration::seconds(15), "capped at max_backoff");
        // Many attempts are fine while the window is open: an outage only delays.
        assert!(retry(500, since + chrono::Duration::seconds(3599)).is_ok());
        assert!(retry(501, since + chrono::Duration::seconds(3600)).is_err());
    }

    #[test]
    fn permanent_failures_give_up_and_unclear_outcomes_are_retried_once() {
        let policy = policy(3600);
        let (id, now) = (NotificationId::generate(), Utc::now());
        let after = |error, previous| policy.retry_at(id, 1, &error, previous, now, now);
        assert!(after(SmsError::Permanent("invalid number".into()), false).is_err());
        assert!(after(SmsError::Ambiguous("timeout".into()), false).is_ok());
        assert!(after(SmsError::Ambiguous("timeout".into()), true).is_err());
        // A temporary failure after an unclear one is still retried.
        assert!(after(SmsError::Retryable("503".into()), true).is_ok());
    }
}
