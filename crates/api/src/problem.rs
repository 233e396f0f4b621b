//! RFC 9457 problem details: the one error shape of the API, with stable `type` URIs.

use std::fmt;

use orderdesk_domain::service::NotificationError;
use orderdesk_domain::{CustomerError, OrderError, Permission, RepoError, TokenRejection, ValidationErrors};
use poem::http::StatusCode;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem this API reports. The slug is part of the public contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    MalformedRequest,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    DuplicateCode,
    CustomerHasOrders,
    NotificationNotRetryable,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    Internal,
    Unavailable,
}

impl ProblemType {
    pub const ALL: [ProblemType; 13] = [
        Self::MalformedRequest,
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::DuplicateCode,
        Self::CustomerHasOrders,
        Self::NotificationNotRetryable,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Validation,
        Self::Internal,
        Self::Unavailable,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Self::MalformedRequest => "malformed-request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "insufficient-permission",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::DuplicateCode => "duplicate-code",
            Self::CustomerHasOrders => "customer-has-orders",
            Self::NotificationNotRetryable => "notification-not-retryable",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Validation => "validation-error",
            Self::Internal => "internal-error",
            Self::Unavailable => "service-unavailable",
        }
    }

    /// The `type` member: a URI reference resolved against the server, documented at that path.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::MalformedRequest => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::DuplicateCode | Self::CustomerHasOrders | Self::NotificationNotRetryable => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "Malformed request",
            Self::Unauthenticated => "Authentication required",
            Self::Forbidden => "Insufficient permission",
            Self::NotFound => "Resource not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::DuplicateCode => "Customer code already in use",
            Self::CustomerHasOrders => "Customer still has orders",
            Self::NotificationNotRetryable => "Notification cannot be retried",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Validation => "Invalid input",
            Self::Internal => "Internal server error",
            Self::Unavailable => "Service temporarily unavailable",
        }
    }

    /// What the problem means and what a client can do about it.
    pub fn description(self) -> &'static str {
        match self {
            Self::MalformedRequest => {
                "The body is not well-formed JSON, or a parameter cannot be read. Fix the request; retrying it unchanged fails again."
            }
            Self::Unauthenticated => {
                "Send a valid access token: `Authorization: Bearer <token>`. WWW-Authenticate says what was wrong with the one sent (expired, wrong audience, ...)."
            }
            Self::Forbidden => {
                "The token is valid but lacks the permission this operation needs; WWW-Authenticate names it in `scope`."
            }
            Self::NotFound => "No resource exists at this URL (or the id is not a UUID).",
            Self::MethodNotAllowed => "The URL exists but does not support this HTTP method.",
            Self::DuplicateCode => {
                "Another customer already has this code; codes are unique ignoring case. Choose another code."
            }
            Self::CustomerHasOrders => {
                "A customer with orders cannot be deleted, so no order is lost. Delete or keep the orders first."
            }
            Self::NotificationNotRetryable => {
                "Only failed or undelivered SMS can be re-queued; this one is pending, being sent, sent or delivered."
            }
            Self::PayloadTooLarge => "Request bodies are limited to 64 KiB.",
            Self::UnsupportedMediaType => "Send request bodies as application/json.",
            Self::Validation => {
                "The request is well-formed but some fields are invalid; `errors` lists each field and why."
            }
            Self::Internal => "An unexpected error; it was logged with the request id. Retrying may help.",
            Self::Unavailable => {
                "The database is busy or unreachable. Retry after the number of seconds in Retry-After."
            }
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "FieldError")]
pub struct FieldProblem {
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
        Problem::new(ProblemType::Validation, "phone is not a valid phone number")
            .with_errors(vec![FieldProblem { field: "phone".into(), message: "is not a valid phone number".into() }])
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
    /// The request conflicts with stored data (duplicate code, customer with orders).
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Box<Problem>>),
    /// The body is over 64 KiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Box<Problem>>),
    /// The body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Box<Problem>>),
    /// Some fields are invalid; see `errors`.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Box<Problem>>),
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
        Self::from_problem(kind, Problem::new(kind, detail))
    }

    fn from_problem(kind: ProblemType, problem: Problem) -> Self {
        let body = Json(Box::new(problem));
        match kind {
            ProblemType::MalformedRequest => Self::BadRequest(body),
            ProblemType::Unauthenticated => Self::Unauthorized(body, www_authenticate(None)),
            ProblemType::Forbidden => Self::Forbidden(body, www_authenticate(None)),
            ProblemType::NotFound => Self::NotFound(body),
            ProblemType::DuplicateCode | ProblemType::CustomerHasOrders | ProblemType::NotificationNotRetryable => {
                Self::Conflict(body)
            }
            ProblemType::PayloadTooLarge => Self::PayloadTooLarge(body),
            ProblemType::UnsupportedMediaType => Self::UnsupportedMediaType(body),
            ProblemType::Validation => Self::Unprocessable(body),
            ProblemType::Unavailable => Self::Unavailable(body, 1),
            ProblemType::MethodNotAllowed | ProblemType::Internal => Self::Internal(body),
        }
    }

    /// A 422 listing the given fields.
    pub fn validation(fields: Vec<FieldProblem>) -> Self {
        let detail = fields.iter().map(|f| format!("{} {}", f.field, f.message)).collect::<Vec<_>>().join("; ");
        Self::from_problem(ProblemType::Validation, Problem::new(ProblemType::Validation, detail).with_errors(fields))
    }

    pub fn problem(&self) -> &Problem {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p, _)
            | Self::Forbidden(p, _)
            | Self::NotFound(p)
            | Self::Conflict(p)
            | Self::PayloadTooLarge(p)
            | Self::UnsupportedMediaType(p)
            | Self::Unprocessable(p)
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

    /// 500 for a wiring bug; the detail goes to the log only.
    pub fn internal(detail: &str) -> Self {
        tracing::error!(detail, "internal error");
        Self::new(ProblemType::Internal, "an unexpected error occurred")
    }

    fn storage(error: RepoError) -> Self {
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
            .map(|f| FieldProblem { field: f.field.to_owned(), message: f.reason.to_string() })
            .collect();
        Self::validation(fields)
    }
}

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Validation(errors) => errors.into(),
            CustomerError::NotFound(_) => Self::new(ProblemType::NotFound, error.to_string()),
            CustomerError::DuplicateCode(_) => Self::new(ProblemType::DuplicateCode, error.to_string()),
            CustomerError::HasOrders(_) => Self::new(ProblemType::CustomerHasOrders, error.to_string()),
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
            OrderError::Storage(e) => Self::storage(e),
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
        }
    }
}
