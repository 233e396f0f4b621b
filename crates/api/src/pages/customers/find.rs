//! `/dashboard/customers`: find a customer by phone, code or name, and add a new one. A
//! search that reads as a phone number finds every customer with that number; when nobody
//! has it, the new-customer form starts with it (a phone order from a new caller).

use std::sync::Arc;

use askama::Template;
use orderdesk_domain::service::CustomerDraft;
use orderdesk_domain::{Actor, Customer, CustomerError, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::{CustomerRow, Fields, LANGUAGES, Next, Retry, next, read_failed};
use crate::pages::form::Form;
use crate::pages::outcome::Outcome;
use crate::pages::shell::{FormErrors, Shell, checked_form, denied};
use crate::pages::{WebState, field, html, redirect};
use crate::security::holds;

/// The most customers one search shows.
const RESULTS: usize = 25;

/// The new-customer form's fields.
const NEW_FIELDS: &Fields = &[
    ("name", "customer-name", "Name"),
    ("code", "customer-code", "Code"),
    ("phone", "customer-phone", "Phone"),
    ("language", "customer-language", "Language"),
    ("sms_opt_out", "customer-sms-opt-out", "No SMS"),
];

#[derive(Deserialize, Default)]
pub(super) struct FindQuery {
    q: Option<String>,
    done: Option<String>,
}

/// The new-customer form as shown or submitted.
pub(super) struct NewCustomer {
    name: String,
    code: String,
    phone: String,
    language: String,
    sms_opt_out: bool,
}

/// What a search found.
struct Results {
    rows: Vec<CustomerRow>,
    /// The search read as a phone number: these are the customers with it.
    by_phone: bool,
    /// More matched than are shown.
    more: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct FindPage {
    shell: Shell,
    can_read: bool,
    can_write: bool,
    query: String,
    /// `None` before a search: no list of every customer.
    results: Option<Results>,
    form: NewCustomer,
    languages: [(&'static str, &'static str); 2],
    errors: FormErrors,
}

/// Customers with the phone number `query` reads as, else those whose name or code contains it.
async fn search(state: &WebState, query: &str) -> Result<Results, Outcome> {
    let customers = &state.services.customers;
    let (mut found, by_phone): (Vec<Customer>, bool) = match customers.find_by_phone(query).await {
        Ok(found) => (found, true),
        Err(CustomerError::Validation(_)) => (customers.search(query, RESULTS as u64 + 1).await?, false),
        Err(other) => return Err(other.into()),
    };
    let more = found.len() > RESULTS;
    found.truncate(RESULTS);
    Ok(Results { rows: found.iter().map(CustomerRow::new).collect(), by_phone, more })
}

async fn render(
    state: &WebState,
    session: &Session,
    query: FindQuery,
    form: Option<NewCustomer>,
    retry: Retry,
) -> Response {
    let can_read = holds(&session, Permission::ReadCustomers);
    let text = query.q.unwrap_or_default().trim().to_owned();
    let mut results = None;
    if can_read && !text.is_empty() {
        match search(state, &text).await {
            Ok(found) => results = Some(found),
            Err(outcome) => return read_failed(outcome, session),
        }
    }
    let form = form.unwrap_or_else(|| NewCustomer {
        name: String::new(),
        code: String::new(),
        // The caller-ID step found nobody with this number: start the new customer with it.
        phone: results.as_ref().filter(|r| r.by_phone && r.rows.is_empty()).map(|_| text.clone()).unwrap_or_default(),
        language: state.services.customers.default_language().as_str().to_owned(),
        sms_opt_out: false,
    });
    let notice = match query.done.as_deref() {
        Some("deleted") => Some("Customer deleted.".to_owned()),
        _ => None,
    };
    let alert = retry.alert.or_else(|| (!can_read).then(|| denied(Permission::ReadCustomers)));
    let page = FindPage {
        shell: Shell::new(session, "customers").with_notice(notice).with_alert(alert),
        can_read,
        can_write: holds(&session, Permission::WriteCustomers),
        query: text,
        results,
        form,
        languages: LANGUAGES,
        errors: retry.errors,
    };
    html(retry.status, &page)
}

#[handler]
pub(super) async fn find_page(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Query(query): Query<FindQuery>,
) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    let status = if holds(&session, Permission::ReadCustomers) { StatusCode::OK } else { StatusCode::FORBIDDEN };
    render(&state, &session, query, None, Retry { status, ..Retry::default() }).await
}

#[handler]
pub(super) async fn create(state: Data<&Arc<WebState>>, jar: &CookieJar, form: Form) -> Response {
    let (session, fields) = match checked_form(&state, jar, form).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let form = NewCustomer {
        name: field(&fields, "name").to_owned(),
        code: field(&fields, "code").to_owned(),
        phone: field(&fields, "phone").to_owned(),
        language: field(&fields, "language").to_owned(),
        sms_opt_out: !field(&fields, "sms_opt_out").is_empty(),
    };
    // The search the form was under stays on the page when it is shown again.
    let query = FindQuery { q: Some(field(&fields, "q").to_owned()), done: None };
    if !holds(&session, Permission::WriteCustomers) {
        let retry = Retry {
            status: StatusCode::FORBIDDEN,
            alert: Some(denied(Permission::WriteCustomers)),
            ..Retry::default()
        };
        return render(&state, &session, query, Some(form), retry).await;
    }
    let draft = CustomerDraft {
        name: form.name.clone(),
        code: form.code.clone(),
        phone: form.phone.clone(),
        language: Some(form.language.clone()),
        sms_opt_out: Some(form.sms_opt_out),
    };
    match state.services.customers.create(draft, &Actor::new(session.subject.clone()), None).await {
        Ok(customer) => redirect(&format!("/dashboard/customers/{}?done=created", customer.id())),
        Err(error) => match next(error.into(), &session, NEW_FIELDS) {
            Next::Again(retry) => render(&state, &session, query, Some(form), retry).await,
            Next::Page(response) => response,
        },
    }
}
