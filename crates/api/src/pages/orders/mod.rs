//! The order pages: the list with filters (`/dashboard/orders`) and one order
//! (`/dashboard/orders/{id}`) with its status moves, cancellation, edit and SMS. They call
//! the same domain services as the API, show only the actions the session's permissions
//! allow and check those permissions again on every POST.

mod actions;
mod detail;
mod export;
mod list;

use askama::Template;
use orderdesk_domain::{CancelReason, NotificationId, OrderId, OrderStatus, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::{Response, Route, get, post};
use uuid::Uuid;

use super::html;
use super::outcome::Outcome;
use super::shell::{Shell, denied};

/// Adds the order pages to `route`.
pub(super) fn routes(route: Route) -> Route {
    route
        .at("/dashboard/orders", get(list::show))
        .at("/dashboard/orders/export.csv", get(export::download))
        .at("/dashboard/orders/:id", get(detail::show))
        .at("/dashboard/orders/:id/status", post(actions::change_status))
        .at("/dashboard/orders/:id/edit", post(actions::edit))
        .at("/dashboard/orders/:id/notifications/:nid/resend", post(actions::resend))
}

/// A status as the pages say it: `out for delivery`.
pub(super) fn status_label(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Received => "received",
        OrderStatus::Confirmed => "confirmed",
        OrderStatus::Ready => "ready",
        OrderStatus::OutForDelivery => "out for delivery",
        OrderStatus::Completed => "completed",
        OrderStatus::Cancelled => "cancelled",
    }
}

/// A cancel reason as the cancel form offers it.
pub(super) fn cancel_reason_label(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::CustomerRequest => "The customer asked",
        CancelReason::OutOfStock => "Out of stock",
        CancelReason::Duplicate => "Taken twice (duplicate)",
        CancelReason::PaymentFailed => "Payment failed",
        CancelReason::Other => "Other (say why in the note)",
    }
}

/// The order id of a path, if it is one.
pub(super) fn order_id(text: &str) -> Option<OrderId> {
    Uuid::parse_str(text).ok().map(OrderId::from_uuid)
}

pub(super) fn notification_id(text: &str) -> Option<NotificationId> {
    Uuid::parse_str(text).ok().map(NotificationId::from_uuid)
}

/// A signed-in page with a heading and a sentence: a refusal, a missing order, a failed store.
#[derive(Template)]
#[template(path = "order_problem.html")]
struct ProblemPage {
    shell: Shell,
    title: String,
    text: String,
}

pub(super) fn problem(session: &Session, status: StatusCode, title: &str, text: impl Into<String>) -> Response {
    let page = ProblemPage { shell: Shell::new(session, "orders"), title: title.to_owned(), text: text.into() };
    html(status, &page)
}

/// 403 for a session without `permission`, naming it.
pub(super) fn forbidden(session: &Session, permission: Permission) -> Response {
    problem(session, StatusCode::FORBIDDEN, "Not allowed", denied(permission))
}

pub(super) fn not_found(session: &Session) -> Response {
    problem(
        session,
        StatusCode::NOT_FOUND,
        "Order not found",
        "There is no such order. It may have been deleted, or the link is wrong.",
    )
}

/// The page for a read that failed: 404, 503 for an outage, else 500.
pub(super) fn read_failed(session: &Session, outcome: Outcome) -> Response {
    match outcome {
        Outcome::Missing => not_found(session),
        Outcome::Unavailable => unavailable(session),
        _ => failed_page(session),
    }
}

/// 500: an unexpected failure, logged where it was mapped.
pub(super) fn failed_page(session: &Session) -> Response {
    problem(
        session,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The orders could not be read or saved; nothing was changed. The error was logged; please try again.",
    )
}

pub(super) fn unavailable(session: &Session) -> Response {
    problem(
        session,
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "The orders could not be read or saved just now; nothing was changed. Please try again in a moment.",
    )
}
