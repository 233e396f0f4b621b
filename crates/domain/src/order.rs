//! The order aggregate.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditTrail;
use crate::auth::Actor;
use crate::customer::CustomerId;
use crate::error::InvalidValue;
use crate::money::Money;
use crate::numbering::{OrderNumber, OrderReference};
use crate::status::{Cancellation, OrderStatus, StatusChange, StatusNote};
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

/// Where an order stands in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifecycle {
    /// The current status.
    pub status: OrderStatus,
    /// When it took that status (its creation for `received`).
    pub changed_at: DateTime<Utc>,
    /// Why it was cancelled; `Some` exactly when the status is `cancelled`.
    pub cancellation: Option<Cancellation>,
}

/// An order a customer placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    id: OrderId,
    customer_id: CustomerId,
    reference: OrderReference,
    item: ItemName,
    amount: Money,
    ordered_at: DateTime<Utc>,
    lifecycle: Lifecycle,
    audit: AuditTrail,
}

impl Order {
    /// A new order, `received`, recorded by `actor` at `now` under the number storage gave it.
    pub fn new(
        customer_id: CustomerId,
        reference: OrderReference,
        item: ItemName,
        amount: Money,
        ordered_at: DateTime<Utc>,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Self {
        let lifecycle = Lifecycle { status: OrderStatus::Received, changed_at: now, cancellation: None };
        let audit = AuditTrail::new(now, actor);
        Self { id: OrderId::generate(), customer_id, reference, item, amount, ordered_at, lifecycle, audit }
    }

    /// Rebuilds an order from stored, already valid parts; see [`Order::with_lifecycle`].
    pub fn restore(
        id: OrderId,
        customer_id: CustomerId,
        reference: OrderReference,
        item: ItemName,
        amount: Money,
        ordered_at: DateTime<Utc>,
        audit: AuditTrail,
    ) -> Self {
        let lifecycle = Lifecycle { status: OrderStatus::Received, changed_at: audit.created_at, cancellation: None };
        Self { id, customer_id, reference, item, amount, ordered_at, lifecycle, audit }
    }

    /// The restored order with its stored lifecycle (a restored order is `received` until then).
    #[must_use]
    pub fn with_lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    /// Its number, unique and never reused.
    pub fn number(&self) -> OrderNumber {
        self.reference.number()
    }
    /// The reference the customer is told, e.g. `"ORD-1042"`.
    pub fn reference(&self) -> &OrderReference {
        &self.reference
    }
    /// Its status.
    pub fn status(&self) -> OrderStatus {
        self.lifecycle.status
    }
    /// Its status, when it took it, and why it was cancelled.
    pub fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }

    /// The first entry of its history: its creation, `received`.
    pub fn creation(&self) -> StatusChange {
        StatusChange {
            status: OrderStatus::Received,
            at: self.audit.created_at,
            by: self.audit.created_by.clone(),
            note: None,
            cancel_reason: None,
            version: 0,
        }
    }

    /// Moves the order to `to` by the transition table ([`OrderStatus::can_move_to`]).
    /// `cancellation` is given exactly when `to` is `cancelled` (the caller checks). Returns
    /// the history entry, or `None` when the order already has that status: nothing changes.
    ///
    /// # Errors
    /// The current status when the table forbids the move.
    pub fn move_to(
        &mut self,
        to: OrderStatus,
        cancellation: Option<Cancellation>,
        note: Option<StatusNote>,
        now: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<Option<StatusChange>, OrderStatus> {
        let from = self.lifecycle.status;
        if from == to {
            return Ok(None);
        }
        if !from.can_move_to(to) {
            return Err(from);
        }
        let cancel_reason = cancellation.as_ref().map(|c| c.reason);
        self.lifecycle = Lifecycle { status: to, changed_at: now, cancellation };
        self.audit.touch(now, actor);
        let by = Some(actor.as_str().to_owned());
        Ok(Some(StatusChange { status: to, at: now, by, note, cancel_reason, version: self.audit.version }))
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
