//! The order aggregate.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditTrail;
use crate::auth::Actor;
use crate::customer::CustomerId;
use crate::error::InvalidValue;
use crate::money::Money;
use crate::text::bounded_text;

/// Identifies an order. New ids are UUIDv7, so they sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderId(Uuid);

impl OrderId {
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

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What was ordered: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    /// The longest item name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// # Errors
    /// [`InvalidValue::Empty`], [`InvalidValue::TooLong`] or [`InvalidValue::ControlCharacters`].
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        bounded_text(input, Self::MAX_CHARS).map(Self)
    }
    /// The trimmed item name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An order a customer placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    id: OrderId,
    customer_id: CustomerId,
    item: ItemName,
    amount: Money,
    ordered_at: DateTime<Utc>,
    audit: AuditTrail,
}

impl Order {
    /// A new order recorded by `actor` at `now`.
    pub fn new(
        customer_id: CustomerId,
        item: ItemName,
        amount: Money,
        ordered_at: DateTime<Utc>,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Self {
        Self { id: OrderId::generate(), customer_id, item, amount, ordered_at, audit: AuditTrail::new(now, actor) }
    }

    /// Rebuilds an order from stored, already valid parts.
    pub fn restore(
        id: OrderId,
        customer_id: CustomerId,
        item: ItemName,
        amount: Money,
        ordered_at: DateTime<Utc>,
        audit: AuditTrail,
    ) -> Self {
        Self { id, customer_id, item, amount, ordered_at, audit }
    }

    /// The order's id.
    pub fn id(&self) -> OrderId {
        self.id
    }
    /// The customer who placed it.
    pub fn customer_id(&self) -> CustomerId {
        self.customer_id
    }
    /// What was ordered.
    pub fn item(&self) -> &ItemName {
        &self.item
    }
    /// What it costs.
    pub fn amount(&self) -> Money {
        self.amount
    }
    /// When the customer ordered (may differ from when it was recorded).
    pub fn ordered_at(&self) -> DateTime<Utc> {
        self.ordered_at
    }
    /// When the order was recorded.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.audit.created_at
    }
    /// When the order last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.audit.updated_at
    }
    /// Who recorded and last changed the order, and when.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// Applies the given changes; the audit trail moves only when something changed.
    pub fn change(
        &mut self,
        item: Option<ItemName>,
        amount: Option<Money>,
        ordered_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        actor: &Actor,
    ) {
        let before = self.clone();
        if let Some(item) = item {
            self.item = item;
        }
        if let Some(amount) = amount {
            self.amount = amount;
        }
        if let Some(ordered_at) = ordered_at {
            self.ordered_at = ordered_at;
        }
        if *self != before {
            self.audit.touch(now, actor);
        }
    }
}

/// Checks a time a client gave for an order (`ordered_at`, list bounds): only the years
/// 0001-9999, which RFC 3339 can write and both databases sort correctly. Kept at
/// microsecond precision, as every supported database stores it.
///
/// # Errors
/// [`InvalidValue::TimeOutOfRange`].
pub fn order_time(time: DateTime<Utc>) -> Result<DateTime<Utc>, InvalidValue> {
    use chrono::{Datelike, SubsecRound};
    if (1..=9999).contains(&time.year()) { Ok(time.trunc_subsecs(6)) } else { Err(InvalidValue::TimeOutOfRange) }
}
