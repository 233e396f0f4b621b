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

impl<T: Serialize + Send> IntoResponse for SerdeJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder().content_type(JSON).body(body),
            // Only a failing `Serialize` impl could get here; ours write strings and numbers.
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
}

impl<T: Type + Serialize + Send> ApiResponse for SerdeJson<T> {
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
        serializer.serialize_str(&self.0.to_rfc3339())
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

    #[test]
    fn the_response_is_json_with_its_content_type() {
        let response = SerdeJson(order(true)).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.content_type(), Some("application/json; charset=utf-8"));
    }
}
