//! SMS notifications: the outbox record written with each order and every rule of its life.
//!
//! Each transition (claim, attempt outcome, requeue, delivery report) is a method on
//! [`Notification`] that returns the new state; repositories only store what these methods
//! decided, and only if nothing changed the row since it was read ([`Notification::version`]).

mod catalog;
mod cost;
mod encoding;
mod event;
mod policy;
mod template;

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::customer::PhoneNumber;
use crate::language::Language;
use crate::order::OrderId;

pub use catalog::{CatalogError, EventTexts, SmsCatalog};
pub use cost::{CostTotal, InvalidCost, NotificationSummary, SmsCost, micros_string};
pub use encoding::{SmsEncoding, SmsLength, gsm7_septets, transliterate};
pub use event::{SkipReason, SmsEvent};
pub use policy::{AttemptOutcome, RetryPolicy, SmsError, SmsReceipt};
pub use template::{MessageTemplate, PLACEHOLDERS, RenderedSms, TemplateError, TemplateOptions, cancel_reason_text};

/// Identifies a notification (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationId(Uuid);

impl NotificationId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
    /// Wraps an id that came from storage or a request.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for NotificationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a notification is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotificationStatus {
    /// Waiting to be sent at `next_attempt_at`.
    Pending,
    /// Claimed by a dispatcher whose lease has not expired.
    Sending,
    /// Accepted by the provider; waiting for its delivery report.
    Sent,
    /// The provider reported delivery to the handset.
    Delivered,
    /// The provider reported a final delivery failure.
    Undelivered,
    /// Sending failed permanently, or every attempt was used.
    Failed,
    /// Never sent, on purpose: see [`Notification::skip_reason`]. Final; counted apart from failed.
    Skipped,
}

impl NotificationStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 7] =
        [Self::Pending, Self::Sending, Self::Sent, Self::Delivered, Self::Undelivered, Self::Failed, Self::Skipped];

    /// The stored and wire name, e.g. `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    /// Parses a name given by [`NotificationStatus::as_str`]; unknown names give `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a person may re-queue it.
    pub fn is_retryable_by_hand(self) -> bool {
        matches!(self, Self::Failed | Self::Undelivered)
    }
}

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

/// The outbox record: one SMS to send for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notification's id.
    pub id: NotificationId,
    /// The order it announces.
    pub order_id: OrderId,
    /// What about the order it announces.
    pub event: SmsEvent,
    /// The language of [`Notification::message`].
    pub language: Language,
    /// Why it was not sent, exactly when [`NotificationStatus::Skipped`].
    pub skip_reason: Option<SkipReason>,
    /// The number texted: the customer's at the time of the order, or at the last retry by hand.
    pub recipient: PhoneNumber,
    /// The rendered SMS text.
    pub message: String,
    /// Where it is in its life.
    pub status: NotificationStatus,
    /// Attempts made so far (a re-queue by hand starts a new budget).
    pub attempts: u32,
    /// When it is next due to be sent (meaningful while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When the current retry window opened: creation, or the last retry by hand. Temporary
    /// failures are retried until [`RetryPolicy::retry_for`] has passed since then.
    pub retry_since: DateTime<Utc>,
    /// The dispatcher sending it, while [`NotificationStatus::Sending`].
    pub lease: Option<Lease>,
    /// The provider's id for the current message, once it accepted it; delivery reports refer to it.
    pub provider_message_id: Option<String>,
    /// The provider's status in its answer to the send (e.g. `Success`).
    pub provider_status: Option<String>,
    /// The provider's last delivery-report status for the current message (`Success`, `Failed`, `Buffered`, ...).
    pub delivery_status: Option<String>,
    /// The failure reason from the last delivery report, if any.
    pub delivery_failure_reason: Option<String>,
    /// Why the last attempt failed; cleared when a send succeeds.
    pub last_error: Option<String>,
    /// An attempt already ended without an answer: the next such attempt gives up.
    pub timed_out: bool,
    /// When it was written (with its order).
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider accepted the current message; `None` until then.
    pub sent_at: Option<DateTime<Utc>>,
    /// Counts the changes; a repository stores a new state only over the version it came from.
    pub version: u32,
}

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptResult {
    /// The provider accepted the SMS.
    Sent,
    /// It failed and will be tried again.
    Retry,
    /// It failed and will not be tried again.
    Failed,
}

impl AttemptResult {
    /// Every result.
    pub const ALL: [Self; 3] = [Self::Sent, Self::Retry, Self::Failed];

    /// The stored and wire name: `sent`, `retry` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }

    /// Parses a name given by [`AttemptResult::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// One attempt to hand a notification to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's number, from 1.
    pub number: u32,
    /// When the attempt ended.
    pub attempted_at: DateTime<Utc>,
    /// What it came to.
    pub outcome: AttemptResult,
    /// The number this attempt texted.
    pub recipient: PhoneNumber,
    /// Why it failed. On a sent attempt `None`, or a note on what the provider's answer said
    /// that could not be kept (a cost that is not exact money, with the provider's text).
    pub error: Option<String>,
    /// What the provider charged for this attempt (only a sent attempt has a cost; `None` when
    /// the provider named none, charged nothing, or wrote a cost that could not be read).
    pub cost: Option<SmsCost>,
    /// How many parts the provider billed this attempt as (Africa's Talking's `messageParts`);
    /// only a sent attempt has them.
    pub parts: Option<u32>,
}

/// The dispatcher no longer holds the notification (its lease expired and another took it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the lease on this notification was lost")]
pub struct LeaseLost;

/// Only failed or undelivered notifications can be re-queued by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the notification is {}; only failed or undelivered ones can be retried", .0.as_str())]
pub struct NotRetryable(pub NotificationStatus);

/// Why a delivery report changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReport {
    /// It is about an earlier message of this notification (before a re-send).
    OtherMessage,
    /// It names another phone number than the one texted.
    WrongRecipient,
    /// The current message already has a final delivery status.
    AlreadyFinal,
    /// The same status again.
    Duplicate,
}

impl fmt::Display for IgnoredReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OtherMessage => "about an earlier message",
            Self::WrongRecipient => "names another phone number than the one texted",
            Self::AlreadyFinal => "the message already has a final status",
            Self::Duplicate => "duplicate",
        })
    }
}

/// What a delivery report does to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportDecision {
    /// Store this new state.
    Apply(Box<Notification>),
    /// Nothing changes.
    Ignore(IgnoredReport),
}

impl Notification {
    /// A notification due now.
    pub fn new(order_id: OrderId, recipient: PhoneNumber, message: String, now: DateTime<Utc>) -> Self {
        Self {
            id: NotificationId::generate(),
            order_id,
            event: SmsEvent::OrderCreated,
            language: Language::En,
            skip_reason: None,
            recipient,
            message,
            status: NotificationStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            retry_since: now,
            lease: None,
            provider_message_id: None,
            provider_status: None,
            delivery_status: None,
            delivery_failure_reason: None,
            last_error: None,
            timed_out: false,
            created_at: now,
            updated_at: now,
            sent_at: None,
            version: 0,
        }
    }

    /// The same notification announcing `event` in `language` (by [`Notification::new`]:
    /// `order.created` in English).
    pub fn for_event(mut self, event: SmsEvent, language: Language) -> Self {
        self.event = event;
        self.language = language;
        self
    }

    /// The same new notification, never to be sent: [`NotificationStatus::Skipped`] for `reason`.
    pub fn skipped(mut self, reason: SkipReason) -> Self {
        self.status = NotificationStatus::Skipped;
        self.skip_reason = Some(reason);
        self
    }

    /// How the message travels: its encoding (GSM-7 or UCS-2) and how many segments it is
    /// billed as. Derived from the stored text, so it always matches what is sent.
    pub fn length(&self) -> SmsLength {
        SmsEncoding::measure(&self.message)
    }

    /// A copy to change: the next version, changed at `now`.
    fn changed(&self, now: DateTime<Utc>) -> Self {
        Self { version: self.version.wrapping_add(1), updated_at: now, ..self.clone() }
    }

    /// Whether a dispatcher may take it at `now`: pending and due, or left by a dispatcher
    /// whose lease expired (it crashed).
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            NotificationStatus::Pending => self.next_attempt_at <= now,
            NotificationStatus::Sending => self.lease.as_ref().is_none_or(|lease| lease.until < now),
            _ => false,
        }
    }

    /// `worker` takes it until `lease_until`; `None` when it is not due.
    pub fn claim(&self, worker: &str, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Option<Self> {
        if !self.is_due(now) {
            return None;
        }
        let mut next = self.changed(now);
        next.status = NotificationStatus::Sending;
        next.lease = Some(Lease { owner: worker.to_owned(), until: lease_until });
        Some(next)
    }

    /// Hands a claim back unsent (a dispatcher shutting down): pending and due again now, so
    /// another dispatcher takes it at once instead of after the lease. `None` unless `worker`
    /// holds it.
    pub fn release(&self, worker: &str, now: DateTime<Utc>) -> Option<Self> {
        let holds = self.lease.as_ref().is_some_and(|lease| lease.owner == worker);
        if self.status != NotificationStatus::Sending || !holds {
            return None;
        }
        let mut next = self.changed(now);
        next.status = NotificationStatus::Pending;
        next.lease = None;
        next.next_attempt_at = now;
        Some(next)
    }

    /// The state after `worker`'s send ended with `result`, and the attempt to log. Accepted:
    /// sent, with a fresh delivery state for the new message. Temporary failure: pending again
    /// after the policy's backoff. Permanent failure, a second timeout or the last attempt: failed.
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
        let holds = self.lease.as_ref().is_some_and(|lease| lease.owner == worker);
        if self.status != NotificationStatus::Sending || !holds {
            return Err(LeaseLost);
        }
        let number = self.attempts + 1;
        let ambiguous = matches!(result, Err(SmsError::Ambiguous(_)));
        let mut next = self.changed(now);
        let mut charge = (None, None);
        next.attempts = number;
        next.timed_out = self.timed_out || ambiguous;
        next.lease = None;
        let (outcome, error) = match policy.after(self.id, number, result, self.timed_out, self.retry_since, now) {
            AttemptOutcome::Sent(receipt) => {
                charge = (receipt.cost, receipt.parts);
                let note = receipt
                    .unreadable_cost
                    .map(|raw| format!("sent; the provider's cost {raw:?} is not exact money, so no cost is kept"));
                next.status = NotificationStatus::Sent;
                next.provider_message_id = Some(receipt.message_id);
                next.provider_status = Some(receipt.status);
                next.sent_at = Some(now);
                next.last_error = None;
                next.delivery_status = None;
                next.delivery_failure_reason = None;
                (AttemptResult::Sent, note)
            }
            AttemptOutcome::RetryAt { at, error } => {
                next.status = NotificationStatus::Pending;
                next.next_attempt_at = at;
                next.last_error = Some(error.clone());
                (AttemptResult::Retry, Some(error))
            }
            AttemptOutcome::GiveUp { error } => {
                next.status = NotificationStatus::Failed;
                next.last_error = Some(error.clone());
                (AttemptResult::Failed, Some(error))
            }
        };
        let recipient = self.recipient.clone();
        let (cost, parts) = charge;
        Ok((next, Attempt { number, attempted_at: now, outcome, recipient, error, cost, parts }))
    }

    /// Pending again now, to `recipient` (the customer's current number, so a corrected phone
    /// is texted), with a fresh retry window and no message yet: reports about the earlier
    /// message no longer apply, and the re-send starts its own delivery state.
    ///
    /// # Errors
    /// [`NotRetryable`] unless it failed or was undelivered.
    pub fn requeue(&self, recipient: PhoneNumber, now: DateTime<Utc>) -> Result<Self, NotRetryable> {
        if !self.status.is_retryable_by_hand() {
            return Err(NotRetryable(self.status));
        }
        let mut next = self.changed(now);
        next.status = NotificationStatus::Pending;
        next.recipient = recipient;
        next.retry_since = now;
        next.attempts = 0;
        next.timed_out = false;
        next.next_attempt_at = now;
        next.provider_message_id = None;
        next.provider_status = None;
        next.sent_at = None;
        next.delivery_status = None;
        next.delivery_failure_reason = None;
        Ok(next)
    }

    /// Applies a provider delivery report about the current message, monotonically: a final
    /// status (delivered or not) is never replaced, and a report naming another phone number
    /// than the one texted is ignored. Numbers are compared as numbers: `254733111222` and
    /// `+254733111222` are one recipient (Africa's Talking writes either).
    pub fn apply_delivery_report(&self, report: &DeliveryReport, now: DateTime<Utc>) -> ReportDecision {
        if self.provider_message_id.as_deref() != Some(report.provider_message_id.as_str()) {
            return ReportDecision::Ignore(IgnoredReport::OtherMessage);
        }
        if report.phone_number.as_deref().is_some_and(|phone| !same_number(&self.recipient, phone)) {
            return ReportDecision::Ignore(IgnoredReport::WrongRecipient);
        }
        if let Some(current) = self.delivery_status.as_deref() {
            if is_final_delivery_status(current) {
                return ReportDecision::Ignore(IgnoredReport::AlreadyFinal);
            }
            if current == report.status {
                return ReportDecision::Ignore(IgnoredReport::Duplicate);
            }
        }
        let mut next = self.changed(now);
        next.delivery_status = Some(report.status.clone());
        next.delivery_failure_reason = report.failure_reason.clone();
        if is_final_delivery_status(&report.status) {
            next.status = if report.status == "Success" {
                NotificationStatus::Delivered
            } else {
                NotificationStatus::Undelivered
            };
        }
        ReportDecision::Apply(Box::new(next))
    }
}

/// Delivery-report statuses after which nothing changes any more.
pub const FINAL_DELIVERY_STATUSES: [&str; 5] = ["Success", "Failed", "Rejected", "AbsentSubscriber", "Expired"];

/// Whether a report with `status` is final.
pub fn is_final_delivery_status(status: &str) -> bool {
    FINAL_DELIVERY_STATUSES.contains(&status)
}

/// A delivery report as the provider sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The provider's message id from the send.
    pub provider_message_id: String,
    /// The delivery status (`Success`, `Failed`, `Buffered`, ...); see [`FINAL_DELIVERY_STATUSES`].
    pub status: String,
    /// The recipient's number as the provider wrote it.
    pub phone_number: Option<String>,
    /// The mobile network's code, as the provider sent it.
    pub network_code: Option<String>,
    /// Why delivery failed, for failed statuses.
    pub failure_reason: Option<String>,
    /// The raw form, kept for audit.
    pub raw: String,
}

/// Whether `written` (E.164 with or without its `+`) is `recipient`'s number.
fn same_number(recipient: &PhoneNumber, written: &str) -> bool {
    let digits = written.trim().strip_prefix('+').unwrap_or(written.trim());
    digits.bytes().all(|b| b.is_ascii_digit()) && recipient.as_str().strip_prefix('+') == Some(digits)
}

impl DeliveryReport {
    /// The status as a metric label: one of [`DELIVERY_STATUSES`], or `other` for anything
    /// else, so no value from a request becomes a label as it is.
    pub fn status_label(&self) -> &'static str {
        DELIVERY_STATUSES.into_iter().find(|s| *s == self.status).unwrap_or("other")
    }
}

/// Every delivery-report status Africa's Talking documents (contract §2.3).
pub const DELIVERY_STATUSES: [&str; 8] =
    ["Sent", "Submitted", "Buffered", "Rejected", "Success", "Failed", "AbsentSubscriber", "Expired"];

#[cfg(test)]
mod tests;
