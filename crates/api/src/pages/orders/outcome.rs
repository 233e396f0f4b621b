//! The one mapping from the domain's errors to what an order page answers: every handler of
//! this module sends its failures through [`outcome`], so the same error always gets the same
//! status and words.

use orderdesk_domain::service::NotificationError;
use orderdesk_domain::{OrderError, ValidationErrors};
use poem::http::StatusCode;

use super::status_label;

/// A failed use case of either service the order pages call.
#[derive(Debug)]
pub(super) enum Failure {
    Order(OrderError),
    Sms(NotificationError),
}

impl From<OrderError> for Failure {
    fn from(error: OrderError) -> Self {
        Self::Order(error)
    }
}

impl From<NotificationError> for Failure {
    fn from(error: NotificationError) -> Self {
        Self::Sms(error)
    }
}

/// How a page answers a failure.
#[derive(Debug)]
pub(super) enum Outcome {
    /// 422: the form again, with the summary and a message beside each field, input kept.
    Invalid(ValidationErrors),
    /// 412: someone saved the order since the form was shown; the form again with both the
    /// typed and the stored values.
    Stale,
    /// 404: no such order or SMS.
    Missing,
    /// 409: the action is refused as a whole in the order's current state; the sentence says why.
    Refused(String),
    /// 503: the store failed; nothing was saved.
    Unavailable,
}

impl Outcome {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Stale => StatusCode::PRECONDITION_FAILED,
            Self::Missing => StatusCode::NOT_FOUND,
            Self::Refused(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The mapping. Storage failures are logged here with their cause chain, never shown.
pub(super) fn outcome(failure: Failure) -> Outcome {
    match failure {
        Failure::Order(OrderError::Validation(errors)) | Failure::Sms(NotificationError::Validation(errors)) => {
            Outcome::Invalid(errors)
        }
        Failure::Order(OrderError::PreconditionFailed(_)) => Outcome::Stale,
        Failure::Order(OrderError::NotFound(_) | OrderError::CustomerNotFound(_))
        | Failure::Sms(NotificationError::OrderNotFound(_) | NotificationError::NotFound(_)) => Outcome::Missing,
        Failure::Order(OrderError::InvalidTransition { from, to, .. }) => Outcome::Refused(format!(
            "Not moved: the order is {} and cannot move to {}.",
            status_label(from),
            status_label(to)
        )),
        Failure::Order(OrderError::HasHistory(_)) => {
            Outcome::Refused("The order has a history, so it cannot be deleted; cancel it instead.".to_owned())
        }
        Failure::Sms(NotificationError::NotRetryable { status, .. }) => Outcome::Refused(format!(
            "Not resent: this SMS is {status}; only a failed or undelivered SMS can be sent again."
        )),
        Failure::Order(OrderError::KeyTaken) => {
            Outcome::Refused("The same request is being handled already; reload the page.".to_owned())
        }
        Failure::Order(OrderError::Storage(error)) | Failure::Sms(NotificationError::Storage(error)) => {
            tracing::error!(error.cause_chain = ?error, "an order page could not reach the store");
            Outcome::Unavailable
        }
    }
}

#[cfg(test)]
mod tests {
    use orderdesk_domain::{InvalidValue, NotificationId, OrderId, OrderStatus, RepoError};

    use super::*;

    #[test]
    fn each_error_has_its_own_status() {
        let id = OrderId::generate();
        let cases: [(Failure, StatusCode); 7] = [
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
        ];
        for (failure, status) in cases {
            assert_eq!(outcome(failure).status(), status);
        }
    }

    #[test]
    fn a_refused_move_names_both_statuses() {
        let failure = OrderError::InvalidTransition {
            id: OrderId::generate(),
            from: OrderStatus::Completed,
            to: OrderStatus::OutForDelivery,
        };
        let Outcome::Refused(alert) = outcome(failure.into()) else { panic!("refused") };
        assert_eq!(alert, "Not moved: the order is completed and cannot move to out for delivery.");
    }
}
