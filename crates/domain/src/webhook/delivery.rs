//! Deliveries: the outbox record of one event for one endpoint, and every rule of its life.
//! Claimed under a lease like an SMS; any 2xx is delivered; anything else is retried with
//! capped exponential backoff until the retry window (`webhooks.retry_for`, 72 hours by
//! default, issue #24) has passed since the delivery was made, and then it has failed.

use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{WebhookEndpoint, WebhookEndpointId, WebhookTestEvent, WebhookUrl};
use crate::event::{EventId, EventType};
use crate::notification::{Claim, Lease};

/// How long a delivery waits for the receiver's answer (issue #24: 10 seconds). No answer in
/// time is a failed attempt, retried like a 500.
pub const DELIVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Identifies a delivery (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(Uuid);

impl DeliveryId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
    /// Wraps an id that came from storage.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Identifies one attempt (UUIDv7, so the deliveries list pages newest first by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(Uuid);

impl AttemptId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
    /// Wraps an id that came from storage or a cursor.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt at `next_attempt_at`.
    Pending,
    /// Claimed by a dispatcher whose lease has not expired.
    Sending,
    /// The receiver answered 2xx. Final.
    Delivered,
    /// Every attempt of the retry window failed, or its endpoint was disabled meanwhile. Final.
    Failed,
}

impl DeliveryStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 4] = [Self::Pending, Self::Sending, Self::Delivered, Self::Failed];

    /// The stored name: `pending`, `sending`, `delivered` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses a name given by [`DeliveryStatus::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed and will be tried again.
    Retry,
    /// It failed and will not be tried again (the window ended, or it was a test).
    Failed,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Delivered, Self::Retry, Self::Failed];

    /// The stored and wire name: `delivered`, `retry` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }

    /// Parses a name given by [`AttemptOutcome::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// One POST to a receiver, as the dispatcher asks the [`crate::ports::WebhookSender`] to make
/// it: `Content-Type: application/json`, `Orderdesk-Event-Id: <event_id>` and
/// `Orderdesk-Signature: <signature>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Where to POST.
    pub url: WebhookUrl,
    /// The event's id, for `Orderdesk-Event-Id` (equal to the body's `id`).
    pub event_id: EventId,
    /// The `Orderdesk-Signature` value ([`super::signature_header`]).
    pub signature: String,
    /// The event JSON, exactly the bytes signed.
    pub body: Vec<u8>,
}

/// What a POST came to: the receiver's HTTP status, or why there was none (connection refused,
/// no answer within [`DELIVERY_TIMEOUT`], a target the sender refused), and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// The HTTP status code, or what went wrong before one arrived.
    pub status: Result<u16, String>,
    /// From sending to the answer (or the failure).
    pub duration: std::time::Duration,
}

impl SendResult {
    /// Whether the receiver took it: any 2xx (issue #24).
    pub fn is_success(&self) -> bool {
        matches!(self.status, Ok(200..=299))
    }

    fn duration_ms(&self) -> u64 {
        u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX)
    }
}

/// One attempt, as the deliveries list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The attempt's id.
    pub id: AttemptId,
    /// The endpoint it went to.
    pub endpoint_id: WebhookEndpointId,
    /// The delivery it belongs to; `None` for a test.
    pub delivery_id: Option<DeliveryId>,
    /// The event delivered (a test's own id for a test).
    pub event_id: EventId,
    /// The event's type, e.g. `order.created`, or [`WebhookTestEvent::TYPE`].
    pub event_type: String,
    /// 1 for the first attempt of a delivery (a test is always 1).
    pub number: u32,
    /// When the answer (or the failure) came.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// Why there was no answer (refused target, connection, timeout); `None` when it answered.
    pub error: Option<String>,
    /// How long the POST took, in milliseconds.
    pub duration_ms: u64,
    /// What it came to.
    pub outcome: AttemptOutcome,
}

impl DeliveryAttempt {
    /// The attempt a test POST made: delivered on a 2xx, else failed (a test is not retried).
    pub fn test(test: &WebhookTestEvent, result: &SendResult, now: DateTime<Utc>) -> Self {
        Self {
            id: AttemptId::generate(),
            endpoint_id: test.endpoint.id(),
            delivery_id: None,
            event_id: test.id,
            event_type: WebhookTestEvent::TYPE.to_owned(),
            number: 1,
            attempted_at: now,
            status_code: result.status.as_ref().ok().copied(),
            error: result.status.as_ref().err().cloned(),
            duration_ms: result.duration_ms(),
            outcome: if result.is_success() { AttemptOutcome::Delivered } else { AttemptOutcome::Failed },
        }
    }
}

/// The dispatcher no longer holds the delivery (its lease expired and another took it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease on this webhook delivery was lost")]
pub struct DeliveryLeaseLost;

/// A delivery's stored fields, for [`Delivery::restore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryParts {
    /// The delivery's id.
    pub id: DeliveryId,
    /// The endpoint it goes to.
    pub endpoint_id: WebhookEndpointId,
    /// The event it carries.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: EventType,
    /// Where it is in its life.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it is next due (meaningful while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The dispatcher sending it, while sending.
    pub lease: Option<Lease>,
    /// The last attempt's HTTP status, if it got one.
    pub last_status_code: Option<u16>,
    /// Why the last attempt got no answer.
    pub last_error: Option<String>,
    /// When it was made (the event routed to the endpoint); the retry window starts here.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the receiver answered 2xx.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Counts the changes; a repository stores a new state only over the version it came from.
    pub version: u32,
}

/// The outbox record of one event for one endpoint (unique per pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery(DeliveryParts);

impl Delivery {
    /// The delivery of event `event_id` of `kind`, created at `event_created_at`, to `endpoint`,
    /// due now; `None` when the endpoint does not take it ([`WebhookEndpoint::wants`]).
    pub fn route(
        endpoint: &WebhookEndpoint,
        event_id: EventId,
        kind: EventType,
        event_created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        endpoint.wants(kind, event_created_at).then(|| {
            Self(DeliveryParts {
                id: DeliveryId::generate(),
                endpoint_id: endpoint.id(),
                event_id,
                event_type: kind,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                lease: None,
                last_status_code: None,
                last_error: None,
                created_at: now,
                updated_at: now,
                delivered_at: None,
                version: 0,
            })
        })
    }

    /// Rebuilds a delivery from storage.
    pub fn restore(parts: DeliveryParts) -> Self {
        Self(parts)
    }

    /// The stored fields.
    pub fn parts(&self) -> &DeliveryParts {
        &self.0
    }
    /// The delivery's id.
    pub fn id(&self) -> DeliveryId {
        self.0.id
    }
    /// The endpoint it goes to.
    pub fn endpoint_id(&self) -> WebhookEndpointId {
        self.0.endpoint_id
    }
    /// The event it carries.
    pub fn event_id(&self) -> EventId {
        self.0.event_id
    }
    /// Where it is in its life.
    pub fn status(&self) -> DeliveryStatus {
        self.0.status
    }
    /// Attempts made so far.
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }
    /// When it is next due.
    pub fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    /// The last attempt's HTTP status, if it got one.
    pub fn last_status_code(&self) -> Option<u16> {
        self.0.last_status_code
    }
    /// Why the last attempt got no answer, or why it was abandoned.
    pub fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// When it was made; the retry window starts here.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// Its version (see [`DeliveryParts::version`]).
    pub fn version(&self) -> u32 {
        self.0.version
    }

    fn changed(&self, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.0.version = self.0.version.wrapping_add(1);
        next.0.updated_at = now;
        next
    }

    fn held_by(&self, worker: &str) -> bool {
        self.0.status == DeliveryStatus::Sending && self.0.lease.as_ref().is_some_and(|lease| lease.owner == worker)
    }

    /// Whether a dispatcher may take it at `now`: pending and due, or left by a dispatcher
    /// whose lease expired.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self.0.status {
            DeliveryStatus::Pending => self.0.next_attempt_at <= now,
            DeliveryStatus::Sending => self.0.lease.as_ref().is_none_or(|lease| lease.until < now),
            DeliveryStatus::Delivered | DeliveryStatus::Failed => false,
        }
    }

    /// The claimed state for `claim`'s worker, if it is due.
    pub fn claim(&self, claim: &Claim) -> Option<Self> {
        if !self.is_due(claim.now) {
            return None;
        }
        let mut next = self.changed(claim.now);
        next.0.status = DeliveryStatus::Sending;
        next.0.lease = Some(Lease { owner: claim.worker.clone(), until: claim.lease_until });
        Some(next)
    }

    /// Hands an unsent claim back (a dispatcher stopping): pending and due now. `None` unless
    /// `worker` holds it.
    pub fn release(&self, worker: &str, now: DateTime<Utc>) -> Option<Self> {
        if !self.held_by(worker) {
            return None;
        }
        let mut next = self.changed(now);
        next.0.status = DeliveryStatus::Pending;
        next.0.lease = None;
        next.0.next_attempt_at = now;
        Some(next)
    }

    /// Failed without an attempt, for `reason` (its endpoint was disabled meanwhile, or the
    /// event is no longer stored). `None` unless `worker` holds it.
    pub fn abandon(&self, worker: &str, reason: &str, now: DateTime<Utc>) -> Option<Self> {
        if !self.held_by(worker) {
            return None;
        }
        let mut next = self.changed(now);
        next.0.status = DeliveryStatus::Failed;
        next.0.lease = None;
        next.0.last_error = Some(reason.to_owned());
        Some(next)
    }

    /// The state after `worker`'s POST came to `result`, and the attempt to log: a 2xx is
    /// delivered; anything else is pending again after [`WebhookRetryPolicy::next_attempt`],
    /// or failed once the retry window has ended.
    ///
    /// # Errors
    /// [`DeliveryLeaseLost`] when `worker` does not hold it.
    pub fn record_attempt(
        &self,
        worker: &str,
        result: &SendResult,
        policy: &WebhookRetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<(Self, DeliveryAttempt), DeliveryLeaseLost> {
        if !self.held_by(worker) {
            return Err(DeliveryLeaseLost);
        }
        let number = self.0.attempts.saturating_add(1);
        let mut next = self.changed(now);
        next.0.attempts = number;
        next.0.lease = None;
        next.0.last_status_code = result.status.as_ref().ok().copied();
        next.0.last_error = result.status.as_ref().err().cloned();
        let outcome = if result.is_success() {
            next.0.status = DeliveryStatus::Delivered;
            next.0.delivered_at = Some(now);
            AttemptOutcome::Delivered
        } else if let Some(at) = policy.next_attempt(self.0.id, number, self.0.created_at, now) {
            next.0.status = DeliveryStatus::Pending;
            next.0.next_attempt_at = at;
            AttemptOutcome::Retry
        } else {
            next.0.status = DeliveryStatus::Failed;
            AttemptOutcome::Failed
        };
        let attempt = DeliveryAttempt {
            id: AttemptId::generate(),
            endpoint_id: self.0.endpoint_id,
            delivery_id: Some(self.0.id),
            event_id: self.0.event_id,
            event_type: self.0.event_type.as_str().to_owned(),
            number,
            attempted_at: now,
            status_code: next.0.last_status_code,
            error: next.0.last_error.clone(),
            duration_ms: result.duration_ms(),
            outcome,
        };
        Ok((next, attempt))
    }
}

/// When a failed delivery is tried again: `initial_backoff · 2^(n-1)` after attempt `n`,
/// capped at `max_backoff`, each delay up to a fifth shorter (jitter, so many endpoints'
/// retries spread out); never later than the end of the window, `retry_for` after the
/// delivery was made, where the last attempt is made. Defaults: 30 s doubling to 6 h, for 72 h
/// (issue #24: "exponential backoff for up to 3 days"): about 20 attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookRetryPolicy {
    /// The delay after the first failed attempt, before jitter.
    pub initial_backoff: std::time::Duration,
    /// The longest delay between attempts, before jitter.
    pub max_backoff: std::time::Duration,
    /// How long after the delivery was made failures are retried (`webhooks.retry_for`).
    pub retry_for: std::time::Duration,
}

impl Default for WebhookRetryPolicy {
    /// 30 s doubling to 6 h, for 72 hours.
    fn default() -> Self {
        Self {
            initial_backoff: std::time::Duration::from_secs(30),
            max_backoff: std::time::Duration::from_secs(6 * 3600),
            retry_for: std::time::Duration::from_secs(72 * 3600),
        }
    }
}

impl WebhookRetryPolicy {
    /// The same policy with another window (`webhooks.retry_for`).
    #[must_use]
    pub fn retrying_for(mut self, retry_for: std::time::Duration) -> Self {
        self.retry_for = retry_for;
        self
    }

    /// When attempt `attempt + 1` of delivery `id` (made at `created_at`) is due after attempt
    /// `attempt` failed at `now`; `None` when the window has ended (give up).
    pub fn next_attempt(
        &self,
        id: DeliveryId,
        attempt: u32,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let deadline = created_at + chrono::Duration::from_std(self.retry_for).unwrap_or(chrono::Duration::MAX);
        if now >= deadline {
            return None;
        }
        Some((now + self.backoff(id, attempt)).min(deadline))
    }

    /// The delay after attempt `attempt` (1-based) of `id`: `initial · 2^(attempt-1)`, capped,
    /// times a factor in [0.8, 1.0) derived from the id and attempt (reproducible).
    pub fn backoff(&self, id: DeliveryId, attempt: u32) -> chrono::Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
        let mut hasher = std::hash::DefaultHasher::new();
        (id, attempt).hash(&mut hasher);
        let jitter = 0.8 + (hasher.finish() % 1000) as f64 / 5000.0;
        chrono::Duration::from_std(base.mul_f64(jitter)).unwrap_or(chrono::Duration::MAX)
    }
}

/// A window in words, as an endpoint's disabled reason names it: `72 hours`, `90 minutes`,
/// `3 seconds`, `1.5 seconds`.
pub fn describe_duration(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    if duration.subsec_nanos() != 0 {
        return format!("{} seconds", duration.as_secs_f64());
    }
    match seconds {
        s if s >= 3600 && s.is_multiple_of(3600) => plural(s / 3600, "hour"),
        s if s >= 60 && s.is_multiple_of(60) => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}
