//! The dashboard: the user, SMS at a glance, a 30-day chart, customers (search, create) and
//! orders (create, list newest first with their SMS status). Actions need the same
//! permissions as the API.

use std::collections::HashMap;

use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use orderdesk_domain::service::{CustomerDraft, OrderDraft};
use orderdesk_domain::{
    Actor, CustomerError, CustomerId, NotificationStatus, OrderError, PageRequest, Permission, ValidationErrors,
};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Body, Response, handler};
use serde::Deserialize;
use uuid::Uuid;

use super::chart::Chart;
use super::{WebState, constant_time_eq, field, form_fields, html, message, redirect};
use crate::dto::{decode_cursor, encode_cursor};

pub(super) struct UserView {
    name: String,
    email: Option<String>,
    picture: Option<String>,
    initial: String,
}

#[derive(Default)]
pub(super) struct SmsCounts {
    sent: u64,
    pending: u64,
    failed: u64,
    skipped: u64,
}

#[derive(Clone)]
pub(super) struct CustomerRow {
    id: String,
    name: String,
    code: String,
    phone: String,
}

pub(super) struct OrderRow {
    /// The order's reference, e.g. `ORD-1042`.
    reference: String,
    ordered_at: String,
    customer: String,
    item: String,
    amount: String,
    /// Its lifecycle status, e.g. `out_for_delivery`.
    status: String,
    sms: String,
}

#[derive(Default)]
pub(super) struct CustomerForm {
    name: String,
    code: String,
    phone: String,
    errors: HashMap<&'static str, String>,
}

#[derive(Default)]
pub(super) struct OrderForm {
    customer_id: String,
    item: String,
    amount: String,
    errors: HashMap<&'static str, String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    user: UserView,
    csrf: String,
    notice: Option<String>,
    alert: Option<String>,
    /// SMS counts over every order: only with read:orders.
    sms: Option<SmsCounts>,
    chart: String,
    query: String,
    customers: Option<Vec<CustomerRow>>,
    customer_choices: Vec<CustomerRow>,
    orders: Option<Vec<OrderRow>>,
    next_page: Option<String>,
    currency: String,
    customer_form: CustomerForm,
    order_form: OrderForm,
}

#[derive(Deserialize, Default)]
pub(super) struct DashboardQuery {
    q: Option<String>,
    after: Option<String>,
    created: Option<String>,
}

const PAGE_SIZE: u64 = 20;
const CHART_DAYS: u32 = 30;

fn customer_row(c: &orderdesk_domain::Customer) -> CustomerRow {
    CustomerRow {
        id: c.id().to_string(),
        name: c.name().as_str().to_owned(),
        code: c.code().as_str().to_owned(),
        phone: c.phone().as_str().to_owned(),
    }
}

async fn render(
    state: &WebState,
    session: &Session,
    query: DashboardQuery,
    status: StatusCode,
    customer_form: CustomerForm,
    order_form: OrderForm,
    alert: Option<String>,
) -> Response {
    let services = &state.services;
    let can = |p| session.permissions.contains(&p);
    let search = query.q.clone().unwrap_or_default();
    let mut customers = None;
    let mut choices = Vec::new();
    if can(Permission::ReadCustomers) {
        // One read serves both the order form's choices and, without a search, the list.
        let newest = services.customers.list(PageRequest { before: None, limit: PageRequest::MAX_LIMIT }).await;
        choices = newest.map(|p| p.items.iter().map(customer_row).collect()).unwrap_or_default();
        let shown: Vec<CustomerRow> = if search.trim().is_empty() {
            choices.iter().take(PAGE_SIZE as usize).map(CustomerRow::clone).collect()
        } else {
            services.customers.search(&search, PAGE_SIZE).await.unwrap_or_default().iter().map(customer_row).collect()
        };
        customers = Some(shown);
    }
    let mut orders = None;
    let mut next_page = None;
    let mut chart_html = String::new();
    let mut sms = None;
    let currency = services.orders.default_currency();
    if can(Permission::ReadOrders) {
        let before = query.after.as_deref().and_then(|c| decode_cursor(c).ok());
        // One query: each order with its customer's name and its newest SMS status.
        if let Ok(page) = services.reports.overview(PageRequest { before, limit: PAGE_SIZE }).await {
            next_page = page.next.map(encode_cursor);
            let names_visible = can(Permission::ReadCustomers);
            let rows = page.items.into_iter().map(|row| OrderRow {
                reference: row.order.reference().as_str().to_owned(),
                status: row.order.status().as_str().to_owned(),
                ordered_at: row.order.ordered_at().format("%Y-%m-%d %H:%M UTC").to_string(),
                // Customer names are customer data: only with read:customers.
                customer: if names_visible { row.customer_name } else { "(hidden)".to_owned() },
                item: row.order.item().as_str().to_owned(),
                amount: row.order.amount().to_string(),
                sms: row.sms_status.map_or("none", NotificationStatus::as_str).to_owned(),
            });
            orders = Some(rows.collect());
        }
        let today = Utc::now().date_naive();
        let first = today - chrono::Days::new(u64::from(CHART_DAYS - 1));
        let from = first.and_time(chrono::NaiveTime::MIN).and_utc();
        let to = (today + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN).and_utc();
        if let Ok(totals) = services.reports.daily_totals(from, to).await {
            chart_html = Chart::new(&totals, today, CHART_DAYS, currency).html();
        }
        if let Ok(counts) = services.notifications.status_counts().await {
            let mut counted = SmsCounts::default();
            for (status, count) in counts {
                match status {
                    NotificationStatus::Sent | NotificationStatus::Delivered => counted.sent += count,
                    NotificationStatus::Pending | NotificationStatus::Sending => counted.pending += count,
                    NotificationStatus::Failed | NotificationStatus::Undelivered => counted.failed += count,
                    NotificationStatus::Skipped => counted.skipped += count,
                }
            }
            sms = Some(counted);
        }
    }
    let notice = match query.created.as_deref() {
        Some("customer") => Some("Customer added.".to_owned()),
        Some("order") => Some("Order taken; the customer will get an SMS.".to_owned()),
        _ => None,
    };
    let page = DashboardPage {
        user: UserView {
            initial: session.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default(),
            name: session.name.clone(),
            email: session.email.clone(),
            picture: session.picture.clone().filter(|p| p.starts_with("https://")),
        },
        csrf: session.csrf_token.clone(),
        notice,
        alert,
        sms,
        chart: chart_html,
        query: search,
        customers,
        customer_choices: choices,
        orders,
        next_page,
        currency: currency.code().to_owned(),
        customer_form,
        order_form,
    };
    html(status, &page)
}

#[handler]
pub(super) async fn show(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    render(&state, &session, query, StatusCode::OK, CustomerForm::default(), OrderForm::default(), None).await
}

/// Reads a form for a signed-in user with a valid CSRF token.
async fn checked_form(
    state: &WebState,
    jar: &CookieJar,
    body: Body,
) -> Result<(Session, Vec<(String, String)>), Response> {
    let Some((_, session)) = state.session(jar).await else { return Err(redirect("/")) };
    let fields = form_fields(&body.into_vec().await.unwrap_or_default());
    if !constant_time_eq(field(&fields, "csrf"), &session.csrf_token) {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form has expired. Go back, reload the page and try again.",
        ));
    }
    Ok((session, fields))
}

/// The message shown next to each invalid field.
fn field_errors(errors: &ValidationErrors) -> HashMap<&'static str, String> {
    errors.fields().iter().map(|f| (f.field, f.reason.to_string())).collect()
}

fn denied(permission: Permission) -> Option<String> {
    Some(format!("You need the {permission} permission for that."))
}

#[handler]
pub(super) async fn create_customer(state: Data<&Arc<WebState>>, jar: &CookieJar, body: Body) -> Response {
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
        let alert = denied(Permission::WriteCustomers);
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

#[handler]
pub(super) async fn create_order(state: Data<&Arc<WebState>>, jar: &CookieJar, body: Body) -> Response {
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
        let alert = denied(Permission::WriteOrders);
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
