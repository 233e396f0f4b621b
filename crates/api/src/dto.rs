//! Wire types. Requests are parsed with serde (see [`crate::json`]); the poem-openapi
//! derives describe them in the OpenAPI document. Names are snake_case.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use orderdesk_domain::{Customer, Order, Page};
use poem_openapi::types::Example;
use poem_openapi::{NewType, Object};
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Token subject of whoever created it.
    pub created_by: Option<String>,
    /// Token subject of whoever changed it last.
    pub updated_by: Option<String>,
}

impl From<Customer> for CustomerBody {
    fn from(c: Customer) -> Self {
        Self {
            id: c.id().as_uuid(),
            name: c.name().as_str().to_owned(),
            code: c.code().as_str().to_owned(),
            phone: c.phone().as_str().to_owned(),
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
    /// Phone number; without a `+country` prefix the server's default region (KE) is assumed.
    /// Stored and returned in E.164.
    pub phone: String,
}

impl Example for NewCustomerBody {
    fn example() -> Self {
        Self { name: "Amina Wanjiru".into(), code: "AMINA-01".into(), phone: "0712 345 678".into() }
    }
}

/// Changes to a customer; absent fields stay as they are.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename = "CustomerChanges", example)]
#[serde(deny_unknown_fields)]
pub struct CustomerChangesBody {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: Option<String>,
    #[oai(validator(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_-]+$"))]
    pub code: Option<String>,
    pub phone: Option<String>,
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

/// An order.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Order", example)]
pub struct OrderBody {
    pub id: Uuid,
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
    /// Token subject of whoever created it.
    pub created_by: Option<String>,
    /// Token subject of whoever changed it last.
    pub updated_by: Option<String>,
}

impl From<Order> for OrderBody {
    fn from(o: Order) -> Self {
        Self {
            id: o.id().as_uuid(),
            customer_id: o.customer_id().as_uuid(),
            item: o.item().as_str().to_owned(),
            amount: o.amount().amount_string(),
            currency: o.amount().currency().code().to_owned(),
            ordered_at: o.ordered_at(),
            created_at: o.created_at(),
            updated_at: o.updated_at(),
            created_by: o.audit().created_by.clone(),
            updated_by: o.audit().updated_by.clone(),
        }
    }
}

impl Example for OrderBody {
    fn example() -> Self {
        Self {
            id: Uuid::from_u128(0x019abc00_0000_7000_8000_000000000002),
            customer_id: CustomerBody::example().id,
            item: "Maize flour 2kg".into(),
            amount: "250.50".into(),
            currency: "KES".into(),
            ordered_at: example_time(),
            created_at: example_time(),
            updated_at: example_time(),
            created_by: Some("auth0|64f1c0ffee".into()),
            updated_by: Some("auth0|64f1c0ffee".into()),
        }
    }
}

/// A positive decimal amount. Send a string such as `"250.50"`; a JSON number is read from
/// its exact text and accepted only with at most the currency's minor digits (never rounded).
#[derive(Debug, Clone, PartialEq, Eq, NewType)]
#[oai(rename = "Amount", example)]
pub struct Amount(pub String);

impl Example for Amount {
    fn example() -> Self {
        Self("250.50".into())
    }
}

impl<'de> Deserialize<'de> for Amount {
    /// Takes the amount's exact text: a JSON string's content, or a JSON number exactly as the
    /// client wrote it (never through a double, which would round `250.499999999999999999`
    /// to `250.5`). Too many digits are refused by the domain, never rounded.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = <Box<serde_json::value::RawValue>>::deserialize(deserializer)?;
        let text = raw.get().trim();
        if text.starts_with('"') {
            return serde_json::from_str::<String>(text).map(Amount).map_err(D::Error::custom);
        }
        let numeric = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
        if numeric {
            Ok(Amount(text.to_owned()))
        } else {
            Err(D::Error::custom("expected a decimal string such as \"250.50\""))
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
    pub amount: Amount,
    /// ISO 4217 code; the server's default (KES) when absent.
    pub currency: Option<String>,
    /// When the customer ordered (RFC 3339); now when absent.
    pub ordered_at: Option<DateTime<Utc>>,
}

impl Example for NewOrderBody {
    fn example() -> Self {
        Self {
            customer_id: CustomerBody::example().id,
            item: "Maize flour 2kg".into(),
            amount: Amount::example(),
            currency: Some("KES".into()),
            ordered_at: None,
        }
    }
}

/// Changes to an order; absent fields stay as they are. Changing only `currency`
/// re-checks the stored amount against the new currency's minor digits.
#[derive(Debug, Clone, Default, Object, Deserialize)]
#[oai(rename = "OrderChanges", example)]
#[serde(deny_unknown_fields)]
pub struct OrderChangesBody {
    #[oai(validator(min_length = 1, max_length = 200))]
    pub item: Option<String>,
    pub amount: Option<Amount>,
    pub currency: Option<String>,
    pub ordered_at: Option<DateTime<Utc>>,
}

impl Example for OrderChangesBody {
    fn example() -> Self {
        Self { amount: Some(Amount("300.00".into())), ..Default::default() }
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

/// Cursors are opaque to clients: the last row's id, base64url-encoded.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// # Errors
/// A 422 on `cursor` when it was not produced by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Result<Uuid, ApiError> {
    URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|bytes| Uuid::from_slice(&bytes).ok()).ok_or_else(|| {
        ApiError::validation(vec![FieldProblem {
            field: "cursor".into(),
            message: "is not a cursor returned by this API".into(),
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor("AAAA").is_err());
    }

    #[test]
    fn amounts_accept_strings_and_exact_numbers() {
        let parse = |json: &str| serde_json::from_str::<Amount>(json).map(|a| a.0);
        assert_eq!(parse("\"250.50\"").unwrap(), "250.50");
        assert_eq!(parse("250.5").unwrap(), "250.5");
        assert_eq!(parse("7").unwrap(), "7");
        // Numbers keep their exact text: more digits than KES allows are refused later, not rounded.
        assert_eq!(parse("0.30000000000000004").unwrap(), "0.30000000000000004");
        assert_eq!(parse("250.499999999999999999").unwrap(), "250.499999999999999999");
        assert_eq!(parse("1e2").unwrap(), "1e2");
        assert!(parse("true").is_err());
        assert!(parse("null").is_err());
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
    pub error: Option<String>,
}

/// An SMS sent (or to be sent) for an order.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Notification")]
pub struct NotificationBody {
    pub id: Uuid,
    pub order_id: Uuid,
    /// E.164 number texted; masked (`***5678`) unless the caller has `read:customers`.
    pub recipient: String,
    pub message: String,
    /// `pending`, `sending`, `sent`, `delivered`, `undelivered` or `failed`.
    pub status: String,
    /// Attempts in the current budget.
    pub attempts: u32,
    pub attempt_log: Vec<AttemptBody>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub provider_status: Option<String>,
    pub cost: Option<String>,
    /// The provider's latest delivery report status (`Success`, `Failed`, `Buffered`, ...).
    pub delivery_status: Option<String>,
    pub delivery_failure_reason: Option<String>,
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
        let pending = n.status == orderdesk_domain::NotificationStatus::Pending;
        Self {
            id: n.id.as_uuid(),
            order_id: n.order_id.as_uuid(),
            recipient: if reveal_recipient { n.recipient.as_str().to_owned() } else { n.recipient.masked() },
            message: n.message,
            status: n.status.as_str().to_owned(),
            attempts: n.attempts,
            attempt_log: attempts
                .into_iter()
                .map(|a| AttemptBody {
                    number: a.number,
                    attempted_at: a.attempted_at,
                    outcome: a.outcome.as_str().to_owned(),
                    error: a.error,
                })
                .collect(),
            next_attempt_at: pending.then_some(n.next_attempt_at),
            last_error: n.last_error,
            provider_message_id: n.provider_message_id,
            provider_status: n.provider_status,
            cost: n.cost,
            delivery_status: n.delivery_status,
            delivery_failure_reason: n.delivery_failure_reason,
            sent_at: n.sent_at,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// An order's SMS notifications, oldest first.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationList")]
pub struct NotificationListBody {
    pub items: Vec<NotificationBody>,
}
