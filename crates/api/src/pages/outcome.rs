//! What a page answers after a failed use case. The class comes from the API's one mapping
//! ([`Classify`]), so a page answers with the status the API would: invalid input is the form
//! again with 422, a missing record 404, a refusal 409, a stale form 412, a store that cannot
//! be reached 503, anything else 500. This module only words it for people.

use orderdesk_domain::service::{InboxError, NotificationError};
use orderdesk_domain::{CustomerError, OrderError, RepoError, ValidationErrors};
use poem::http::StatusCode;

use super::orders::status_label;
use crate::problem::error::storage_kind;
use crate::problem::{Classify, Failure, ProblemType};

/// How a page answers a failure.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 422: the form again, with the summary and a message beside each field, input kept.
    Invalid(ValidationErrors),
    /// 412: someone saved the record since the form was shown.
    Stale,
    /// 404: no such record.
    Missing,
    /// 409: the action is refused as a whole; the kind, and the sentence that says why.
    Refused(ProblemType, String),
    /// 503: the store cannot be reached just now; nothing was saved.
    Unavailable,
    /// 500: an unexpected failure (logged where it was mapped); nothing was saved.
    Failed,
}

impl Outcome {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Stale => StatusCode::PRECONDITION_FAILED,
            Self::Missing => StatusCode::NOT_FOUND,
            Self::Refused(..) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A domain error a page can meet: classified as the API does, with a sentence of its own
/// where the refusal names something (a status, an SMS's state).
pub(crate) trait PageError: Classify {
    fn sentence(&self) -> Option<String> {
        None
    }
}

impl PageError for CustomerError {}

impl PageError for InboxError {}

impl PageError for RepoError {}

impl PageError for OrderError {
    fn sentence(&self) -> Option<String> {
        match self {
            Self::InvalidTransition { from, to, .. } => Some(format!(
                "Not moved: the order is {} and cannot move to {}.",
                status_label(*from),
                status_label(*to)
            )),
            _ => None,
        }
    }
}

impl PageError for NotificationError {
    fn sentence(&self) -> Option<String> {
        match self {
            Self::NotRetryable { status, .. } => {
                Some(format!("Not resent: this SMS is {status}; only a failed or undelivered SMS can be sent again."))
            }
            _ => None,
        }
    }
}

/// The sentence of a refusal that names nothing.
fn refusal(kind: ProblemType) -> String {
    match kind {
        ProblemType::DuplicateCode => "is already used by another customer",
        ProblemType::CustomerHasOrders => "This customer has orders, so they cannot be deleted.",
        ProblemType::OrderHasHistory => "The order has a history, so it cannot be deleted; cancel it instead.",
        ProblemType::IdempotencyKeyInUse => "The same request is being handled already; reload the page.",
        _ => kind.title(),
    }
    .to_owned()
}

impl<E: PageError> From<E> for Outcome {
    fn from(error: E) -> Self {
        let sentence = error.sentence();
        match error.classify() {
            Failure::Invalid(errors) => Self::Invalid(errors),
            Failure::Storage(error) => match storage_kind(&error) {
                ProblemType::Unavailable => Self::Unavailable,
                _ => Self::Failed,
            },
            Failure::Refused(kind, detail) => match kind.status() {
                StatusCode::NOT_FOUND => Self::Missing,
                StatusCode::PRECONDITION_FAILED => Self::Stale,
                StatusCode::SERVICE_UNAVAILABLE => Self::Unavailable,
                StatusCode::CONFLICT => Self::Refused(kind, sentence.unwrap_or_else(|| refusal(kind))),
                _ => {
                    tracing::error!(r#type = kind.slug(), detail, "a page met a problem it does not show");
                    Self::Failed
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use orderdesk_domain::{CustomerId, InvalidValue, NotificationId, OrderId, OrderStatus};

    use super::*;

    #[test]
    fn each_error_has_its_own_status() {
        let id = OrderId::generate();
        let cases: [(Outcome, StatusCode); 10] = [
            (
                OrderError::Validation(ValidationErrors::single("item", InvalidValue::Empty)).into(),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (OrderError::PreconditionFailed(id).into(), StatusCode::PRECONDITION_FAILED),
            (OrderError::NotFound(id).into(), StatusCode::NOT_FOUND),
            (NotificationError::NotFound(NotificationId::generate()).into(), StatusCode::NOT_FOUND),
            (
                OrderError::InvalidTransition { id, from: OrderStatus::Completed, to: OrderStatus::Ready }.into(),
                StatusCode::CONFLICT,
            ),
            (
                NotificationError::NotRetryable { id: NotificationId::generate(), status: "sent" }.into(),
                StatusCode::CONFLICT,
            ),
            (OrderError::Storage(RepoError::Unavailable("down".into())).into(), StatusCode::SERVICE_UNAVAILABLE),
            // Only a real outage is a 503; the API answers these with the same statuses.
            (CustomerError::Storage(RepoError::Unexpected("bug".into())).into(), StatusCode::INTERNAL_SERVER_ERROR),
            (CustomerError::KeyTaken.into(), StatusCode::CONFLICT),
            (CustomerError::HasOrders(CustomerId::generate()).into(), StatusCode::CONFLICT),
        ];
        for (outcome, status) in cases {
            assert_eq!(outcome.status(), status, "{outcome:?}");
        }
    }

    #[test]
    fn a_refused_move_names_both_statuses() {
        let failure = OrderError::InvalidTransition {
            id: OrderId::generate(),
            from: OrderStatus::Completed,
            to: OrderStatus::OutForDelivery,
        };
        let Outcome::Refused(_, alert) = Outcome::from(failure) else { panic!("refused") };
        assert_eq!(alert, "Not moved: the order is completed and cannot move to out for delivery.");
    }
}
