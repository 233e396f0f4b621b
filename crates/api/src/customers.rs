//! `/api/v1/customers`: create, list, get, change, delete, and a customer's orders.

use chrono::{DateTime, Utc};
use orderdesk_domain::service::{CustomerChanges, CustomerListQuery, OrderListQuery};
use orderdesk_domain::{Customer, CustomerId, Permission};
use poem::web::Data;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use uuid::Uuid;

use crate::Services;
use crate::conditional::{self, etag};
use crate::dto::IncomingMessageListBody;
use crate::dto::{CustomerBody, CustomerChangesBody, CustomerListBody, NewCustomerBody, OrderExpand, OrderListBody};
use crate::idempotency::{self, Answer};
use crate::json::JsonBody;
use crate::orders::{check_expand, order_list};
use crate::paging::page_request;
use crate::problem::{Errors, GetErrors, ListErrors, ListOfOneErrors, error_sets};
use crate::security::BearerAuth;
use crate::tags::ApiTags;

error_sets! {
    /// `createCustomer`.
    CreateCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, DuplicateCode, IdempotencyKeyInUse,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, IdempotencyKeyReused, RateLimited,
        Internal, Unavailable];
    /// `updateCustomer`.
    UpdateCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, DuplicateCode,
        PreconditionFailed, RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited,
        Internal, Unavailable];
    /// `deleteCustomer`.
    DeleteCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, CustomerHasOrders,
        PreconditionFailed, Validation, RateLimited, Internal, Unavailable];
}

/// Customer endpoints. The services come from request data, so the document can be built
/// without them.
pub struct CustomersApi;

#[derive(ApiResponse)]
pub enum CustomerCreated {
    /// The customer was created (or, replaying an `Idempotency-Key`, had been: then
    /// `Idempotent-Replayed: true` and the first response's body and `Location`).
    #[oai(status = 201)]
    Created(
        Json<CustomerBody>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Idempotent-Replayed")] Option<String>,
    ),
}

/// A customer with its version.
#[derive(ApiResponse)]
pub enum CustomerRead {
    /// The customer; `ETag` is its version, for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<CustomerBody>, #[oai(header = "ETag")] String),
    /// Unchanged since the `If-None-Match` version.
    #[oai(status = 304)]
    NotModified(#[oai(header = "ETag")] String),
}

/// A changed customer with its new version.
#[derive(ApiResponse)]
pub enum CustomerChanged {
    /// The customer as changed; `ETag` is its new version.
    #[oai(status = 200)]
    Ok(Json<CustomerBody>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum Deleted {
    /// Deleted.
    #[oai(status = 204)]
    NoContent,
}

/// What `createCustomer` answers, and a retry with its key again.
fn created(customer: &Customer) -> Answer<CustomerBody> {
    let location = format!("/api/v1/customers/{}", customer.id());
    Answer::new(customer.clone().into(), etag(customer.audit().version), Some(location))
}

#[OpenApi(tag = "ApiTags::Customers")]
impl CustomersApi {
    /// Create a customer
    ///
    /// The phone number is validated and stored in E.164; the code must be unused (ignoring case).
    ///
    /// With an `Idempotency-Key` (1-255 printable ASCII characters, unique per request), a retry
    /// of the same request by the same caller returns the first response with
    /// `Idempotent-Replayed: true` and creates nothing; the key with another body is 422
    /// `idempotency-key-reused`; a retry while the first is unfinished waits for it, or is 409
    /// `idempotency-key-in-use`. Keys are kept for `idempotency.retention_hours`.
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers", method = "post", operation_id = "createCustomer")]
    async fn create(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<NewCustomerBody>,
        /// Makes retries safe: the same key and body give the first response again.
        #[oai(name = "Idempotency-Key", validator(min_length = 1, max_length = 255))]
        idempotency_key: Header<Option<String>>,
    ) -> Result<CustomerCreated, Errors<CreateCustomerErrors>> {
        let caller = auth.require(Permission::WriteCustomers)?;
        let keyed = idempotency::request(caller, idempotency_key.0.as_deref(), "createCustomer", body.bytes())?;
        let draft = body.parse()?.into_draft()?;
        let create = |recorder| services.customers.create(draft, caller.actor(), recorder);
        let (body, location, tag, replayed) =
            idempotency::write_once(&services.idempotency, keyed, created, create).await?.into_created();
        Ok(CustomerCreated::Created(body, location, tag, replayed))
    }

    /// List or look up customers
    ///
    /// Newest first. Follow `next_cursor` to page through all of them.
    ///
    /// Lookups: `phone` (read as a new customer's phone is, in the shop's default region, and
    /// compared in E.164: `0712 345 678` finds `+254712345678`; several customers may share a
    /// number), `code` (exact, ignoring case), `q` (2-100 characters: the name or code contains
    /// it, ignoring case) and `updated_since` (changed at or after, for incremental sync).
    /// Filters combine: a customer must pass every one given. Paging with `cursor` keeps the
    /// filters: send the same ones with it. An invalid `phone`, or a `q` outside 2-100
    /// characters, is 422 naming the parameter.
    ///
    /// Requires the `read:customers` permission.
    #[oai(path = "/api/v1/customers", method = "get", operation_id = "listCustomers")]
    // poem-openapi takes each query parameter as an argument.
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// Only customers with this phone number, local (`0712 345 678`, in the shop's region)
        /// or international (`+254712345678`); compared in E.164.
        #[oai(validator(max_length = 64))]
        phone: Query<Option<String>>,
        /// Only the customer with this code, ignoring case (`amina-01` finds `AMINA-01`).
        #[oai(validator(max_length = 32))]
        code: Query<Option<String>>,
        /// Only customers whose name or code contains this text, ignoring case; 2-100
        /// characters (after trimming spaces).
        #[oai(validator(min_length = 2, max_length = 100))]
        q: Query<Option<String>>,
        /// Only customers changed (or created) at or after this time (RFC 3339, e.g. the
        /// `updated_at` of the newest customer you hold): incremental sync.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<CustomerListBody>, Errors<ListErrors>> {
        auth.require(Permission::ReadCustomers)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        let query = CustomerListQuery { phone: phone.0, code: code.0, q: q.0, updated_since: updated_since.0 };
        Ok(Json(services.customers.list_matching(query, page).await?.into()))
    }

    /// Get a customer
    ///
    /// `ETag` is the customer's version; with `If-None-Match` naming it, the answer is 304.
    ///
    /// Requires the `read:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "get", operation_id = "getCustomer")]
    async fn get(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The customer's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// The `ETag` you hold: 304 if the customer is unchanged.
        #[oai(name = "If-None-Match")]
        if_none_match: Header<Option<String>>,
    ) -> Result<CustomerRead, Errors<GetErrors>> {
        auth.require(Permission::ReadCustomers)?;
        let customer = services.customers.get(CustomerId::from_uuid(id.0)).await?;
        let version = customer.audit().version;
        if conditional::if_none_match(if_none_match.0.as_deref(), version) {
            return Ok(CustomerRead::NotModified(etag(version)));
        }
        Ok(CustomerRead::Ok(Json(customer.into()), etag(version)))
    }

    /// Change a customer
    ///
    /// Only the fields present are changed. With `If-Match` (the `ETag` from a GET), the
    /// change applies only to that version: 412 `precondition-failed` if someone changed it
    /// since. Without `If-Match` the last write wins.
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "patch", operation_id = "updateCustomer")]
    async fn update(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The customer's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        body: JsonBody<CustomerChangesBody>,
        /// The `ETag` the change is based on, or `*`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<CustomerChanged, Errors<UpdateCustomerErrors>> {
        let caller = auth.require(Permission::WriteCustomers)?;
        // The body before If-Match, so an invalid body is refused whatever the version.
        let body = body.parse()?;
        body.check_as_sent()?;
        let expected = conditional::if_match(if_match.0.as_deref())?.expected_version();
        let changes = CustomerChanges {
            name: body.name,
            code: body.code,
            phone: body.phone,
            language: body.language.map(|l| l.as_str().to_owned()),
            sms_opt_out: body.sms_opt_out,
        };
        let customer =
            services.customers.update(CustomerId::from_uuid(id.0), changes, caller.actor(), expected).await?;
        let tag = etag(customer.audit().version);
        Ok(CustomerChanged::Ok(Json(customer.into()), tag))
    }

    /// Delete a customer
    ///
    /// Refused with 409 while the customer has orders, so no order is lost. With `If-Match`,
    /// only that version is deleted (412 otherwise).
    ///
    /// Requires the `write:customers` permission.
    #[oai(path = "/api/v1/customers/:id", method = "delete", operation_id = "deleteCustomer")]
    async fn delete(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The customer's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// The `ETag` of the version to delete, or `*`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<Deleted, Errors<DeleteCustomerErrors>> {
        auth.require(Permission::WriteCustomers)?;
        let expected = conditional::if_match(if_match.0.as_deref())?.expected_version();
        services.customers.delete(CustomerId::from_uuid(id.0), expected).await?;
        Ok(Deleted::NoContent)
    }

    /// List a customer's orders
    ///
    /// Newest first, optionally only those in some statuses, the one with a number, or those
    /// changed since `updated_since`; 404 when the customer does not exist. Filters combine.
    ///
    /// `expand=customer` embeds the customer in each order as `customer`; it needs
    /// `read:customers` too, else 403 `insufficient_scope`.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/customers/:id/orders", method = "get", operation_id = "listCustomerOrders")]
    // poem-openapi takes each query parameter as an argument.
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The customer's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// Only orders in these statuses: one or more, comma-separated (`ready,out_for_delivery`).
        #[oai(validator(max_length = 200))]
        status: Query<Option<String>>,
        /// Only the order with this number; an empty list if the customer has none with it.
        #[oai(validator(minimum(value = "1"), maximum(value = "99999999")))]
        number: Query<Option<i64>>,
        /// Only orders changed (or created) at or after this time (RFC 3339): incremental sync.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// `customer`: embed the customer in each order (needs `read:customers` too).
        expand: Query<Option<OrderExpand>>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<OrderListBody>, Errors<ListOfOneErrors>> {
        let caller = auth.require(Permission::ReadOrders)?;
        let expand = check_expand(caller, expand.0)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        let query = OrderListQuery {
            customer_id: Some(CustomerId::from_uuid(id.0)),
            status: status.0,
            number: number.0,
            updated_since: updated_since.0,
            ..Default::default()
        };
        let page = services.orders.list(query, page).await?;
        Ok(Json(order_list(&services, page, expand).await?))
    }

    /// List a customer's incoming messages
    ///
    /// The text messages sent from the customer's current phone number to the shop's number
    /// or shortcode (received through Africa's Talking's incoming-message callback), newest
    /// first. Messages are matched by number when read: after a phone change, the new
    /// number's messages are listed. 404 when the customer does not exist.
    ///
    /// Requires the `read:customers` permission.
    #[oai(path = "/api/v1/customers/:id/messages", method = "get", operation_id = "listCustomerMessages")]
    async fn messages(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The customer's id (a UUID, from `Location` or a list).
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<IncomingMessageListBody>, Errors<ListOfOneErrors>> {
        auth.require(Permission::ReadCustomers)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        Ok(Json(services.inbox.list_for_customer(CustomerId::from_uuid(id.0), page).await?.into()))
    }
}
