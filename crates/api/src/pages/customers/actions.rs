//! The customer page's actions: take an order for the customer, save the edit form, delete
//! the customer. Each reads a CSRF-checked form, checks the session's permission, calls the
//! domain service and either redirects (with a notice to show) or shows the page again.

use std::sync::Arc;

use orderdesk_domain::service::{CustomerChanges, OrderDraft};
use orderdesk_domain::{Actor, CustomerId, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Path};
use poem::{Response, handler};

use super::show::{EditForm, Failed, Forms, OrderForm, ShowQuery, render};
use super::{CustomerPath, Fields, Next, Retry, next, not_found};
use crate::pages::form::Form;
use crate::pages::outcome::Outcome;
use crate::pages::shell::{checked_form, denied};
use crate::pages::{WebState, field, redirect};
use crate::security::holds;

const ORDER_FIELDS: &Fields = &[("item", "order-item", "Item"), ("amount", "order-amount", "Amount")];

const EDIT_FIELDS: &Fields = &[
    ("name", "customer-name", "Name"),
    ("phone", "customer-phone", "Phone"),
    ("language", "customer-language", "Language"),
    ("sms_opt_out", "customer-sms-opt-out", "No SMS"),
];

/// A checked form for the customer in the path, from a session with `permission`: the
/// session, the customer's id and the fields; or the response that refuses it.
async fn begin(
    state: &WebState,
    jar: &CookieJar,
    path: &CustomerPath,
    form: Form,
    permission: Permission,
    refused: impl FnOnce(&[(String, String)]) -> Forms,
) -> Result<(Session, CustomerId, Vec<(String, String)>), Response> {
    let (session, fields) = checked_form(state, jar, form).await?;
    let Some(id) = path.customer_id() else { return Err(not_found(&session)) };
    if !holds(&session, permission) {
        let mut forms = refused(&fields);
        forms.retry = Retry { status: StatusCode::FORBIDDEN, alert: Some(denied(permission)), ..Retry::default() };
        return Err(render(state, &session, id, ShowQuery::default(), forms).await);
    }
    Ok((session, id, fields))
}

/// The page shown again after `outcome`, with `forms` as submitted.
async fn again(
    state: &WebState,
    session: &Session,
    id: CustomerId,
    outcome: Outcome,
    fields: &Fields,
    mut forms: Forms,
) -> Response {
    match next(outcome, session, fields) {
        Next::Again(retry) => {
            forms.retry = retry;
            render(state, session, id, ShowQuery::default(), forms).await
        }
        Next::Page(response) => response,
    }
}

fn order_form(fields: &[(String, String)]) -> Forms {
    let order = OrderForm { item: field(fields, "item").to_owned(), amount: field(fields, "amount").trim().to_owned() };
    Forms { order, failed: Failed::Order, ..Forms::default() }
}

fn edit_form(fields: &[(String, String)]) -> Forms {
    let edit = EditForm {
        name: field(fields, "name").to_owned(),
        phone: field(fields, "phone").to_owned(),
        language: field(fields, "language").to_owned(),
        sms_opt_out: !field(fields, "sms_opt_out").is_empty(),
        version: field(fields, "version").to_owned(),
    };
    Forms { edit: Some(edit), failed: Failed::Edit, ..Forms::default() }
}

/// The version a form was filled from; a missing or garbled one is treated as stale, so
/// nothing is written over a version nobody saw.
fn version(fields: &[(String, String)]) -> u32 {
    field(fields, "version").trim().parse().unwrap_or(u32::MAX)
}

#[handler]
pub(super) async fn take_order(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(path): Path<CustomerPath>,
    form: Form,
) -> Response {
    let (session, id, fields) = match begin(&state, jar, &path, form, Permission::WriteOrders, order_form).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let forms = order_form(&fields);
    let draft = OrderDraft {
        customer_id: id,
        item: forms.order.item.clone(),
        amount: forms.order.amount.clone(),
        currency: None,
        ordered_at: None,
        notify: true,
    };
    match state.services.orders.create(draft, &Actor::new(session.subject.clone()), None).await {
        Ok(order) => redirect(&format!("/dashboard/orders/{}?done=created", order.id())),
        Err(error) => again(&state, &session, id, error.into(), ORDER_FIELDS, forms).await,
    }
}

#[handler]
pub(super) async fn save_edit(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(path): Path<CustomerPath>,
    form: Form,
) -> Response {
    let (session, id, fields) = match begin(&state, jar, &path, form, Permission::WriteCustomers, edit_form).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let forms = edit_form(&fields);
    let Some(edit) = forms.edit.clone() else { return not_found(&session) };
    let changes = CustomerChanges {
        name: Some(edit.name),
        code: None,
        phone: Some(edit.phone),
        language: Some(edit.language),
        sms_opt_out: Some(edit.sms_opt_out),
    };
    let actor = Actor::new(session.subject.clone());
    match state.services.customers.update(id, changes, &actor, Some(version(&fields))).await {
        Ok(_) => redirect(&format!("/dashboard/customers/{id}?done=saved")),
        Err(error) => again(&state, &session, id, error.into(), EDIT_FIELDS, forms).await,
    }
}

#[handler]
pub(super) async fn delete_customer(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(path): Path<CustomerPath>,
    form: Form,
) -> Response {
    let deleting = |_: &[(String, String)]| Forms { failed: Failed::Delete, ..Forms::default() };
    let (session, id, fields) = match begin(&state, jar, &path, form, Permission::WriteCustomers, deleting).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    match state.services.customers.delete(id, Some(version(&fields))).await {
        Ok(()) => redirect("/dashboard/customers?done=deleted"),
        Err(error) => again(&state, &session, id, error.into(), &[], deleting(&fields)).await,
    }
}
