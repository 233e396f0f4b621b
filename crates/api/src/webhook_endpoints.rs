//! `/api/v1/webhook-endpoints` (#24): where signed events are POSTed. Create (the secret is in
//! that answer only), list, get, delete, rotate the secret, enable again, send a test, and the
//! attempts made. Not to be confused with [`crate::webhooks`], Africa's Talking's callbacks
//! *to* us.

use chrono::{DateTime, Utc};
use orderdesk_domain::service::{TestDelivery, WebhookEndpointDraft};
use orderdesk_domain::webhook::{AttemptOutcome, DeliveryAttempt, WebhookDescription, WebhookTestEvent, WebhookUrl};
use orderdesk_domain::{Page, Permission, WebhookEndpoint, WebhookEndpointId};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use crate::Services;
use crate::dto::{encode_cursor, not_null};
use crate::json::JsonBody;
use crate::paging::page_request;
use crate::problem::{ApiError, Errors, FieldProblem, ListErrors, ListOfOneErrors, error_sets};
use crate::security::BearerAuth;
use crate::tags::ApiTags;

error_sets! {
    /// `createWebhookEndpoint`: a URL deliveries may not go to is a 422 on `url`.
    CreateWebhookEndpointErrors: [MalformedRequest, Unauthenticated, Forbidden, RequestTimeout, PayloadTooLarge,
        UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `getWebhookEndpoint`, `deleteWebhookEndpoint`, `rotateWebhookEndpointSecret`,
    /// `enableWebhookEndpoint`, `testWebhookEndpoint` (a receiver that fails is a 200 result, not a problem).
    WebhookEndpointErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
}

/// A URL that receives signed events.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookEndpoint", example)]
pub struct WebhookEndpointBody {
    pub id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// The event types it receives, as given: exact types (`order.created`), wildcards per
    /// object (`order.*`) or `*`.
    pub events: Vec<String>,
    /// What it is for, as its creator wrote it.
    #[oai(skip_serializing_if_is_none)]
    pub description: Option<String>,
    /// `enabled`, or `disabled` after its deliveries kept failing for `webhooks.retry_for`:
    /// no new events are delivered until `enableWebhookEndpoint`.
    pub status: String,
    /// Why it was disabled (the window and the last answer); only when `disabled`.
    #[oai(skip_serializing_if_is_none)]
    pub disabled_reason: Option<String>,
    /// When it was disabled; only when `disabled`.
    #[oai(skip_serializing_if_is_none)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs (a second `v1`); absent when
    /// only the current secret signs.
    #[oai(skip_serializing_if_is_none)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Token subject of whoever created it.
    #[oai(skip_serializing_if_is_none)]
    pub created_by: Option<String>,
}

impl WebhookEndpointBody {
    /// The endpoint as shown, never with a secret; the previous secret's end only while it
    /// still signs at `now`.
    pub fn new(endpoint: &WebhookEndpoint, now: DateTime<Utc>) -> Self {
        Self {
            id: endpoint.id().as_uuid(),
            url: endpoint.url().as_str().to_owned(),
            events: endpoint.events().patterns().to_vec(),
            description: endpoint.description().map(|d| d.as_str().to_owned()),
            status: endpoint.status().as_str().to_owned(),
            disabled_reason: endpoint.disabled().map(|d| d.reason.clone()),
            disabled_at: endpoint.disabled().map(|d| d.at),
            previous_secret_expires_at: endpoint.previous_secret().map(|p| p.until).filter(|until| *until > now),
            created_at: endpoint.audit().created_at,
            updated_at: endpoint.audit().updated_at,
            created_by: endpoint.audit().created_by.clone(),
        }
    }
}

impl Example for WebhookEndpointBody {
    fn example() -> Self {
        let at = DateTime::from_timestamp(1_764_493_200, 0).unwrap_or_default();
        Self {
            id: Uuid::nil(),
            url: "https://erp.example.com/orderdesk/events".into(),
            events: vec!["order.*".into(), "customer.created".into()],
            description: Some("ERP sync".into()),
            status: "enabled".into(),
            disabled_reason: None,
            disabled_at: None,
            previous_secret_expires_at: None,
            created_at: at,
            updated_at: at,
            created_by: Some("auth0|5f7c8ec7c33c6c004bbafe82".into()),
        }
    }
}

/// An endpoint with its signing secret: the answer to creating one or rotating its secret,
/// the only answers that show it. Keep it where your receiver can read it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookEndpointWithSecret")]
pub struct WebhookEndpointSecretBody {
    #[oai(flatten)]
    pub endpoint: WebhookEndpointBody,
    /// `whsec_` and 64 hex digits. The HMAC-SHA256 key is this whole string (UTF-8, prefix
    /// included). Shown only now.
    pub secret: String,
}

impl WebhookEndpointSecretBody {
    fn new(endpoint: &WebhookEndpoint, now: DateTime<Utc>) -> Self {
        Self { endpoint: WebhookEndpointBody::new(endpoint, now), secret: endpoint.secret().expose().to_owned() }
    }
}

/// A new webhook endpoint.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "NewWebhookEndpoint", example)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpointBody {
    /// An absolute URL, at most 2048 characters. In production (`webhooks.allow_private_targets`
    /// false) it must be `https://`, carry no `user:password@`, and its host must resolve only
    /// to public addresses (no loopback, private, link-local, carrier-grade NAT, ...); the
    /// dev profile allows `http://127.0.0.1:…`.
    #[oai(validator(min_length = 1, max_length = 2048))]
    pub url: String,
    /// 1-20 event types, wildcards per object (`order.*`, `customer.*`, `notification.*`) or
    /// `*`. See `listEvents` for the types.
    #[oai(validator(min_items = 1, max_items = 20))]
    pub events: Vec<String>,
    /// What it is for, 1-200 characters (`null` is refused).
    #[oai(validator(min_length = 1, max_length = 200))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub description: Option<String>,
}

impl Example for NewWebhookEndpointBody {
    fn example() -> Self {
        Self {
            url: "https://erp.example.com/orderdesk/events".into(),
            events: vec!["order.*".into(), "customer.created".into()],
            description: Some("ERP sync".into()),
        }
    }
}

impl NewWebhookEndpointBody {
    /// The document's limits hold for the text as sent (the domain trims before it checks).
    fn check_as_sent(&self) -> Result<(), ApiError> {
        let mut fields = Vec::new();
        for (field, text, max) in [
            ("url", Some(self.url.as_str()), WebhookUrl::MAX_CHARS),
            ("description", self.description.as_deref(), WebhookDescription::MAX_CHARS),
        ] {
            if text.is_some_and(|t| t.chars().count() > max) {
                let message = format!("is longer than {max} characters");
                fields.push(FieldProblem { row: None, field: field.to_owned(), message });
            }
        }
        if fields.is_empty() { Ok(()) } else { Err(ApiError::validation(fields)) }
    }
}

/// One page of endpoints, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookEndpointList")]
pub struct WebhookEndpointListBody {
    pub items: Vec<WebhookEndpointBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

/// One POST to an endpoint: a delivery attempt, or a test.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookAttempt")]
pub struct WebhookAttemptBody {
    pub id: Uuid,
    /// The event delivered (`Orderdesk-Event-Id`).
    pub event_id: Uuid,
    /// Its type, or `webhook_endpoint.test` for a test.
    pub event_type: String,
    /// 1 for the first attempt of the event's delivery.
    pub attempt: u32,
    /// When the answer (or the failure) came.
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; absent when it did not answer.
    #[oai(skip_serializing_if_is_none)]
    pub status_code: Option<u16>,
    /// Why there was no answer (connection refused, no answer within 10 s, a target refused in
    /// production); absent when the receiver answered.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// How long the POST took, in milliseconds.
    pub duration_ms: u64,
    /// `delivered` (a 2xx), `retry` (another attempt will follow) or `failed` (none will: the
    /// retry window ended, or it was a test).
    pub outcome: String,
    /// Whether it was a test (`testWebhookEndpoint`).
    pub test: bool,
}

impl From<DeliveryAttempt> for WebhookAttemptBody {
    fn from(a: DeliveryAttempt) -> Self {
        Self {
            id: a.id.as_uuid(),
            event_id: a.event_id.as_uuid(),
            test: a.delivery_id.is_none(),
            event_type: a.event_type,
            attempt: a.number,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            outcome: a.outcome.as_str().to_owned(),
        }
    }
}

/// One page of attempts, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookAttemptList")]
pub struct WebhookAttemptListBody {
    pub items: Vec<WebhookAttemptBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl From<Page<DeliveryAttempt>> for WebhookAttemptListBody {
    fn from(page: Page<DeliveryAttempt>) -> Self {
        Self { next_cursor: page.next.map(encode_cursor), items: page.items.into_iter().map(Into::into).collect() }
    }
}

/// What a test POST came to.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookTestResult")]
pub struct WebhookTestResultBody {
    /// Whether the receiver answered 2xx.
    pub delivered: bool,
    /// The test event's id (in `Orderdesk-Event-Id` and the body's `id`).
    pub event_id: Uuid,
    /// The receiver's HTTP status; absent when it did not answer.
    #[oai(skip_serializing_if_is_none)]
    pub status_code: Option<u16>,
    /// Why there was no answer; absent when the receiver answered.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// How long the POST took, in milliseconds.
    pub duration_ms: u64,
}

impl From<TestDelivery> for WebhookTestResultBody {
    fn from(test: TestDelivery) -> Self {
        Self {
            delivered: test.attempt.outcome == AttemptOutcome::Delivered,
            event_id: test.event_id.as_uuid(),
            status_code: test.attempt.status_code,
            error: test.attempt.error,
            duration_ms: test.attempt.duration_ms,
        }
    }
}

/// The body of a test POST: an event of type `webhook_endpoint.test` about the endpoint.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookTestEvent")]
pub struct WebhookTestEventBody {
    pub id: Uuid,
    #[oai(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub data: WebhookTestDataBody,
}

/// The endpoint a test event is about.
#[derive(Debug, Clone, Object)]
#[oai(rename = "WebhookTestData")]
pub struct WebhookTestDataBody {
    pub object: WebhookEndpointBody,
}

impl From<&WebhookTestEvent> for WebhookTestEventBody {
    fn from(test: &WebhookTestEvent) -> Self {
        Self {
            id: test.id.as_uuid(),
            kind: WebhookTestEvent::TYPE.to_owned(),
            created_at: test.created_at,
            data: WebhookTestDataBody { object: WebhookEndpointBody::new(&test.endpoint, test.created_at) },
        }
    }
}

#[derive(ApiResponse)]
pub enum EndpointCreated {
    /// Created and enabled. The body is the only place the secret is ever shown.
    #[oai(status = 201)]
    Created(Json<WebhookEndpointSecretBody>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum EndpointDeleted {
    /// Deleted, with its deliveries and their attempts; nothing more is sent to it.
    #[oai(status = 204)]
    NoContent,
}

fn id_of(id: &Path<Uuid>) -> WebhookEndpointId {
    WebhookEndpointId::from_uuid(id.0)
}

/// Webhook endpoints.
pub struct WebhookEndpointsApi;

#[OpenApi(tag = "ApiTags::WebhookEndpoints")]
impl WebhookEndpointsApi {
    /// Create a webhook endpoint
    ///
    /// From now on, each event of the types in `events` is POSTed to `url` with
    /// `Orderdesk-Event-Id` and `Orderdesk-Signature: t=<unix seconds>,v1=<hex
    /// HMAC-SHA256(secret, "<t>.<body>")>`; any 2xx within 10 seconds is delivered, anything
    /// else is retried with exponential backoff (30 s doubling to 6 h) for
    /// `webhooks.retry_for`, after which the endpoint is disabled and says why.
    /// Events that happened before it was created are not sent (read them from `listEvents`).
    /// The answer is the only one that shows the `secret`. A URL that may not be called (in
    /// production: not https, or resolving to a private address) is 422 on `url`.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints", method = "post", operation_id = "createWebhookEndpoint")]
    async fn create(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<NewWebhookEndpointBody>,
    ) -> Result<EndpointCreated, Errors<CreateWebhookEndpointErrors>> {
        let caller = auth.require(Permission::ManageWebhooks)?;
        let body = body.parse()?;
        body.check_as_sent()?;
        let draft = WebhookEndpointDraft { url: body.url, events: body.events, description: body.description };
        let endpoint = services.webhooks.create(draft, caller.actor()).await?;
        let location = format!("/api/v1/webhook-endpoints/{}", endpoint.id());
        Ok(EndpointCreated::Created(Json(WebhookEndpointSecretBody::new(&endpoint, Utc::now())), location))
    }

    /// List webhook endpoints
    ///
    /// Newest first, without their secrets. Follow `next_cursor` to page.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints", method = "get", operation_id = "listWebhookEndpoints")]
    async fn list(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<WebhookEndpointListBody>, Errors<ListErrors>> {
        auth.require(Permission::ManageWebhooks)?;
        let page = services.webhooks.list(page_request(limit.0, cursor.0.as_deref())?).await?;
        let now = Utc::now();
        Ok(Json(WebhookEndpointListBody {
            next_cursor: page.next.map(encode_cursor),
            items: page.items.iter().map(|e| WebhookEndpointBody::new(e, now)).collect(),
        }))
    }

    /// Get a webhook endpoint
    ///
    /// Without its secret; `status` and `disabled_reason` say whether deliveries go out.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints/:id", method = "get", operation_id = "getWebhookEndpoint")]
    async fn get(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointBody>, Errors<WebhookEndpointErrors>> {
        auth.require(Permission::ManageWebhooks)?;
        let endpoint = services.webhooks.get(id_of(&id)).await?;
        Ok(Json(WebhookEndpointBody::new(&endpoint, Utc::now())))
    }

    /// Delete a webhook endpoint
    ///
    /// Its pending deliveries and its attempts go with it; nothing more is sent.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints/:id", method = "delete", operation_id = "deleteWebhookEndpoint")]
    async fn delete(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<EndpointDeleted, Errors<WebhookEndpointErrors>> {
        auth.require(Permission::ManageWebhooks)?;
        services.webhooks.delete(id_of(&id)).await?;
        Ok(EndpointDeleted::NoContent)
    }

    /// Rotate a webhook endpoint's secret
    ///
    /// Answers with a new `secret` (shown only now). For 24 hours both secrets sign: each
    /// delivery carries two `v1` values, the new secret's first, so a receiver can switch at
    /// its own pace; then only the new one signs. Rotating again within the 24 hours drops the
    /// oldest secret at once.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(
        path = "/api/v1/webhook-endpoints/:id/rotate-secret",
        method = "post",
        operation_id = "rotateWebhookEndpointSecret"
    )]
    async fn rotate_secret(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointSecretBody>, Errors<WebhookEndpointErrors>> {
        let caller = auth.require(Permission::ManageWebhooks)?;
        let endpoint = services.webhooks.rotate_secret(id_of(&id), caller.actor()).await?;
        Ok(Json(WebhookEndpointSecretBody::new(&endpoint, Utc::now())))
    }

    /// Enable a webhook endpoint again
    ///
    /// After fixing a receiver whose endpoint was disabled: new events are delivered again.
    /// Events that happened while it was disabled are not sent (read them from `listEvents`).
    /// An enabled endpoint is answered unchanged. Check the receiver first with
    /// `testWebhookEndpoint`, which works on a disabled endpoint.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints/:id/enable", method = "post", operation_id = "enableWebhookEndpoint")]
    async fn enable(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<WebhookEndpointBody>, Errors<WebhookEndpointErrors>> {
        let caller = auth.require(Permission::ManageWebhooks)?;
        let endpoint = services.webhooks.enable(id_of(&id), caller.actor()).await?;
        Ok(Json(WebhookEndpointBody::new(&endpoint, Utc::now())))
    }

    /// Send a test event to a webhook endpoint
    ///
    /// POSTs a signed `{id, type: "webhook_endpoint.test", created_at, data: {object}}` (the
    /// endpoint, without secrets) now and answers what came of it; a receiver that fails is
    /// still a 200 here, with `delivered: false`. Never retried; listed in its deliveries.
    /// Works on a disabled endpoint too.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints/:id/test", method = "post", operation_id = "testWebhookEndpoint")]
    async fn test(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
    ) -> Result<Json<WebhookTestResultBody>, Errors<WebhookEndpointErrors>> {
        auth.require(Permission::ManageWebhooks)?;
        Ok(Json(services.webhooks.test(id_of(&id)).await?.into()))
    }

    /// List a webhook endpoint's deliveries
    ///
    /// Every POST made to it, newest first: each event's attempts (with the HTTP status or the
    /// error, when, and how long it took) and the tests.
    ///
    /// Requires the `manage:webhooks` permission.
    #[oai(path = "/api/v1/webhook-endpoints/:id/deliveries", method = "get", operation_id = "listWebhookDeliveries")]
    async fn deliveries(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        /// The endpoint's id (from `Location` or a list).
        id: Path<Uuid>,
        /// Page size, 1-200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u64>>,
        /// `next_cursor` from the previous page (43 characters; a cursor this server did not
        /// issue is 422).
        #[oai(validator(min_length = 43, max_length = 43, pattern = "^[A-Za-z0-9_-]+$"))]
        cursor: Query<Option<String>>,
    ) -> Result<Json<WebhookAttemptListBody>, Errors<ListOfOneErrors>> {
        auth.require(Permission::ManageWebhooks)?;
        let page = page_request(limit.0, cursor.0.as_deref())?;
        Ok(Json(services.webhooks.deliveries(id_of(&id), page).await?.into()))
    }
}
