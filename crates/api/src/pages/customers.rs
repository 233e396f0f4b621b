//! The customer pages: find a customer by phone, code or name (the caller-ID step of a phone
//! order), one customer (`/dashboard/customers/{id}`) with their orders and messages, and
//! taking an order for them.

use std::collections::HashMap;
use std::sync::Arc;

use orderdesk_domain::service::{CustomerDraft, OrderDraft};
use orderdesk_domain::{Actor, CustomerError, CustomerId, OrderError, Permission, ValidationErrors};
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::cookie::CookieJar;
use poem::{Body, Response, Route, handler, post};
use uuid::Uuid;

use super::dashboard::{CustomerForm, DashboardQuery, OrderForm, render};
use super::shell::{checked_form, denied};
use super::{WebState, field, message, redirect};

/// Adds the customer pages to `route`.
pub(super) fn routes(route: Route) -> Route {
    route.at("/dashboard/customers", post(create_customer))
}

/// The message shown next to each invalid field.
fn field_errors(errors: &ValidationErrors) -> HashMap<&'static str, String> {
    errors.fields().iter().map(|f| (f.field, f.reason.to_string())).collect()
}

#[handler]
async fn create_customer(state: Data<&Arc<WebState>>, jar: &CookieJar, body: Body) -> Response {
    let (session, fields) = match checked_form(&state, jar, body).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let form = CustomerForm {
        name: field(&fields, "name").to_owned(),
        code: field(&fields, "code").to_owned(),
        phone: field(&fields, "phone").to_owned(),
        errors: HashMap::new(),
    };
    if !session.permissions.contains(&Permission::WriteCustomers) {
        let alert = Some(denied(Permission::WriteCustomers));
        return render(
            &state,
            &session,
            DashboardQuery::default(),
            StatusCode::FORBIDDEN,
            form,
            OrderForm::default(),
            alert,
        )
        .await;
    }
    let draft = CustomerDraft {
        name: form.name.clone(),
        code: form.code.clone(),
        phone: form.phone.clone(),
        ..CustomerDraft::default()
    };
    match state.services.customers.create(draft, &Actor::new(session.subject.clone())).await {
        Ok(_) => redirect("/dashboard?created=customer"),
        Err(error) => {
            let mut form = form;
            let status = match error {
                CustomerError::Validation(errors) => {
                    form.errors = field_errors(&errors);
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                CustomerError::DuplicateCode(_) => {
                    form.errors.insert("code", "is already used by another customer".into());
                    StatusCode::CONFLICT
                }
                other => {
                    tracing::error!(error.cause_chain = ?other, "cannot create a customer");
                    return message(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Not saved",
                        "The customer could not be saved; please try again.",
                    );
                }
            };
            render(&state, &session, DashboardQuery::default(), status, form, OrderForm::default(), None).await
        }
    }
}

#[allow(dead_code)]
#[handler]
async fn create_order(state: Data<&Arc<WebState>>, jar: &CookieJar, body: Body) -> Response {
    let (session, fields) = match checked_form(&state, jar, body).await {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let mut form = OrderForm {
        customer_id: field(&fields, "customer_id").to_owned(),
        item: field(&fields, "item").to_owned(),
        amount: field(&fields, "amount").trim().to_owned(),
        errors: HashMap::new(),
    };
    if !session.permissions.contains(&Permission::WriteOrders) {
        let alert = Some(denied(Permission::WriteOrders));
        return render(
            &state,
            &session,
            DashboardQuery::default(),
            StatusCode::FORBIDDEN,
            CustomerForm::default(),
            form,
            alert,
        )
        .await;
    }
    let Ok(customer_id) = Uuid::parse_str(&form.customer_id) else {
        form.errors.insert("customer_id", "must be chosen from the list".into());
        return render(
            &state,
            &session,
            DashboardQuery::default(),
            StatusCode::UNPROCESSABLE_ENTITY,
            CustomerForm::default(),
            form,
            None,
        )
        .await;
    };
    let draft = OrderDraft {
        customer_id: CustomerId::from_uuid(customer_id),
        item: form.item.clone(),
        amount: form.amount.clone(),
        currency: None,
        ordered_at: None,
        notify: true,
    };
    match state.services.orders.create(draft, &Actor::new(session.subject.clone())).await {
        Ok(_) => redirect("/dashboard?created=order"),
        Err(OrderError::Validation(errors)) => {
            form.errors = field_errors(&errors);
            render(
                &state,
                &session,
                DashboardQuery::default(),
                StatusCode::UNPROCESSABLE_ENTITY,
                CustomerForm::default(),
                form,
                None,
            )
            .await
        }
        Err(other) => {
            tracing::error!(error.cause_chain = ?other, "cannot create an order");
            message(StatusCode::SERVICE_UNAVAILABLE, "Not saved", "The order could not be saved; please try again.")
        }
    }
}
