//! `GET /dashboard/orders/export.csv?month=YYYY-MM`: a month's orders as CSV for the books,
//! from the dashboard (the session, not a token), in the same format and stream as the API's
//! `exportOrders`. The month is the shop's (`shop.time_zone`); the current one when absent.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use orderdesk_domain::Permission;
use orderdesk_domain::ports::OrderFilter;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::{forbidden, read_failed};
use crate::csv::{EXPORT_PAGE_ROWS, export_stream, file_date};
use crate::pages::dashboard::local_midnight;
use crate::pages::{WebState, message, redirect};
use crate::security::holds;

#[derive(Deserialize)]
pub(super) struct ExportQuery {
    month: Option<String>,
}

/// The first day of `month` (`YYYY-MM`), if it is one.
fn month_start(month: &str) -> Option<NaiveDate> {
    let (year, month) = month.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

#[handler]
pub(super) async fn download(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Query(query): Query<ExportQuery>,
) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    if !holds(&session, Permission::ReadOrders) {
        return forbidden(&session, Permission::ReadOrders);
    }
    let zone = state.options.time_zone;
    let this_month = Utc::now().with_timezone(&zone).date_naive().with_day(1);
    let first = match query.month.as_deref() {
        Some(month) => month_start(month),
        None => this_month,
    };
    let Some(first) = first else {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Not a month", "Give the month as YYYY-MM, e.g. 2026-11.");
    };
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap_or(first);
    let (from, to) = (local_midnight(zone, first), local_midnight(zone, next));
    let filter = OrderFilter { ordered_from: Some(from), ordered_to: Some(to), ..OrderFilter::default() };
    let reports = state.services.reports.clone();
    let page = match reports.board(&filter, None, EXPORT_PAGE_ROWS).await {
        Ok(page) => page,
        Err(error) => {
            return read_failed(&session, error.into());
        }
    };
    let name = format!("orders-{}-{}.csv", file_date(from, zone), file_date(to, zone));
    Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header("content-disposition", format!("attachment; filename=\"{name}\""))
        .header("cache-control", "no-store")
        .body(poem::Body::from_bytes_stream(export_stream(reports, filter, zone, page)))
}

#[cfg(test)]
mod tests {
    use super::month_start;

    #[test]
    fn months_are_yyyy_mm_exactly() {
        assert_eq!(month_start("2026-11"), chrono::NaiveDate::from_ymd_opt(2026, 11, 1));
        for refused in ["2026-13", "2026-1", "26-11", "2026/11", "", "2026-11-01"] {
            assert_eq!(month_start(refused), None, "{refused}");
        }
    }
}
