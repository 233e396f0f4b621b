//! The dashboard: the user, SMS at a glance, a 30-day chart, customers (search, create) and
//! orders (create, list newest first with their SMS status). Actions need the same
//! permissions as the API.

use std::collections::HashMap;

use std::sync::Arc;

use askama::Template;
use chrono::Utc;
use orderdesk_domain::{NotificationStatus, PageRequest, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::chart::Chart;
use super::shell::Shell;
use super::{WebState, html, redirect};
use crate::dto::{decode_cursor, encode_cursor};

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
    pub(super) name: String,
    pub(super) code: String,
    pub(super) phone: String,
    pub(super) errors: HashMap<&'static str, String>,
}

#[derive(Default)]
pub(super) struct OrderForm {
    pub(super) customer_id: String,
    pub(super) item: String,
    pub(super) amount: String,
    pub(super) errors: HashMap<&'static str, String>,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
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

pub(super) async fn render(
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
        shell: Shell::new(session, "dashboard").with_notice(notice).with_alert(alert),
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
