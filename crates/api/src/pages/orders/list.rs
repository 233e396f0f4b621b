//! `GET /dashboard/orders`: the order list, newest `ordered_at` first (one
//! [`OrderReports::board`](orderdesk_domain::ports::OrderReports::board) query per page, with
//! customer names and SMS status), filtered by status, by "ordered today" (in the shop's zone)
//! and by a reference, number or phone number, with cursor paging (on `ordered_at` and id) that
//! keeps the filters.

use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use orderdesk_domain::ports::{OrderFilter, OrderOverview};
use orderdesk_domain::{InvalidValue, OrderNumber, OrderStatus, Permission, PhoneNumber, ValidationErrors};
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::{forbidden, read_failed, status_label};
use crate::dto::{decode_board_cursor, encode_board_cursor};
use crate::pages::shell::{FormErrors, Shell, local_time};
use crate::pages::{WebState, html, redirect};
use crate::security::holds;

const PAGE_SIZE: u64 = 20;

/// The filter form's fields, as the query string carries them.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    /// A status name; empty for any.
    #[serde(default)]
    status: String,
    /// `1` when ticked.
    #[serde(default)]
    today: String,
    /// A reference (`ORD-1042`), a number (`1042`) or a phone number.
    #[serde(default)]
    q: String,
    /// The cursor of the next page.
    #[serde(default)]
    after: String,
}

/// One row of the list.
struct Row {
    id: String,
    reference: String,
    ordered_at: String,
    /// The customer's id and name; `None` without `read:customers`.
    customer: Option<(String, String)>,
    item: String,
    amount: String,
    status: &'static str,
    status_label: &'static str,
    /// The newest SMS's status, `none` without one.
    sms: &'static str,
}

/// A status the filter offers: its value and label.
struct Choice {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    shell: Shell,
    errors: FormErrors,
    statuses: Vec<Choice>,
    status: String,
    today: bool,
    q: String,
    /// Said above the table when the search is not an order or a customer.
    search_note: Option<String>,
    rows: Vec<Row>,
    show_customers: bool,
    /// The link to the next page, the filters kept.
    older: Option<String>,
    time_zone: String,
}

/// What the search box asked for.
#[derive(Debug, PartialEq, Eq)]
enum Search {
    Nothing,
    Number(i64),
    Phone(PhoneNumber),
    /// Neither a reference, a number nor a phone number.
    Unreadable,
}

/// `ORD-1042`, `ord 1042` or `1042` is an order number; anything a phone number parses from
/// (in the shop's region) is a phone; the rest is unreadable. A phone is tried first, so that
/// `0712 345 678` is a phone, while `1042` is too short to be one.
fn read_search(text: &str, region: orderdesk_domain::PhoneRegion) -> Search {
    let text = text.trim();
    if text.is_empty() {
        return Search::Nothing;
    }
    if let Ok(phone) = PhoneNumber::parse(text, region) {
        return Search::Phone(phone);
    }
    let digits = text.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(['-', ' ', '#']);
    match digits.parse::<i64>() {
        Ok(number) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => Search::Number(number),
        _ => Search::Unreadable,
    }
}

/// The UTC bounds of the shop's `day`: local midnight to the next local midnight (a midnight
/// skipped by a clock change counts from the first time that exists).
fn day_bounds(zone: Tz, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start_of = |date: NaiveDate| {
        let midnight = date.and_time(NaiveTime::MIN);
        zone.from_local_datetime(&midnight)
            .earliest()
            .or_else(|| zone.from_local_datetime(&(midnight + chrono::Duration::hours(1))).earliest())
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
    };
    (start_of(day), start_of(day + Days::new(1)))
}

/// The list's URL with these filters and cursor.
fn list_url(status: &str, today: bool, q: &str, after: Option<&str>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !status.is_empty() {
        query.append_pair("status", status);
    }
    if today {
        query.append_pair("today", "1");
    }
    if !q.trim().is_empty() {
        query.append_pair("q", q.trim());
    }
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    let query = query.finish();
    if query.is_empty() { "/dashboard/orders".to_owned() } else { format!("/dashboard/orders?{query}") }
}

#[handler]
pub(super) async fn show(state: Data<&Arc<WebState>>, jar: &CookieJar, Query(query): Query<ListQuery>) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    if !holds(&session, Permission::ReadOrders) {
        return forbidden(&session, Permission::ReadOrders);
    }
    let zone = state.options.time_zone;
    let today = query.today == "1";
    let mut page = OrdersPage {
        shell: Shell::new(&session, "orders"),
        errors: FormErrors::default(),
        statuses: std::iter::once(Choice { value: "", label: "Any status" })
            .chain(OrderStatus::ALL.iter().map(|s| Choice { value: s.as_str(), label: status_label(*s) }))
            .collect(),
        status: query.status.clone(),
        today,
        q: query.q.clone(),
        search_note: None,
        rows: Vec::new(),
        show_customers: holds(&session, Permission::ReadCustomers),
        older: None,
        time_zone: zone.name().to_owned(),
    };

    let mut filter = OrderFilter::default();
    let mut problems: Vec<(&'static str, InvalidValue)> = Vec::new();
    if !query.status.is_empty() {
        match OrderStatus::parse_list(&query.status) {
            Ok(statuses) => filter.statuses = statuses,
            Err(reason) => problems.push(("status", reason)),
        }
    }
    if today {
        let (from, to) = day_bounds(zone, Utc::now().with_timezone(&zone).date_naive());
        (filter.ordered_from, filter.ordered_to) = (Some(from), Some(to));
    }
    let customers = &state.services.customers;
    match read_search(&query.q, customers.phone_region()) {
        Search::Nothing => {}
        Search::Number(number) => match OrderNumber::new(number) {
            Ok(number) => filter.number = Some(number),
            Err(reason) => problems.push(("number", reason)),
        },
        Search::Phone(_) if !page.show_customers => {
            page.search_note = Some(format!(
                "Searching by phone number needs the {} permission; search by order reference instead.",
                Permission::ReadCustomers
            ));
            return html(StatusCode::OK, &page);
        }
        Search::Phone(phone) => match customers.find_by_phone(phone.as_str()).await {
            Ok(found) => match found.as_slice() {
                [] => {
                    page.search_note = Some(format!("No customer has the phone number {}.", phone.as_str()));
                    return html(StatusCode::OK, &page);
                }
                [only] => filter.customer_id = Some(only.id()),
                [first, others @ ..] => {
                    page.search_note = Some(format!(
                        "{} customers share {}; showing the orders of {} (customer {}).",
                        others.len() + 1,
                        phone.as_str(),
                        first.name().as_str(),
                        first.code().as_str()
                    ));
                    filter.customer_id = Some(first.id());
                }
            },
            Err(error) => {
                return read_failed(&session, error.into());
            }
        },
        Search::Unreadable => {
            page.search_note = Some(format!(
                "No order matches “{}”. Search by order reference (ORD-1042), number (1042) or phone number \
                 (0712 345 678).",
                query.q.trim()
            ));
            return html(StatusCode::OK, &page);
        }
    }
    if let Some(errors) = problems.into_iter().fold(None, |errors: Option<ValidationErrors>, (field, reason)| {
        Some(match errors {
            Some(errors) => errors.and(field, reason),
            None => ValidationErrors::single(field, reason),
        })
    }) {
        page.errors = FormErrors::from_validation(
            &errors,
            &[("status", "filter-status", "Status"), ("number", "filter-q", "Reference or phone")],
        );
        return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }

    // A cursor that is not ours (edited, from another server, or from before a restart
    // without a configured cursor secret) starts from the newest.
    let after = Some(query.after.as_str()).filter(|a| !a.is_empty()).and_then(|a| decode_board_cursor(a).ok());
    let board = match state.services.reports.board(&filter, after, PAGE_SIZE).await {
        Ok(board) => board,
        Err(error) => {
            return read_failed(&session, error.into());
        }
    };
    page.older = board.next.map(|next| list_url(&query.status, today, &query.q, Some(&encode_board_cursor(next))));
    page.rows = board.items.iter().map(|row| self::row(zone, row, page.show_customers)).collect();
    if page.rows.is_empty() && !query.q.trim().is_empty() {
        page.search_note = Some(format!("No order matches “{}”.", query.q.trim()));
    }
    html(StatusCode::OK, &page)
}

/// One order as the list shows it; its customer's id and name only with `read:customers`.
fn row(zone: Tz, row: &OrderOverview, show_customers: bool) -> Row {
    let order = &row.order;
    Row {
        id: order.id().as_uuid().to_string(),
        reference: order.reference().as_str().to_owned(),
        ordered_at: local_time(zone, order.ordered_at()),
        customer: show_customers.then(|| (order.customer_id().as_uuid().to_string(), row.customer_name.clone())),
        item: order.item().as_str().to_owned(),
        amount: order.amount().to_string(),
        status: order.status().as_str(),
        status_label: status_label(order.status()),
        sms: row.sms_status.map_or("none", |s| s.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kenya() -> orderdesk_domain::PhoneRegion {
        orderdesk_domain::PhoneRegion::parse("KE").unwrap()
    }

    #[test]
    fn the_search_box_reads_references_numbers_and_phones() {
        assert_eq!(read_search("ORD-1042", kenya()), Search::Number(1042));
        assert_eq!(read_search(" ord 1042 ", kenya()), Search::Number(1042));
        assert_eq!(read_search("1042", kenya()), Search::Number(1042));
        assert_eq!(
            read_search("0712 345 678", kenya()),
            Search::Phone(PhoneNumber::parse("+254712345678", kenya()).unwrap())
        );
        assert_eq!(read_search("", kenya()), Search::Nothing);
        assert_eq!(read_search("maize flour", kenya()), Search::Unreadable);
        assert_eq!(read_search("ORD-", kenya()), Search::Unreadable);
        assert_eq!(read_search("99999999999999999999999", kenya()), Search::Unreadable);
    }

    #[test]
    fn today_is_the_shops_day() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let (from, to) = day_bounds(chrono_tz::Africa::Nairobi, day);
        assert_eq!(from.to_rfc3339(), "2026-11-29T21:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-11-30T21:00:00+00:00");
    }

    #[test]
    fn the_next_page_keeps_the_filters() {
        assert_eq!(
            list_url("ready", true, " ORD-1 ", Some("abc")),
            "/dashboard/orders?status=ready&today=1&q=ORD-1&after=abc"
        );
        assert_eq!(list_url("", false, "", None), "/dashboard/orders");
    }
}
