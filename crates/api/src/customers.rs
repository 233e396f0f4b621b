//! `/api/v1/customers`: create, list, get, change, delete, and a customer's orders.

use orderdesk_domain::service::{CustomerChanges, CustomerDraft, OrderListQuery};
use orderdesk_domain::{CustomerId, PageRequest, Permission};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::Services;
use crate::dto::{CustomerBody, CustomerChangesBody, CustomerListBody, NewCustomerBody, OrderListBody, decode_cursor};
use crate::json::JsonBody;
use crate::problem::ApiError;
use crate::security::BearerAuth;
use crate::tags::ApiTags;

/// Customer endpoints. The services come from request data, so the document can be built
/// without them.
pub struct CustomersApi;

#[derive(ApiResponse)]
pub enum CustomerCreated {
    /// The customer was created.
    #[oai(status = 201)]
    Created(Json<CustomerBody>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
}

/// Builds the storage page request from query parameters.
pub(crate) fn page_request(limit: Option<u64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let before = cursor.map(decode_cursor).transpose()?;
    Ok(PageRequest::new(before, limit)?)
}

#[OpenApi(tag = "ApiTags::Customers")]
impl CustomersApi {
    /// Create a customer
    ///
    /// The phone number is validated and stored in E.164; the code must be unused (ignoring case).
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers", method = "post", operation_id = "createCustomer")]
    async fn create(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<NewCustomerBody>,
    ) -> Result<CustomerCreated, ApiError> {
        let caller = auth.require(Permission::WriteCustomers)?;
        let body = body.parse()?;
        let customer = services
            .customers
            .create(CustomerDraft { name: body.name, code: body.code, phone: body.phone }, caller.actor())
            .await?;
        let location = format!("/api/v1/customers/{}", customer.id());
        Ok(CustomerCreated::Created(Json(customer.into()), location))
    }

    /// List customers
    ///
    /// Newest first. Follow `next_cursor` to page through all of them.
    ///
    /// Requires the `read:customers` permission.
    #[oai(path = "/api/v1/customers", method = "get", operation_id = "listCustomers")]
    async fn list(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<CustomerListBody>, ApiError> {
        auth.require(Permission::ReadCustomers)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        Ok(Json(services.customers.list(page).await?.into()))
    }

    /// Get a customer
    ///
    /// Requires the `read:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "get", operation_id = "getCustomer")]
    async fn get(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<CustomerBody>, ApiError> {
        auth.require(Permission::ReadCustomers)?;
        Ok(Json(services.customers.get(CustomerId::from_uuid(id.0)).await?.into()))
    }

    /// Change a customer
    ///
    /// Only the fields present are changed.
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "patch", operation_id = "updateCustomer")]
    async fn update(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        id: Path<Uuid>,
        body: JsonBody<CustomerChangesBody>,
    ) -> Result<Json<CustomerBody>, ApiError> {
        let caller = auth.require(Permission::WriteCustomers)?;
        let body = body.parse()?;
        let changes = CustomerChanges { name: body.name, code: body.code, phone: body.phone };
        Ok(Json(services.customers.update(CustomerId::from_uuid(id.0), changes, caller.actor()).await?.into()))
    }

    /// Delete a customer
    ///
    /// Refused with 409 while the customer has orders, so no order is lost.
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "delete", operation_id = "deleteCustomer")]
    async fn delete(&self, services: Data<&Services>, auth: BearerAuth, id: Path<Uuid>) -> Result<Deleted, ApiError> {
        auth.require(Permission::WriteCustomers)?;
        services.customers.delete(CustomerId::from_uuid(id.0)).await?;
        Ok(Deleted::NoContent)
    }

    /// List a customer's orders
    ///
    /// Newest first; 404 when the customer does not exist.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/customers/:id/orders", method = "get", operation_id = "listCustomerOrders")]
    async fn orders(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<Json<OrderListBody>, ApiError> {
        auth.require(Permission::ReadOrders)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        let query = OrderListQuery { customer_id: Some(CustomerId::from_uuid(id.0)), ..Default::default() };
        Ok(Json(services.orders.list(query, page).await?.into()))
    }
}
