//! The dashboard's home, "Today": what a shop checks through its day from a phone: today's and
//! this month's orders and revenue per currency, SMS spend this month, orders ready to hand
//! over, SMS that need attention, and the 30-day chart. Each panel needs the permission the
//! API would need for the same data.

use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use orderdesk_domain::ports::{DailyTotal, OrderFilter};
use orderdesk_domain::{Currency, NotificationStatus, OrderStatus, PageRequest, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::chart::{Chart, per_currency};
use super::shell::Shell;
use super::{WebState, html, redirect};
use crate::security::holds;

/// Orders and revenue of a period, per currency: `3 orders · 450.00 KES`.
pub(super) struct Totals {
    orders: u64,
    revenue: Vec<String>,
}

/// This month's SMS by what they need.
#[derive(Default)]
pub(super) struct SmsMonth {
    spend: Vec<String>,
    sent: u64,
    pending: u64,
    attention: u64,
    skipped: u64,
}

/// An order in one of the home page's short lists.
pub(super) struct OrderLine {
    id: String,
    reference: String,
    customer: String,
    item: String,
    amount: String,
    /// The SMS status (attention list) or the order status.
    status: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    shell: Shell,
    /// Only with read:orders.
    today: Option<Totals>,
    month: Option<Totals>,
    sms: Option<SmsMonth>,
    ready: Option<Vec<OrderLine>>,
    attention: Option<Vec<OrderLine>>,
    chart: String,
    /// Taking an order starts by finding the customer (read:customers) and needs write:orders.
    can_take_order: bool,
}

const CHART_DAYS: u32 = 30;
/// How many orders each short list shows.
const SHORT_LIST: usize = 8;
/// How many newest orders are looked through for SMS that need attention.
const ATTENTION_WINDOW: u64 = 100;

/// Midnight starting `day` in `zone`, as a UTC instant (the earliest, should the zone skip it).
pub(crate) fn local_midnight(zone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&midnight).earliest().map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// Orders and revenue per currency of `rows`, default currency first.
fn totals(rows: &[DailyTotal], currency: Currency) -> Totals {
    let per_currency = per_currency(rows, currency);
    Totals {
        orders: per_currency.iter().map(|(_, n, _)| n).sum(),
        revenue: per_currency.iter().map(|(c, _, minor)| format!("{} {c}", c.format_total(*minor))).collect(),
    }
}

pub(super) async fn home(
    state: &WebState,
    session: &Session,
    status: StatusCode,
    alert: Option<String>,
    notice: Option<String>,
) -> Response {
    let services = &state.services;
    let can = |p| holds(session, p);
    let zone = state.options.time_zone;
    let currency = services.orders.default_currency();
    let now = Utc::now();
    let local_today = now.with_timezone(&zone).date_naive();
    let tomorrow_from = local_midnight(zone, local_today + chrono::Days::new(1));
    let month_from = local_midnight(zone, local_today.with_day(1).unwrap_or(local_today));
    let mut page = DashboardPage {
        shell: Shell::new(session, "dashboard").with_notice(notice).with_alert(alert),
        today: None,
        month: None,
        sms: None,
        ready: None,
        attention: None,
        chart: String::new(),
        can_take_order: can(Permission::WriteOrders) && can(Permission::ReadCustomers),
    };
    if can(Permission::ReadOrders) {
        let reports = &services.reports;
        // One query serves today, this month and the 30-day chart: the shop's local days from
        // the earlier of the month's first day and the chart's first day.
        let month_first = local_today.with_day(1).unwrap_or(local_today);
        let chart_first = local_today - chrono::Days::new(u64::from(CHART_DAYS - 1));
        let daily = reports.daily_totals(local_midnight(zone, month_first.min(chart_first)), tomorrow_from, zone).await;
        let since = |first: NaiveDate| -> Vec<DailyTotal> {
            daily.iter().flatten().filter(|row| row.day >= first).copied().collect()
        };
        if daily.is_ok() {
            page.today = Some(totals(&since(local_today), currency));
            page.month = Some(totals(&since(month_first), currency));
            page.chart = Chart::new(&since(chart_first), local_today, CHART_DAYS, currency).html();
        }
        if let Ok(summary) = services.notifications.summary(month_from, tomorrow_from).await {
            page.sms = Some(SmsMonth {
                spend: summary.costs.iter().map(|c| format!("{} {}", c.amount_string(), c.currency)).collect(),
                sent: summary.count(NotificationStatus::Sent) + summary.count(NotificationStatus::Delivered),
                pending: summary.count(NotificationStatus::Pending) + summary.count(NotificationStatus::Sending),
                attention: summary.count(NotificationStatus::Failed) + summary.count(NotificationStatus::Undelivered),
                skipped: summary.count(NotificationStatus::Skipped),
            });
        }
        let names = can(Permission::ReadCustomers);
        let line = |order: &orderdesk_domain::Order, customer: String, status: &str| OrderLine {
            id: order.id().to_string(),
            reference: order.reference().as_str().to_owned(),
            // Customer names are customer data: only with read:customers.
            customer: if names { customer } else { "(hidden)".to_owned() },
            item: order.item().as_str().to_owned(),
            amount: order.amount().to_string(),
            status: status.to_owned(),
        };
        let overview = reports.overview(PageRequest { before: None, limit: ATTENTION_WINDOW }).await;
        if let Ok(recent) = overview {
            let needs = |s: &NotificationStatus| {
                matches!(s, NotificationStatus::Failed | NotificationStatus::Undelivered | NotificationStatus::Skipped)
            };
            let lines = recent.items.iter().filter_map(|row| {
                let sms = row.sms_status.filter(needs)?;
                Some(line(&row.order, row.customer_name.clone(), sms.as_str()))
            });
            page.attention = Some(lines.take(SHORT_LIST).collect());
        }
        // One query: the ready orders with their customers' names, newest first.
        let ready = OrderFilter { statuses: vec![OrderStatus::Ready], ..OrderFilter::default() };
        if let Ok(board) = reports.board(&ready, None, SHORT_LIST as u64).await {
            let lines: Vec<OrderLine> =
                board.items.iter().map(|row| line(&row.order, row.customer_name.clone(), "ready")).collect();
            page.ready = Some(lines);
        }
    }
    html(status, &page)
}

/// The notice after an action that came back here.
fn notice(done: Option<&str>) -> Option<String> {
    match done {
        Some("signed-in") => Some("Signed in.".to_owned()),
        _ => None,
    }
}

#[derive(Deserialize, Default)]
pub(super) struct HomeQuery {
    done: Option<String>,
}

#[handler]
pub(super) async fn show(state: Data<&Arc<WebState>>, jar: &CookieJar, Query(query): Query<HomeQuery>) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    home(&state, &session, StatusCode::OK, None, notice(query.done.as_deref())).await
}
