//! Orders as orderdesk stores and shows them: its SQL for the three bench paths, copied from
//! what orderdesk sends (PostgreSQL's `log_statement = 'all'`, docs/benchmarks.md), its JSON
//! (keys in serde_json's sorted order, times as `to_rfc3339`, money as a decimal string), and
//! its list cursor. **When orderdesk's SQL for these paths changes, change it here too.**
//!
//! The values are the bench's settings (the dev profile): currency KES, numbers `ORD-<n>`, shop
//! "orderdesk", texts in English in Africa/Nairobi time (UTC+3 all year), and the creator is
//! `bench` (the subject of the bench's token, which orderdesk records). Simplified from
//! orderdesk, where the bench never goes: every customer is texted (no opt-out or landline
//! skip), the text is never shortened to fit one SMS, and no `Idempotency-Key` is read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, FixedOffset, SubsecRound, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize, Serializer};
use sha2::Sha256;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// Get order by id: sea-orm's `find_by_id(..).one(..)`; `$2` is the `LIMIT` (1).
const FIND: &str = r#"SELECT "orders"."id", "orders"."customer_id", "orders"."item", "orders"."amount_minor", "orders"."currency", "orders"."ordered_at", "orders"."created_at", "orders"."updated_at", "orders"."created_by", "orders"."updated_by", "orders"."version", "orders"."number", "orders"."reference", "orders"."status", "orders"."status_changed_at", "orders"."cancel_reason", "orders"."cancel_note" FROM "orders" WHERE "orders"."id" = $1 LIMIT $2"#;

/// List orders, newest first: `$1` is the page size plus one (is there a next page?).
const LIST: &str = r#"SELECT "orders"."id", "orders"."customer_id", "orders"."item", "orders"."amount_minor", "orders"."currency", "orders"."ordered_at", "orders"."created_at", "orders"."updated_at", "orders"."created_by", "orders"."updated_by", "orders"."version", "orders"."number", "orders"."reference", "orders"."status", "orders"."status_changed_at", "orders"."cancel_reason", "orders"."cancel_note" FROM "orders" ORDER BY "orders"."id" DESC LIMIT $1"#;

/// Create order, 1: the order's number (outside the transaction; a number is never reused).
const NEXT_NUMBER: &str = "SELECT nextval('order_number_seq') AS number";

/// Create order, 2: the customer, the text's recipient (outside the transaction).
const CUSTOMER: &str = r#"SELECT "customers"."id", "customers"."name", "customers"."code", "customers"."code_key", "customers"."phone", "customers"."created_at", "customers"."updated_at", "customers"."created_by", "customers"."updated_by", "customers"."version", "customers"."language", "customers"."sms_opt_out" FROM "customers" WHERE "customers"."id" = $1 LIMIT $2"#;

/// Create order, 3 (after `BEGIN`): the order row, its outbox row (the SMS) and its first
/// history row in one statement.
const INSERT: &str = r#"WITH "new_order" AS (INSERT INTO "orders" ("id", "customer_id", "item", "amount_minor", "currency", "ordered_at", "created_at", "updated_at", "created_by", "updated_by", "version", "number", "reference", "status", "status_changed_at", "cancel_reason", "cancel_note") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)) , "new_outbox" AS (INSERT INTO "notifications" ("id", "order_id", "event", "language", "skip_reason", "recipient", "message", "status", "attempts", "timed_out", "next_attempt_at", "retry_since", "lease_owner", "lease_until", "provider_message_id", "provider_status", "delivery_status", "delivery_failure_reason", "last_error", "created_at", "updated_at", "sent_at", "version") VALUES ($18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40)) INSERT INTO "order_status_changes" ("order_id", "version", "status", "changed_at", "changed_by", "note", "cancel_reason") VALUES ($41, $42, $43, $44, $45, $46, $47)"#;

/// Create order, 4: wakes dispatchers in other processes (delivered at commit). orderdesk
/// sends it unprepared (simple query protocol), as `raw_sql` does.
const NOTIFY: &str = "SELECT pg_notify('orderdesk_outbox', '')";

/// Create order, 5: the `order.created` event with the order row as JSON; then `COMMIT`.
const EVENT: &str = r#"INSERT INTO "events" ("id", "type", "object_id", "object", "created_at", "routed") VALUES ($1, $2, $3, $4, $5, $6)"#;

/// The bench's settings (dev profile): `orders.default_currency`, its minor digits,
/// `orders.number_prefix`, `shop.name`, the English `order.created` text, `shop.time_zone`.
const CURRENCY: &str = "KES";
const CURRENCY_DIGITS: u32 = 2;
const NUMBER_PREFIX: &str = "ORD-";
const SHOP: &str = "orderdesk";
const NAIROBI_SECONDS_EAST: i32 = 3 * 3600;

/// An `orders` row. Serialised (field order as the table's, `Z` times) it is the event's
/// object, as orderdesk writes it (the serde form of its sea-orm model).
#[derive(Debug, Clone, Serialize)]
pub struct Order {
    pub id: Uuid,
    customer_id: Uuid,
    item: String,
    amount_minor: i64,
    currency: String,
    ordered_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
    version: i32,
    number: i64,
    reference: String,
    status: String,
    status_changed_at: Option<DateTime<Utc>>,
    cancel_reason: Option<String>,
    cancel_note: Option<String>,
}

impl Order {
    fn from_row(row: &PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.try_get("id")?,
            customer_id: row.try_get("customer_id")?,
            item: row.try_get("item")?,
            amount_minor: row.try_get("amount_minor")?,
            currency: row.try_get("currency")?,
            ordered_at: row.try_get("ordered_at")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            created_by: row.try_get("created_by")?,
            updated_by: row.try_get("updated_by")?,
            version: row.try_get("version")?,
            number: row.try_get("number")?,
            reference: row.try_get("reference")?,
            status: row.try_get("status")?,
            status_changed_at: row.try_get("status_changed_at")?,
            cancel_reason: row.try_get("cancel_reason")?,
            cancel_note: row.try_get("cancel_note")?,
        })
    }

    /// The order as orderdesk's API shows it.
    pub fn body(&self) -> OrderBody<'_> {
        OrderBody {
            amount: amount_string(self.amount_minor, &self.currency),
            cancel_note: self.cancel_note.as_deref(),
            cancel_reason: self.cancel_reason.as_deref(),
            created_at: self.created_at,
            created_by: self.created_by.as_deref(),
            currency: &self.currency,
            customer_id: self.customer_id,
            id: self.id,
            item: &self.item,
            number: self.number,
            ordered_at: self.ordered_at,
            reference: &self.reference,
            status: &self.status,
            status_changed_at: self.status_changed_at.unwrap_or(self.created_at),
            updated_at: self.updated_at,
            updated_by: self.updated_by.as_deref(),
        }
    }
}

/// orderdesk's `Order` JSON: keys sorted (serde_json's map), absent options left out.
#[derive(Debug, Serialize)]
pub struct OrderBody<'a> {
    amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancel_reason: Option<&'a str>,
    #[serde(serialize_with = "rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<&'a str>,
    currency: &'a str,
    customer_id: Uuid,
    id: Uuid,
    item: &'a str,
    number: i64,
    #[serde(serialize_with = "rfc3339")]
    ordered_at: DateTime<Utc>,
    reference: &'a str,
    status: &'a str,
    #[serde(serialize_with = "rfc3339")]
    status_changed_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_by: Option<&'a str>,
}

/// orderdesk's `OrderList` JSON.
#[derive(Debug, Serialize)]
pub struct PageBody<'a> {
    items: Vec<OrderBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

/// A time as poem-openapi writes it: `to_rfc3339` (`+00:00`, as many fraction digits as needed).
fn rfc3339<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&time.to_rfc3339())
}

/// The strong `ETag` of the order's version: `"0"`.
pub fn etag(order: &Order) -> String {
    format!("\"{}\"", order.version)
}

/// Minor digits of an ISO 4217 currency: 2 but for the few with 0, 3 or 4.
fn minor_digits(currency: &str) -> u32 {
    const ZERO: [&str; 17] = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
        "XPF",
    ];
    const THREE: [&str; 7] = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if ZERO.contains(&currency) {
        0
    } else if THREE.contains(&currency) {
        3
    } else if ["CLF", "UYW"].contains(&currency) {
        4
    } else {
        2
    }
}

/// `25050` KES as `"250.50"`.
fn amount_string(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(digits);
    let width = digits as usize;
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!("{sign}{}.{:0width$}", minor / scale, minor % scale)
}

/// `"250.50"` as minor units of the default currency: digits with at most its minor digits
/// after the point, at most 15 in all, above zero.
fn parse_amount(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !text.contains('.') || (!fraction.is_empty() && fraction.len() <= CURRENCY_DIGITS as usize);
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || !fraction_ok {
        return None;
    }
    if whole.len() + fraction.len() > 15 {
        return None;
    }
    let padded = format!("{whole}{fraction:0<width$}", width = CURRENCY_DIGITS as usize);
    padded.parse().ok().filter(|&minor: &i64| minor > 0)
}

/// The list cursor key: HMAC-SHA256(secret, the label orderdesk uses).
pub fn cursor_key(secret: &[u8]) -> [u8; 32] {
    let mut mac = hmac(secret);
    mac.update(b"orderdesk list cursor v1");
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 with `key`: any length is a valid HMAC key.
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// The cursor of the page after `id`: base64url of the id's bytes and the first 16 bytes of
/// their HMAC tag, as orderdesk's `encode_cursor`.
fn encode_cursor(key: &[u8; 32], id: Uuid) -> String {
    let mut mac = hmac(key);
    mac.update(id.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut bytes = id.as_bytes().to_vec();
    bytes.extend_from_slice(&tag[..16]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The order with this id, if any.
pub async fn find(pool: &PgPool, id: Uuid) -> Result<Option<Order>, sqlx::Error> {
    let row = sqlx::query(FIND).bind(id).bind(1_i64).fetch_optional(pool).await?;
    row.as_ref().map(Order::from_row).transpose()
}

/// The newest `limit` orders (one more is read to know whether a next page exists).
pub async fn list(pool: &PgPool, limit: u64, cursor_key: &[u8; 32]) -> Result<Page, sqlx::Error> {
    let overfetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
    let rows = sqlx::query(LIST).bind(overfetch).fetch_all(pool).await?;
    let mut orders = rows.iter().map(Order::from_row).collect::<Result<Vec<_>, _>>()?;
    let more = orders.len() as u64 > limit;
    orders.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more { orders.last().map(|o| encode_cursor(cursor_key, o.id)) } else { None };
    Ok(Page { orders, next_cursor })
}

/// A page of orders read; serialised as orderdesk's `OrderList`.
#[derive(Debug)]
pub struct Page {
    orders: Vec<Order>,
    next_cursor: Option<String>,
}

impl Serialize for Page {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let items = self.orders.iter().map(Order::body).collect();
        PageBody { items, next_cursor: self.next_cursor.clone() }.serialize(serializer)
    }
}

/// The body `POST /api/v1/orders` takes here (the bench's: no currency, time or `notify`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    customer_id: Uuid,
    item: String,
    amount: String,
}

/// A new order that passed orderdesk's checks.
#[derive(Debug)]
pub struct Draft {
    customer_id: Uuid,
    item: String,
    amount_minor: i64,
}

impl NewOrder {
    /// The draft, if the item (trimmed: 1-200 characters, no control characters) and the
    /// amount are valid.
    pub fn validate(self) -> Option<Draft> {
        let item = self.item.trim();
        let chars = item.chars().count();
        if chars == 0 || chars > 200 || item.chars().any(char::is_control) {
            return None;
        }
        Some(Draft { customer_id: self.customer_id, item: item.to_owned(), amount_minor: parse_amount(&self.amount)? })
    }
}

/// The customer's columns the text needs.
struct Customer {
    phone: String,
    language: String,
}

/// The `order.created` text: the dev profile's English template with `{shop}` filled in.
fn created_text(order: &Order) -> String {
    let zone = FixedOffset::east_opt(NAIROBI_SECONDS_EAST).unwrap_or_else(|| unreachable!("3 h is a valid offset"));
    let local = order.ordered_at.with_timezone(&zone);
    format!(
        "{SHOP}: order {} received: {}, {} {}, {} {}. Thank you!",
        order.reference,
        order.item,
        order.currency,
        amount_string(order.amount_minor, &order.currency),
        local.format("%d %b %Y"),
        local.format("%H:%M"),
    )
}

/// Creates the order as orderdesk does: its number, its customer (`None` when unknown), then
/// in one transaction the order, outbox and history rows, the `NOTIFY` and the event.
pub async fn create(pool: &PgPool, draft: Draft, actor: &str) -> Result<Option<Order>, sqlx::Error> {
    let number: i64 = sqlx::query(NEXT_NUMBER).fetch_one(pool).await?.try_get("number")?;
    // orderdesk's clock: microseconds, what PostgreSQL keeps.
    let now = Utc::now().trunc_subsecs(6);
    let order = Order {
        id: Uuid::now_v7(),
        customer_id: draft.customer_id,
        item: draft.item,
        amount_minor: draft.amount_minor,
        currency: CURRENCY.to_owned(),
        ordered_at: now,
        created_at: now,
        updated_at: now,
        created_by: Some(actor.to_owned()),
        updated_by: Some(actor.to_owned()),
        version: 0,
        number,
        reference: format!("{NUMBER_PREFIX}{number}"),
        status: "received".to_owned(),
        status_changed_at: Some(now),
        cancel_reason: None,
        cancel_note: None,
    };
    let row = sqlx::query(CUSTOMER).bind(order.customer_id).bind(1_i64).fetch_optional(pool).await?;
    let Some(row) = row else { return Ok(None) };
    let customer = Customer { phone: row.try_get("phone")?, language: row.try_get("language")? };
    let text = created_text(&order);

    let mut tx = pool.begin().await?;
    insert(&order, &customer, &text, now).execute(&mut *tx).await?;
    sqlx::raw_sql(NOTIFY).execute(&mut *tx).await?;
    let object = serde_json::to_string(&order).map_err(|e| sqlx::Error::Encode(e.into()))?;
    sqlx::query(EVENT)
        .bind(Uuid::now_v7())
        .bind("order.created")
        .bind(order.id)
        .bind(object)
        .bind(now)
        .bind(false)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(order))
}

/// [`INSERT`] with its 47 values, typed as sea-orm binds them (NULLs as typed NULLs).
fn insert<'q>(
    order: &'q Order,
    customer: &'q Customer,
    text: &'q str,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let no_text: Option<&str> = None;
    let no_time: Option<DateTime<Utc>> = None;
    sqlx::query(INSERT)
        // The order.
        .bind(order.id)
        .bind(order.customer_id)
        .bind(&order.item)
        .bind(order.amount_minor)
        .bind(&order.currency)
        .bind(order.ordered_at)
        .bind(order.created_at)
        .bind(order.updated_at)
        .bind(&order.created_by)
        .bind(&order.updated_by)
        .bind(order.version)
        .bind(order.number)
        .bind(&order.reference)
        .bind(&order.status)
        .bind(order.status_changed_at)
        .bind(&order.cancel_reason)
        .bind(&order.cancel_note)
        // Its SMS, pending.
        .bind(Uuid::now_v7())
        .bind(order.id)
        .bind("order.created")
        .bind(&customer.language)
        .bind(no_text)
        .bind(&customer.phone)
        .bind(text)
        .bind("pending")
        .bind(0_i32)
        .bind(false)
        .bind(now)
        .bind(Some(now))
        .bind(no_text)
        .bind(no_time)
        .bind(no_text)
        .bind(no_text)
        .bind(no_text)
        .bind(no_text)
        .bind(no_text)
        .bind(now)
        .bind(now)
        .bind(no_time)
        .bind(0_i32)
        // Its first history row.
        .bind(order.id)
        .bind(0_i32)
        .bind(&order.status)
        .bind(now)
        .bind(&order.created_by)
        .bind(no_text)
        .bind(no_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_decimal_strings_of_minor_units() {
        assert_eq!(amount_string(25050, "KES"), "250.50");
        assert_eq!(amount_string(5, "KES"), "0.05");
        assert_eq!(amount_string(500, "JPY"), "500");
        assert_eq!(amount_string(1500, "KWD"), "1.500");
        assert_eq!(parse_amount("250.50"), Some(25050));
        assert_eq!(parse_amount("250.5"), Some(25050));
        assert_eq!(parse_amount("250"), Some(25000));
        for bad in ["", "0", "0.00", "1.", ".5", "1.234", "-1", "1e3", "1234567890123456"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_cursor_is_the_id_and_a_16_byte_tag() {
        let key = cursor_key(b"secret");
        let cursor = encode_cursor(&key, Uuid::nil());
        assert_eq!(cursor.len(), 43);
        assert!(cursor.starts_with("AAAAAAAAAAAAAAAAAAAAA"));
        assert_ne!(cursor, encode_cursor(&cursor_key(b"other"), Uuid::nil()));
    }

    #[test]
    fn the_text_is_in_nairobi_time() {
        let time = DateTime::parse_from_rfc3339("2026-11-30T15:20:54.578658Z").map(|t| t.to_utc()).expect("valid");
        let order = Order {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            item: "Bench item 1-0-1".into(),
            amount_minor: 25050,
            currency: "KES".into(),
            ordered_at: time,
            created_at: time,
            updated_at: time,
            created_by: None,
            updated_by: None,
            version: 0,
            number: 1056,
            reference: "ORD-1056".into(),
            status: "received".into(),
            status_changed_at: None,
            cancel_reason: None,
            cancel_note: None,
        };
        // As orderdesk wrote it for this order (captured).
        assert_eq!(
            created_text(&order),
            "orderdesk: order ORD-1056 received: Bench item 1-0-1, KES 250.50, 30 Nov 2026 18:20. Thank you!"
        );
    }
}
