//! Wire types. Requests are parsed with serde (see [`crate::json`]); the poem-openapi
//! derives describe them in the OpenAPI document. Names are snake_case.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use orderdesk_domain::CustomerId;
use orderdesk_domain::ports::BoardCursor;
use orderdesk_domain::service::{CustomerDraft, OrderDraft};
use orderdesk_domain::{Customer, CustomerName, InvalidValue, ItemName, Order, Page, StatusChange, StatusNote};
use orderdesk_domain::{Language, OrderId, inbox::IncomingMessage};
use orderdesk_signin::token::constant_time_eq;
use poem_openapi::Object;
use poem_openapi::types::Example;
use serde::Deserialize;
use uuid::Uuid;

use crate::problem::{ApiError, FieldProblem};

/// A customer of the shop.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Customer", example)]
pub struct CustomerBody {
    pub id: Uuid,
    /// Display name, 1-200 characters.
    pub name: String,
    /// The shop's own code for the customer; unique ignoring case.
    pub code: String,
    /// E.164 phone number.
    pub phone: String,
    /// The language of the customer's texts.
    pub language: LanguageCode,
    /// The customer asked for no texts (by PATCH, or by texting a stop word or opting out at
    /// Africa's Talking): their order SMS are not sent.
    pub sms_opt_out: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Token subject of whoever created it; absent when not recorded.
    #[oai(skip_serializing_if_is_none)]
    pub created_by: Option<String>,
    /// Token subject of whoever changed it last; absent when not recorded.
    #[oai(skip_serializing_if_is_none)]
    pub updated_by: Option<String>,
}

impl From<Customer> for CustomerBody {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id().as_uuid(),
            name: c.name().as_str().to_owned(),
            code: c.code().as_str().to_owned(),
            phone: c.phone().as_str().to_owned(),
            language: c.language().into(),
            sms_opt_out: c.sms_opt_out(),
            created_at: c.created_at(),
            updated_at: c.updated_at(),
            created_by: c.audit().created_by.clone(),
            updated_by: c.audit().updated_by.clone(),
        }
    }
}

fn example_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 30, 0).single().unwrap_or_default()
}

impl Example for CustomerBody {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x019abc00_0000_7000_8000_000000000001),
            name: "Amina Wanjiru".into(),
            code: "AMINA-01".into(),
            phone: "+254712345678".into(),
            language: LanguageCode::Sw,
            sms_opt_out: false,
            created_at: example_time(),
            updated_at: example_time(),
            created_by: Some("auth0|64f1c0ffee".into()),
            updated_by: Some("auth0|64f1c0ffee".into()),
        }
    }
}

/// A new customer.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "NewCustomer", example)]
#[serde(deny_unknown_fields)]
pub struct NewCustomerBody {
    /// Display name, trimmed, 1-200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// 1-32 letters, digits, `-` or `_`; unique ignoring case.
    #[oai(validator(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$"))]
    pub code: String,
    /// Phone number; without a `+country` prefix the server's `customers.default_phone_region` is assumed.
    /// Stored and returned in E.164.
    #[oai(validator(min_length = 1, max_length = 64))]
    pub phone: String,
    /// The language of the customer's texts; `customers.default_language` (`en`) when absent
    /// (`null` is refused).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub language: Option<LanguageCode>,
    /// `true`: the customer asked for no texts, so their order SMS are not sent; `false` when
    /// absent (`null` is refused).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub sms_opt_out: Option<bool>,
}

impl Example for NewCustomerBody {
    fn example() -> Self {
        Self {
            name: "Amina Wanjiru".into(),
            code: "AMINA-01".into(),
            phone: "0712 345 678".into(),
            language: Some(LanguageCode::Sw),
            sms_opt_out: None,
        }
    }
}

/// A language customers are texted in, by its ISO 639-1 code: `en` English, `sw` Swahili.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "Language", rename_all = "lowercase")]
pub enum LanguageCode {
    En,
    Sw,
}

/// Read as a string first, so that `null` or a number is a 422 "invalid type" like any other
/// field's, and an unknown code a 422 listing the codes ([`Language::parse`]).
impl<'de> Deserialize<'de> for LanguageCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Language::parse(&code).map(Self::from).map_err(serde::de::Error::custom)
    }
}

impl From<Language> for LanguageCode {
    fn from(language: Language) -> Self {
        match language {
            Language::En => Self::En,
            Language::Sw => Self::Sw,
        }
    }
}

impl LanguageCode {
    /// The code as the domain parses it ([`Language::parse`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => Language::En.as_str(),
            Self::Sw => Language::Sw.as_str(),
        }
    }
}

/// Changes to a customer; absent fields stay as they are. No field can be cleared, so `null`
/// is refused (422).
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename = "CustomerChanges", example)]
#[serde(deny_unknown_fields)]
pub struct CustomerChangesBody {
    /// As in `NewCustomer`.
    #[oai(validator(min_length = 1, max_length = 200))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub name: Option<String>,
    /// As in `NewCustomer`.
    #[oai(validator(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$"))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub code: Option<String>,
    /// As in `NewCustomer`.
    #[oai(validator(min_length = 1, max_length = 64))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub phone: Option<String>,
    /// As in `NewCustomer`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub language: Option<LanguageCode>,
    /// As in `NewCustomer`: `true` opts the customer out of texts, `false` back in.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub sms_opt_out: Option<bool>,
}

/// The document's limits hold for the text as sent; the domain trims before it checks, so
/// `" A-1 "` or 201 characters ending in a space would otherwise pass.
fn as_sent(texts: &[(&str, Option<&str>, usize)], code: Option<&str>) -> Result<(), ApiError> {
    let mut fields = Vec::new();
    for (field, text, max) in texts {
        if text.is_some_and(|t| t.chars().count() > *max) {
            fields.push(FieldProblem {
                row: None,
                field: (*field).to_owned(),
                message: format!("is longer than {max} characters"),
            });
        }
    }
    if code.is_some_and(|c| c.trim() != c) {
        fields.push(FieldProblem {
            row: None,
            field: "code".into(),
            message: "must not begin or end with white space".into(),
        });
    }
    if fields.is_empty() { Ok(()) } else { Err(ApiError::validation(fields)) }
}

impl NewCustomerBody {
    /// # Errors
    /// 422 when a field breaks the document's limits as sent.
    pub fn check_as_sent(&self) -> Result<(), ApiError> {
        let texts = [("name", Some(self.name.as_str()), CustomerName::MAX_CHARS)];
        as_sent(&texts, Some(&self.code))
    }

    /// The domain's draft, after [`NewCustomerBody::check_as_sent`].
    ///
    /// # Errors
    /// As [`NewCustomerBody::check_as_sent`].
    pub fn into_draft(self) -> Result<CustomerDraft, ApiError> {
        self.check_as_sent()?;
        Ok(CustomerDraft {
            name: self.name,
            code: self.code,
            phone: self.phone,
            language: self.language.map(|l| l.as_str().to_owned()),
            sms_opt_out: self.sms_opt_out,
        })
    }
}

impl CustomerChangesBody {
    /// # Errors
    /// 422 when a field breaks the document's limits as sent.
    pub fn check_as_sent(&self) -> Result<(), ApiError> {
        as_sent(&[("name", self.name.as_deref(), CustomerName::MAX_CHARS)], self.code.as_deref())
    }
}

impl NewOrderBody {
    /// # Errors
    /// 422 when a field breaks the document's limits as sent.
    pub fn check_as_sent(&self) -> Result<(), ApiError> {
        as_sent(&[("item", Some(self.item.as_str()), ItemName::MAX_CHARS)], None)
    }

    /// The domain's draft, after [`NewOrderBody::check_as_sent`]; `notify` defaults to `true`.
    ///
    /// # Errors
    /// As [`NewOrderBody::check_as_sent`].
    pub fn into_draft(self) -> Result<OrderDraft, ApiError> {
        self.check_as_sent()?;
        Ok(OrderDraft {
            customer_id: CustomerId::from_uuid(self.customer_id),
            item: self.item,
            amount: self.amount,
            currency: self.currency,
            ordered_at: self.ordered_at,
            notify: self.notify.unwrap_or(true),
        })
    }
}

impl OrderChangesBody {
    /// # Errors
    /// 422 when a field breaks the document's limits as sent, or names `status` (changed by
    /// `changeOrderStatus` only).
    pub fn check_as_sent(&self) -> Result<(), ApiError> {
        if self.status.is_some() {
            let elsewhere =
                InvalidValue::ChangedElsewhere { operation: "POST /api/v1/orders/{id}/status (changeOrderStatus)" };
            return Err(ApiError::validation(vec![FieldProblem {
                row: None,
                field: "status".into(),
                message: elsewhere.to_string(),
            }]));
        }
        as_sent(&[("item", self.item.as_deref(), ItemName::MAX_CHARS)], None)
    }
}

/// A status change asked for.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "OrderStatusChange", example)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeBody {
    /// The status to move to: `confirmed`, `ready`, `out_for_delivery`, `completed` or
    /// `cancelled` (or the current one, which changes nothing). Forward moves may skip steps;
    /// `cancelled` is reachable from every status but `completed`; `completed` and `cancelled`
    /// are final.
    #[oai(validator(min_length = 1, max_length = 32))]
    pub status: String,
    /// Kept in the history; when cancelling, also the order's `cancel_note`. 1-500 characters.
    #[oai(validator(min_length = 1, max_length = 500))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub note: Option<String>,
    /// Required with `cancelled`, refused otherwise: `customer_request`, `out_of_stock`,
    /// `duplicate`, `payment_failed` or `other`.
    #[oai(validator(min_length = 1, max_length = 32))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub cancel_reason: Option<String>,
    /// Text the customer about the new status when its event (`order.<status>`) is enabled in
    /// the settings `sms.events`; default `true`. `false` writes no SMS, e.g. when loading
    /// history. A change to the current status writes none either way.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub notify: Option<bool>,
}

impl StatusChangeBody {
    /// # Errors
    /// 422 when `note` breaks the document's limit as sent.
    pub fn check_as_sent(&self) -> Result<(), ApiError> {
        as_sent(&[("note", self.note.as_deref(), StatusNote::MAX_CHARS)], None)
    }
}

impl Example for StatusChangeBody {
    fn example() -> Self {
        Self { status: "ready".into(), note: Some("Packed, at the counter".into()), cancel_reason: None, notify: None }
    }
}

/// One entry of an order's history.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OrderHistoryEntry")]
pub struct HistoryEntryBody {
    /// The status the order moved to (`received` for its creation); see `Order.status`.
    pub status: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Token subject of whoever made the change; absent for orders older than authentication.
    #[oai(skip_serializing_if_is_none)]
    pub by: Option<String>,
    /// The note given with the change; absent without one.
    #[oai(skip_serializing_if_is_none)]
    pub note: Option<String>,
    /// Only for the cancellation: why.
    #[oai(skip_serializing_if_is_none)]
    pub cancel_reason: Option<String>,
}

impl From<StatusChange> for HistoryEntryBody {
    fn from(c: StatusChange) -> Self {
        Self {
            status: c.status.as_str().to_owned(),
            at: c.at,
            by: c.by,
            note: c.note.map(|n| n.as_str().to_owned()),
            cancel_reason: c.cancel_reason.map(|r| r.as_str().to_owned()),
        }
    }
}

/// An order's history, oldest first: its creation, then every status change.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OrderHistory")]
pub struct HistoryBody {
    pub items: Vec<HistoryEntryBody>,
}

/// An optional request field: it may be absent, but `null` is refused like any other wrong
/// type (serde would read it as absent).
pub(crate) fn not_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A present time: an RFC 3339 date-time exactly ([`orderdesk_domain::timestamp::parse_rfc3339`]).
fn not_null_time<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let text = String::deserialize(deserializer)?;
    orderdesk_domain::timestamp::parse_rfc3339(&text).map(Some).map_err(serde::de::Error::custom)
}

impl Example for CustomerChangesBody {
    fn example() -> Self {
        Self { phone: Some("+254733000111".into()), ..Default::default() }
    }
}

/// One page of customers, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CustomerList")]
pub struct CustomerListBody {
    pub items: Vec<CustomerBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl From<Page<Customer>> for CustomerListBody {
    fn from(page: Page<Customer>) -> Self {
        Self { next_cursor: page.next.map(encode_cursor), items: page.items.into_iter().map(Into::into).collect() }
    }
}

/// A text message a customer sent to the shop's number or shortcode (received through
/// Africa's Talking's incoming-message callback).
#[derive(Debug, Clone, Object)]
#[oai(rename = "IncomingMessage", example)]
pub struct IncomingMessageBody {
    pub id: Uuid,
    /// The sender's number in E.164 (AT's `from`).
    pub from: String,
    /// The shortcode or number it was sent to (AT's `to`).
    pub to: String,
    /// The text as sent (may contain line breaks).
    pub text: String,
    /// AT's `linkId`, for messages to a premium/on-demand shortcode; absent otherwise.
    #[oai(skip_serializing_if_is_none)]
    pub link_id: Option<String>,
    /// When the customer sent it (AT's `date`, read as UTC); absent when AT's `date` was
    /// missing or unreadable.
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<DateTime<Utc>>,
    /// When this server received it (UTC).
    pub received_at: DateTime<Utc>,
    /// The text was a stop word (`STOP`, `ACHA`, `SITISHA`, alone, ignoring case and
    /// spacing), which opted the sender out of texts.
    pub stop_word: bool,
}

impl From<IncomingMessage> for IncomingMessageBody {
    fn from(m: IncomingMessage) -> Self {
        Self {
            id: m.id,
            from: m.sender,
            to: m.recipient,
            text: m.text,
            link_id: m.link_id,
            sent_at: m.sent_at,
            received_at: m.received_at,
            stop_word: m.stop_word,
        }
    }
}

impl Example for IncomingMessageBody {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x019abc00_0000_7000_8000_0000000000a1),
            from: "+254712345678".into(),
            to: "22384".into(),
            text: "STOP".into(),
            link_id: None,
            sent_at: Some(example_time()),
            received_at: example_time(),
            stop_word: true,
        }
    }
}

/// One page of a customer's incoming messages, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "IncomingMessageList")]
pub struct IncomingMessageListBody {
    pub items: Vec<IncomingMessageBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl From<Page<IncomingMessage>> for IncomingMessageListBody {
    fn from(page: Page<IncomingMessage>) -> Self {
        Self { next_cursor: page.next.map(encode_cursor), items: page.items.into_iter().map(Into::into).collect() }
    }
}

/// An order.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Order", example)]
pub struct OrderBody {
    pub id: Uuid,
    /// The order's number: unique, never reused, from `orders.first_number` (1001) up.
    pub number: u32,
    /// What the customer quotes: `orders.number_prefix` and the number, e.g. `"ORD-1042"`; at
    /// most 12 characters (an M-Pesa account reference).
    pub reference: String,
    /// Where the order is: `received` (new orders), `confirmed`, `ready`, `out_for_delivery`,
    /// `completed` or `cancelled`. Changed by `changeOrderStatus`. A string, not an enum: the
    /// list may grow, so show a value you do not know as it is.
    pub status: String,
    /// When the order took its status (UTC).
    pub status_changed_at: DateTime<Utc>,
    /// Only when cancelled: `customer_request`, `out_of_stock`, `duplicate`, `payment_failed`
    /// or `other` (a list that may grow, like `status`).
    #[oai(skip_serializing_if_is_none)]
    pub cancel_reason: Option<String>,
    /// Only when cancelled with a note: the note.
    #[oai(skip_serializing_if_is_none)]
    pub cancel_note: Option<String>,
    pub customer_id: Uuid,
    /// What was ordered.
    pub item: String,
    /// Exact decimal string with the currency's minor digits, e.g. `"250.50"`.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// When the customer ordered (UTC).
    pub ordered_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Token subject of whoever created it; absent when not recorded.
    #[oai(skip_serializing_if_is_none)]
    pub created_by: Option<String>,
    /// Token subject of whoever changed it last; absent when not recorded.
    #[oai(skip_serializing_if_is_none)]
    pub updated_by: Option<String>,
    /// The order's customer, as `getCustomer` returns it: only with `expand=customer` (which
    /// needs `read:customers` as well as `read:orders`).
    #[oai(skip_serializing_if_is_none)]
    pub customer: Option<CustomerBody>,
}

impl OrderBody {
    /// The order with its customer embedded (when `customers` has it).
    pub fn expanded(order: Order, customers: &std::collections::HashMap<Uuid, CustomerBody>) -> Self {
        let customer = customers.get(&order.customer_id().as_uuid()).cloned();
        Self { customer, ..order.into() }
    }
}

/// What an order read can embed (`expand`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename = "OrderExpand", rename_all = "snake_case")]
pub enum OrderExpand {
    /// Each order's customer, as `customer` (needs `read:customers`).
    Customer,
}

impl From<Order> for OrderBody {
    fn from(o: Order) -> Self {
        let cancellation = o.lifecycle().cancellation.as_ref();
        Self {
            id: o.id().as_uuid(),
            number: o.number().get(),
            reference: o.reference().as_str().to_owned(),
            status: o.status().as_str().to_owned(),
            status_changed_at: o.lifecycle().changed_at,
            cancel_reason: cancellation.map(|c| c.reason.as_str().to_owned()),
            cancel_note: cancellation.and_then(|c| c.note.as_ref()).map(|n| n.as_str().to_owned()),
            customer_id: o.customer_id().as_uuid(),
            item: o.item().as_str().to_owned(),
            amount: o.amount().amount_string(),
            currency: o.amount().currency().code().to_owned(),
            ordered_at: o.ordered_at(),
            created_at: o.created_at(),
            updated_at: o.updated_at(),
            created_by: o.audit().created_by.clone(),
            updated_by: o.audit().updated_by.clone(),
            customer: None,
        }
    }
}

impl Example for OrderBody {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x019abc00_0000_7000_8000_000000000002),
            number: 1042,
            reference: "ORD-1042".into(),
            status: "ready".into(),
            status_changed_at: example_time(),
            cancel_reason: None,
            cancel_note: None,
            customer_id: CustomerBody::example().id,
            item: "Maize flour 2kg".into(),
            amount: "250.50".into(),
            currency: "KES".into(),
            ordered_at: example_time(),
            created_at: example_time(),
            updated_at: example_time(),
            created_by: Some("auth0|64f1c0ffee".into()),
            updated_by: Some("auth0|64f1c0ffee".into()),
            customer: None,
        }
    }
}

/// A new order.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "NewOrder", example)]
#[serde(deny_unknown_fields)]
pub struct NewOrderBody {
    pub customer_id: Uuid,
    /// What was ordered, 1-200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub item: String,
    /// A positive decimal string such as `"250.50"`, with at most the currency's minor digits
    /// and 15 digits in all. Never a JSON number.
    #[oai(validator(pattern = "^[0-9]+(\\.[0-9]+)?$", max_length = 32))]
    pub amount: String,
    /// An active ISO 4217 code in upper case; the setting `orders.default_currency` when absent
    /// (`null` is refused).
    #[oai(skip_serializing_if_is_none, validator(pattern = "^[A-Z]{3}$"))]
    #[serde(default, deserialize_with = "not_null")]
    pub currency: Option<String>,
    /// When the customer ordered (RFC 3339); now when absent (`null` is refused).
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null_time")]
    pub ordered_at: Option<DateTime<Utc>>,
    /// Whether to text the customer; `true` when absent (`null` is refused). Send `false` when
    /// loading historical orders. An order whose `ordered_at` is older than the setting
    /// `sms.max_order_age_hours` is never texted.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub notify: Option<bool>,
}

impl Example for NewOrderBody {
    fn example() -> Self {
        Self {
            customer_id: CustomerBody::example().id,
            item: "Maize flour 2kg".into(),
            amount: "250.50".into(),
            currency: Some("KES".into()),
            ordered_at: None,
            notify: None,
        }
    }
}

/// Changes to an order; absent fields stay as they are. No field can be cleared, so `null`
/// is refused (422). Changing only `currency` re-checks the stored amount against the new
/// currency's minor digits.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename = "OrderChanges", example)]
#[serde(deny_unknown_fields)]
pub struct OrderChangesBody {
    /// As in `NewOrder`.
    #[oai(validator(min_length = 1, max_length = 200))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub item: Option<String>,
    /// As in `NewOrder`.
    #[oai(validator(pattern = "^[0-9]+(\\.[0-9]+)?$", max_length = 32))]
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null")]
    pub amount: Option<String>,
    /// As in `NewOrder`.
    #[oai(skip_serializing_if_is_none, validator(pattern = "^[A-Z]{3}$"))]
    #[serde(default, deserialize_with = "not_null")]
    pub currency: Option<String>,
    /// As in `NewOrder`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(default, deserialize_with = "not_null_time")]
    pub ordered_at: Option<DateTime<Utc>>,
    /// Not accepted here: present only to refuse it with a 422 that names `changeOrderStatus`.
    #[oai(skip)]
    #[serde(default, deserialize_with = "present")]
    pub status: Option<()>,
}

/// Whatever the field holds (even `null`), it was sent.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| Some(()))
}

impl Example for OrderChangesBody {
    fn example() -> Self {
        Self { amount: Some("300.00".into()), ..Default::default() }
    }
}

/// One page of orders, newest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "OrderList")]
pub struct OrderListBody {
    pub items: Vec<OrderBody>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next_cursor: Option<String>,
}

impl From<Page<Order>> for OrderListBody {
    fn from(page: Page<Order>) -> Self {
        Self { next_cursor: page.next.map(encode_cursor), items: page.items.into_iter().map(Into::into).collect() }
    }
}

impl OrderListBody {
    /// The page with each order's customer embedded (when `customers` has it).
    pub fn expanded(page: Page<Order>, customers: &std::collections::HashMap<Uuid, CustomerBody>) -> Self {
        let items = page.items.into_iter().map(|o| OrderBody::expanded(o, customers)).collect();
        Self { next_cursor: page.next.map(encode_cursor), items }
    }
}

/// The process's key for list cursors, set once by [`crate::app`] from `HttpOptions::cursor_secret`
/// (every process behind one load balancer must share it, so a cursor from one is read by the
/// next); a random key when none is given.
static CURSOR_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// Derives the cursor key from `secret` (HMAC-SHA256 with a fixed label, so the key differs
/// from any other use of the secret). The first call wins; later ones change nothing.
pub fn set_cursor_secret(secret: Option<&[u8]>) {
    CURSOR_KEY.get_or_init(|| derive_cursor_key(secret));
}

fn derive_cursor_key(secret: Option<&[u8]>) -> [u8; 32] {
    use hmac::Mac;
    let random;
    let secret = match secret {
        Some(secret) => secret,
        None => {
            random = orderdesk_signin::token::random_token();
            random.as_bytes()
        }
    };
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"orderdesk list cursor v1");
    mac.finalize().into_bytes().into()
}

/// base64url without padding of `position` and its tag (`label` then `position`).
fn signed(label: &[u8], position: &[u8]) -> String {
    let mut bytes = position.to_vec();
    bytes.extend_from_slice(&tag_of(&[label, position]));
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The position of a cursor [`signed`] with `label`, if `cursor` is one of `len` bytes whose
/// tag verifies (compared in constant time).
fn verified(cursor: &str, label: &[u8], len: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| refused_cursor())?;
    if bytes.len() != len + 16 {
        return Err(refused_cursor());
    }
    let tag = bytes.split_off(len);
    if constant_time_eq(tag_of(&[label, &bytes]), &tag) { Ok(bytes) } else { Err(refused_cursor()) }
}

/// A 422 on `cursor`.
fn refused_cursor() -> ApiError {
    refused_cursor_on("cursor")
}

/// A 422 on `field`, a parameter that carries a cursor this server did not issue.
pub fn refused_cursor_on(field: &str) -> ApiError {
    ApiError::validation(vec![FieldProblem {
        row: None,
        field: field.into(),
        message: "is not a cursor returned by this API".into(),
    }])
}

/// The first 16 bytes of HMAC-SHA256(key, the concatenated `parts`).
fn tag_of(parts: &[&[u8]]) -> [u8; 16] {
    use hmac::Mac;
    let key = CURSOR_KEY.get_or_init(|| derive_cursor_key(None));
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("a 32-byte key is valid");
    for part in parts {
        mac.update(part);
    }
    let full: [u8; 32] = mac.finalize().into_bytes().into();
    let mut tag = [0; 16];
    tag.copy_from_slice(&full[..16]);
    tag
}

/// Characters in a cursor: base64url of the 16-byte position and its 16-byte tag.
pub const CURSOR_CHARS: usize = 43;

/// An opaque cursor for the page after `id`: the position and an HMAC tag, base64url
/// (RFC 4648 §5) without padding, [`CURSOR_CHARS`] characters.
pub fn encode_cursor(id: Uuid) -> String {
    signed(b"", id.as_bytes())
}

/// # Errors
/// A 422 on `cursor` when this server did not issue it (its tag does not verify).
pub fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    Uuid::from_slice(&verified(cursor, b"", 16)?).map_err(|_| refused_cursor())
}

/// Labels the event feed's cursor tag, so that a list cursor is no feed position.
const EVENT_LABEL: &[u8] = b"events v1:";

/// The feed position after event `id` ([`CURSOR_CHARS`] characters, like a list cursor).
pub fn encode_event_cursor(id: Uuid) -> String {
    signed(EVENT_LABEL, id.as_bytes())
}

/// # Errors
/// A 422 (on `cursor`; callers name their own field) when this server did not issue it as a
/// feed position.
pub fn decode_event_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    Uuid::from_slice(&verified(cursor, EVENT_LABEL, 16)?).map_err(|_| refused_cursor())
}

/// Labels the board cursor's tag, so that no other cursor's tag verifies as one.
const BOARD_LABEL: &[u8] = b"board v1:";

/// An opaque cursor for the board page after `cursor` (`ordered_at` descending, then id):
/// base64url without padding of 40 bytes, the position (`ordered_at` as big-endian
/// microseconds since the Unix epoch, then the 16-byte order id) and its 16-byte HMAC tag.
pub fn encode_board_cursor(cursor: BoardCursor) -> String {
    signed(BOARD_LABEL, &board_position(cursor))
}

/// # Errors
/// A 422 on `cursor` when this server did not issue it (not 40 bytes of base64url, or its tag
/// does not verify).
pub fn decode_board_cursor(cursor: &str) -> Result<BoardCursor, ApiError> {
    let position = verified(cursor, BOARD_LABEL, 24)?;
    let (micros, id) = position.split_at(8);
    let micros = i64::from_be_bytes(micros.try_into().map_err(|_| refused_cursor())?);
    let ordered_at = DateTime::from_timestamp_micros(micros).ok_or_else(refused_cursor)?;
    let id = Uuid::from_slice(id).map_err(|_| refused_cursor())?;
    Ok(BoardCursor { ordered_at, id: OrderId::from_uuid(id) })
}

fn board_position(cursor: BoardCursor) -> [u8; 24] {
    let mut position = [0; 24];
    position[..8].copy_from_slice(&cursor.ordered_at.timestamp_micros().to_be_bytes());
    position[8..].copy_from_slice(cursor.id.as_uuid().as_bytes());
    position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_cursors_round_trip_and_reject_anything_else() {
        let at = DateTime::parse_from_rfc3339("2026-11-30T07:01:24.123456Z").unwrap().with_timezone(&Utc);
        let cursor = BoardCursor { ordered_at: at, id: OrderId::from_uuid(Uuid::now_v7()) };
        let text = encode_board_cursor(cursor);
        assert_eq!(decode_board_cursor(&text).unwrap(), cursor);
        assert!(decode_board_cursor("").is_err());
        assert!(decode_board_cursor("!!").is_err());
        // An id cursor is not a board cursor, nor the position alone.
        assert!(decode_board_cursor(&encode_cursor(cursor.id.as_uuid())).is_err());
        assert!(decode_board_cursor(&URL_SAFE_NO_PAD.encode(board_position(cursor))).is_err());
        let mut forged = URL_SAFE_NO_PAD.decode(&text).unwrap();
        forged[7] ^= 1;
        assert!(decode_board_cursor(&URL_SAFE_NO_PAD.encode(&forged)).is_err());
        let mut longer = URL_SAFE_NO_PAD.decode(&text).unwrap();
        longer.push(0);
        assert!(decode_board_cursor(&URL_SAFE_NO_PAD.encode(&longer)).is_err());
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor("AAAA").is_err());
        // The position alone, as cursors were before they were authenticated, is refused.
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(id.as_bytes())).is_err());
        // A forged tag is refused; so is another position with this one's tag.
        let mut forged = URL_SAFE_NO_PAD.decode(encode_cursor(id)).unwrap();
        forged[31] ^= 1;
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(&forged)).is_err());
        let other = Uuid::now_v7();
        let mut moved = other.as_bytes().to_vec();
        moved.extend_from_slice(&URL_SAFE_NO_PAD.decode(encode_cursor(id)).unwrap()[16..]);
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(&moved)).is_err());
        assert_eq!(encode_cursor(id).len(), CURSOR_CHARS);
    }

    #[test]
    fn optional_fields_may_be_absent_but_not_null() {
        let changes: CustomerChangesBody = serde_json::from_str(r#"{"name": "Amina"}"#).unwrap();
        assert_eq!((changes.name.as_deref(), changes.phone), (Some("Amina"), None));
        for body in [r#"{"phone": null}"#, r#"{"name": null}"#, r#"{"code": null}"#] {
            assert!(serde_json::from_str::<CustomerChangesBody>(body).is_err(), "{body}");
        }
        for body in [r#"{"amount": null}"#, r#"{"currency": null}"#, r#"{"ordered_at": null}"#, r#"{"item": null}"#] {
            assert!(serde_json::from_str::<OrderChangesBody>(body).is_err(), "{body}");
        }
        let order = r#"{"customer_id": "019abc00-0000-7000-8000-000000000001", "item": "x", "amount": "1.00""#;
        assert!(serde_json::from_str::<NewOrderBody>(&format!("{order}}}")).is_ok());
        assert!(serde_json::from_str::<NewOrderBody>(&format!(r#"{order}, "currency": null}}"#)).is_err());
        assert!(serde_json::from_str::<NewOrderBody>(&format!(r#"{order}, "ordered_at": null}}"#)).is_err());
        for time in
            ["2026-11-26T09:30:60Z", "2026-11-26T09:30:00+0300", "2026-11-26T09:30:00 UTC", " 2026-11-26T09:30:00Z"]
        {
            let body = format!(r#"{order}, "ordered_at": "{time}"}}"#);
            assert!(serde_json::from_str::<NewOrderBody>(&body).is_err(), "{time}");
        }
        let exact = format!(r#"{order}, "ordered_at": "2026-11-26T12:30:00+03:00"}}"#);
        assert_eq!(
            serde_json::from_str::<NewOrderBody>(&exact).unwrap().ordered_at.unwrap().to_rfc3339(),
            "2026-11-26T09:30:00+00:00"
        );
    }

    #[test]
    fn limits_hold_for_the_text_as_sent() {
        let customer = |name: &str, code: &str| NewCustomerBody {
            name: name.into(),
            code: code.into(),
            phone: "1".into(),
            language: None,
            sms_opt_out: None,
        };
        assert!(customer(&"é".repeat(200), "A-1").check_as_sent().is_ok());
        assert!(customer(&format!("{} ", "é".repeat(200)), "A-1").check_as_sent().is_err());
        assert!(customer("Amina", " A-1").check_as_sent().is_err());
        assert!(CustomerChangesBody { code: Some("A-1\n".into()), ..Default::default() }.check_as_sent().is_err());
        assert!(
            OrderChangesBody { item: Some(format!("{}\t", "x".repeat(200))), ..Default::default() }
                .check_as_sent()
                .is_err()
        );
    }

    #[test]
    fn amounts_are_strings_never_numbers() {
        let order = r#"{"customer_id": "019abc00-0000-7000-8000-000000000001", "item": "x", "amount": 250.5}"#;
        assert!(serde_json::from_str::<NewOrderBody>(order).is_err());
    }
}

/// One attempt to hand an SMS to the provider.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationAttempt")]
pub struct AttemptBody {
    pub number: u32,
    pub attempted_at: DateTime<Utc>,
    /// `sent`, `retry` or `failed`.
    pub outcome: String,
    /// The E.164 number this attempt texted (a retry by hand uses the customer's current
    /// number); masked (`***5678`) unless the caller has `read:customers`.
    pub recipient: String,
    /// Why the attempt failed; on a sent attempt, absent, or a note that the provider's cost
    /// was not exact money (with its text), so none is kept.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// What the provider charged for this attempt, as an exact decimal string with at least
    /// the currency's minor digits and every non-zero digit (up to six decimals): `"0.80"`,
    /// `"0.8012"`. From Africa's Talking's `cost` (`"KES 0.8000"`). Absent unless the attempt was
    /// sent and the provider named a charge.
    #[oai(skip_serializing_if_is_none)]
    pub cost_amount: Option<String>,
    /// The ISO 4217 code of `cost_amount` (`KES`); absent with it.
    #[oai(skip_serializing_if_is_none)]
    pub cost_currency: Option<String>,
    /// How many SMS parts the provider billed this attempt as (`messageParts`); absent unless sent.
    #[oai(skip_serializing_if_is_none)]
    pub parts: Option<u32>,
}

/// An SMS sent (or to be sent) for an order.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Notification")]
pub struct NotificationBody {
    pub id: Uuid,
    pub order_id: Uuid,
    /// What the SMS announces: `order.created`, `order.confirmed`, `order.ready`,
    /// `order.out_for_delivery`, `order.completed` or `order.cancelled`.
    pub event: String,
    /// The language of `message`: `en` or `sw` (the customer's, or the setting
    /// `customers.default_language` when the event has no text in theirs).
    pub language: String,
    /// E.164 number texted; masked (`***5678`) unless the caller has `read:customers`.
    pub recipient: String,
    pub message: String,
    /// `gsm7` or `ucs2`: how the message is encoded (3GPP TS 23.038).
    pub encoding: String,
    /// How many SMS segments the message is billed as (at most the setting `sms.max_segments`
    /// for messages written since it applies).
    pub segments: u32,
    /// `pending`, `sending`, `sent`, `delivered`, `undelivered`, `failed` or `skipped` (never
    /// sent, on purpose: see `skip_reason`).
    pub status: String,
    /// Only when `skipped`: `opted_out` (the customer's `sms_opt_out`) or `not_mobile` (the
    /// number is a fixed line, toll-free, premium-rate or other number that cannot take SMS).
    #[oai(skip_serializing_if_is_none)]
    pub skip_reason: Option<String>,
    /// Attempts in the current budget.
    pub attempts: u32,
    /// Every attempt, in the order made, those before a retry by hand included (their
    /// `number` starts again at 1 after each retry by hand).
    pub attempt_log: Vec<AttemptBody>,
    /// When the next attempt is due; only while `pending`.
    #[oai(skip_serializing_if_is_none)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's error; absent if none failed.
    #[oai(skip_serializing_if_is_none)]
    pub last_error: Option<String>,
    /// The provider's id for the message; absent until it is sent.
    #[oai(skip_serializing_if_is_none)]
    pub provider_message_id: Option<String>,
    /// The provider's answer to the send; absent until it is sent.
    #[oai(skip_serializing_if_is_none)]
    pub provider_status: Option<String>,
    /// What the SMS cost so far: the costs of every attempt in `attempt_log` added up, as an
    /// exact decimal string (`"1.60"`). Absent when no attempt had a cost, or when attempts
    /// were charged in different currencies (then see each attempt).
    #[oai(skip_serializing_if_is_none)]
    pub cost_amount: Option<String>,
    /// The ISO 4217 code of `cost_amount`; absent with it.
    #[oai(skip_serializing_if_is_none)]
    pub cost_currency: Option<String>,
    /// The provider's latest delivery report status (`Success`, `Failed`, `Buffered`, ...);
    /// absent until a report arrives.
    #[oai(skip_serializing_if_is_none)]
    pub delivery_status: Option<String>,
    /// Why the provider could not deliver; absent unless a report says so.
    #[oai(skip_serializing_if_is_none)]
    pub delivery_failure_reason: Option<String>,
    /// When the provider accepted it; absent until then.
    #[oai(skip_serializing_if_is_none)]
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl NotificationBody {
    /// `reveal_recipient`: whether the caller may read customer data (`read:customers`).
    pub fn new(
        n: orderdesk_domain::Notification,
        attempts: Vec<orderdesk_domain::notification::Attempt>,
        reveal_recipient: bool,
    ) -> Self {
        let pending = n.status() == orderdesk_domain::NotificationStatus::Pending;
        let length = n.length();
        let total =
            orderdesk_domain::notification::CostTotal::add_up(attempts.iter().filter_map(|a| Some((a.cost?, a.parts))));
        let total = match total.as_slice() {
            [one] => Some((one.amount_string(), one.currency.code().to_owned())),
            _ => None,
        };
        Self {
            id: n.id().as_uuid(),
            order_id: n.order_id().as_uuid(),
            event: n.event().as_str().to_owned(),
            language: n.language().as_str().to_owned(),
            skip_reason: n.skip_reason().map(|r| r.as_str().to_owned()),
            recipient: if reveal_recipient { n.recipient().as_str().to_owned() } else { n.recipient().masked() },
            message: n.message().to_owned(),
            encoding: length.encoding.as_str().to_owned(),
            segments: u32::try_from(length.segments).unwrap_or(u32::MAX),
            status: n.status().as_str().to_owned(),
            attempts: n.attempts(),
            attempt_log: attempts
                .into_iter()
                .map(|a| AttemptBody {
                    number: a.number,
                    attempted_at: a.attempted_at,
                    outcome: a.outcome.as_str().to_owned(),
                    recipient: if reveal_recipient { a.recipient.as_str().to_owned() } else { a.recipient.masked() },
                    error: a.error,
                    cost_amount: a.cost.map(|c| c.amount_string()),
                    cost_currency: a.cost.map(|c| c.currency().code().to_owned()),
                    parts: a.parts,
                })
                .collect(),
            next_attempt_at: pending.then_some(n.next_attempt_at()),
            last_error: n.last_error().map(str::to_owned),
            provider_message_id: n.provider_message_id().map(str::to_owned),
            provider_status: n.provider_status().map(str::to_owned),
            cost_amount: total.as_ref().map(|(amount, _)| amount.clone()),
            cost_currency: total.map(|(_, currency)| currency),
            delivery_status: n.delivery_status().map(str::to_owned),
            delivery_failure_reason: n.delivery_failure_reason().map(str::to_owned),
            sent_at: n.sent_at(),
            created_at: n.created_at(),
            updated_at: n.updated_at(),
        }
    }
}

/// An order's SMS notifications, oldest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationList")]
pub struct NotificationListBody {
    pub items: Vec<NotificationBody>,
}
