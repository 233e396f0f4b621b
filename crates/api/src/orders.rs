//! `/api/v1/orders`: create, list (filter by customer, status, number and time), get, change,
//! delete, and the lifecycle: status changes and history.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orderdesk_domain::service::{OrderChanges, OrderListQuery, StatusRequest};
use orderdesk_domain::{CustomerId, NotificationId, Order, OrderId, Permission, Principal};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::Services;
use crate::conditional::{self, etag};
use crate::customers::Deleted;
use crate::dto::{
    CustomerBody, HistoryBody, NewOrderBody, NotificationBody, NotificationListBody, OrderBody, OrderChangesBody,
    OrderExpand, OrderListBody, StatusChangeBody,
};
use crate::idempotency::{self, Answer};
use crate::json::JsonBody;
use crate::paging::page_request;
use crate::problem::{ApiError, Errors, GetErrors, ListErrors, ListOfOneErrors, error_sets};
use crate::security::BearerAuth;
use crate::summary::NotificationSummaryBody;
use crate::tags::ApiTags;
use crate::wire::SerdeJson;

error_sets! {
    /// `createOrder`: an unknown `customer_id` is a 422 on that field.
    CreateOrderErrors: [MalformedRequest, Unauthenticated, Forbidden, IdempotencyKeyInUse,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, IdempotencyKeyReused, RateLimited,
        Internal, Unavailable];
    /// `updateOrder`.
    UpdateOrderErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, PreconditionFailed,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `deleteOrder`: 409 once the order has a history (cancel it instead).
    DeleteOrderErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, OrderHasHistory, PreconditionFailed,
        Validation, RateLimited, Internal, Unavailable];
    /// `changeOrderStatus`.
    ChangeStatusErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, InvalidStatusTransition,
        IdempotencyKeyInUse, PreconditionFailed, RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation,
        IdempotencyKeyReused, RateLimited, Internal, Unavailable];
    /// `retryOrderNotification`.
    RetryErrors: [Unauthenticated, Forbidden, NotFound, NotificationNotRetryable, Validation, RateLimited, Internal,
        Unavailable];
}

/// Order endpoints, including each order's SMS notifications. The services come from request
/// data, so the document can be built without them.
pub struct OrdersApi;

#[derive(ApiResponse)]
pub enum OrderCreated {
    /// The order was created (or, replaying an `Idempotency-Key`, had been: then
    /// `Idempotent-Replayed: true` and the first response's body and `Location`).
    #[oai(status = 201)]
    Created(
        SerdeJson<OrderBody>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

/// An order with its version.
#[derive(ApiResponse)]
pub enum OrderRead {
    /// The order; `ETag` is its version, for `If-Match`.
    // Boxed: the 304 variant is small.
    #[oai(status = 200)]
    Ok(SerdeJson<Box<OrderBody>>, #[oai(header = "ETag")] String),
    /// Unchanged since the `If-None-Match` version.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

/// A changed order with its new version.
#[derive(ApiResponse)]
pub enum OrderChanged {
    /// The order as changed; `ETag` is its new version.
    #[oai(status = 200)]
    Ok(Json<OrderBody>, #[oai(header = "ETag")] String),
}

/// An order after a status change.
#[derive(ApiResponse)]
pub enum OrderStatusChanged {
    /// The order with its status; `ETag` is its version (unchanged when it already had the
    /// status). Replaying an `Idempotency-Key`: `Idempotent-Replayed: true` and the first
    /// response's body and `ETag`.
    #[oai(status = 200)]
    Ok(Json<OrderBody>, #[oai(header = "ETag")] String, #[oai(header = "Idempotent-Replayed")] Option<String>),
}

/// What `createOrder` answers, and a retry with its key again.
fn created(order: &Order) -> Answer<OrderBody> {
    let location = format!("/api/v1/orders/{}", order.id());
    Answer::new(order.clone().into(), etag(order.audit().version), Some(location))
}

/// What `changeOrderStatus` answers, and a retry with its key again.
fn status_changed(order: &Order) -> Answer<OrderBody> {
    Answer::new(order.clone().into(), etag(order.audit().version), None)
}

impl From<Answer<OrderBody>> for OrderStatusChanged {
    fn from(answer: Answer<OrderBody>) -> Self {
        let replayed = answer.replayed_header();
        Self::Ok(Json(answer.body), answer.etag, replayed)
    }
}

/// With `expand=customer`, the caller must also hold `read:customers` (403 naming it).
pub(crate) fn check_expand(caller: &Principal, expand: Option<OrderExpand>) -> Result<bool, ApiError> {
    match expand {
        Some(OrderExpand::Customer) if !caller.has(Permission::ReadCustomers) => {
            Err(ApiError::insufficient_permission(Permission::ReadCustomers))
        }
        Some(OrderExpand::Customer) => Ok(true),
        None => Ok(false),
    }
}

/// The customers of `orders`, by id, read in one query.
pub(crate) async fn customers_of(
    services: &Services,
    orders: &[Order],
) -> Result<HashMap<Uuid, CustomerBody>, ApiError> {
    let ids: Vec<CustomerId> = orders.iter().map(Order::customer_id).collect();
    let customers = services.customers.get_many(&ids).await?;
    Ok(customers.into_iter().map(|c| (c.id().as_uuid(), CustomerBody::from(c))).collect())
}

/// A page of orders, each with its customer when `expand` is set.
pub(crate) async fn order_list(
    services: &Services,
    page: orderdesk_domain::Page<Order>,
    expand: bool,
) -> Result<OrderListBody, ApiError> {
    if !expand {
        return Ok(page.into());
    }
    let customers = customers_of(services, &page.items).await?;
    Ok(OrderListBody::expanded(page, &customers))
}

#[OpenApi(tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Create an order
    ///
    /// `amount` is a decimal string with at most the currency's minor digits.
    /// An unknown `customer_id` is a 422 on that field. The customer is texted once the order
    /// is stored.
    ///
    /// With an `Idempotency-Key` (1-255 printable ASCII characters, unique per request), a retry
    /// of the same request by the same caller returns the first response with
    /// `Idempotent-Replayed: true`, creates no order and sends no SMS; the key with another
    /// body is 422 `idempotency-key-reused`; a retry while the first is unfinished waits for
    /// it, or is 409 `idempotency-key-in-use`. Keys are kept for `idempotency.retention_hours`.
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders", method = "post", operation_id = "createOrder")]
    async fn create(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<NewOrderBody>,
        /// Makes retries safe: the same key and body give the first response again.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))]
        idempotency_key: Header<Option<String>>,
    ) -> Result<OrderCreated, Errors<CreateOrderErrors>> {
        let caller = auth.require(Permission::WriteOrders)?;
        let keyed = idempotency::request(caller, idempotency_key.0.as_deref(), "createOrder", body.bytes())?;
        let draft = body.parse()?.into_draft()?;
        let create = |recorder| services.orders.create(draft, caller.actor(), recorder);
        let (Json(body), location, tag, replayed) =
            idempotency::write_once(&services.idempotency, keyed, created, create).await?.into_created();
        Ok(OrderCreated::Created(SerdeJson(body), location, tag, replayed))
    }

    /// List orders
    ///
    /// Newest first, optionally only one customer's, only those in some statuses, only the one
    /// with a number, only those ordered in `[ordered_from, ordered_to)`, and only those changed
    /// since `updated_since` (for incremental sync). Filters combine: an order must pass every
    /// one given. Paging with `cursor` keeps the filters: send the same ones with it.
    ///
    /// `expand=customer` embeds each order's customer as `customer` (read in one query per
    /// page); it needs `read:customers` too, else 403 `insufficient_scope`.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders", method = "get", operation_id = "listOrders")]
    // poem-openapi takes each query parameter as an argument.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// Only this customer's orders.
        customer_id: Query<Option<Uuid>>,
        /// Only orders in these statuses: one or more, comma-separated (`ready,out_for_delivery`).
        #[oai(validator(max_length = 200))]
        status: Query<Option<String>>,
        /// Only the order with this number (`1042` for `ORD-1042`); an empty list if none has it.
        #[oai(validator(minimum(value = "1"), maximum(value = "99999999")))]
        number: Query<Option<i64>>,
        /// Only orders placed at or after this time (RFC 3339).
        ordered_from: Query<Option<DateTime<Utc>>>,
        /// Only orders placed before this time (RFC 3339).
        ordered_to: Query<Option<DateTime<Utc>>>,
        /// Only orders changed (or created) at or after this time (RFC 3339, e.g. the
        /// `updated_at` of the newest order you hold): incremental sync.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// `customer`: embed each order's customer (needs `read:customers` too).
        expand: Query<Option<OrderExpand>>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<SerdeJson<OrderListBody>, Errors<ListOfOneErrors>> {
        let caller = auth.require(Permission::ReadOrders)?;
        let expand = check_expand(caller, expand.0)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        let query = OrderListQuery {
            customer_id: customer_id.0.map(CustomerId::from_uuid),
            status: status.0,
            number: number.0,
            ordered_from: ordered_from.0,
            ordered_to: ordered_to.0,
            updated_since: updated_since.0,
        };
        let page = services.orders.list(query, page).await?;
        Ok(SerdeJson(order_list(&services, page, expand).await?))
    }

    /// Get an order
    ///
    /// `ETag` is the order's version; with `If-None-Match` naming it, the answer is 304.
    ///
    /// `expand=customer` embeds the order's customer as `customer`; it needs `read:customers`
    /// too, else 403 `insufficient_scope`. The `ETag` stays the order's version (for
    /// `If-Match`), so with `expand` `If-None-Match` is not applied: the customer may have
    /// changed while the order did not.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// The `ETag` you hold: 304 if the order is unchanged (not applied with `expand`).
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
        /// `customer`: embed the order's customer (needs `read:customers` too).
        expand: Query<Option<OrderExpand>>,
    ) -> Result<OrderRead, Errors<GetErrors>> {
        let caller = auth.require(Permission::ReadOrders)?;
        let expand = check_expand(caller, expand.0)?;
        let order = services.orders.get(OrderId::from_uuid(id.0)).await?;
        let version = order.audit().version;
        if !expand && conditional::if_none_match(if_none_match.0.as_deref(), version) {
            return Ok(OrderRead::NotModified(etag(version)));
        }
        let body = if expand {
            let customers = customers_of(&services, std::slice::from_ref(&order)).await?;
            OrderBody::expanded(order, &customers)
        } else {
            order.into()
        };
        Ok(OrderRead::Ok(SerdeJson(Box::new(body)), etag(version)))
    }

    /// Change an order
    ///
    /// Only the fields present are changed. With `If-Match` (the `ETag` from a GET), the
    /// change applies only to that version: 412 `precondition-failed` if someone changed it
    /// since. Without `If-Match` the last write wins.
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "patch", operation_id = "updateOrder")]
    async fn update(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        body: JsonBody<OrderChangesBody>,
        /// The `ETag` the change is based on, or `*`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<OrderChanged, Errors<UpdateOrderErrors>> {
        let caller = auth.require(Permission::WriteOrders)?;
        // The body before If-Match, so an invalid body is refused whatever the version.
        let body = body.parse()?;
        body.check_as_sent()?;
        let expected = conditional::if_match(if_match.0.as_deref())?.expected_version();
        let changes =
            OrderChanges { item: body.item, amount: body.amount, currency: body.currency, ordered_at: body.ordered_at };
        let order = services.orders.update(OrderId::from_uuid(id.0), changes, caller.actor(), expected).await?;
        let tag = etag(order.audit().version);
        Ok(OrderChanged::Ok(Json(order.into()), tag))
    }

    /// Delete an order taken by mistake
    ///
    /// Only an order still `received` with no SMS attempted (an SMS not yet attempted goes
    /// with it); any other is 409 `order-has-history`: cancel it with `changeOrderStatus`, so
    /// its history and SMS records (and their costs) stay. With `If-Match`, only that version
    /// is deleted (412 otherwise).
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "delete", operation_id = "deleteOrder")]
    async fn delete(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// The `ETag` of the version to delete, or `*`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<Deleted, Errors<DeleteOrderErrors>> {
        auth.require(Permission::WriteOrders)?;
        let expected = conditional::if_match(if_match.0.as_deref())?.expected_version();
        services.orders.delete(OrderId::from_uuid(id.0), expected).await?;
        Ok(Deleted::NoContent)
    }

    /// Change an order's status
    ///
    /// Moves the order along its lifecycle: `received` → `confirmed` → `ready` →
    /// `out_for_delivery` → `completed`, forward only, skipping steps allowed; `cancelled`
    /// from every status but `completed` (with `cancel_reason`); `completed` and `cancelled`
    /// are final. A move the table forbids is 409 `invalid-status-transition` naming both
    /// statuses. Asking for the status the order already has is 200 and changes nothing (even
    /// with a stale `If-Match`), so a retry is safe. Each change is added to the order's history
    /// in the same transaction.
    ///
    /// `If-Match` and `Idempotency-Key` work as on `updateOrder` and `createOrder`.
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders/:id/status", method = "post", operation_id = "changeOrderStatus")]
    async fn change_status(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        body: JsonBody<StatusChangeBody>,
        /// The `ETag` the change is based on, or `*`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        /// Makes retries safe: the same key and body give the first response again.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))]
        idempotency_key: Header<Option<String>>,
    ) -> Result<OrderStatusChanged, Errors<ChangeStatusErrors>> {
        let caller = auth.require(Permission::WriteOrders)?;
        let operation = format!("changeOrderStatus {}", id.0);
        let keyed = idempotency::request(caller, idempotency_key.0.as_deref(), &operation, body.bytes())?;
        // The body before If-Match, so an invalid body is refused whatever the version.
        let body = body.parse()?;
        body.check_as_sent()?;
        let expected = conditional::if_match(if_match.0.as_deref())?.expected_version();
        let request = StatusRequest {
            status: body.status,
            note: body.note,
            cancel_reason: body.cancel_reason,
            notify: body.notify.unwrap_or(true),
        };
        let id = OrderId::from_uuid(id.0);
        let change = |recorder| services.orders.change_status(id, request, caller.actor(), expected, recorder);
        Ok(idempotency::write_once(&services.idempotency, keyed, status_changed, change).await?.into())
    }

    /// An order's history
    ///
    /// Every status the order took, oldest first: `{status, at, by, note}` (and `cancel_reason`
    /// for the cancellation), starting with its creation (`received`).
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders/:id/history", method = "get", operation_id = "getOrderHistory")]
    async fn history(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<HistoryBody>, Errors<GetErrors>> {
        auth.require(Permission::ReadOrders)?;
        let changes = services.orders.history(OrderId::from_uuid(id.0)).await?;
        Ok(Json(HistoryBody { items: changes.into_iter().map(Into::into).collect() }))
    }

    /// List an order's SMS notifications
    ///
    /// Status, attempts, last error, provider message id, delivery status and timestamps.
    /// The recipient's number is customer data: shown in full only with `read:customers`,
    /// else masked as `***5678`.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders/:id/notifications", method = "get", operation_id = "listOrderNotifications")]
    async fn notifications(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<NotificationListBody>, Errors<GetErrors>> {
        let caller = auth.require(Permission::ReadOrders)?;
        let reveal = caller.has(Permission::ReadCustomers);
        let views = services.notifications.list_for_order(OrderId::from_uuid(id.0)).await?;
        let items = views.into_iter().map(|v| NotificationBody::new(v.notification, v.attempts, reveal)).collect();
        Ok(Json(NotificationListBody { items }))
    }

    /// Retry a failed SMS notification
    ///
    /// Re-queues a `failed` or `undelivered` notification with a fresh attempt budget; 409 for
    /// any other status (so a delivered SMS is never sent twice by accident).
    ///
    /// Requires the `write:orders` permission.
    #[oai(
        path = "/api/v1/orders/:id/notifications/:nid/retry",
        method = "post",
        operation_id = "retryOrderNotification"
    )]
    async fn retry_notification(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The order's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// The notification's id (a UUID, from the order's notifications).
        nid: Path<Uuid>,
    ) -> Result<Json<NotificationBody>, Errors<RetryErrors>> {
        let caller = auth.require(Permission::WriteOrders)?;
        let reveal = caller.has(Permission::ReadCustomers);
        let notification =
            services.notifications.retry(OrderId::from_uuid(id.0), NotificationId::from_uuid(nid.0)).await?;
        Ok(Json(NotificationBody::new(notification, Vec::new(), reveal)))
    }

    /// Summarise SMS and their cost
    ///
    /// For the period `[from, to)`: `counts` has, for every status, how many notifications
    /// created in the period are in it now; `cost` adds up the cost of every attempt made in
    /// the period (retries and re-sends by hand each count), exactly, one entry per currency
    /// ordered by code: `{"currency": "KES", "amount": "12.40", "attempts": 5, "parts": 7}`.
    /// Costs are what Africa's Talking charged per attempt (`cost`, `messageParts`).
    ///
    /// `from` and `to` are required RFC 3339 date-times; `to` must be after `from` and at most
    /// 366 days later, else 422 naming `to`.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/notifications/summary", method = "get", operation_id = "getNotificationSummary")]
    async fn notification_summary(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The period's start, inclusive (RFC 3339, e.g. `2026-11-01T00:00:00+03:00`).
        from: Query<DateTime<Utc>>,
        /// The period's end, exclusive (RFC 3339); after `from`, at most 366 days later.
        to: Query<DateTime<Utc>>,
    ) -> Result<Json<NotificationSummaryBody>, Errors<ListErrors>> {
        auth.require(Permission::ReadOrders)?;
        Ok(Json(services.notifications.summary(from.0, to.0).await?.into()))
    }
}
