//! What the OpenAPI document says of errors: every status of [`STATUSES`] as a response of
//! [`ApiError`], and per operation ([`Errors`] over an [`ErrorSet`]) exactly the problems it
//! can answer with. Each operation's set is declared next to its handler with [`error_sets!`];
//! the sets several operations share are here.

use std::fmt;
use std::marker::PhantomData;

use orderdesk_domain::ValidationErrors;
use orderdesk_domain::service::{IdempotencyError, ImportError, InboxError, NotificationError, WebhookError};
use orderdesk_domain::{CustomerError, OrderError};
use poem::http::HeaderValue;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaHeader, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{Example, ToJSON, Type};
use poem_openapi::{ApiResponse, ResponseContent};
use serde_json::Value;

use super::kind::{ProblemHeader, STATUSES};
use super::{ApiError, PROBLEM_JSON, Problem, ProblemType};

impl ProblemHeader {
    fn name(self) -> &'static str {
        match self {
            Self::WwwAuthenticate => "WWW-AUTHENTICATE",
            Self::RetryAfter => "RETRY-AFTER",
        }
    }

    fn meta(self) -> MetaHeader {
        let (required, schema) = match self {
            Self::WwwAuthenticate => (String::IS_REQUIRED, String::schema_ref()),
            Self::RetryAfter => (u32::IS_REQUIRED, u32::schema_ref()),
        };
        MetaHeader { name: self.name().to_owned(), description: None, required, deprecated: false, schema }
    }
}

impl poem::IntoResponse for ApiError {
    fn into_response(self) -> poem::Response {
        let status = self.status();
        let header = self.header();
        let mut response = poem::IntoResponse::into_response(Json(self.problem().clone()));
        response.set_status(status);
        if let Some((header, value)) = header
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            response.headers_mut().insert(header.name(), value);
        }
        response.headers_mut().insert(poem::http::header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let responses = STATUSES
            .iter()
            .map(|row| MetaResponse {
                description: row.description,
                status: Some(row.status.as_u16()),
                status_range: None,
                content: {
                    let mut content = <Json<Box<Problem>> as ResponseContent>::media_types();
                    if let Some(media) = content.get_mut(0) {
                        media.content_type = PROBLEM_JSON;
                    }
                    content
                },
                headers: row.header.map(ProblemHeader::meta).into_iter().collect(),
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        <Json<Box<Problem>> as ResponseContent>::register(registry);
    }
}

impl From<ApiError> for poem::Error {
    fn from(error: ApiError) -> Self {
        let message = error.to_string();
        let mut error = poem::Error::from_response(poem::IntoResponse::into_response(error));
        error.set_error_message(message);
        error
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

            impl $crate::problem::ErrorSet for $name {
                const PROBLEMS: &'static [$crate::problem::ProblemType] =
                    &[$($crate::problem::ProblemType::$kind,)+];
            }
        )+
    };
}

pub(crate) use error_sets;

error_sets! {
    /// The lists: a bad `limit`, `cursor` or filter is a 422.
    ListErrors: [Unauthenticated, Forbidden, Validation, RateLimited, Internal, Unavailable];
    /// `listCustomerOrders`, `listOrders`: also 404 for an unknown customer.
    ListOfOneErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
    /// Reads of one resource: a query parameter they do not define is a 422.
    GetErrors: [Unauthenticated, Forbidden, NotFound, Validation, RateLimited, Internal, Unavailable];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::{ExportOrdersErrors, ImportCustomersErrors};
    use crate::customers::{CreateCustomerErrors, DeleteCustomerErrors, UpdateCustomerErrors};
    use crate::health::ReadinessErrors;
    use crate::orders::{ChangeStatusErrors, CreateOrderErrors, DeleteOrderErrors, RetryErrors, UpdateOrderErrors};
    use crate::sms::PreviewErrors;
    use crate::webhook_endpoints::{CreateWebhookEndpointErrors, WebhookEndpointErrors};
    use crate::webhooks::WebhookErrors;

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
            ExportOrdersErrors::PROBLEMS,
            ImportCustomersErrors::PROBLEMS,
        ];
        for kind in ProblemType::ALL.iter().filter(|k| **k != ProblemType::MethodNotAllowed) {
            assert!(sets.iter().any(|set| set.contains(kind)), "{} is in no operation's set", kind.slug());
        }
    }
}
