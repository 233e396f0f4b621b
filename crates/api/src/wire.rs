//! JSON responses written by serde straight into the body. poem-openapi's `Json` payload first
//! builds a `serde_json::Value` tree (a map and a string per field, for a list of 50 orders
//! some 2,500 allocations) and then writes that; [`SerdeJson`] writes the same document from
//! the DTO. The bytes are the same: fields in `Value`'s (sorted) key order, absent where
//! poem-openapi skips `None`, times as `to_rfc3339`, ids hyphenated; the tests compare each
//! DTO's output with its `ToJSON` document.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use crate::dto::{CustomerBody, LanguageCode, OrderBody, OrderListBody};

/// The media type poem-openapi's `Json` payload answers with.
const JSON: &str = "application/json; charset=utf-8";

/// A JSON response body (`application/json; charset=utf-8`) with `T`'s schema, written by serde.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerdeJson<T>(pub T);

impl<T: Type> Payload for SerdeJson<T> {
    const CONTENT_TYPE: &'static str = JSON;

    fn check_content_type(content_type: &str) -> bool {
        content_type.starts_with("application/json")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// About how many bytes a value's JSON takes, so the body is allocated once or twice rather
/// than grown from serde_json's 128 bytes by doubling (a list of 50 orders is some 27 KB).
pub trait JsonSizeHint {
    /// An estimate in bytes; too small only costs a reallocation.
    fn json_size_hint(&self) -> usize;
}

/// An order's JSON with its customer is under 1 KiB.
const ORDER_JSON_BYTES: usize = 1024;

impl JsonSizeHint for OrderBody {
    fn json_size_hint(&self) -> usize {
        ORDER_JSON_BYTES
    }
}

impl<T: JsonSizeHint> JsonSizeHint for Box<T> {
    fn json_size_hint(&self) -> usize {
        (**self).json_size_hint()
    }
}

impl JsonSizeHint for OrderListBody {
    fn json_size_hint(&self) -> usize {
        // Without its customer an order takes about half as much.
        64 + self.items.len() * ORDER_JSON_BYTES / 2
    }
}

impl<T: Serialize + JsonSizeHint + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(self.0.json_size_hint());
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => Response::builder().content_type(JSON).body(body),
            // Only a failing `Serialize` impl could get here; ours write strings and numbers.
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

impl<T: Type + Serialize + JsonSizeHint + Send> ApiResponse for SerdeJson<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType { content_type: Self::CONTENT_TYPE, schema: Self::schema_ref() }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// An RFC 3339 time as poem-openapi writes it (`to_rfc3339`: `+00:00`, not `Z`).
struct Rfc3339<'a>(&'a chrono::DateTime<chrono::Utc>);

impl Serialize for Rfc3339<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0; RFC3339_MAX];
        match rfc3339_utc(self.0, &mut text) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.serialize_str(&self.0.to_rfc3339()),
        }
    }
}

/// `2026-11-30T18:34:04.123456789+00:00`: the longest text [`rfc3339_utc`] writes.
const RFC3339_MAX: usize = 35;

/// chrono's `to_rfc3339` text (RFC 3339 section 5.6, chrono's `SecondsFormat::AutoSi`: no
/// fraction, or 3, 6 or 9 digits, the fewest that are exact) written into `out` without
/// allocating: `to_rfc3339` builds a `String` through the formatting machinery, some 2,000
/// instructions a time and 150 times in a list of 50 orders. `None` (the caller falls back to
/// chrono) for a year outside 0000–9999 or a leap second, which chrono writes its own way. A
/// test compares the two on generated times.
fn rfc3339_utc<'a>(time: &chrono::DateTime<chrono::Utc>, out: &'a mut [u8; RFC3339_MAX]) -> Option<&'a str> {
    use chrono::{Datelike, Timelike};
    // Read once from the naive UTC value: each of `DateTime`'s own accessors adds the offset anew.
    let naive = time.naive_utc();
    let (date, clock) = (naive.date(), naive.time());
    let year = u32::try_from(date.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = clock.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let seconds = clock.num_seconds_from_midnight();
    out[..20].copy_from_slice(b"0000-00-00T00:00:00.");
    write_digits(&mut out[0..4], year);
    write_digits(&mut out[5..7], date.month());
    write_digits(&mut out[8..10], date.day());
    write_digits(&mut out[11..13], seconds / 3600);
    write_digits(&mut out[14..16], seconds / 60 % 60);
    write_digits(&mut out[17..19], seconds % 60);
    let end = match nanos {
        0 => 19,
        n if n % 1_000_000 == 0 => write_fraction(out, n / 1_000_000, 3),
        n if n % 1_000 == 0 => write_fraction(out, n / 1_000, 6),
        n => write_fraction(out, n, 9),
    };
    out[end..end + 6].copy_from_slice(b"+00:00");
    std::str::from_utf8(&out[..end + 6]).ok()
}

/// The fraction's `digits` after the `.` at 19; returns where the text goes on.
fn write_fraction(out: &mut [u8; RFC3339_MAX], value: u32, digits: usize) -> usize {
    write_digits(&mut out[20..20 + digits], value);
    20 + digits
}

/// `value`'s last `out.len()` decimal digits, zero-padded.
fn write_digits(out: &mut [u8], mut value: u32) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

impl Serialize for LanguageCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Writes the field when it is `Some`, as poem-openapi's `skip_serializing_if_is_none`.
fn optional<S: SerializeStruct, T: Serialize>(
    out: &mut S,
    key: &'static str,
    value: Option<&T>,
) -> Result<(), S::Error> {
    match value {
        Some(value) => out.serialize_field(key, value),
        None => out.skip_field(key),
    }
}

// Fields in sorted key order, as the `Value` map poem-openapi builds writes them.
impl Serialize for CustomerBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Customer", 10)?;
        out.serialize_field("code", &self.code)?;
        out.serialize_field("created_at", &Rfc3339(&self.created_at))?;
        optional(&mut out, "created_by", self.created_by.as_ref())?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("language", &self.language)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("phone", &self.phone)?;
        out.serialize_field("sms_opt_out", &self.sms_opt_out)?;
        out.serialize_field("updated_at", &Rfc3339(&self.updated_at))?;
        optional(&mut out, "updated_by", self.updated_by.as_ref())?;
        out.end()
    }
}

impl Serialize for OrderBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Order", 19)?;
        out.serialize_field("amount", &self.amount)?;
        optional(&mut out, "cancel_note", self.cancel_note.as_ref())?;
        optional(&mut out, "cancel_reason", self.cancel_reason.as_ref())?;
        out.serialize_field("created_at", &Rfc3339(&self.created_at))?;
        optional(&mut out, "created_by", self.created_by.as_ref())?;
        out.serialize_field("currency", &self.currency)?;
        optional(&mut out, "customer", self.customer.as_ref())?;
        out.serialize_field("customer_id", &self.customer_id)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("item", &self.item)?;
        out.serialize_field("number", &self.number)?;
        out.serialize_field("ordered_at", &Rfc3339(&self.ordered_at))?;
        out.serialize_field("reference", &self.reference)?;
        out.serialize_field("status", &self.status)?;
        out.serialize_field("status_changed_at", &Rfc3339(&self.status_changed_at))?;
        out.serialize_field("updated_at", &Rfc3339(&self.updated_at))?;
        optional(&mut out, "updated_by", self.updated_by.as_ref())?;
        out.end()
    }
}

impl Serialize for OrderListBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("OrderList", 2)?;
        out.serialize_field("items", &self.items)?;
        optional(&mut out, "next_cursor", self.next_cursor.as_ref())?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use poem_openapi::types::ToJSON;
    use uuid::Uuid;

    use super::*;

    fn customer(full: bool) -> CustomerBody {
        CustomerBody {
            id: Uuid::now_v7(),
            name: "Wanjiru \"W\" Kamau\n".into(),
            code: "C-1".into(),
            phone: "+254712345678".into(),
            language: LanguageCode::Sw,
            sms_opt_out: full,
            created_at: Utc.with_ymd_and_hms(2026, 11, 30, 9, 30, 0).unwrap(),
            updated_at: Utc::now(),
            created_by: full.then(|| "auth0|abc".into()),
            updated_by: full.then(|| "auth0|déf".into()),
        }
    }

    fn order(full: bool) -> OrderBody {
        OrderBody {
            id: Uuid::now_v7(),
            number: 1042,
            reference: "ORD-1042".into(),
            status: "cancelled".into(),
            status_changed_at: Utc::now(),
            cancel_reason: full.then(|| "other".into()),
            cancel_note: full.then(|| "note ✓ \u{1}".into()),
            customer_id: Uuid::now_v7(),
            item: "Chai".into(),
            amount: "250.50".into(),
            currency: "KES".into(),
            ordered_at: Utc.timestamp_opt(1_764_495_000, 123_456_789).unwrap(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
            created_by: full.then(|| "a".into()),
            updated_by: None,
            customer: full.then(|| customer(true)),
        }
    }

    /// The bytes poem-openapi's `Json` payload writes.
    fn openapi_bytes(value: &impl ToJSON) -> Vec<u8> {
        serde_json::to_vec(&value.to_json()).unwrap()
    }

    #[test]
    fn every_dto_writes_the_bytes_poem_openapi_writes() {
        for full in [false, true] {
            let c = customer(full);
            assert_eq!(serde_json::to_vec(&c).unwrap(), openapi_bytes(&c), "customer, full: {full}");
            let o = order(full);
            assert_eq!(serde_json::to_vec(&o).unwrap(), openapi_bytes(&o), "order, full: {full}");
            let list =
                OrderListBody { items: vec![order(full), order(!full)], next_cursor: full.then(|| "abc".into()) };
            assert_eq!(serde_json::to_vec(&list).unwrap(), openapi_bytes(&list), "list, full: {full}");
        }
        let empty = OrderListBody { items: Vec::new(), next_cursor: None };
        assert_eq!(serde_json::to_vec(&empty).unwrap(), openapi_bytes(&empty));
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Every time from year 0 to 9999 (and beyond, and leap seconds, which fall back to
        /// chrono) is written as chrono's `to_rfc3339` writes it, with each fraction length.
        #[test]
        fn times_are_written_as_chrono_writes_them(
            seconds in -62_200_000_000i64..253_500_000_000,
            nanos in proptest::prop_oneof![
                proptest::strategy::Just(0u32),
                (0u32..1000).prop_map(|n| n * 1_000_000),
                (0u32..1_000_000).prop_map(|n| n * 1000),
                0u32..1_000_000_000,
                1_000_000_000u32..2_000_000_000,
            ],
        ) {
            let leap_second_at = seconds - seconds.rem_euclid(60) + 59;
            let (seconds, nanos) = if nanos >= 1_000_000_000 { (leap_second_at, nanos) } else { (seconds, nanos) };
            let Some(time) = chrono::DateTime::from_timestamp(seconds, nanos) else { return Ok(()) };
            let ours = serde_json::to_string(&Rfc3339(&time)).unwrap();
            proptest::prop_assert_eq!(ours, serde_json::to_string(&time.to_rfc3339()).unwrap());
        }
    }

    #[test]
    fn the_response_is_json_with_its_content_type() {
        let response = SerdeJson(order(true)).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.content_type(), Some("application/json; charset=utf-8"));
    }
}
