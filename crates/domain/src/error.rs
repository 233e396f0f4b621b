//! Typed domain errors. Adapters map infrastructure failures into [`RepoError`];
//! the API maps the use-case errors to HTTP statuses.

use std::fmt;

use crate::{CustomerId, OrderId, OrderStatus};

/// Why a single value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    /// Empty or only whitespace.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The longest length allowed, in characters.
        max: usize,
    },
    /// Shorter than allowed (after trimming).
    #[error("must be at least {min} characters")]
    TooShort {
        /// The shortest length allowed, in characters.
        min: usize,
    },
    /// Contains control characters.
    #[error("must not contain control characters")]
    ControlCharacters,
    /// A customer code with characters other than letters, digits, `-` and `_`.
    #[error("may contain only letters, digits, '-' and '_'")]
    CodeCharacters,
    /// Not a valid phone number in the numbering plan.
    #[error("is not a valid phone number")]
    Phone,
    /// Not a known ISO 4217 code, or a unit without a minor unit.
    #[error("is not an active ISO 4217 currency code in upper case, such as \"KES\"")]
    Currency,
    /// Not a plain decimal number.
    #[error("is not a decimal number such as \"250.50\"")]
    Decimal,
    /// Zero or negative.
    #[error("must be greater than zero")]
    NotPositive,
    /// More decimal places than the currency's minor unit has.
    #[error("may have at most {max} decimal places for this currency")]
    TooManyDecimals {
        /// The currency's number of minor digits.
        max: u32,
    },
    /// Above the accepted maximum.
    #[error("is too large")]
    TooLarge,
    /// An unknown region code (also used for an unknown time zone).
    #[error("is not a supported ISO 3166 region code")]
    Region,
    /// Not after another field's value (e.g. `ordered_to` not after `ordered_from`).
    #[error("must not be earlier than {other}")]
    BeforeOther {
        /// The name of the field it must come after.
        other: &'static str,
    },
    /// A time outside the years 0001-9999 (what RFC 3339 and both databases keep in order).
    #[error("must be a time in the years 0001 to 9999")]
    TimeOutOfRange,
    /// Not an RFC 3339 date-time exactly (`2026-11-26T09:30:00Z`, `…+03:00`): a second 60, an
    /// offset without its colon, `UTC`, a space for `T` or surrounding spaces are refused.
    #[error("must be an RFC 3339 date-time such as \"2026-11-26T09:30:00Z\" or \"2026-11-26T12:30:00+03:00\"")]
    Timestamp,
    /// Text with bidirectional override or isolate controls (they can disguise what a
    /// message says), or with no visible character.
    #[error("must be visible text without direction-changing characters")]
    InvisibleText,
    /// Refers to a record that does not exist.
    #[error("does not exist")]
    UnknownReference,
    /// Not an order status this server knows.
    #[error("must be one of received, confirmed, ready, out_for_delivery, completed, cancelled")]
    UnknownStatus,
    /// Not a language this server texts in.
    #[error("must be one of en, sw")]
    UnknownLanguage,
    /// Not an SMS event this server knows.
    #[error(
        "must be one of order.created, order.confirmed, order.ready, order.out_for_delivery, order.completed, order.cancelled"
    )]
    UnknownEvent,
    /// Not an event type (or `<object>.*` wildcard) this server writes.
    #[error(
        "must be an event type such as order.created, a wildcard such as order.* (customer, order, notification), or *"
    )]
    UnknownEventType,
    /// A list longer than allowed.
    #[error("must have at most {max} items")]
    TooMany {
        /// The most items allowed.
        max: usize,
    },
    /// Not an absolute `http://` or `https://` URL without spaces (a webhook endpoint's `url`).
    #[error("must be an absolute http:// or https:// URL without spaces")]
    WebhookUrl,
    /// A stored webhook secret that is not `whsec_` and at least 32 more letters or digits.
    #[error("is not a webhook secret (whsec_…)")]
    WebhookSecret,
    /// A webhook URL deliveries may not go to, with why in words (plain http, credentials in
    /// the URL, a private or loopback address, a name that does not resolve).
    #[error("{0}")]
    RefusedTarget(String),
    /// An SMS event without a text in the settings (`sms.events`), or SMS are disabled.
    #[error("has no SMS text configured (settings sms.events), or SMS are disabled")]
    NoTemplate,
    /// Not a cancel reason this server knows.
    #[error("must be one of customer_request, out_of_stock, duplicate, payment_failed, other")]
    UnknownCancelReason,
    /// Missing, and needed to cancel an order.
    #[error("is required when the status is cancelled")]
    RequiredToCancel,
    /// Given with a status other than `cancelled`, where it would mean nothing.
    #[error("is accepted only when the status is cancelled")]
    OnlyWhenCancelling,
    /// The field is changed by another operation, named here.
    #[error("cannot be changed here; use {operation}")]
    ChangedElsewhere {
        /// The operation that changes it, e.g. `POST /api/v1/orders/{id}/status`.
        operation: &'static str,
    },
    /// A period's end too far after its start (e.g. `to` more than 366 days after `from`).
    #[error("must be at most {max_days} days after {other}")]
    PeriodTooLong {
        /// The longest period allowed, in days.
        max_days: u32,
        /// The name of the field the period starts at.
        other: &'static str,
    },
}

/// A refused value together with the input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct FieldError {
    /// The input field's name, as the client sent it (e.g. `phone`).
    pub field: &'static str,
    /// Why its value was refused.
    pub reason: InvalidValue,
}

/// Every field that failed validation in one request; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// A single failed field.
    pub fn single(field: &'static str, reason: InvalidValue) -> Self {
        Self(vec![FieldError { field, reason }])
    }

    /// These errors and one more failed field after them.
    #[must_use]
    pub fn and(mut self, field: &'static str, reason: InvalidValue) -> Self {
        self.0.push(FieldError { field, reason });
        self
    }

    /// The failed fields, in input order.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid input: {}", parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects field errors while a command is parsed, so a caller hears of all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Collector(Vec<FieldError>);

impl Collector {
    /// Records the error of `result` under `field` and returns its value, if any.
    pub(crate) fn check<T>(&mut self, field: &'static str, result: Result<T, InvalidValue>) -> Option<T> {
        result.map_err(|reason| self.0.push(FieldError { field, reason })).ok()
    }

    /// Returns `value` when no field failed. `value` is `None` only if some check failed,
    /// so the error list is never empty.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, ValidationErrors> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ValidationErrors(self.0)),
        }
    }
}

/// A boxed infrastructure error, kept as a source for logs and never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a repository can report. Adapters decide which infrastructure failure is which.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row to change or delete does not exist.
    #[error("record not found")]
    NotFound,
    /// A unique index refused the write (for customers: the code).
    #[error("unique constraint violated")]
    Duplicate,
    /// The request's `Idempotency-Key` is already stored (a concurrent or earlier request).
    #[error("idempotency key already used")]
    KeyTaken,
    /// The stored row is not at the version the write was decided from.
    #[error("the stored version has changed")]
    VersionMismatch,
    /// A foreign key refused the write: a referenced row is missing, or dependants still exist.
    #[error("foreign key constraint violated")]
    ForeignKey,
    /// The store is busy or unreachable; retrying later may succeed.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else; a bug or a broken store.
    #[error("unexpected storage error")]
    Unexpected(#[source] BoxError),
}

/// Failures of the customer use cases.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// One or more input fields are invalid.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// No customer has this id.
    #[error("customer {0} not found")]
    NotFound(CustomerId),
    /// Another customer already has this code (ignoring case).
    #[error("a customer with code {0:?} already exists")]
    DuplicateCode(String),
    /// `If-Match` named another version than the stored one.
    #[error("customer {0} has changed since the version given")]
    PreconditionFailed(CustomerId),
    /// A request with the same `Idempotency-Key` was stored first (a concurrent retry).
    #[error("the idempotency key was taken by a concurrent request")]
    KeyTaken,
    /// The customer cannot be deleted while orders refer to it.
    #[error("customer {0} still has orders")]
    HasOrders(CustomerId),
    /// The store failed.
    #[error(transparent)]
    Storage(RepoError),
}

/// Failures of the order use cases.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// One or more input fields are invalid (including an unknown customer on create).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// No order has this id.
    #[error("order {0} not found")]
    NotFound(OrderId),
    /// `If-Match` named another version than the stored one.
    #[error("order {0} has changed since the version given")]
    PreconditionFailed(OrderId),
    /// A request with the same `Idempotency-Key` was stored first (a concurrent retry).
    #[error("the idempotency key was taken by a concurrent request")]
    KeyTaken,
    /// The customer to list orders for does not exist.
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    /// The transition table forbids this move.
    #[error("order {id} cannot move from {} to {}", from.as_str(), to.as_str())]
    InvalidTransition {
        /// The order.
        id: OrderId,
        /// Its current status.
        from: OrderStatus,
        /// The status asked for.
        to: OrderStatus,
    },
    /// Only an order still `received` with no SMS attempted can be deleted; cancel it instead.
    #[error(
        "order {0} has a history (its status moved on, or an SMS was attempted): cancel it with POST /api/v1/orders/{0}/status instead"
    )]
    HasHistory(OrderId),
    /// The store failed.
    #[error(transparent)]
    Storage(RepoError),
}
