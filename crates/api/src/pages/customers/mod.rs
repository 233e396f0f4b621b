//! The customer pages: find a customer by phone, code or name (the caller-ID step of a phone
//! order) and add one (`/dashboard/customers`); one customer (`/dashboard/customers/{id}`)
//! with their details, orders and messages, taking an order for them, editing and deleting.
//! Every action goes through the same domain services as the API and needs the same
//! permission; domain errors become page outcomes through the API's one mapping ([`Outcome`]).

mod actions;
mod find;
mod show;

use askama::Template;
use orderdesk_domain::CustomerId;
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::{Response, Route, get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::html;
use super::outcome::Outcome;
use super::shell::{FormErrors, Shell};
use crate::problem::ProblemType;

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

/// What a page does after a failed action.
pub(super) enum Next {
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

/// The page outcome of a failure ([`Outcome`], the API's classes), for a form with `fields`.
pub(super) fn next(outcome: Outcome, session: &Session, fields: &Fields) -> Next {
    let status = outcome.status();
    let again = |errors, alert: Option<String>| {
        Next::Again(Retry { status, errors, alert, stale: status == StatusCode::PRECONDITION_FAILED })
    };
    match outcome {
        Outcome::Invalid(errors) => again(FormErrors::from_validation(&errors, fields), None),
        Outcome::Refused(ProblemType::DuplicateCode, message) => {
            let mut errors = FormErrors::default();
            let (id, label) =
                fields.iter().find(|(name, _, _)| *name == "code").map_or(("", "Code"), |(_, id, l)| (*id, *l));
            errors.add("code", id, label, &message);
            again(errors, None)
        }
        Outcome::Stale => again(
            FormErrors::default(),
            Some("Changed by someone else since you opened this page. Check the current values and try again.".into()),
        ),
        Outcome::Refused(_, sentence) => again(FormErrors::default(), Some(sentence)),
        Outcome::Missing => Next::Page(not_found(session)),
        Outcome::Unavailable => Next::Page(shell_message(
            session,
            status,
            "Try again",
            "The shop's records cannot be reached just now; nothing was changed. Please try again in a moment.",
        )),
        Outcome::Failed => Next::Page(shell_message(
            session,
            status,
            "Something went wrong",
            "Nothing was changed. The error was logged; please try again.",
        )),
    }
}

/// The page for a read that failed (a read has no form to show again).
pub(super) fn read_failed(outcome: Outcome, session: &Session) -> Response {
    match next(outcome, session, &[]) {
        Next::Page(response) => response,
        Next::Again(retry) => shell_message(
            session,
            retry.status,
            "Not shown",
            retry.alert.unwrap_or_else(|| "The request could not be read.".to_owned()),
        ),
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
