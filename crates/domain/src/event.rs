//! Events: what changed, written in the same transaction as the change, for the event feed
//! (`GET /api/v1/events`) and signed webhooks.
//!
//! An event carries the object as it was right after the change (a customer, an order or an
//! SMS notification); adapters keep that snapshot, so a feed read later still shows the object
//! as it was, even once it is deleted. Services build [`NewEvent`]s; the store gives each its
//! id as it writes it, inside the change's transaction ([`Event`]).

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::InvalidValue;
use crate::{Customer, Notification, NotificationStatus, Order};

/// Identifies an event and places it in the feed: a UUIDv7 the store takes as it writes the
/// event, inside the change's transaction, so ids sort in the order events were written (and,
/// within [`crate::service::EventService::SETTLE`], in commit order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(Uuid);

impl EventId {
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

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened. The wire name (`order.status_changed`) names the object type before the dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A customer was created (by the API, the dashboard or an import).
    CustomerCreated,
    /// A customer's fields, language or opt-out changed.
    CustomerUpdated,
    /// A customer was deleted; the object is the customer as it was.
    CustomerDeleted,
    /// An order was created.
    OrderCreated,
    /// An order's item, amount or time changed.
    OrderUpdated,
    /// An order moved to another status.
    OrderStatusChanged,
    /// A mistaken order was deleted; the object is the order as it was.
    OrderDeleted,
    /// An SMS was accepted by the provider.
    NotificationSent,
    /// The provider reported an SMS delivered to the handset.
    NotificationDelivered,
    /// An SMS failed for good: every attempt used, refused, or reported undelivered.
    NotificationFailed,
    /// An SMS was not sent on purpose (opted out, or a number that cannot take SMS).
    NotificationSkipped,
}

impl EventType {
    /// Every event type, in the order the documentation lists them.
    pub const ALL: [Self; 11] = [
        Self::CustomerCreated,
        Self::CustomerUpdated,
        Self::CustomerDeleted,
        Self::OrderCreated,
        Self::OrderUpdated,
        Self::OrderStatusChanged,
        Self::OrderDeleted,
        Self::NotificationSent,
        Self::NotificationDelivered,
        Self::NotificationFailed,
        Self::NotificationSkipped,
    ];

    /// The stored and wire name, e.g. `order.status_changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::OrderCreated => "order.created",
            Self::OrderUpdated => "order.updated",
            Self::OrderStatusChanged => "order.status_changed",
            Self::OrderDeleted => "order.deleted",
            Self::NotificationSent => "notification.sent",
            Self::NotificationDelivered => "notification.delivered",
            Self::NotificationFailed => "notification.failed",
            Self::NotificationSkipped => "notification.skipped",
        }
    }

    /// Reads a wire name exactly (case matters).
    ///
    /// # Errors
    /// [`InvalidValue::UnknownEventType`] for any other text.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL.into_iter().find(|t| t.as_str() == name).ok_or(InvalidValue::UnknownEventType)
    }

    /// The object type before the dot: `customer`, `order` or `notification`.
    pub fn object_type(self) -> &'static str {
        self.as_str().split_once('.').map_or("", |(object, _)| object)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which event types a feed or a webhook endpoint takes: a comma-separated list of exact names
/// (`order.created`), object wildcards (`order.*`) or `*` for all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSelector {
    patterns: Vec<String>,
    types: Vec<EventType>,
}

impl EventSelector {
    /// Every event type.
    pub fn all() -> Self {
        Self { patterns: vec!["*".to_owned()], types: EventType::ALL.to_vec() }
    }

    /// Reads patterns, each an exact event type, `<object>.*` (`customer`, `order`,
    /// `notification`) or `*`. Repeats are kept once.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`] for no pattern, [`InvalidValue::UnknownEventType`] for a
    /// pattern that names no event type.
    pub fn parse<'a>(patterns: impl IntoIterator<Item = &'a str>) -> Result<Self, InvalidValue> {
        let mut selector = Self { patterns: Vec::new(), types: Vec::new() };
        for pattern in patterns {
            let pattern = pattern.trim();
            let matched: Vec<EventType> = match pattern {
                "*" => EventType::ALL.to_vec(),
                _ => match pattern.strip_suffix(".*") {
                    Some(object) => EventType::ALL.into_iter().filter(|t| t.object_type() == object).collect(),
                    None => vec![EventType::parse(pattern)?],
                },
            };
            if matched.is_empty() {
                return Err(InvalidValue::UnknownEventType);
            }
            if !selector.patterns.iter().any(|p| p == pattern) {
                selector.patterns.push(pattern.to_owned());
            }
            for kind in matched {
                if !selector.types.contains(&kind) {
                    selector.types.push(kind);
                }
            }
        }
        if selector.patterns.is_empty() {
            return Err(InvalidValue::Empty);
        }
        selector.types.sort();
        Ok(selector)
    }

    /// Reads a comma-separated list, as a query parameter carries it (`order.*,customer.created`).
    ///
    /// # Errors
    /// As [`EventSelector::parse`].
    pub fn parse_list(list: &str) -> Result<Self, InvalidValue> {
        Self::parse(list.split(','))
    }

    /// The patterns as given (deduplicated), e.g. `["order.*"]`.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// The event types the patterns select, in [`EventType`] order.
    pub fn types(&self) -> &[EventType] {
        &self.types
    }

    /// Whether `kind` is selected.
    pub fn selects(&self, kind: EventType) -> bool {
        self.types.contains(&kind)
    }

    /// Whether every event type is selected (no filter needed).
    pub fn is_all(&self) -> bool {
        self.types.len() == EventType::ALL.len()
    }
}

/// The object an event is about, as it was right after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventObject {
    /// For `customer.*` events.
    Customer(Customer),
    /// For `order.*` events.
    Order(Order),
    /// For `notification.*` events.
    Notification(Notification),
}

impl EventObject {
    /// The object's id.
    pub fn id(&self) -> Uuid {
        match self {
            Self::Customer(customer) => customer.id().as_uuid(),
            Self::Order(order) => order.id().as_uuid(),
            Self::Notification(notification) => notification.id().as_uuid(),
        }
    }
}

/// One stored change: `{id, type, created_at, data: {object}}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Unique, and the event's place in the feed; deliveries carry it so receivers can drop
    /// repeats.
    pub id: EventId,
    /// What happened.
    pub kind: EventType,
    /// When the change was made (UTC, microseconds).
    pub created_at: DateTime<Utc>,
    /// The object after the change (before it, for a deletion).
    pub object: EventObject,
}

/// A change's event as a service writes it with the change; the store gives it its
/// [`EventId`] ([`NewEvent::stored`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened.
    pub kind: EventType,
    /// When the change was made (UTC, microseconds): the service's clock.
    pub created_at: DateTime<Utc>,
    /// The object after the change (before it, for a deletion).
    pub object: EventObject,
}

impl NewEvent {
    fn new(kind: EventType, object: EventObject, now: DateTime<Utc>) -> Self {
        Self { kind, created_at: now, object }
    }

    /// The event as stored under `id`.
    pub fn stored(self, id: EventId) -> Event {
        Event { id, kind: self.kind, created_at: self.created_at, object: self.object }
    }

    /// `customer.created`, `customer.updated` or `customer.deleted` about `customer`.
    ///
    /// # Panics
    /// Never: a `kind` of another object type is a programming error caught in debug builds.
    pub fn customer(kind: EventType, customer: &Customer, now: DateTime<Utc>) -> Self {
        debug_assert_eq!(kind.object_type(), "customer");
        Self::new(kind, EventObject::Customer(customer.clone()), now)
    }

    /// An `order.*` event about `order`.
    pub fn order(kind: EventType, order: &Order, now: DateTime<Utc>) -> Self {
        debug_assert_eq!(kind.object_type(), "order");
        Self::new(kind, EventObject::Order(order.clone()), now)
    }

    /// The event a notification's move from `before` to `after.status()` makes, if any: sent,
    /// delivered, failed (failed or undelivered) or skipped. Staying in a status (a second
    /// delivery report saying the same) makes none.
    pub fn notification_moved(before: NotificationStatus, after: &Notification, now: DateTime<Utc>) -> Option<Self> {
        if before == after.status() {
            return None;
        }
        Self::notification_in(after, now)
    }

    /// The event a notification written in `notification.status()` makes at once: only
    /// `notification.skipped` (a new SMS is pending and makes none until it is sent).
    pub fn notification_written(notification: &Notification, now: DateTime<Utc>) -> Option<Self> {
        (notification.status() == NotificationStatus::Skipped)
            .then(|| Self::notification_in(notification, now))
            .flatten()
    }

    fn notification_in(notification: &Notification, now: DateTime<Utc>) -> Option<Self> {
        let kind = match notification.status() {
            NotificationStatus::Sent => EventType::NotificationSent,
            NotificationStatus::Delivered => EventType::NotificationDelivered,
            NotificationStatus::Failed | NotificationStatus::Undelivered => EventType::NotificationFailed,
            NotificationStatus::Skipped => EventType::NotificationSkipped,
            NotificationStatus::Pending | NotificationStatus::Sending => return None,
        };
        Some(Self::new(kind, EventObject::Notification(notification.clone()), now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_name_reads_back_and_names_its_object() {
        for kind in EventType::ALL {
            assert_eq!(EventType::parse(kind.as_str()), Ok(kind));
            assert!(["customer", "order", "notification"].contains(&kind.object_type()));
        }
        assert_eq!(EventType::parse("Order.Created"), Err(InvalidValue::UnknownEventType));
    }

    #[test]
    fn selectors_take_names_wildcards_and_refuse_unknown_ones() {
        let orders = EventSelector::parse_list("order.*").expect("order.*");
        assert_eq!(orders.types().len(), 4);
        assert!(orders.selects(EventType::OrderStatusChanged));
        assert!(!orders.selects(EventType::CustomerCreated));
        let mixed = EventSelector::parse_list("order.created,customer.*,order.created").expect("mixed");
        assert_eq!(mixed.patterns(), ["order.created", "customer.*"]);
        assert_eq!(mixed.types().len(), 4);
        assert!(EventSelector::parse_list("*").expect("*").is_all());
        assert_eq!(EventSelector::parse_list("invoice.*"), Err(InvalidValue::UnknownEventType));
        assert_eq!(EventSelector::parse_list("order.shipped"), Err(InvalidValue::UnknownEventType));
        assert_eq!(EventSelector::parse_list("order*"), Err(InvalidValue::UnknownEventType));
        assert_eq!(EventSelector::parse(std::iter::empty()), Err(InvalidValue::Empty));
    }
}
