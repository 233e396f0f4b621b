//! The order page's POSTs: move or cancel (`/status`), change item and amount (`/edit`), and
//! resend an SMS (`/notifications/{nid}/resend`). Each checks the CSRF token and the
//! `write:orders` permission, calls the same service as the API, redirects to the order page
//! with a notice on success (`?done=`), and sends every failure through [`failed`].

use std::sync::Arc;

use orderdesk_domain::service::{OrderChanges, StatusRequest};
use orderdesk_domain::{Actor, OrderId, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Path};
use poem::{Response, handler};

use super::detail::{CancelInput, Done, EditInput, Forms, render};
use super::{forbidden, not_found, notification_id, order_id, read_failed};
use crate::pages::form::Form;
use crate::pages::outcome::Outcome;
use crate::pages::shell::{FormErrors, checked_form, denied};
use crate::pages::{WebState, field, redirect};
use crate::security::holds;

/// The edit form's fields: name, input id, label.
const EDIT_FIELDS: &[(&str, &str, &str)] = &[("item", "order-item", "Item"), ("amount", "order-amount", "Amount")];
/// The cancel form's fields.
const CANCEL_FIELDS: &[(&str, &str, &str)] =
    &[("cancel_reason", "cancel-reason", "Reason"), ("note", "cancel-note", "Note"), ("status", "moves", "Status")];

/// A signed-in POST with a valid CSRF token about an existing-looking order, by someone with
/// `write:orders`: the session, the form's fields and the order id. Otherwise the answer.
async fn begin(
    state: &WebState,
    jar: &CookieJar,
    form: Form,
    id: &str,
) -> Result<(Session, Vec<(String, String)>, OrderId), Response> {
    let (session, fields) = checked_form(state, jar, form).await?;
    let Some(id) = order_id(id) else { return Err(not_found(&session)) };
    if !holds(&session, Permission::WriteOrders) {
        // Enforced here, not only hidden on the page: a read-only session sees the order with
        // the refusal at the top (or just the refusal, without read:orders).
        if !holds(&session, Permission::ReadOrders) {
            return Err(forbidden(&session, Permission::WriteOrders));
        }
        let alert = Some(denied(Permission::WriteOrders));
        return Err(render(state, &session, id, StatusCode::FORBIDDEN, None, alert, Forms::default()).await);
    }
    Ok((session, fields, id))
}

fn done(id: OrderId, done: Done) -> Response {
    redirect(&format!("/dashboard/orders/{}?done={}", id.as_uuid(), done.as_str()))
}

/// The one answer to a failed action: [`Outcome`] decides the status, and the order page is
/// shown again with the form as it was sent (422: its errors; 412: the stored values beside
/// the typed ones; 409: the reason at the top), or the 404, 503 or 500 page.
async fn failed(
    state: &WebState,
    session: &Session,
    id: OrderId,
    result: Outcome,
    mut forms: Forms,
    fields: &[(&'static str, &str, &str)],
) -> Response {
    let status = result.status();
    match result {
        Outcome::Invalid(errors) => {
            forms.errors = FormErrors::from_validation(&errors, fields);
            render(state, session, id, status, None, None, forms).await
        }
        Outcome::Stale => {
            forms.stale = true;
            render(state, session, id, status, None, None, forms).await
        }
        Outcome::Refused(_, alert) => render(state, session, id, status, None, Some(alert), forms).await,
        other => read_failed(session, other),
    }
}

/// `Some` of a field's trimmed text, `None` when blank.
fn given(fields: &[(String, String)], name: &str) -> Option<String> {
    Some(field(fields, name).trim().to_owned()).filter(|v| !v.is_empty())
}

#[handler]
pub(super) async fn change_status(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    form: Form,
) -> Response {
    let (session, fields, id) = match begin(&state, jar, form, &id).await {
        Ok(begun) => begun,
        Err(response) => return response,
    };
    let status = field(&fields, "status").trim().to_owned();
    let cancelling = status == "cancelled";
    let request = StatusRequest {
        status,
        note: given(&fields, "note"),
        cancel_reason: given(&fields, "cancel_reason"),
        notify: true,
    };
    let cancel =
        CancelInput { reason: field(&fields, "cancel_reason").to_owned(), note: field(&fields, "note").to_owned() };
    // No expected version: a move is decided on the order as stored now, and a move the table
    // no longer allows (someone completed it meanwhile) is refused by name.
    let actor = Actor::new(session.subject.clone());
    match state.services.orders.change_status(id, request, &actor, None, None).await {
        Ok(_) => done(id, if cancelling { Done::Cancelled } else { Done::Moved }),
        Err(error) => {
            let forms = Forms { failed: if cancelling { "cancel" } else { "move" }, cancel, ..Forms::default() };
            failed(&state, &session, id, error.into(), forms, CANCEL_FIELDS).await
        }
    }
}

#[handler]
pub(super) async fn edit(state: Data<&Arc<WebState>>, jar: &CookieJar, Path(id): Path<String>, form: Form) -> Response {
    let (session, fields, id) = match begin(&state, jar, form, &id).await {
        Ok(begun) => begun,
        Err(response) => return response,
    };
    let typed =
        EditInput { item: field(&fields, "item").to_owned(), amount: field(&fields, "amount").trim().to_owned() };
    // The version the form was shown at: saving over a newer one is a 412, never a silent overwrite.
    let Ok(version) = field(&fields, "version").parse::<u32>() else {
        let mut errors = FormErrors::default();
        errors.add("version", "", "The form", "is incomplete; reload the page and try again");
        let forms = Forms { failed: "edit", errors, edit: Some(typed), ..Forms::default() };
        return render(&state, &session, id, StatusCode::UNPROCESSABLE_ENTITY, None, None, forms).await;
    };
    let changes =
        OrderChanges { item: Some(typed.item.clone()), amount: Some(typed.amount.clone()), ..OrderChanges::default() };
    let actor = Actor::new(session.subject.clone());
    match state.services.orders.update(id, changes, &actor, Some(version)).await {
        Ok(_) => done(id, Done::Saved),
        Err(error) => {
            let forms = Forms { failed: "edit", edit: Some(typed), ..Forms::default() };
            failed(&state, &session, id, error.into(), forms, EDIT_FIELDS).await
        }
    }
}

#[handler]
pub(super) async fn resend(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path((id, nid)): Path<(String, String)>,
    form: Form,
) -> Response {
    let (session, _, id) = match begin(&state, jar, form, &id).await {
        Ok(begun) => begun,
        Err(response) => return response,
    };
    let Some(nid) = notification_id(&nid) else { return not_found(&session) };
    match state.services.notifications.retry(id, nid).await {
        Ok(_) => done(id, Done::Resent),
        Err(error) => failed(&state, &session, id, error.into(), Forms::default(), &[]).await,
    }
}
