//! `GET /dashboard/orders/{id}`: one order with its facts, the moves its status allows, the
//! cancel and edit forms, its history and every SMS with its attempts. [`render`] also serves
//! the POST handlers, which show the page again with their form's errors.

use std::sync::Arc;

use askama::Template;
use chrono_tz::Tz;
use orderdesk_domain::notification::CostTotal;
use orderdesk_domain::service::NotificationView;
use orderdesk_domain::{CancelReason, Order, OrderId, OrderStatus, Permission, StatusChange};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::{cancel_reason_label, forbidden, not_found, order_id, read_failed, status_label};
use crate::pages::outcome::Outcome;
use crate::pages::shell::{FormErrors, Shell, local_time};
use crate::pages::{WebState, html, redirect};
use crate::security::holds;

/// The edit form as the person typed it.
#[derive(Debug, Clone, Default)]
pub(super) struct EditInput {
    pub item: String,
    pub amount: String,
}

/// The cancel form as the person filled it in.
#[derive(Debug, Clone, Default)]
pub(super) struct CancelInput {
    pub reason: String,
    pub note: String,
}

/// The forms' state after a failed action; the default shows the stored values.
#[derive(Default)]
pub(super) struct Forms {
    /// The form the errors belong to: `edit`, `cancel` or `move`.
    pub failed: &'static str,
    pub errors: FormErrors,
    /// What was typed into the edit form; `None` shows the stored values.
    pub edit: Option<EditInput>,
    pub cancel: CancelInput,
    /// After a 412: the stored values are shown beside the typed ones.
    pub stale: bool,
}

struct Facts {
    id: String,
    reference: String,
    /// The customer's id and name; `None` without `read:customers`.
    customer: Option<(String, String)>,
    item: String,
    amount: String,
    currency: &'static str,
    status: &'static str,
    status_label: &'static str,
    ordered_at: String,
    created: String,
    updated: String,
    /// Why and with which note it was cancelled.
    cancellation: Option<(&'static str, String)>,
    version: u32,
}

/// A button that moves the order to `value`.
struct Move {
    value: &'static str,
    label: &'static str,
}

struct Choice {
    value: &'static str,
    label: &'static str,
}

struct HistoryRow {
    at: String,
    status: &'static str,
    status_label: &'static str,
    by: String,
    note: String,
    reason: String,
}

struct AttemptRow {
    at: String,
    outcome: &'static str,
    error: String,
    cost: String,
    parts: String,
}

struct SmsRow {
    id: String,
    event: &'static str,
    language: &'static str,
    status: &'static str,
    skip_reason: Option<&'static str>,
    recipient: String,
    message: String,
    /// `gsm7, 1 segment`.
    length: String,
    delivery: Option<String>,
    cost: Option<String>,
    attempts: Vec<AttemptRow>,
    resendable: bool,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    shell: Shell,
    order: Facts,
    can_write: bool,
    moves: Vec<Move>,
    can_cancel: bool,
    reasons: Vec<Choice>,
    history: Vec<HistoryRow>,
    sms: Vec<SmsRow>,
    /// Which form `errors` belongs to.
    failed: &'static str,
    errors: FormErrors,
    edit: EditInput,
    cancel: CancelInput,
    /// After a 412: the stored item and amount, shown beside the typed ones.
    stored: Option<EditInput>,
    time_zone: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DetailQuery {
    /// Which action just succeeded: `moved`, `cancelled`, `saved` or `resent`.
    #[serde(default)]
    done: String,
}

#[handler]
pub(super) async fn show(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    if !holds(&session, Permission::ReadOrders) {
        return forbidden(&session, Permission::ReadOrders);
    }
    let Some(id) = order_id(&id) else { return not_found(&session) };
    render(&state, &session, id, StatusCode::OK, Done::from_query(&query.done), None, Forms::default()).await
}

/// The action a notice reports (PRG: the POST redirects to `?done=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// Taken on the customer's page.
    Created,
    Moved,
    Cancelled,
    Saved,
    Resent,
}

impl Done {
    fn from_query(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    const ALL: [Self; 5] = [Self::Created, Self::Moved, Self::Cancelled, Self::Saved, Self::Resent];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Moved => "moved",
            Self::Cancelled => "cancelled",
            Self::Saved => "saved",
            Self::Resent => "resent",
        }
    }

    fn notice(self, order: &Order) -> String {
        match self {
            Self::Created => format!("Order {} taken.", order.reference().as_str()),
            Self::Moved => format!("Order moved to {}.", status_label(order.status())),
            Self::Cancelled => "Order cancelled.".to_owned(),
            Self::Saved => "Changes saved.".to_owned(),
            Self::Resent => "The SMS will be sent again.".to_owned(),
        }
    }
}

/// The order page: `status` with the `done` notice or the `alert`, and `forms` as the failed
/// action left them. An unknown order is the 404 page.
pub(super) async fn render(
    state: &WebState,
    session: &Session,
    id: OrderId,
    status: StatusCode,
    done: Option<Done>,
    alert: Option<String>,
    forms: Forms,
) -> Response {
    let services = &state.services;
    let zone = state.options.time_zone;
    let loaded = async {
        let order = services.orders.get(id).await?;
        let history = services.orders.history(id).await?;
        let sms = services.notifications.list_for_order(id).await?;
        Ok::<_, Outcome>((order, history, sms))
    };
    let (order, history, sms) = match loaded.await {
        Ok(loaded) => loaded,
        Err(outcome) => return read_failed(session, outcome),
    };
    let show_customer = holds(session, Permission::ReadCustomers);
    let customer = if show_customer {
        let found = services.customers.get(order.customer_id()).await.ok();
        found.map(|c| (c.id().as_uuid().to_string(), c.name().as_str().to_owned()))
    } else {
        None
    };
    let can_write = holds(session, Permission::WriteOrders);
    let current = order.status();
    let stored = EditInput { item: order.item().as_str().to_owned(), amount: order.amount().amount_string() };
    let page = OrderPage {
        shell: Shell::new(session, "orders").with_notice(done.map(|d| d.notice(&order))).with_alert(alert),
        can_write,
        moves: OrderStatus::ALL
            .into_iter()
            .filter(|to| *to != OrderStatus::Cancelled && current.can_move_to(*to))
            .map(|to| Move { value: to.as_str(), label: status_label(to) })
            .collect(),
        can_cancel: current.can_move_to(OrderStatus::Cancelled),
        reasons: CancelReason::ALL
            .into_iter()
            .map(|r| Choice { value: r.as_str(), label: cancel_reason_label(r) })
            .collect(),
        history: history.iter().map(|change| history_row(zone, change)).collect(),
        sms: sms.into_iter().map(|view| sms_row(zone, view, show_customer)).collect(),
        failed: forms.failed,
        errors: forms.errors,
        edit: forms.edit.unwrap_or_else(|| stored.clone()),
        cancel: forms.cancel,
        stored: forms.stale.then_some(stored),
        time_zone: zone.name(),
        order: facts(zone, &order, customer),
    };
    html(status, &page)
}

fn facts(zone: Tz, order: &Order, customer: Option<(String, String)>) -> Facts {
    let audit = order.audit();
    let by = |who: &Option<String>| who.as_deref().map(|w| format!(" by {w}")).unwrap_or_default();
    Facts {
        id: order.id().as_uuid().to_string(),
        reference: order.reference().as_str().to_owned(),
        customer,
        item: order.item().as_str().to_owned(),
        amount: order.amount().to_string(),
        currency: order.amount().currency().code(),
        status: order.status().as_str(),
        status_label: status_label(order.status()),
        ordered_at: local_time(zone, order.ordered_at()),
        created: format!("{}{}", local_time(zone, audit.created_at), by(&audit.created_by)),
        updated: format!("{}{}", local_time(zone, audit.updated_at), by(&audit.updated_by)),
        cancellation: order.lifecycle().cancellation.as_ref().map(|c| {
            (cancel_reason_label(c.reason), c.note.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default())
        }),
        version: audit.version,
    }
}

fn history_row(zone: Tz, change: &StatusChange) -> HistoryRow {
    HistoryRow {
        at: local_time(zone, change.at),
        status: change.status.as_str(),
        status_label: status_label(change.status),
        by: change.by.clone().unwrap_or_default(),
        note: change.note.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
        reason: change.cancel_reason.map(cancel_reason_label).unwrap_or_default().to_owned(),
    }
}

fn sms_row(zone: Tz, view: NotificationView, reveal_recipient: bool) -> SmsRow {
    let n = view.notification;
    let length = n.length();
    let segments = if length.segments == 1 { "1 segment".to_owned() } else { format!("{} segments", length.segments) };
    let costs = CostTotal::add_up(view.attempts.iter().filter_map(|a| Some((a.cost?, a.parts))));
    let cost = Some(costs.iter().map(|t| format!("{} {}", t.amount_string(), t.currency.code())).collect::<Vec<_>>())
        .filter(|totals| !totals.is_empty())
        .map(|totals| totals.join(" + "));
    let delivery = n.delivery_status().map(|status| match n.delivery_failure_reason() {
        Some(reason) => format!("{status} ({reason})"),
        None => status.to_owned(),
    });
    SmsRow {
        id: n.id().as_uuid().to_string(),
        event: n.event().as_str(),
        language: n.language().as_str(),
        status: n.status().as_str(),
        skip_reason: n.skip_reason().map(|r| r.as_str()),
        recipient: if reveal_recipient { n.recipient().as_str().to_owned() } else { n.recipient().masked() },
        length: format!("{}, {segments}", length.encoding.as_str()),
        delivery,
        cost,
        resendable: n.status().is_retryable_by_hand(),
        attempts: view
            .attempts
            .iter()
            .map(|a| AttemptRow {
                at: local_time(zone, a.attempted_at),
                outcome: a.outcome.as_str(),
                error: a.error.clone().unwrap_or_default(),
                cost: a.cost.map(|c| format!("{} {}", c.amount_string(), c.currency().code())).unwrap_or_default(),
                parts: a.parts.map(|p| p.to_string()).unwrap_or_default(),
            })
            .collect(),
        message: n.message().to_owned(),
    }
}
