//! Typed domain errors. Adapters map infrastructure failures into [`RepoError`];
//! the API maps the use-case errors to HTTP statuses.

use std::fmt;

use crate::{CustomerId, OrderId};

/// Why a single value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacters,
    #[error("may contain only letters, digits, '-' and '_'")]
    CodeCharacters,
    #[error("is not a valid phone number")]
    Phone,
    #[error("is not a known ISO 4217 currency code")]
    Currency,
    #[error("is not a decimal number such as \"250.50\"")]
    Decimal,
    #[error("must be greater than zero")]
    NotPositive,
    #[error("may have at most {max} decimal places for this currency")]
    TooManyDecimals { max: u32 },
    #[error("is too large")]
    TooLarge,
    #[error("is not a supported ISO 3166 region code")]
    Region,
    #[error("must not be earlier than {other}")]
    BeforeOther { other: &'static str },
    #[error("does not exist")]
    UnknownReference,
}

/// A refused value together with the input field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: InvalidValue,
}

/// Every field that failed validation in one request; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// A single failed field.
    pub fn single(field: &'static str, reason: InvalidValue) -> Self {
        Self(vec![FieldError { field, reason }])
    }

    /// The failed fields, in input order.
    pub fn fields(&self) -> &[FieldError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "invalid input: {}", parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Collects field errors while a command is parsed, so a caller hears of all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Collector(Vec<FieldError>);

impl Collector {
    /// Records the error of `result` under `field` and returns its value, if any.
    pub(crate) fn check<T>(&mut self, field: &'static str, result: Result<T, InvalidValue>) -> Option<T> {
        result.map_err(|reason| self.0.push(FieldError { field, reason })).ok()
    }

    /// Returns `value` when no field failed. `value` is `None` only if some check failed,
    /// so the error list is never empty.
    pub(crate) fn finish<T>(self, value: Option<T>) -> Result<T, ValidationErrors> {
        match value {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(ValidationErrors(self.0)),
        }
    }
}

/// A boxed infrastructure error, kept as a source for logs and never shown to clients.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a repository can report. Adapters decide which infrastructure failure is which.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row to change or delete does not exist.
    #[error("record not found")]
    NotFound,
    /// A unique index refused the write (for customers: the code).
    #[error("unique constraint violated")]
    Duplicate,
    /// A foreign key refused the write: a referenced row is missing, or dependants still exist.
    #[error("foreign key constraint violated")]
    ForeignKey,
    /// The store is busy or unreachable; retrying later may succeed.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else; a bug or a broken store.
    #[error("unexpected storage error")]
    Unexpected(#[source] BoxError),
}

/// Failures of the customer use cases.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("customer {0} not found")]
    NotFound(CustomerId),
    #[error("a customer with code {0:?} already exists")]
    DuplicateCode(String),
    #[error("customer {0} still has orders")]
    HasOrders(CustomerId),
    #[error(transparent)]
    Storage(RepoError),
}

/// Failures of the order use cases.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    #[error("order {0} not found")]
    NotFound(OrderId),
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    #[error(transparent)]
    Storage(RepoError),
}
