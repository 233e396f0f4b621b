//! SMS notifications: the outbox record written with each order and every rule of its life.
//!
//! Each transition (claim, attempt outcome, requeue, delivery report) is a method on
//! [`Notification`] that returns the new state; its fields are private, so repositories only
//! store what these methods decided (reading it back with [`Notification::restore`]), and only
//! if nothing changed the row since it was read ([`Notification::version`]).

mod attempt;
mod catalog;
mod cost;
mod encoding;
mod event;
mod policy;
mod report;
mod sending;
mod template;

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::customer::PhoneNumber;
use crate::language::Language;
use crate::order::OrderId;

pub use attempt::{Attempt, AttemptOutcome};
pub use catalog::{CatalogError, EventTexts, SmsCatalog};
pub use cost::{CostTotal, InvalidCost, NotificationSummary, SmsCost, micros_string};
pub use encoding::{SmsEncoding, SmsLength, gsm7_septets, transliterate};
pub use event::{SkipReason, SmsEvent};
pub use policy::{RetryPolicy, SmsError, SmsReceipt};
pub use report::{
    DELIVERY_STATUSES, DeliveryReport, FINAL_DELIVERY_STATUSES, IgnoredReport, ReportDecision, is_final_delivery_status,
};
pub use sending::{AttemptRecord, Claim, Lease, LeaseLost};
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

/// A notification's stored fields, for [`Notification::restore`] (adapters read them back
/// with [`Notification::parts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationParts {
    /// The notification's id.
    pub id: NotificationId,
    /// The order it announces.
    pub order_id: OrderId,
    /// What about the order it announces.
    pub event: SmsEvent,
    /// The language of [`NotificationParts::message`].
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

/// The outbox record: one SMS to send for one order. Its fields are private: it changes only
/// through its transitions, each returning the next version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification(NotificationParts);

/// Only failed or undelivered notifications can be re-queued by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the notification is {}; only failed or undelivered ones can be retried", .0.as_str())]
pub struct NotRetryable(pub NotificationStatus);

impl Notification {
    /// A notification due now.
    pub fn new(order_id: OrderId, recipient: PhoneNumber, message: String, now: DateTime<Utc>) -> Self {
        Self(NotificationParts {
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
        })
    }

    /// Rebuilds a notification from storage, as it was stored (no rule is checked: the
    /// transitions that wrote it did).
    pub fn restore(parts: NotificationParts) -> Self {
        Self(parts)
    }

    /// The stored fields, for a repository to write.
    pub fn parts(&self) -> &NotificationParts {
        &self.0
    }

    /// The same notification announcing `event` in `language` (by [`Notification::new`]:
    /// `order.created` in English).
    pub fn for_event(mut self, event: SmsEvent, language: Language) -> Self {
        self.0.event = event;
        self.0.language = language;
        self
    }

    /// The same new notification, never to be sent: [`NotificationStatus::Skipped`] for `reason`.
    pub fn skipped(mut self, reason: SkipReason) -> Self {
        self.0.status = NotificationStatus::Skipped;
        self.0.skip_reason = Some(reason);
        self
    }

    /// The notification's id.
    pub fn id(&self) -> NotificationId {
        self.0.id
    }
    /// The order it announces.
    pub fn order_id(&self) -> OrderId {
        self.0.order_id
    }
    /// What about the order it announces.
    pub fn event(&self) -> SmsEvent {
        self.0.event
    }
    /// The language of its message.
    pub fn language(&self) -> Language {
        self.0.language
    }
    /// Why it was not sent, exactly when [`NotificationStatus::Skipped`].
    pub fn skip_reason(&self) -> Option<SkipReason> {
        self.0.skip_reason
    }
    /// The number texted (see [`NotificationParts::recipient`]).
    pub fn recipient(&self) -> &PhoneNumber {
        &self.0.recipient
    }
    /// The rendered SMS text.
    pub fn message(&self) -> &str {
        &self.0.message
    }
    /// Where it is in its life.
    pub fn status(&self) -> NotificationStatus {
        self.0.status
    }
    /// Attempts made so far (a re-queue by hand starts a new budget).
    pub fn attempts(&self) -> u32 {
        self.0.attempts
    }
    /// When it is next due to be sent (meaningful while pending).
    pub fn next_attempt_at(&self) -> DateTime<Utc> {
        self.0.next_attempt_at
    }
    /// When the current retry window opened (see [`NotificationParts::retry_since`]).
    pub fn retry_since(&self) -> DateTime<Utc> {
        self.0.retry_since
    }
    /// The dispatcher sending it, while [`NotificationStatus::Sending`].
    pub fn lease(&self) -> Option<&Lease> {
        self.0.lease.as_ref()
    }
    /// The provider's id for the current message, once it accepted it.
    pub fn provider_message_id(&self) -> Option<&str> {
        self.0.provider_message_id.as_deref()
    }
    /// The provider's status in its answer to the send (e.g. `Success`).
    pub fn provider_status(&self) -> Option<&str> {
        self.0.provider_status.as_deref()
    }
    /// The provider's last delivery-report status for the current message.
    pub fn delivery_status(&self) -> Option<&str> {
        self.0.delivery_status.as_deref()
    }
    /// The failure reason from the last delivery report, if any.
    pub fn delivery_failure_reason(&self) -> Option<&str> {
        self.0.delivery_failure_reason.as_deref()
    }
    /// Why the last attempt failed; `None` once a send succeeded.
    pub fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    /// Whether an attempt already ended without an answer (the next such attempt gives up).
    pub fn timed_out(&self) -> bool {
        self.0.timed_out
    }
    /// When it was written (with its order).
    pub fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When the provider accepted the current message; `None` until then.
    pub fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at
    }
    /// Its version (see [`NotificationParts::version`]).
    pub fn version(&self) -> u32 {
        self.0.version
    }

    /// How the message travels: its encoding (GSM-7 or UCS-2) and how many segments it is
    /// billed as. Derived from the stored text, so it always matches what is sent.
    pub fn length(&self) -> SmsLength {
        SmsEncoding::measure(&self.0.message)
    }

    /// A copy to change: the next version, changed at `now`.
    fn changed(&self, now: DateTime<Utc>) -> Self {
        Self(NotificationParts { version: self.0.version.wrapping_add(1), updated_at: now, ..self.0.clone() })
    }

    /// Pending again now, to `recipient` (the customer's current number, so a corrected phone
    /// is texted), with a fresh retry window and no message yet: reports about the earlier
    /// message no longer apply, and the re-send starts its own delivery state.
    ///
    /// # Errors
    /// [`NotRetryable`] unless it failed or was undelivered.
    pub fn requeue(&self, recipient: PhoneNumber, now: DateTime<Utc>) -> Result<Self, NotRetryable> {
        if !self.0.status.is_retryable_by_hand() {
            return Err(NotRetryable(self.0.status));
        }
        let mut next = self.changed(now);
        let parts = &mut next.0;
        parts.status = NotificationStatus::Pending;
        parts.recipient = recipient;
        parts.retry_since = now;
        parts.attempts = 0;
        parts.timed_out = false;
        parts.next_attempt_at = now;
        parts.provider_message_id = None;
        parts.provider_status = None;
        parts.sent_at = None;
        parts.delivery_status = None;
        parts.delivery_failure_reason = None;
        Ok(next)
    }
}

#[cfg(test)]
mod tests;
