//! `/api/v1/orders`: create, list (filter by customer and time), get, change, delete.

use chrono::{DateTime, Utc};
use orderdesk_domain::service::{OrderChanges, OrderDraft, OrderListQuery};
use orderdesk_domain::{CustomerId, NotificationId, OrderId, Permission};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::Services;
use crate::customers::{Deleted, page_request};
use crate::dto::{NewOrderBody, NotificationBody, NotificationListBody, OrderBody, OrderChangesBody, OrderListBody};
use crate::json::JsonBody;
use crate::problem::ApiError;
use crate::security::BearerAuth;
use crate::tags::ApiTags;

/// Order endpoints, including each order's SMS notifications. The services come from request
/// data, so the document can be built without them.
pub struct OrdersApi;

#[derive(ApiResponse)]
pub enum OrderCreated {
    /// The order was created.
    #[oai(status = 201)]
    Created(Json<OrderBody>, #[oai(header = "Location")] String),
}

#[OpenApi(tag = "ApiTags::Orders")]
impl OrdersApi {
    /// Create an order
    ///
    /// `amount` is a decimal string with at most the currency's minor digits.
    /// An unknown `customer_id` is a 422 on that field.
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders", method = "post", operation_id = "createOrder")]
    async fn create(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<NewOrderBody>,
    ) -> Result<OrderCreated, ApiError> {
        let caller = auth.require(Permission::WriteOrders)?;
        let body = body.parse()?;
        let draft = OrderDraft {
            customer_id: CustomerId::from_uuid(body.customer_id),
            item: body.item,
            amount: body.amount.0,
            currency: body.currency,
            ordered_at: body.ordered_at,
        };
        let order = services.orders.create(draft, caller.actor()).await?;
        let location = format!("/api/v1/orders/{}", order.id());
        Ok(OrderCreated::Created(Json(order.into()), location))
    }

    /// List orders
    ///
    /// Newest first, optionally only one customer's and only those ordered in
    /// `[ordered_from, ordered_to)`.
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
        /// Only orders placed at or after this time (RFC 3339).
        ordered_from: Query<Option<DateTime<Utc>>>,
        /// Only orders placed before this time (RFC 3339).
        ordered_to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<OrderListBody>, ApiError> {
        auth.require(Permission::ReadOrders)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        let query = OrderListQuery {
            customer_id: customer_id.0.map(CustomerId::from_uuid),
            ordered_from: ordered_from.0,
            ordered_to: ordered_to.0,
        };
        Ok(Json(services.orders.list(query, page).await?.into()))
    }

    /// Get an order
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "get", operation_id = "getOrder")]
    async fn get(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<OrderBody>, ApiError> {
        auth.require(Permission::ReadOrders)?;
        Ok(Json(services.orders.get(OrderId::from_uuid(id.0)).await?.into()))
    }

    /// Change an order
    ///
    /// Only the fields present are changed.
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "patch", operation_id = "updateOrder")]
    async fn update(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<OrderChangesBody>,
    ) -> Result<Json<OrderBody>, ApiError> {
        let caller = auth.require(Permission::WriteOrders)?;
        let body = body.parse()?;
        let changes = OrderChanges {
            item: body.item,
            amount: body.amount.map(|a| a.0),
            currency: body.currency,
            ordered_at: body.ordered_at,
        };
        Ok(Json(services.orders.update(OrderId::from_uuid(id.0), changes, caller.actor()).await?.into()))
    }

    /// Delete an order
    ///
    /// Requires the `write:orders` permission.
    #[oai(path = "/api/v1/orders/:id", method = "delete", operation_id = "deleteOrder")]
    async fn delete(&self, services: Data<&Services>, auth: BearerAuth, id: Path<Uuid>) -> Result<Deleted, ApiError> {
        auth.require(Permission::WriteOrders)?;
        services.orders.delete(OrderId::from_uuid(id.0)).await?;
        Ok(Deleted::NoContent)
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
        id: Path<Uuid>,
    ) -> Result<Json<NotificationListBody>, ApiError> {
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
        id: Path<Uuid>,
        nid: Path<Uuid>,
    ) -> Result<Json<NotificationBody>, ApiError> {
        let caller = auth.require(Permission::WriteOrders)?;
        let reveal = caller.has(Permission::ReadCustomers);
        let notification =
            services.notifications.retry(OrderId::from_uuid(id.0), NotificationId::from_uuid(nid.0)).await?;
        Ok(Json(NotificationBody::new(notification, Vec::new(), reveal)))
    }
}
