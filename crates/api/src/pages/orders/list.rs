//! `GET /dashboard/orders`: the order list, newest first, filtered by status, by "ordered
//! today" (in the shop's zone) and by a reference, number or phone number, with cursor paging
//! that keeps the filters.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use orderdesk_domain::service::OrderListQuery;
use orderdesk_domain::{CustomerId, Order, OrderStatus, PageRequest, Permission, PhoneNumber};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::outcome::{Failure, Outcome, outcome};
use super::{can, forbidden, status_label, unavailable};
use crate::dto::{decode_cursor, encode_cursor};
use crate::pages::shell::{FormErrors, Shell, local_time};
use crate::pages::{WebState, html, redirect};

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
    /// The customer's id and name; `None` when unreadable (permission or storage).
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
    if !can(&session, Permission::ReadOrders) {
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
        show_customers: can(&session, Permission::ReadCustomers),
        older: None,
        time_zone: zone.name().to_owned(),
    };

    let mut filter =
        OrderListQuery { status: Some(query.status.clone()).filter(|s| !s.is_empty()), ..OrderListQuery::default() };
    if today {
        let (from, to) = day_bounds(zone, Utc::now().with_timezone(&zone).date_naive());
        (filter.ordered_from, filter.ordered_to) = (Some(from), Some(to));
    }
    let customers = &state.services.customers;
    match read_search(&query.q, customers.phone_region()) {
        Search::Nothing => {}
        Search::Number(number) => filter.number = Some(number),
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
                tracing::error!(error.cause_chain = ?error, "cannot look up a phone number");
                return unavailable(&session);
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

    // A cursor that is not ours (edited, or from another server) starts from the newest.
    let before = Some(query.after.as_str()).filter(|a| !a.is_empty()).and_then(|a| decode_cursor(a).ok());
    let listed = state.services.orders.list(filter, PageRequest { before, limit: PAGE_SIZE }).await;
    let orders = match listed.map_err(Failure::from).map_err(outcome) {
        Ok(orders) => orders,
        Err(Outcome::Invalid(errors)) => {
            page.errors = FormErrors::from_validation(
                &errors,
                &[("status", "filter-status", "Status"), ("number", "filter-q", "Reference or phone")],
            );
            return html(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(Outcome::Missing) => {
            page.search_note = Some("No orders match.".to_owned());
            return html(StatusCode::OK, &page);
        }
        Err(_) => return unavailable(&session),
    };
    page.older = orders.next.map(|next| list_url(&query.status, today, &query.q, Some(&encode_cursor(next))));
    page.rows = rows(&state, &session, zone, &orders.items).await;
    if page.rows.is_empty() && !query.q.trim().is_empty() {
        page.search_note = Some(format!("No order matches “{}”.", query.q.trim()));
    }
    html(StatusCode::OK, &page)
}

/// Each order with its customer's name (only with `read:customers`; each customer read once)
/// and its newest SMS's status.
async fn rows(state: &WebState, session: &Session, zone: Tz, orders: &[Order]) -> Vec<Row> {
    let mut names: HashMap<CustomerId, Option<String>> = HashMap::new();
    let mut rows = Vec::with_capacity(orders.len());
    for order in orders {
        let customer = if can(session, Permission::ReadCustomers) {
            let id = order.customer_id();
            let name = match names.get(&id) {
                Some(known) => known.clone(),
                None => {
                    let name = state.services.customers.get(id).await.ok().map(|c| c.name().as_str().to_owned());
                    names.insert(id, name.clone());
                    name
                }
            };
            name.map(|name| (id.as_uuid().to_string(), name))
        } else {
            None
        };
        let sms = match state.services.notifications.list_for_order(order.id()).await {
            Ok(views) => views.last().map_or("none", |v| v.notification.status.as_str()),
            Err(_) => "unknown",
        };
        rows.push(Row {
            id: order.id().as_uuid().to_string(),
            reference: order.reference().as_str().to_owned(),
            ordered_at: local_time(zone, order.ordered_at()),
            customer,
            item: order.item().as_str().to_owned(),
            amount: order.amount().to_string(),
            status: order.status().as_str(),
            status_label: status_label(order.status()),
            sms,
        });
    }
    rows
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
