//! Sending: a dispatcher claims a due notification under a lease, then records what its
//! attempt came to (or hands the claim back unsent).

use chrono::{DateTime, Utc};

use super::{Attempt, AttemptOutcome, Notification, NotificationStatus, RetryPolicy, SmsError, SmsReceipt};
use crate::event::NewEvent;

/// Who is sending a notification, and until when nobody else may take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The dispatcher holding it.
    pub owner: String,
    /// When the lease expires and another dispatcher may take the notification over.
    pub until: DateTime<Utc>,
}

/// A dispatcher's request to take due notifications: who, when, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The dispatcher claiming.
    pub worker: String,
    /// Now: what is due is decided against it.
    pub now: DateTime<Utc>,
    /// When the claimed notifications' lease expires.
    pub lease_until: DateTime<Utc>,
}

impl Claim {
    /// The claimed state of `notification` ([`Notification::claim`]), if it is due.
    pub fn apply(&self, notification: &Notification) -> Option<Notification> {
        notification.claim(&self.worker, self.now, self.lease_until)
    }
}

/// What one send came to, to be stored: the notification's next state over the version it
/// was decided from, the attempt it logs and the events the move makes.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The version `next` was decided from (the claim's).
    pub previous_version: u32,
    /// The state the send's outcome moves it to.
    pub next: Notification,
    /// The attempt's log entry.
    pub attempt: Attempt,
    /// The events of the move (none when the status stays).
    pub events: Vec<NewEvent>,
}

/// The dispatcher no longer holds the notification (its lease expired and another took it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease on this notification was lost")]
pub struct LeaseLost;

impl Notification {
    /// Whether a dispatcher may take it at `now`: pending and due, or left by a dispatcher
    /// whose lease expired (it crashed).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self.0.status {
            NotificationStatus::Pending => self.0.next_attempt_at <= now,
            NotificationStatus::Sending => self.0.lease.as_ref().is_none_or(|lease| lease.until < now),
            _ => false,
        }
    }

    /// Whether `worker` holds it: sending, under `worker`'s lease.
    fn held_by(&self, worker: &str) -> bool {
        self.0.status == NotificationStatus::Sending && self.0.lease.as_ref().is_some_and(|lease| lease.owner == worker)
    }

    /// `worker` takes it until `lease_until`; `None` when it is not due.
    pub fn claim(&self, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Option<Self> {
        if !self.is_due(now) {
            return None;
        }
        let mut next = self.changed(now);
        next.0.status = NotificationStatus::Sending;
        next.0.lease = Some(Lease { owner: worker.to_owned(), until: lease_until });
        Some(next)
    }

    /// Hands a claim back unsent (a dispatcher shutting down): pending and due again now, so
    /// another dispatcher takes it at once instead of after the lease. `None` unless `worker`
    /// holds it.
    pub fn release(&self, worker: &str, now: DateTime<Utc>) -> Option<Self> {
        if !self.held_by(worker) {
            return None;
        }
        let mut next = self.changed(now);
        next.0.status = NotificationStatus::Pending;
        next.0.lease = None;
        next.0.next_attempt_at = now;
        Some(next)
    }

    /// The state after `worker`'s send ended with `result`, and the attempt to log. Accepted:
    /// sent, with a fresh delivery state for the new message. Temporary failure: pending again
    /// at [`RetryPolicy::retry_at`]. Permanent failure, a second timeout or the end of the
    /// retry window: failed.
    ///
    /// # Errors
    /// [`LeaseLost`] when `worker` does not hold it.
    pub fn record_attempt(
        &self,
        worker: &str,
        result: Result<SmsReceipt, SmsError>,
        policy: &RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<(Self, Attempt), LeaseLost> {
        if !self.held_by(worker) {
            return Err(LeaseLost);
        }
        let number = self.0.attempts + 1;
        let mut next = self.changed(now);
        next.0.attempts = number;
        next.0.timed_out = self.0.timed_out || matches!(result, Err(SmsError::Ambiguous(_)));
        next.0.lease = None;
        let recipient = self.0.recipient.clone();
        let attempt = Attempt {
            number,
            attempted_at: now,
            outcome: AttemptOutcome::Sent,
            recipient,
            error: None,
            cost: None,
            parts: None,
        };
        let error = match result {
            Ok(receipt) => {
                let note = receipt
                    .unreadable_cost
                    .map(|raw| format!("sent; the provider's cost {raw:?} is not exact money, so no cost is kept"));
                let parts = &mut next.0;
                parts.status = NotificationStatus::Sent;
                parts.provider_message_id = Some(receipt.message_id);
                parts.provider_status = Some(receipt.status);
                parts.sent_at = Some(now);
                parts.last_error = None;
                parts.delivery_status = None;
                parts.delivery_failure_reason = None;
                return Ok((next, Attempt { error: note, cost: receipt.cost, parts: receipt.parts, ..attempt }));
            }
            Err(error) => error,
        };
        let (outcome, error) =
            match policy.retry_at(self.0.id, number, &error, self.0.timed_out, self.0.retry_since, now) {
                Ok(at) => {
                    next.0.status = NotificationStatus::Pending;
                    next.0.next_attempt_at = at;
                    (AttemptOutcome::Retry, error.to_string())
                }
                Err(reason) => {
                    next.0.status = NotificationStatus::Failed;
                    (AttemptOutcome::Failed, reason)
                }
            };
        next.0.last_error = Some(error.clone());
        Ok((next, Attempt { outcome, error: Some(error), ..attempt }))
    }
}
