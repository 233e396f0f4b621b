//! The customer pages: find a customer by phone, code or name (the caller-ID step of a phone
//! order) and add one (`/dashboard/customers`); one customer (`/dashboard/customers/{id}`)
//! with their details, orders and messages, taking an order for them, editing and deleting.
//! Every action goes through the same domain services as the API and needs the same
//! permission; domain errors become page outcomes in one place, [`Problem`].

mod actions;
mod find;
mod show;

use askama::Template;
use orderdesk_domain::service::InboxError;
use orderdesk_domain::{CustomerError, CustomerId, OrderError, ValidationErrors};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::{Response, Route, get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::html;
use super::shell::{FormErrors, Shell};

/// Adds the customer pages to `route`.
pub(super) fn routes(route: Route) -> Route {
    route
        .at("/dashboard/customers", get(find::find_page).post(find::create))
        .at("/dashboard/customers/:id", get(show::customer_page))
        .at("/dashboard/customers/:id/orders", post(actions::take_order))
        .at("/dashboard/customers/:id/edit", post(actions::save_edit))
        .at("/dashboard/customers/:id/delete", post(actions::delete_customer))
}

/// A form's fields as `(name, input id, label)`, in the order the form shows them.
pub(super) type Fields = [(&'static str, &'static str, &'static str)];

/// The languages a customer can be texted in, as the select offers them.
pub(super) const LANGUAGES: [(&str, &str); 2] = [("en", "English"), ("sw", "Swahili")];

/// Why an action or a read failed, in the terms a page answers in.
#[derive(Debug)]
pub(super) enum Problem {
    /// Fields were refused: 422, the form again with its errors.
    Invalid(ValidationErrors),
    /// Another customer has this code: 409 on `code`.
    DuplicateCode,
    /// The record changed since the page was loaded: 412.
    Stale,
    /// No such customer (or order): 404.
    NotFound,
    /// The customer has orders and cannot be deleted: 409.
    HasOrders,
    /// Refused by a business rule, said as is: 409.
    Refused(String),
    /// The store failed (logged where it happened): 503.
    Unavailable,
}

impl From<CustomerError> for Problem {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::Validation(errors) => Self::Invalid(errors),
            CustomerError::NotFound(_) => Self::NotFound,
            CustomerError::DuplicateCode(_) => Self::DuplicateCode,
            CustomerError::PreconditionFailed(_) => Self::Stale,
            CustomerError::HasOrders(_) => Self::HasOrders,
            other @ (CustomerError::KeyTaken | CustomerError::Storage(_)) => unavailable(&other),
        }
    }
}

impl From<OrderError> for Problem {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Validation(errors) => Self::Invalid(errors),
            OrderError::NotFound(_) | OrderError::CustomerNotFound(_) => Self::NotFound,
            OrderError::PreconditionFailed(_) => Self::Stale,
            refused @ (OrderError::InvalidTransition { .. } | OrderError::HasHistory(_)) => {
                Self::Refused(refused.to_string())
            }
            other @ (OrderError::KeyTaken | OrderError::Storage(_)) => unavailable(&other),
        }
    }
}

impl From<InboxError> for Problem {
    fn from(error: InboxError) -> Self {
        match error {
            InboxError::CustomerNotFound(_) => Self::NotFound,
            InboxError::Customer(error) => error.into(),
            InboxError::InvalidPhone(reason) => Self::Invalid(ValidationErrors::single("phone", reason)),
            other @ InboxError::Storage(_) => unavailable(&other),
        }
    }
}

fn unavailable(error: &(dyn std::error::Error + 'static)) -> Problem {
    tracing::error!(error.cause_chain = ?error, "a customer page cannot reach the store");
    Problem::Unavailable
}

/// What a page does after a failed action.
pub(super) enum Outcome {
    /// Show the page again, input kept, with this status, the form's errors and an alert.
    Again(Retry),
    /// Answer with another page instead (not found, unavailable).
    Page(Response),
}

/// How a page is shown again after a failed action.
#[derive(Default)]
pub(super) struct Retry {
    pub status: StatusCode,
    pub errors: FormErrors,
    pub alert: Option<String>,
    /// The record changed under the form: show the stored values beside the input.
    pub stale: bool,
}

impl Problem {
    /// The page outcome, for a form with `fields`.
    pub(super) fn outcome(self, session: &Session, fields: &Fields) -> Outcome {
        let again = |status, errors, alert: &str| {
            let alert = (!alert.is_empty()).then(|| alert.to_owned());
            Outcome::Again(Retry { status, errors, alert, stale: status == StatusCode::PRECONDITION_FAILED })
        };
        match self {
            Self::Invalid(errors) => {
                again(StatusCode::UNPROCESSABLE_ENTITY, FormErrors::from_validation(&errors, fields), "")
            }
            Self::DuplicateCode => {
                let mut errors = FormErrors::default();
                let (id, label) =
                    fields.iter().find(|(name, _, _)| *name == "code").map_or(("", "Code"), |(_, id, l)| (*id, *l));
                errors.add("code", id, label, "is already used by another customer");
                again(StatusCode::CONFLICT, errors, "")
            }
            Self::Stale => again(
                StatusCode::PRECONDITION_FAILED,
                FormErrors::default(),
                "Changed by someone else since you opened this page. Check the current values and try again.",
            ),
            Self::HasOrders => again(
                StatusCode::CONFLICT,
                FormErrors::default(),
                "This customer has orders, so they cannot be deleted.",
            ),
            Self::Refused(reason) => again(StatusCode::CONFLICT, FormErrors::default(), &reason),
            Self::NotFound => Outcome::Page(not_found(session)),
            Self::Unavailable => Outcome::Page(shell_message(
                session,
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The shop's records cannot be reached just now; nothing was changed. Please try again in a moment.",
            )),
        }
    }

    /// The page for a read that failed (a read has no form to show again).
    pub(super) fn page(self, session: &Session) -> Response {
        match self.outcome(session, &[]) {
            Outcome::Page(response) => response,
            Outcome::Again(retry) => shell_message(
                session,
                retry.status,
                "Not shown",
                retry.alert.unwrap_or_else(|| "The request could not be read.".to_owned()),
            ),
        }
    }
}

/// The path of a customer's page and actions, read by name: the pages are routed through a
/// wildcard (`/dashboard/customers/*rest`), whose parameter comes along.
#[derive(Deserialize)]
pub(super) struct CustomerPath {
    id: String,
}

impl CustomerPath {
    /// The customer's id; `None` for anything that is not one.
    pub(super) fn customer_id(&self) -> Option<CustomerId> {
        Uuid::parse_str(&self.id).ok().map(CustomerId::from_uuid)
    }
}

#[derive(Template)]
#[template(path = "customers_message.html")]
struct MessagePage {
    shell: Shell,
    title: String,
    text: String,
}

/// A page with the header, a title and a sentence, and a way back to finding customers.
pub(super) fn shell_message(session: &Session, status: StatusCode, title: &str, text: impl Into<String>) -> Response {
    let page = MessagePage { shell: Shell::new(session, "customers"), title: title.to_owned(), text: text.into() };
    html(status, &page)
}

pub(super) fn not_found(session: &Session) -> Response {
    shell_message(session, StatusCode::NOT_FOUND, "Customer not found", "There is no customer at this address.")
}

/// A customer as a row of a list.
pub(super) struct CustomerRow {
    pub id: String,
    pub name: String,
    pub code: String,
    pub phone: String,
    pub language: &'static str,
}

impl CustomerRow {
    pub(super) fn new(customer: &orderdesk_domain::Customer) -> Self {
        Self {
            id: customer.id().to_string(),
            name: customer.name().as_str().to_owned(),
            code: customer.code().as_str().to_owned(),
            phone: customer.phone().as_str().to_owned(),
            language: language_name(customer.language().as_str()),
        }
    }
}

/// `en` → `English`.
pub(super) fn language_name(code: &str) -> &'static str {
    LANGUAGES.iter().find(|(c, _)| *c == code).map_or("?", |(_, name)| name)
}
