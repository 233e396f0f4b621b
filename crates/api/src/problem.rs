//! RFC 9457 problem details: the one error shape of the API, with stable `type` URIs.

use std::fmt;
use std::marker::PhantomData;

use orderdesk_domain::service::InboxError;
use orderdesk_domain::service::{IdempotencyError, ImportError, NotificationError, WebhookError};
use orderdesk_domain::{CustomerError, OrderError, Permission, RepoError, TokenRejection, ValidationErrors};
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ToJSON};
use poem_openapi::{ApiResponse, Object};
use serde_json::Value;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Everything about one kind of problem. The slug is part of the public contract.
#[derive(Debug)]
pub struct Kind {
    pub slug: &'static str,
    pub status: StatusCode,
    pub title: &'static str,
    /// What the problem means and what a client can do about it (its `/problems/{slug}` page).
    pub description: &'static str,
}

/// Declares [`ProblemType`] and its table [`KINDS`] from one list, so a kind is one row.
macro_rules! problem_kinds {
    ($($variant:ident: $slug:literal, $status:ident, $title:literal, $description:literal;)+) => {
        /// The kinds of problem this API reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemType {
            $($variant,)+
        }

        impl ProblemType {
            pub const ALL: &'static [ProblemType] = &[$(Self::$variant,)+];
        }

        /// One row per [`ProblemType`], in declaration order.
        pub const KINDS: &[Kind] = &[
            $(Kind { slug: $slug, status: StatusCode::$status, title: $title, description: $description },)+
        ];
    };
}

problem_kinds! {
    MalformedRequest: "malformed-request", BAD_REQUEST, "Malformed request",
        "The body is not well-formed JSON, or a parameter cannot be read. Fix the request; retrying it unchanged fails again.";
    Unauthenticated: "unauthenticated", UNAUTHORIZED, "Authentication required",
        "Send a valid access token: `Authorization: Bearer <token>`. WWW-Authenticate says what was wrong with the one sent (expired, wrong audience, ...).";
    Forbidden: "insufficient-permission", FORBIDDEN, "Insufficient permission",
        "The token is valid but lacks the permission this operation needs; WWW-Authenticate names it in `scope`.";
    NotFound: "not-found", NOT_FOUND, "Resource not found",
        "No resource exists at this URL (or the id is not a UUID).";
    MethodNotAllowed: "method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed",
        "The URL exists but does not support this HTTP method.";
    RequestTimeout: "request-timeout", REQUEST_TIMEOUT, "Request timeout",
        "The request body did not arrive in time (`server.body_read_timeout_seconds`). Send it again, whole.";
    DuplicateCode: "duplicate-code", CONFLICT, "Customer code already in use",
        "Another customer already has this code; codes are unique ignoring case. Choose another code.";
    CustomerHasOrders: "customer-has-orders", CONFLICT, "Customer still has orders",
        "A customer with orders cannot be deleted, so no order is lost. Delete or keep the orders first.";
    InvalidStatusTransition: "invalid-status-transition", CONFLICT, "Status change not allowed",
        "The order cannot move from its status to the one asked for: statuses only move forward (received, confirmed, ready, out_for_delivery, completed; steps may be skipped), cancelled is reachable from every status but completed, and completed and cancelled are final. `detail` names both statuses.";
    OrderHasHistory: "order-has-history", CONFLICT, "Order has a history",
        "Only an order still received with no SMS attempted can be deleted. Cancel it instead: POST /api/v1/orders/{id}/status with {\"status\": \"cancelled\", \"cancel_reason\": \"...\"}; its history and SMS records stay.";
    NotificationNotRetryable: "notification-not-retryable", CONFLICT, "Notification cannot be retried",
        "Only failed or undelivered SMS can be re-queued; this one is pending, being sent, sent or delivered.";
    IdempotencyKeyInUse: "idempotency-key-in-use", CONFLICT, "Idempotency key in use",
        "A request with this Idempotency-Key has not finished (or failed without storing a response). Retry the same request shortly.";
    PreconditionFailed: "precondition-failed", PRECONDITION_FAILED, "Precondition failed",
        "The resource changed since the version named in If-Match. GET it again (its ETag), reapply your change and retry.";
    IdempotencyKeyReused: "idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency key reused",
        "This Idempotency-Key was already used for a different request (another body or operation). Use a new key for a new request.";
    PayloadTooLarge: "payload-too-large", PAYLOAD_TOO_LARGE, "Request body too large",
        "The request body is over the server's limit (`http.max_body_bytes`; 1 MiB and 5,000 rows for a customer import); `detail` names the limit.";
    UnsupportedMediaType: "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
        "Send the request body in the media type the operation documents: application/json, or text/csv for a customer import.";
    Validation: "validation-error", UNPROCESSABLE_ENTITY, "Invalid input",
        "The request is well-formed but some fields are invalid; `errors` lists each field and why.";
    RateLimited: "rate-limited", TOO_MANY_REQUESTS, "Too many requests",
        "This client (the subject of its access token, or its address when it sends none) is over the server's rate limit. Wait the number of seconds in Retry-After, then retry.";
    Internal: "internal-error", INTERNAL_SERVER_ERROR, "Internal server error",
        "An unexpected error; it was logged with the request id. Retrying may help.";
    Unavailable: "service-unavailable", SERVICE_UNAVAILABLE, "Service temporarily unavailable",
        "The database is busy or unreachable. Retry after the number of seconds in Retry-After.";
}

impl ProblemType {
    pub fn kind(self) -> &'static Kind {
        &KINDS[self as usize]
    }

    pub fn slug(self) -> &'static str {
        self.kind().slug
    }

    /// The `type` member: a URI reference resolved against the server, documented at that path.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    pub fn status(self) -> StatusCode {
        self.kind().status
    }

    pub fn title(self) -> &'static str {
        self.kind().title
    }

    /// What the problem means and what a client can do about it.
    pub fn description(self) -> &'static str {
        self.kind().description
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.slug() == slug)
    }
}

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "FieldError")]
pub struct FieldProblem {
    /// For a CSV import (`importCustomers`): the line of the file the bad value is on (the
    /// header is line 1).
    #[oai(skip_serializing_if_is_none)]
    pub row: Option<u64>,
    /// The field's name in the request (a JSON path for nested fields, or a query parameter).
    pub field: String,
    /// Why the value was refused.
    pub message: String,
}

/// An error response (RFC 9457 problem details).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "Problem", example)]
pub struct Problem {
    /// A URI reference that identifies the problem type; stable, compare on it.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[oai(skip_serializing_if_is_none)]
    pub detail: Option<String>,
    /// For validation errors: each invalid field.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldProblem>>,
}

impl Problem {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            problem_type: kind.uri(),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: Some(detail.into()),
            errors: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldProblem>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// Renders as a problem+json response outside poem-openapi (framework errors).
    pub fn into_response(self) -> poem::Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(&self)).unwrap_or_default();
        poem::Response::builder().status(status).content_type(PROBLEM_JSON).body(body)
    }
}

impl Example for Problem {
    fn example() -> Self {
        Problem::new(ProblemType::Validation, "phone is not a valid phone number").with_errors(vec![FieldProblem {
            row: None,
            field: "phone".into(),
            message: "is not a valid phone number".into(),
        }])
    }
}

/// The error half of every operation's result; each variant is documented in the OpenAPI document.
/// Problems are boxed to keep `Result<_, ApiError>` small on the success path.
#[derive(Debug, ApiResponse)]
#[oai(display)]
pub enum ApiError {
    /// The body is not JSON, or a parameter cannot be read.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Box<Problem>>),
    /// No access token, or an invalid one.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Box<Problem>>, #[oai(header = "WWW-Authenticate")] String),
    /// The token lacks the operation's permission.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Box<Problem>>, #[oai(header = "WWW-Authenticate")] String),
    /// The resource does not exist.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Box<Problem>>),
    /// The URL does not support this method.
    #[oai(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Json<Box<Problem>>),
    /// The body did not arrive in time.
    #[oai(status = 408, content_type = "application/problem+json")]
    RequestTimeout(Json<Box<Problem>>),
    /// The request conflicts with stored data (duplicate code, customer with orders).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Box<Problem>>),
    /// `If-Match` names a version that is no longer current.
    #[oai(status = 412, content_type = "application/problem+json")]
    PreconditionFailed(Json<Box<Problem>>),
    /// The body is over the size limit (`http.max_body_bytes`).
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Box<Problem>>),
    /// The body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Box<Problem>>),
    /// Some fields are invalid; see `errors`.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Box<Problem>>),
    /// The client is over its rate limit; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Box<Problem>>, #[oai(header = "Retry-After")] u32),
    /// An unexpected error.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Box<Problem>>),
    /// The database is busy or unreachable; retry later.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Box<Problem>>, #[oai(header = "Retry-After")] u32),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = self.problem();
        write!(f, "{} {}: {}", problem.status, problem.title, problem.detail.as_deref().unwrap_or(""))
    }
}

impl ApiError {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::from_problem(Problem::new(kind, detail))
    }

    /// The variant is chosen by the problem's status, so it always answers with that status.
    fn from_problem(problem: Problem) -> Self {
        let status = problem.status;
        let body = Json(Box::new(problem));
        match status {
            400 => Self::BadRequest(body),
            401 => Self::Unauthorized(body, www_authenticate(None)),
            403 => Self::Forbidden(body, www_authenticate(None)),
            404 => Self::NotFound(body),
            405 => Self::MethodNotAllowed(body),
            408 => Self::RequestTimeout(body),
            409 => Self::Conflict(body),
            412 => Self::PreconditionFailed(body),
            413 => Self::PayloadTooLarge(body),
            415 => Self::UnsupportedMediaType(body),
            422 => Self::Unprocessable(body),
            429 => Self::TooManyRequests(body, 1),
            503 => Self::Unavailable(body, 1),
            _ => Self::Internal(body),
        }
    }

    /// A 422 listing the given fields.
    pub fn validation(fields: Vec<FieldProblem>) -> Self {
        let detail = fields
            .iter()
            .map(|f| match f.row {
                Some(row) => format!("row {row}: {} {}", f.field, f.message),
                None => format!("{} {}", f.field, f.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        Self::from_problem(Problem::new(ProblemType::Validation, detail).with_errors(fields))
    }

    pub fn problem(&self) -> &Problem {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p, _)
            | Self::Forbidden(p, _)
            | Self::NotFound(p)
            | Self::MethodNotAllowed(p)
            | Self::RequestTimeout(p)
            | Self::Conflict(p)
            | Self::PreconditionFailed(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
            | Self::TooManyRequests(p, _)
            | Self::Internal(p)
            | Self::Unavailable(p, _) => &p.0,
        }
    }

    /// 401 for a refused token, with RFC 6750's `error="invalid_token"`.
    pub fn invalid_token(rejection: TokenRejection) -> Self {
        let description = rejection.to_string();
        let challenge = www_authenticate(Some(("invalid_token", &description, None)));
        Self::Unauthorized(Json(Box::new(Problem::new(ProblemType::Unauthenticated, description))), challenge)
    }

    /// 403 with RFC 6750's `error="insufficient_scope"` and the permission needed.
    pub fn insufficient_permission(permission: Permission) -> Self {
        let description = format!("This operation requires the {permission} permission");
        let challenge = www_authenticate(Some(("insufficient_scope", &description, Some(permission.as_str()))));
        Self::Forbidden(Json(Box::new(Problem::new(ProblemType::Forbidden, description))), challenge)
    }

    /// 429 with `Retry-After: seconds`.
    pub fn rate_limited(detail: impl Into<String>, retry_after_seconds: u32) -> Self {
        Self::TooManyRequests(Json(Box::new(Problem::new(ProblemType::RateLimited, detail))), retry_after_seconds)
    }

    /// 500 for a wiring bug; the detail goes to the log only.
    pub fn internal(detail: &str) -> Self {
        tracing::error!(detail, "internal error");
        Self::new(ProblemType::Internal, "an unexpected error occurred")
    }

    pub(crate) fn storage(error: RepoError) -> Self {
        match &error {
            RepoError::Unavailable(_) => {
                tracing::warn!(error.cause_chain = ?error, error.message = %error, "storage unavailable");
                Self::new(ProblemType::Unavailable, "the database is busy or unreachable")
            }
            _ => {
                // The cause goes to the log only: it may name tables, hosts or values.
                tracing::error!(error.cause_chain = ?error, error.message = %error, "storage failure");
                Self::new(ProblemType::Internal, "an unexpected error occurred")
            }
        }
    }
}

/// The `WWW-Authenticate` challenge: bare when no token was sent, else with the error (RFC 6750 §3).
pub fn www_authenticate(error: Option<(&str, &str, Option<&str>)>) -> String {
    match error {
        None => "Bearer realm=\"orderdesk\"".to_owned(),
        Some((code, description, scope)) => {
            let description = description.replace(['"', '\\'], "'");
            let scope = scope.map(|s| format!(", scope=\"{s}\"")).unwrap_or_default();
            format!("Bearer realm=\"orderdesk\", error=\"{code}\", error_description=\"{description}\"{scope}")
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        let fields = errors
            .fields()
            .iter()
            .map(|f| FieldProblem { row: None, field: f.field.to_owned(), message: f.reason.to_string() })
            .collect();
        Self::validation(fields)
    }
}

impl From<ImportError> for ApiError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Rows(rows) => Self::validation(
                rows.into_iter()
                    .map(|r| FieldProblem { row: Some(r.row), field: r.field.to_owned(), message: r.message })
                    .collect(),
            ),
            ImportError::Customer(error) => error.into(),
        }
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Validation(errors) => errors.into(),
            CustomerError::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            CustomerError::DuplicateCode(_) => Self::new(ProblemType::DuplicateCode, error.to_string()),
            CustomerError::HasOrders(_) => Self::new(ProblemType::CustomerHasOrders, error.to_string()),
            CustomerError::PreconditionFailed(_) => Self::new(ProblemType::PreconditionFailed, error.to_string()),
            CustomerError::KeyTaken => Self::new(ProblemType::IdempotencyKeyInUse, error.to_string()),
            CustomerError::Storage(e) => Self::storage(e),
        }
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Validation(errors) => errors.into(),
            OrderError::NotFound(_) | OrderError::CustomerNotFound(_) => {
                Self::new(ProblemType::NotFound, error.to_string())
            }
            OrderError::PreconditionFailed(_) => Self::new(ProblemType::PreconditionFailed, error.to_string()),
            OrderError::KeyTaken => Self::new(ProblemType::IdempotencyKeyInUse, error.to_string()),
            OrderError::InvalidTransition { .. } => Self::new(ProblemType::InvalidStatusTransition, error.to_string()),
            OrderError::HasHistory(_) => Self::new(ProblemType::OrderHasHistory, error.to_string()),
            OrderError::Storage(e) => Self::storage(e),
        }
    }
}

impl From<IdempotencyError> for ApiError {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::Reused(e) => Self::new(ProblemType::IdempotencyKeyReused, e.to_string()),
            IdempotencyError::Storage(e) => Self::storage(e),
        }
    }
}

impl From<NotificationError> for ApiError {
    fn from(error: NotificationError) -> Self {
        match error {
            NotificationError::OrderNotFound(_) | NotificationError::NotFound(_) => {
                Self::new(ProblemType::NotFound, error.to_string())
            }
            NotificationError::NotRetryable { .. } => {
                Self::new(ProblemType::NotificationNotRetryable, error.to_string())
            }
            NotificationError::Storage(e) => Self::storage(e),
            NotificationError::Validation(errors) => errors.into(),
        }
    }
}

impl From<WebhookError> for ApiError {
    fn from(error: WebhookError) -> Self {
        match error {
            WebhookError::Validation(errors) => errors.into(),
            WebhookError::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            WebhookError::Storage(e) => Self::storage(e),
        }
    }
}

impl From<InboxError> for ApiError {
    fn from(error: InboxError) -> Self {
        match error {
            // Only the opt-out callback names a number; its field is Africa's Talking's.
            InboxError::InvalidPhone(reason) => Self::validation(vec![FieldProblem {
                row: None,
                field: "phoneNumber".into(),
                message: format!("{reason} (in the default region, or with its +country)"),
            }]),
            InboxError::CustomerNotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            // Another write kept winning the race for a customer: Africa's Talking may retry.
            InboxError::Customer(CustomerError::PreconditionFailed(_)) => {
                Self::new(ProblemType::Unavailable, "a customer kept changing during the opt-out; try again")
            }
            InboxError::Customer(e) => e.into(),
            InboxError::Storage(e) => Self::storage(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse;

    use super::*;

    #[test]
    fn every_kind_is_answered_with_its_own_status() {
        assert_eq!(ProblemType::ALL.len(), KINDS.len());
        for &kind in ProblemType::ALL {
            let response = ApiError::new(kind, "detail").into_response();
            assert_eq!(response.status(), kind.status(), "{}", kind.slug());
            assert_eq!(ProblemType::from_slug(kind.slug()), Some(kind));
        }
        assert_eq!(ApiError::new(ProblemType::MethodNotAllowed, "x").into_response().status().as_u16(), 405);
    }

    #[test]
    fn an_error_set_documents_exactly_its_statuses_and_types() {
        let statuses: Vec<u16> = Errors::<RetryErrors>::meta().responses.iter().filter_map(|r| r.status).collect();
        assert_eq!(statuses, [401, 403, 404, 409, 422, 429, 500, 503]);
        let retry = Problem::new(ProblemType::NotificationNotRetryable, "x");
        assert!(Errors::<RetryErrors>::documents(&retry));
        assert!(!Errors::<RetryErrors>::documents(&Problem::new(ProblemType::DuplicateCode, "x")));
        // Every kind is documented by some operation except the router's own 405.
        let sets = [
            CreateCustomerErrors::PROBLEMS,
            CreateOrderErrors::PROBLEMS,
            ListErrors::PROBLEMS,
            ListOfOneErrors::PROBLEMS,
            GetErrors::PROBLEMS,
            UpdateCustomerErrors::PROBLEMS,
            UpdateOrderErrors::PROBLEMS,
            DeleteCustomerErrors::PROBLEMS,
            DeleteOrderErrors::PROBLEMS,
            ChangeStatusErrors::PROBLEMS,
            RetryErrors::PROBLEMS,
            PreviewErrors::PROBLEMS,
            WebhookErrors::PROBLEMS,
            CreateWebhookEndpointErrors::PROBLEMS,
            WebhookEndpointErrors::PROBLEMS,
            ReadinessErrors::PROBLEMS,
        ];
        for kind in ProblemType::ALL.iter().filter(|k| **k != ProblemType::MethodNotAllowed) {
            assert!(sets.iter().any(|set| set.contains(kind)), "{} is in no operation's set", kind.slug());
        }
    }
}

/// The problems one operation can answer with. The document lists exactly these: one
/// response per status, its `type` values as an enum, and an example.
pub trait ErrorSet: Send + Sync + 'static {
    const PROBLEMS: &'static [ProblemType];
}

/// Declares marker types implementing [`ErrorSet`].
macro_rules! error_sets {
    ($($(#[$doc:meta])* $name:ident: [$($kind:ident),+ $(,)?];)+) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl ErrorSet for $name {
                const PROBLEMS: &'static [ProblemType] = &[$(ProblemType::$kind,)+];
            }
        )+
    };
}

error_sets! {
    /// `createCustomer`.
    CreateCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, DuplicateCode, IdempotencyKeyInUse,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, IdempotencyKeyReused, RateLimited,
        Internal, Unavailable];
    /// `createOrder`: an unknown `customer_id` is a 422 on that field.
    CreateOrderErrors: [MalformedRequest, Unauthenticated, Forbidden, IdempotencyKeyInUse,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, IdempotencyKeyReused, RateLimited,
        Internal, Unavailable];
    /// The lists: a bad `limit`, `cursor` or filter is a 422.
    ListErrors: [Unauthenticated, Forbidden, Validation, RateLimited, Internal, Unavailable];
    /// `listCustomerOrders`, `listOrders`: also 404 for an unknown customer.
    ListOfOneErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
    /// Reads of one resource: a query parameter they do not define is a 422.
    GetErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
    /// `updateCustomer`.
    UpdateCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, DuplicateCode,
        PreconditionFailed, RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited,
        Internal, Unavailable];
    /// `updateOrder`.
    UpdateOrderErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, PreconditionFailed,
        RequestTimeout, PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `deleteCustomer`.
    DeleteCustomerErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, CustomerHasOrders,
        PreconditionFailed, Validation, RateLimited, Internal, Unavailable];
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
    /// `previewSms`: an unknown order is a 404, an event without a text a 422.
    PreviewErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, RequestTimeout, PayloadTooLarge,
        UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `receiveDeliveryReport`, `receiveOptOut`, `receiveIncomingMessage`: a wrong secret is a 401.
    WebhookErrors: [MalformedRequest, Validation, Unauthenticated, RequestTimeout, PayloadTooLarge, UnsupportedMediaType,
        Internal, Unavailable];
    /// `exportOrders`: a period over 366 days is a 422 on `ordered_to`.
    ExportOrdersErrors: [Unauthenticated, Forbidden, Validation, RateLimited, Internal, Unavailable];
    /// `importCustomers`: bad rows are a 422 listing each (`row`, `field`, `message`); over
    /// 5,000 rows (or 1 MiB) a 413; a code taken by a concurrent write a 409.
    ImportCustomersErrors: [MalformedRequest, Unauthenticated, Forbidden, DuplicateCode, RequestTimeout,
        PayloadTooLarge, UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `createWebhookEndpoint`: a URL deliveries may not go to is a 422 on `url`.
    CreateWebhookEndpointErrors: [MalformedRequest, Unauthenticated, Forbidden, RequestTimeout, PayloadTooLarge,
        UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
    /// `getWebhookEndpoint`, `deleteWebhookEndpoint`, `rotateWebhookEndpointSecret`,
    /// `enableWebhookEndpoint`, `testWebhookEndpoint` (a receiver that fails is a 200 result, not a problem).
    WebhookEndpointErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
    /// `readiness` (probes are not rate limited).
    ReadinessErrors: [Internal, Unavailable];
}

/// An [`ApiError`] documented as one of the problems of `S`.
pub struct Errors<S> {
    pub error: ApiError,
    set: PhantomData<fn() -> S>,
}

impl<S: ErrorSet> Errors<S> {
    /// Whether the set documents this problem (same `type`).
    pub fn documents(problem: &Problem) -> bool {
        S::PROBLEMS.iter().any(|kind| kind.uri() == problem.problem_type)
    }
}

impl<S: ErrorSet> From<ApiError> for Errors<S> {
    fn from(error: ApiError) -> Self {
        if !Self::documents(error.problem()) {
            tracing::warn!(r#type = %error.problem().problem_type, "problem not in the operation's documented set");
        }
        Self { error, set: PhantomData }
    }
}

macro_rules! errors_from {
    ($($source:ty),+) => {
        $(impl<S: ErrorSet> From<$source> for Errors<S> {
            fn from(error: $source) -> Self {
                ApiError::from(error).into()
            }
        })+
    };
}

errors_from!(
    ValidationErrors,
    CustomerError,
    OrderError,
    IdempotencyError,
    NotificationError,
    InboxError,
    ImportError,
    WebhookError
);

impl<S> fmt::Debug for Errors<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl<S> fmt::Display for Errors<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<S> From<Errors<S>> for poem::Error {
    fn from(errors: Errors<S>) -> Self {
        errors.error.into()
    }
}

impl<S: Send> poem::IntoResponse for Errors<S> {
    fn into_response(self) -> poem::Response {
        self.error.into_response()
    }
}

/// An example body for a problem of this kind.
fn example_problem(kind: ProblemType) -> Problem {
    match kind {
        ProblemType::Validation => Problem::example(),
        _ => Problem::new(kind, kind.description()),
    }
}

impl<S: ErrorSet> ApiResponse for Errors<S> {
    fn meta() -> MetaResponses {
        let mut responses = Vec::new();
        for mut response in ApiError::meta().responses {
            let kinds: Vec<ProblemType> =
                S::PROBLEMS.iter().copied().filter(|k| Some(k.status().as_u16()) == response.status).collect();
            let Some(&first) = kinds.first() else { continue };
            let types = kinds.iter().map(|k| Value::String(k.uri())).collect();
            let type_schema = MetaSchema { enum_items: types, ..MetaSchema::new("string") };
            let example = example_problem(first).to_json();
            let schema = MetaSchema {
                all_of: vec![MetaSchemaRef::Reference("Problem".to_owned())],
                properties: vec![("type", MetaSchemaRef::Inline(Box::new(type_schema)))],
                example,
                ..MetaSchema::ANY
            };
            for content in &mut response.content {
                content.schema = MetaSchemaRef::Inline(Box::new(schema.clone()));
            }
            responses.push(response);
        }
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ApiError::register(registry);
    }
}
