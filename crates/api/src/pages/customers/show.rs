//! `/dashboard/customers/{id}`: the customer's details, taking an order for them, their
//! orders and the messages they sent, editing them and deleting them. Each part needs its
//! permission; the page is shown again after a failed action with the input kept.

use std::sync::Arc;

use askama::Template;
use orderdesk_domain::service::OrderListQuery;
use orderdesk_domain::{Customer, CustomerId, PageRequest, Permission};
use orderdesk_signin::Session;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Path, Query};
use poem::{Response, handler};
use serde::Deserialize;

use super::{CustomerPath, LANGUAGES, Retry, language_name, not_found, read_failed, shell_message};
use crate::dto::{decode_cursor, encode_cursor};
use crate::pages::shell::{FormErrors, Shell, denied, local_time};
use crate::pages::{WebState, html, redirect};
use crate::security::holds;

/// Orders and messages shown per page.
const PAGE_SIZE: u64 = 20;

#[derive(Deserialize, Default)]
pub(super) struct ShowQuery {
    done: Option<String>,
    orders_after: Option<String>,
    messages_after: Option<String>,
}

/// The take-an-order form.
#[derive(Default)]
pub(super) struct OrderForm {
    pub item: String,
    pub amount: String,
}

/// The edit form; `version` is the customer's version the form was filled from.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct EditForm {
    pub name: String,
    pub phone: String,
    pub language: String,
    pub sms_opt_out: bool,
    pub version: String,
}

impl EditForm {
    fn of(customer: &Customer) -> Self {
        Self {
            name: customer.name().as_str().to_owned(),
            phone: customer.phone().as_str().to_owned(),
            language: customer.language().as_str().to_owned(),
            sms_opt_out: customer.sms_opt_out(),
            version: customer.audit().version.to_string(),
        }
    }
}

/// Which form failed, so its error summary is shown at its top.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Failed {
    #[default]
    None,
    Order,
    Edit,
    Delete,
}

/// The page as an action left it: the forms as submitted and what went wrong.
#[derive(Default)]
pub(super) struct Forms {
    pub order: OrderForm,
    /// `None`: filled from the stored customer.
    pub edit: Option<EditForm>,
    pub failed: Failed,
    pub retry: Retry,
}

struct Facts {
    id: String,
    name: String,
    code: String,
    phone: String,
    language: &'static str,
    sms_opt_out: bool,
    created: String,
    updated: String,
    version: String,
}

struct OrderRow {
    id: String,
    reference: String,
    ordered: String,
    item: String,
    amount: String,
    status: &'static str,
}

struct MessageRow {
    received: String,
    text: String,
    stop_word: bool,
}

/// One page of a list the session may read.
struct Listing<T> {
    rows: Vec<T>,
    /// The cursor of the next (older) page.
    next: Option<String>,
    /// This is not the first page.
    paged: bool,
    /// The list could not be read.
    failed: bool,
}

impl<T> Listing<T> {
    fn failed(paged: bool) -> Self {
        Self { rows: Vec::new(), next: None, paged, failed: true }
    }
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    shell: Shell,
    customer: Facts,
    can_take_order: bool,
    can_edit: bool,
    currency: &'static str,
    order: OrderForm,
    edit: EditForm,
    failed: Failed,
    errors: FormErrors,
    /// `None` without read:orders.
    orders: Option<Listing<OrderRow>>,
    messages: Listing<MessageRow>,
    /// The customer is known to have orders, so deleting is refused.
    has_orders: bool,
    languages: [(&'static str, &'static str); 2],
}

/// The customer page for `id`, as `forms` left it, answered with `forms.retry.status`.
pub(super) async fn render(
    state: &WebState,
    session: &Session,
    id: CustomerId,
    query: ShowQuery,
    forms: Forms,
) -> Response {
    let can = |p| holds(session, p);
    if !can(Permission::ReadCustomers) {
        let status = if forms.retry.status == StatusCode::OK { StatusCode::FORBIDDEN } else { forms.retry.status };
        let text = forms.retry.alert.unwrap_or_else(|| denied(Permission::ReadCustomers));
        return shell_message(session, status, "Customer", text);
    }
    let customer = match state.services.customers.get(id).await {
        Ok(customer) => customer,
        Err(error) => return read_failed(error.into(), session),
    };
    let zone = state.options.time_zone;
    let stored = EditForm::of(&customer);
    let mut errors = forms.retry.errors;
    let edit = match forms.edit {
        Some(mut submitted) if forms.retry.stale => {
            // Saving again now overwrites knowingly: the form carries the current version.
            changed_by_someone_else(&submitted, &stored, &mut errors);
            submitted.version.clone_from(&stored.version);
            submitted
        }
        Some(submitted) => submitted,
        None => stored,
    };

    let orders = if can(Permission::ReadOrders) { Some(orders(state, id, &query).await) } else { None };
    let has_orders = orders.as_ref().is_some_and(|o| !o.failed && (o.paged || !o.rows.is_empty()));
    let messages = messages(state, id, &query).await;

    let notice = match query.done.as_deref() {
        Some("created") => Some("Customer added.".to_owned()),
        Some("saved") => Some("Changes saved.".to_owned()),
        _ => None,
    };
    let page = CustomerPage {
        shell: Shell::new(session, "customers").with_notice(notice).with_alert(forms.retry.alert),
        customer: Facts {
            id: customer.id().to_string(),
            name: customer.name().as_str().to_owned(),
            code: customer.code().as_str().to_owned(),
            phone: customer.phone().as_str().to_owned(),
            language: language_name(customer.language().as_str()),
            sms_opt_out: customer.sms_opt_out(),
            created: local_time(zone, customer.created_at()),
            updated: local_time(zone, customer.updated_at()),
            version: customer.audit().version.to_string(),
        },
        can_take_order: can(Permission::WriteOrders),
        can_edit: can(Permission::WriteCustomers),
        currency: state.services.orders.default_currency().code(),
        order: forms.order,
        edit,
        failed: forms.failed,
        errors,
        orders,
        messages,
        has_orders,
        languages: LANGUAGES,
    };
    html(forms.retry.status, &page)
}

/// Says, beside each field, the value someone else stored while this form was open.
fn changed_by_someone_else(submitted: &EditForm, stored: &EditForm, errors: &mut FormErrors) {
    let changed = "was changed by someone else to";
    if submitted.name != stored.name {
        errors.add("name", "customer-name", "Name", &format!("{changed} “{}”", stored.name));
    }
    if submitted.phone != stored.phone {
        errors.add("phone", "customer-phone", "Phone", &format!("{changed} “{}”", stored.phone));
    }
    if submitted.language != stored.language {
        let language = language_name(&stored.language);
        errors.add("language", "customer-language", "Language", &format!("{changed} “{language}”"));
    }
    if submitted.sms_opt_out != stored.sms_opt_out {
        let now = if stored.sms_opt_out { "no SMS" } else { "SMS allowed" };
        errors.add("sms_opt_out", "customer-sms-opt-out", "No SMS", &format!("{changed} “{now}”"));
    }
}

async fn orders(state: &WebState, id: CustomerId, query: &ShowQuery) -> Listing<OrderRow> {
    let before = query.orders_after.as_deref().and_then(|c| decode_cursor(c).ok());
    let filter = OrderListQuery { customer_id: Some(id), ..OrderListQuery::default() };
    match state.services.orders.list(filter, PageRequest { before, limit: PAGE_SIZE }).await {
        Ok(page) => Listing {
            rows: page
                .items
                .iter()
                .map(|o| OrderRow {
                    id: o.id().to_string(),
                    reference: o.reference().as_str().to_owned(),
                    ordered: local_time(state.options.time_zone, o.ordered_at()),
                    item: o.item().as_str().to_owned(),
                    amount: o.amount().to_string(),
                    status: o.status().as_str(),
                })
                .collect(),
            next: page.next.map(encode_cursor),
            paged: before.is_some(),
            failed: false,
        },
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot list a customer's orders");
            Listing::failed(before.is_some())
        }
    }
}

async fn messages(state: &WebState, id: CustomerId, query: &ShowQuery) -> Listing<MessageRow> {
    let before = query.messages_after.as_deref().and_then(|c| decode_cursor(c).ok());
    match state.services.inbox.list_for_customer(id, PageRequest { before, limit: PAGE_SIZE }).await {
        Ok(page) => Listing {
            rows: page
                .items
                .iter()
                .map(|m| MessageRow {
                    received: local_time(state.options.time_zone, m.received_at),
                    text: m.text.clone(),
                    stop_word: m.stop_word,
                })
                .collect(),
            next: page.next.map(encode_cursor),
            paged: before.is_some(),
            failed: false,
        },
        Err(error) => {
            tracing::error!(error.cause_chain = ?error, "cannot list a customer's messages");
            Listing::failed(before.is_some())
        }
    }
}

#[handler]
pub(super) async fn customer_page(
    state: Data<&Arc<WebState>>,
    jar: &CookieJar,
    Path(path): Path<CustomerPath>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let Some((_, session)) = state.session(jar).await else { return redirect("/") };
    let Some(id) = path.customer_id() else { return not_found(&session) };
    render(&state, &session, id, query, Forms::default()).await
}
