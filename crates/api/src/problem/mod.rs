//! RFC 9457 problem details: the one error shape of the API, with stable `type` URIs. Split
//! by job: [`kind`] holds the tables (problem kinds, and the statuses errors are answered
//! with), [`error`] the error every operation returns and the one mapping from the domain's
//! errors, [`openapi`] what the document says of them (each operation's set is declared next
//! to its handler with [`error_sets!`]).

pub mod error;
pub mod kind;
pub mod openapi;

use poem::http::StatusCode;
use poem_openapi::Object;
use poem_openapi::types::Example;

/// Built by the auth module; here for the middleware's framework 401s.
pub use error::{ApiError, Classify, Failure};
pub use kind::{KINDS, Kind, ProblemType};
pub(crate) use openapi::error_sets;
pub use openapi::{ErrorSet, Errors, GetErrors, ListErrors, ListOfOneErrors};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

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
