//! `GET /api/v1/events`: the event feed, and the one JSON shape of an event that the feed and
//! webhook deliveries share ([`JsonEventEncoder`]).

use chrono::{DateTime, Utc};
use orderdesk_domain::ports::EventEncoder;
use orderdesk_domain::service::{EventListError, EventPage};
use orderdesk_domain::webhook::WebhookTestEvent;
use orderdesk_domain::{Event, EventId, EventObject, Permission};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::ToJSON;
use poem_openapi::{Object, OpenApi, Union};
use uuid::Uuid;

use crate::Services;
use crate::dto::{
    CustomerBody, NotificationBody, OrderBody, decode_event_cursor, encode_event_cursor, refused_cursor_on,
};
use crate::problem::{ApiError, Errors, ListErrors};
use crate::security::BearerAuth;
use crate::tags::ApiTags;
use crate::webhook_endpoints::WebhookTestEventBody;

/// Something that changed: `{id, type, created_at, data: {object}}`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Event")]
pub struct EventBody {
    /// Unique: webhook deliveries carry it in `Orderdesk-Event-Id`; drop an event you have
    /// seen.
    pub id: Uuid,
    /// What happened: `customer.created`, `customer.updated`, `customer.deleted`,
    /// `order.created`, `order.updated`, `order.status_changed`, `order.deleted`,
    /// `notification.sent`, `notification.delivered`, `notification.failed` or
    /// `notification.skipped`. A string, not an enum: the list may grow, so ignore a type you
    /// do not know.
    #[oai(rename = "type")]
    pub kind: String,
    /// When the change was made (UTC).
    pub created_at: DateTime<Utc>,
    pub data: EventDataBody,
}

/// The object an event is about.
#[derive(Debug, Clone, Object)]
#[oai(rename = "EventData")]
pub struct EventDataBody {
    /// The customer, order or notification (by the part of `type` before the dot) as its own
    /// endpoint returns it, right after the change (right before it, for a deletion). A
    /// notification's `attempt_log` is empty here: its attempts are listed by
    /// `listOrderNotifications`.
    pub object: EventObjectBody,
}

/// A customer, an order or a notification.
#[derive(Debug, Clone, Union)]
#[oai(rename = "EventObject", one_of)]
pub enum EventObjectBody {
    Customer(CustomerBody),
    Order(OrderBody),
    Notification(NotificationBody),
}

impl From<Event> for EventBody {
    fn from(event: Event) -> Self {
        let object = match event.object {
            EventObject::Customer(customer) => EventObjectBody::Customer(customer.into()),
            EventObject::Order(order) => EventObjectBody::Order(order.into()),
            // Whoever reads events may read the customers they name (the customer events carry
            // the number in full anyway).
            EventObject::Notification(n) => EventObjectBody::Notification(NotificationBody::new(n, Vec::new(), true)),
        };
        Self {
            id: event.id.as_uuid(),
            kind: event.kind.as_str().to_owned(),
            created_at: event.created_at,
            data: EventDataBody { object },
        }
    }
}

/// A page of the feed, oldest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "EventList")]
pub struct EventListBody {
    pub items: Vec<EventBody>,
    /// Pass as `after` to read on: the last event's cursor, or the `after` given when no event
    /// is newer. Keep it and ask again later to receive only new events. Absent only when the
    /// feed is empty and no `after` was given.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
    /// Whether more events were waiting when this page was read: ask again at once.
    pub has_more: bool,
}

impl From<EventPage> for EventListBody {
    fn from(page: EventPage) -> Self {
        Self {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next.map(|id| encode_event_cursor(id.as_uuid())),
            has_more: page.has_more,
        }
    }
}

/// Writes events as the feed shows them, for webhook bodies.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonEventEncoder;

impl EventEncoder for JsonEventEncoder {
    fn encode(&self, event: &Event) -> Vec<u8> {
        let json = EventBody::from(event.clone()).to_json().unwrap_or_default();
        serde_json::to_vec(&json).unwrap_or_default()
    }

    fn encode_test(&self, test: &WebhookTestEvent) -> Vec<u8> {
        let json = WebhookTestEventBody::from(test).to_json().unwrap_or_default();
        serde_json::to_vec(&json).unwrap_or_default()
    }
}

impl From<EventListError> for ApiError {
    fn from(error: EventListError) -> Self {
        match error {
            EventListError::Validation(errors) => errors.into(),
            EventListError::Storage(e) => Self::storage(e),
        }
    }
}

/// The event feed.
pub struct EventsApi;

#[OpenApi(tag = "ApiTags::Events")]
impl EventsApi {
    /// List events
    ///
    /// Every change to a customer, an order or an SMS, written in the same transaction as the
    /// change, oldest first. Poll with the last `next_cursor` as `after` to receive each
    /// event once; events appear here about a second after their change (so one committed
    /// late is never skipped) and are kept for `events.retention_days` days.
    ///
    /// Requires the `read:events` permission.
    #[oai(path = "/api/v1/events", method = "get", operation_id = "listEvents")]
    async fn list(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// Only these types: comma-separated exact types (`order.created`), wildcards per
        /// object (`order.*`, `customer.*`, `notification.*`) or `*`. All when absent.
        #[oai(name = "type", validator(min_length = 1, max_length = 400))]
        kind: Query<Option<String>>,
        /// `next_cursor` from the previous page: only events after it (43 characters; a
        /// cursor this server did not issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        after: Query<Option<String>>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
    ) -> Result<Json<EventListBody>, Errors<ListErrors>> {
        auth.require(Permission::ReadEvents)?;
        let after = match after.0.as_deref() {
            Some(cursor) => {
                Some(EventId::from_uuid(decode_event_cursor(cursor).map_err(|_| refused_cursor_on("after"))?))
            }
            None => None,
        };
        let limit = limit.0.unwrap_or(orderdesk_domain::PageRequest::DEFAULT_LIMIT);
        let page = services.events.list(kind.0.as_deref(), after, limit).await.map_err(ApiError::from)?;
        Ok(Json(page.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orderdesk_domain::{
        Actor, Customer, CustomerCode, CustomerName, EventType, NewEvent, PhoneNumber, PhoneRegion,
    };

    #[test]
    fn an_event_is_written_as_the_feed_shows_it() {
        let now = Utc::now();
        let customer = Customer::new(
            CustomerName::parse("Amina").expect("name"),
            CustomerCode::parse("AMINA").expect("code"),
            PhoneNumber::parse("0712345678", PhoneRegion::default()).expect("phone"),
            now,
            &Actor::new("test"),
        );
        let event = NewEvent::customer(EventType::CustomerCreated, &customer, now).stored(EventId::generate());
        let json: serde_json::Value = serde_json::from_slice(&JsonEventEncoder.encode(&event)).expect("json");
        assert_eq!(json["id"], event.id.to_string());
        assert_eq!(json["type"], "customer.created");
        assert_eq!(json["data"]["object"]["code"], "AMINA");
        assert_eq!(json["data"]["object"]["phone"], "+254712345678");
    }
}
