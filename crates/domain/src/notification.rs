//! SMS notifications: the outbox record written with each order, the retry policy, the
//! message template, and the rules for provider delivery reports.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::customer::PhoneNumber;
use crate::error::InvalidValue;
use crate::order::{Order, OrderId};

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
}

impl NotificationStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 6] =
        [Self::Pending, Self::Sending, Self::Sent, Self::Delivered, Self::Undelivered, Self::Failed];

    /// The stored and wire name, e.g. `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
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

/// The outbox record: one SMS to send for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The notification's id.
    pub id: NotificationId,
    /// The order it announces.
    pub order_id: OrderId,
    /// The customer's phone number at the time of the order.
    pub recipient: PhoneNumber,
    /// The rendered SMS text.
    pub message: String,
    /// Where it is in its life.
    pub status: NotificationStatus,
    /// Attempts made so far (a re-queue by hand starts a new budget).
    pub attempts: u32,
    /// When it is next due to be sent (meaningful while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The provider's message id, once it accepted the SMS; delivery reports refer to it.
    pub provider_message_id: Option<String>,
    /// The provider's status in its answer to the send (e.g. `Success`).
    pub provider_status: Option<String>,
    /// What the provider charged, as it wrote it (e.g. `KES 0.80`).
    pub cost: Option<String>,
    /// The provider's last delivery-report status (`Success`, `Failed`, `Buffered`, ...).
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
    /// When the provider accepted it; `None` until then.
    pub sent_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// A notification due now.
    pub fn new(order_id: OrderId, recipient: PhoneNumber, message: String, now: DateTime<Utc>) -> Self {
        Self {
            id: NotificationId::generate(),
            order_id,
            recipient,
            message,
            status: NotificationStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            provider_message_id: None,
            provider_status: None,
            cost: None,
            delivery_status: None,
            delivery_failure_reason: None,
            last_error: None,
            timed_out: false,
            created_at: now,
            updated_at: now,
            sent_at: None,
        }
    }
}

/// One attempt to hand a notification to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's number, from 1.
    pub number: u32,
    /// When the attempt ended.
    pub attempted_at: DateTime<Utc>,
    /// `sent`, `retry` or `failed`.
    pub outcome: String,
    /// Why it failed; `None` when it was sent.
    pub error: Option<String>,
}

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

/// What happened to a delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportEffect {
    /// The notification's delivery status changed.
    Applied,
    /// A duplicate, or an interim status after a final one: nothing changed.
    Ignored,
    /// No notification has this provider id.
    UnknownMessage,
}

/// Renders the order SMS from a template with `{reference}`, `{item}`, `{amount}`,
/// `{currency}`, `{date}` and `{time}` (in the configured time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    template: String,
    time_zone: Tz,
}

/// GSM-7 fits 160 characters in one SMS segment; anything else is UCS-2 at 70.
const GSM7_SEGMENT: usize = 160;
const UCS2_SEGMENT: usize = 70;
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

impl MessageTemplate {
    /// The template used unless one is configured.
    pub const DEFAULT: &'static str =
        "Order {reference} received: {item}, {currency} {amount} on {date} at {time}. Thank you!";

    /// # Errors
    /// [`InvalidValue::Empty`] for an empty template, [`InvalidValue::Region`] for an unknown time zone.
    pub fn new(template: &str, time_zone: &str) -> Result<Self, InvalidValue> {
        if template.trim().is_empty() {
            return Err(InvalidValue::Empty);
        }
        let time_zone: Tz = time_zone.parse().map_err(|_| InvalidValue::Region)?;
        Ok(Self { template: template.to_owned(), time_zone })
    }

    /// A short reference a customer can quote: the id's last 8 hex digits, upper-case.
    pub fn reference(order: &Order) -> String {
        let simple = order.id().as_uuid().simple().to_string().to_ascii_uppercase();
        simple[simple.len() - 8..].to_owned()
    }

    /// The message for `order`; the item is shortened so the text fits one segment when it can.
    pub fn render(&self, order: &Order) -> String {
        let local = order.ordered_at().with_timezone(&self.time_zone);
        let fill = |item: &str| {
            self.template
                .replace("{reference}", &Self::reference(order))
                .replace("{item}", item)
                .replace("{amount}", &order.amount().amount_string())
                .replace("{currency}", order.amount().currency().code())
                .replace("{date}", &local.format("%d %b %Y").to_string())
                .replace("{time}", &local.format("%H:%M").to_string())
        };
        let item = order.item().as_str();
        let full = fill(item);
        let limit = if full.chars().all(|c| GSM7_BASIC.contains(c)) { GSM7_SEGMENT } else { UCS2_SEGMENT };
        let overflow = full.chars().count().saturating_sub(limit);
        if overflow == 0 {
            return full;
        }
        let keep = item.chars().count().saturating_sub(overflow + 3);
        if keep == 0 {
            return full;
        }
        fill(&format!("{}...", item.chars().take(keep).collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Currency, CustomerId, ItemName, Money};
    use chrono::TimeZone;

    fn order(item: &str) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 6, 30, 0).unwrap();
        let money = Money::parse("250.50", Currency::parse("KES").unwrap()).unwrap();
        Order::new(CustomerId::generate(), ItemName::parse(item).unwrap(), money, at, at, &Actor::new("t"))
    }

    #[test]
    fn message_uses_local_time_and_exact_amount() {
        let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi").unwrap();
        let order = order("Maize flour 2kg");
        let text = template.render(&order);
        let reference = MessageTemplate::reference(&order);
        assert_eq!(
            text,
            format!("Order {reference} received: Maize flour 2kg, KES 250.50 on 26 Nov 2026 at 09:30. Thank you!")
        );
        assert_eq!(reference.len(), 8);
    }

    #[test]
    fn long_items_are_shortened_to_one_segment() {
        let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi").unwrap();
        let text = template.render(&order(&"x".repeat(200)));
        assert_eq!(text.chars().count(), 160);
        assert!(text.contains("x..."));
        // Non-GSM text is UCS-2: 70 characters a segment.
        let short = MessageTemplate::new("{reference}: {item}", "UTC").unwrap();
        assert_eq!(short.render(&order(&"ж".repeat(100))).chars().count(), 70);
    }

    #[test]
    fn bad_templates_and_zones_are_refused() {
        assert_eq!(MessageTemplate::new(" ", "Africa/Nairobi"), Err(InvalidValue::Empty));
        assert_eq!(MessageTemplate::new("x", "Mars/Olympus"), Err(InvalidValue::Region));
    }

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

    #[test]
    fn final_statuses_are_known() {
        assert!(is_final_delivery_status("Success") && is_final_delivery_status("AbsentSubscriber"));
        assert!(!is_final_delivery_status("Buffered") && !is_final_delivery_status("Sent"));
    }
}
