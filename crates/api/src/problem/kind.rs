//! The problem kinds: one row per `type` (slug, status, title, description), and one row per
//! status an error is answered with (its description and header). Adding a kind or a status
//! is one row here; the error, the responses and the document follow from these tables.

use poem::http::StatusCode;

/// A header an error status carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemHeader {
    /// `WWW-Authenticate` (RFC 6750 §3): bare, or with the error of the token sent.
    WwwAuthenticate,
    /// `Retry-After`, in seconds.
    RetryAfter,
}

/// One status an error is answered with, as the document describes it.
#[derive(Debug)]
pub struct StatusRow {
    pub status: StatusCode,
    /// The response's description in the OpenAPI document.
    pub description: &'static str,
    pub header: Option<ProblemHeader>,
}

macro_rules! statuses {
    ($($status:ident, $header:expr, $description:literal;)+) => {
        /// Every status an error is answered with, ascending. Anything else is answered as a 500.
        pub const STATUSES: &[StatusRow] = &[
            $(StatusRow { status: StatusCode::$status, description: $description, header: $header },)+
        ];
    };
}

statuses! {
    BAD_REQUEST, None, "The body is not JSON, or a parameter cannot be read.";
    UNAUTHORIZED, Some(ProblemHeader::WwwAuthenticate), "No access token, or an invalid one.";
    FORBIDDEN, Some(ProblemHeader::WwwAuthenticate), "The token lacks the operation's permission.";
    NOT_FOUND, None, "The resource does not exist.";
    METHOD_NOT_ALLOWED, None, "The URL does not support this method.";
    REQUEST_TIMEOUT, None, "The body did not arrive in time.";
    CONFLICT, None, "The request conflicts with stored data (duplicate code, customer with orders).";
    PRECONDITION_FAILED, None, "`If-Match` names a version that is no longer current.";
    PAYLOAD_TOO_LARGE, None, "The body is over the size limit (`http.max_body_bytes`).";
    UNSUPPORTED_MEDIA_TYPE, None, "The body is not `application/json`.";
    UNPROCESSABLE_ENTITY, None, "Some fields are invalid; see `errors`.";
    TOO_MANY_REQUESTS, Some(ProblemHeader::RetryAfter), "The client is over its rate limit; retry after `Retry-After` seconds.";
    INTERNAL_SERVER_ERROR, None, "An unexpected error.";
    SERVICE_UNAVAILABLE, Some(ProblemHeader::RetryAfter), "The database is busy or unreachable; retry later.";
}

/// The row of `status`, if errors are answered with it.
pub fn status_row(status: StatusCode) -> Option<&'static StatusRow> {
    STATUSES.iter().find(|row| row.status == status)
}

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
