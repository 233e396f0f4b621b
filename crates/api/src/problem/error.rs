//! The error every operation returns, and the one mapping from the domain's errors
//! ([`Classify`]) that the API's problems and the dashboard's pages both use.

use std::fmt;

use orderdesk_domain::service::{IdempotencyError, ImportError, InboxError, NotificationError, WebhookError};
use orderdesk_domain::{CustomerError, OrderError, Permission, RepoError, TokenRejection, ValidationErrors};
use poem::http::StatusCode;

use super::kind::{ProblemHeader, status_row};
use super::{FieldProblem, Problem, ProblemType};
use crate::security::www_authenticate;

/// A problem to answer with, and the header its status carries. Its status is the problem's
/// (a status without a row in [`super::kind::STATUSES`] is answered as a 500).
#[derive(Debug)]
pub struct ApiError {
    /// Boxed to keep `Result<_, ApiError>` small on the success path.
    problem: Box<Problem>,
    /// `WWW-Authenticate` of a 401 or 403; bare when `None`.
    challenge: Option<String>,
    /// `Retry-After` of a 429 or 503, in seconds; 1 when `None`.
    retry_after: Option<u32>,
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

    fn from_problem(problem: Problem) -> Self {
        Self { problem: Box::new(problem), challenge: None, retry_after: None }
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
        &self.problem
    }

    /// The status answered with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status)
            .ok()
            .filter(|status| status_row(*status).is_some())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The value of the header the status carries, if it carries one.
    pub fn header(&self) -> Option<(ProblemHeader, String)> {
        let header = status_row(self.status())?.header?;
        let value = match header {
            ProblemHeader::WwwAuthenticate => self.challenge.clone().unwrap_or_else(|| www_authenticate(None)),
            ProblemHeader::RetryAfter => self.retry_after.unwrap_or(1).to_string(),
        };
        Some((header, value))
    }

    /// 401 for a refused token, with RFC 6750's `error="invalid_token"`.
    pub fn invalid_token(rejection: TokenRejection) -> Self {
        let description = rejection.to_string();
        let challenge = www_authenticate(Some(("invalid_token", &description, None)));
        Self { challenge: Some(challenge), ..Self::new(ProblemType::Unauthenticated, description) }
    }

    /// 403 with RFC 6750's `error="insufficient_scope"` and the permission needed.
    pub fn insufficient_permission(permission: Permission) -> Self {
        let description = format!("This operation requires the {permission} permission");
        let challenge = www_authenticate(Some(("insufficient_scope", &description, Some(permission.as_str()))));
        Self { challenge: Some(challenge), ..Self::new(ProblemType::Forbidden, description) }
    }

    /// 429 with `Retry-After: seconds`.
    pub fn rate_limited(detail: impl Into<String>, retry_after_seconds: u32) -> Self {
        Self { retry_after: Some(retry_after_seconds), ..Self::new(ProblemType::RateLimited, detail) }
    }

    /// 500 for a wiring bug; the detail goes to the log only.
    pub fn internal(detail: &str) -> Self {
        tracing::error!(detail, "internal error");
        Self::new(ProblemType::Internal, "an unexpected error occurred")
    }

    pub(crate) fn storage(error: RepoError) -> Self {
        Self::new(storage_kind(&error), storage_detail(&error))
    }
}

/// 503 when the store is busy or unreachable, else 500; logged here with its cause.
pub(crate) fn storage_kind(error: &RepoError) -> ProblemType {
    match error {
        RepoError::Unavailable(_) => {
            tracing::warn!(error.cause_chain = ?error, error.message = %error, "storage unavailable");
            ProblemType::Unavailable
        }
        _ => {
            // The cause goes to the log only: it may name tables, hosts or values.
            tracing::error!(error.cause_chain = ?error, error.message = %error, "storage failure");
            ProblemType::Internal
        }
    }
}

fn storage_detail(error: &RepoError) -> &'static str {
    match error {
        RepoError::Unavailable(_) => "the database is busy or unreachable",
        _ => "an unexpected error occurred",
    }
}

/// What a failed use case means at the edge: the one mapping from the domain's errors, read by
/// the API (as a problem) and by the dashboard (as a page), so both answer with the same class.
#[derive(Debug)]
pub enum Failure {
    /// Fields were refused (422).
    Invalid(ValidationErrors),
    /// Refused as a whole: the kind says how (404, 409, 412, ...), the detail says why.
    Refused(ProblemType, String),
    /// The store failed: 503 when unavailable, else 500 (logged when mapped).
    Storage(RepoError),
}

impl Failure {
    /// The kind of problem: `validation-error`, the refusal's, or the store's.
    pub fn kind(&self) -> ProblemType {
        match self {
            Self::Invalid(_) => ProblemType::Validation,
            Self::Refused(kind, _) => *kind,
            Self::Storage(RepoError::Unavailable(_)) => ProblemType::Unavailable,
            Self::Storage(_) => ProblemType::Internal,
        }
    }
}

/// A domain error's [`Failure`].
pub trait Classify {
    fn classify(self) -> Failure;
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Invalid(errors) => errors.into(),
            Failure::Refused(kind, detail) => Self::new(kind, detail),
            Failure::Storage(error) => Self::storage(error),
        }
    }
}

/// `Refused(kind, error.to_string())`.
fn refused(kind: ProblemType, error: &impl fmt::Display) -> Failure {
    Failure::Refused(kind, error.to_string())
}

impl Classify for CustomerError {
    fn classify(self) -> Failure {
        match self {
            Self::Validation(errors) => Failure::Invalid(errors),
            Self::NotFound(_) => refused(ProblemType::NotFound, &self),
            Self::DuplicateCode(_) => refused(ProblemType::DuplicateCode, &self),
            Self::HasOrders(_) => refused(ProblemType::CustomerHasOrders, &self),
            Self::PreconditionFailed(_) => refused(ProblemType::PreconditionFailed, &self),
            Self::KeyTaken => refused(ProblemType::IdempotencyKeyInUse, &self),
            Self::Storage(e) => Failure::Storage(e),
        }
    }
}

impl Classify for OrderError {
    fn classify(self) -> Failure {
        match self {
            Self::Validation(errors) => Failure::Invalid(errors),
            Self::NotFound(_) | Self::CustomerNotFound(_) => refused(ProblemType::NotFound, &self),
            Self::PreconditionFailed(_) => refused(ProblemType::PreconditionFailed, &self),
            Self::KeyTaken => refused(ProblemType::IdempotencyKeyInUse, &self),
            Self::InvalidTransition { .. } => refused(ProblemType::InvalidStatusTransition, &self),
            Self::HasHistory(_) => refused(ProblemType::OrderHasHistory, &self),
            Self::Storage(e) => Failure::Storage(e),
        }
    }
}

impl Classify for IdempotencyError {
    fn classify(self) -> Failure {
        match self {
            Self::Reused(e) => refused(ProblemType::IdempotencyKeyReused, &e),
            Self::Storage(e) => Failure::Storage(e),
        }
    }
}

impl Classify for NotificationError {
    fn classify(self) -> Failure {
        match self {
            Self::OrderNotFound(_) | Self::NotFound(_) => refused(ProblemType::NotFound, &self),
            Self::NotRetryable { .. } => refused(ProblemType::NotificationNotRetryable, &self),
            Self::Storage(e) => Failure::Storage(e),
            Self::Validation(errors) => Failure::Invalid(errors),
        }
    }
}

impl Classify for WebhookError {
    fn classify(self) -> Failure {
        match self {
            Self::Validation(errors) => Failure::Invalid(errors),
            Self::NotFound(_) => refused(ProblemType::NotFound, &self),
            Self::Storage(e) => Failure::Storage(e),
        }
    }
}

impl Classify for InboxError {
    /// A number that is not one is invalid on `phone`; the API names Africa's Talking's field.
    fn classify(self) -> Failure {
        match self {
            Self::InvalidPhone(reason) => Failure::Invalid(ValidationErrors::single("phone", reason)),
            Self::CustomerNotFound(_) => refused(ProblemType::NotFound, &self),
            // Another write kept winning the race for a customer: Africa's Talking may retry.
            Self::Customer(CustomerError::PreconditionFailed(_)) => Failure::Refused(
                ProblemType::Unavailable,
                "a customer kept changing during the opt-out; try again".to_owned(),
            ),
            Self::Customer(e) => e.classify(),
            Self::Storage(e) => Failure::Storage(e),
        }
    }
}

impl Classify for RepoError {
    fn classify(self) -> Failure {
        Failure::Storage(self)
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

/// `From<E> for ApiError` through [`Classify`], for each domain error.
macro_rules! classified {
    ($($error:ty),+) => {
        $(impl From<$error> for ApiError {
            fn from(error: $error) -> Self {
                error.classify().into()
            }
        })+
    };
}

classified!(CustomerError, OrderError, IdempotencyError, NotificationError, WebhookError);

impl From<InboxError> for ApiError {
    fn from(error: InboxError) -> Self {
        match error {
            // Only the opt-out callback names a number; its field is Africa's Talking's.
            InboxError::InvalidPhone(reason) => Self::validation(vec![FieldProblem {
                row: None,
                field: "phoneNumber".into(),
                message: format!("{reason} (in the default region, or with its +country)"),
            }]),
            other => other.classify().into(),
        }
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

#[cfg(test)]
mod tests {
    use poem::IntoResponse;

    use super::*;
    use crate::problem::KINDS;

    #[test]
    fn every_kind_is_answered_with_its_own_status() {
        assert_eq!(ProblemType::ALL.len(), KINDS.len());
        for &kind in ProblemType::ALL {
            assert!(status_row(kind.status()).is_some(), "{} has no status row", kind.slug());
            let response = ApiError::new(kind, "detail").into_response();
            assert_eq!(response.status(), kind.status(), "{}", kind.slug());
            assert_eq!(ProblemType::from_slug(kind.slug()), Some(kind));
        }
        assert_eq!(ApiError::new(ProblemType::MethodNotAllowed, "x").into_response().status().as_u16(), 405);
    }

    #[test]
    fn statuses_carry_their_headers() {
        let refused = ApiError::insufficient_permission(Permission::WriteOrders).into_response();
        let challenge = refused.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(challenge.contains("scope=\"write:orders\""), "{challenge}");
        let bare = ApiError::new(ProblemType::Unauthenticated, "x").into_response();
        assert_eq!(
            bare.headers().get("www-authenticate").and_then(|v| v.to_str().ok()),
            Some("Bearer realm=\"orderdesk\"")
        );
        let limited = ApiError::rate_limited("slow down", 7).into_response();
        assert_eq!(limited.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
        let down = ApiError::new(ProblemType::Unavailable, "x").into_response();
        assert_eq!(down.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
        assert_eq!(down.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("application/problem+json"));
    }
}
