//! The `Idempotency-Key` header on creating operations: the request's identity (caller, key,
//! operation, body fingerprint) and the replay of a stored response.

use std::future::Future;

use orderdesk_domain::Principal;
use orderdesk_domain::idempotency::{IdempotencyKey, IdempotentRequest, StoredResponse};
use orderdesk_domain::service::IdempotencyService;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use sha2::{Digest, Sha256};

use crate::problem::{ApiError, FieldProblem};

/// The header's name.
pub const HEADER: &str = "Idempotency-Key";

/// The keyed request, or `None` without the header.
///
/// # Errors
/// 422 on the header when the key is empty, over 255 characters or not printable ASCII.
pub fn request(
    caller: &Principal,
    key: Option<&str>,
    operation: &str,
    body: &[u8],
) -> Result<Option<IdempotentRequest>, ApiError> {
    let Some(key) = key else { return Ok(None) };
    let key = IdempotencyKey::parse(key).map_err(|reason| {
        ApiError::validation(vec![FieldProblem { row: None, field: HEADER.into(), message: reason.to_string() }])
    })?;
    Ok(Some(IdempotentRequest {
        subject: caller.subject().to_owned(),
        key,
        operation: operation.to_owned(),
        fingerprint: fingerprint(body),
    }))
}

/// SHA-256 of the body's JSON with object keys sorted, so the same request written with its
/// keys in another order or other white space is the same request; bytes that are not JSON
/// are hashed as they are (the request fails on them anyway).
fn fingerprint(body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .map(|value| canonical(&value).into_bytes())
        .unwrap_or_else(|_| body.to_vec());
    Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// What a keyed create found or did.
pub enum Outcome<T> {
    /// Created now.
    Created(T),
    /// An earlier request with this key created it: its response, to send again.
    Replayed(StoredResponse),
}

/// Runs `create` once per key: a stored response for the same request is replayed, another
/// request with the key is 422, and when a concurrent request stored the key first (`create`
/// then fails with its "key taken" error) its response is replayed, or 409 if it left none.
///
/// # Errors
/// Whatever `create` fails with, 422 `idempotency-key-reused`, 409 `idempotency-key-in-use`.
pub async fn create_once<T, E, Fut>(
    keys: &IdempotencyService,
    keyed: Option<&IdempotentRequest>,
    key_taken: impl Fn(&E) -> bool,
    create: Fut,
) -> Result<Outcome<T>, ApiError>
where
    Fut: Future<Output = Result<T, E>>,
    ApiError: From<E>,
{
    if let Some(request) = keyed
        && let Some(stored) = keys.prior(request).await?
    {
        return Ok(Outcome::Replayed(stored));
    }
    match create.await {
        Ok(created) => Ok(Outcome::Created(created)),
        Err(error) if key_taken(&error) => match keyed {
            Some(request) => match keys.prior(request).await? {
                Some(stored) => Ok(Outcome::Replayed(stored)),
                None => Err(ApiError::from(error)),
            },
            None => Err(ApiError::from(error)),
        },
        Err(error) => Err(ApiError::from(error)),
    }
}

/// The stored response for a created resource rendered as `body`.
pub fn stored_created(location: String, body: &impl ToJSON) -> StoredResponse {
    let body = body.to_json().map(|json| json.to_string()).unwrap_or_default();
    StoredResponse { status: 201, location: Some(location), etag: None, body }
}

/// The stored 200 response of a change, with the changed resource's `ETag`.
pub fn stored_changed(etag: String, body: &impl ToJSON) -> StoredResponse {
    let body = body.to_json().map(|json| json.to_string()).unwrap_or_default();
    StoredResponse { status: 200, location: None, etag: Some(etag), body }
}

/// A stored response's body and `Location`, read back into the operation's types.
///
/// # Errors
/// 500 if the stored body no longer parses (it was written by this code).
pub fn replayed<B: ParseFromJSON>(stored: StoredResponse) -> Result<(B, String), ApiError> {
    let json = serde_json::from_str(&stored.body).ok();
    let body =
        B::parse_from_json(json).map_err(|_| ApiError::internal("a stored idempotent response does not parse"))?;
    Ok((body, stored.location.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_json_has_the_same_fingerprint_whatever_its_layout() {
        let a = fingerprint(br#"{"item": "Tea", "amount": "5", "x": {"b": 1, "a": [2, 3]}}"#);
        let b = fingerprint(br#"{"x":{"a":[2,3],"b":1},"amount":"5","item":"Tea"}"#);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(br#"{"item": "Tea", "amount": "6", "x": {"b": 1, "a": [2, 3]}}"#));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn keys_are_checked() {
        let caller = Principal::new("auth0|a", []);
        assert!(request(&caller, None, "createOrder", b"{}").unwrap().is_none());
        let keyed = request(&caller, Some("k-1"), "createOrder", b"{}").unwrap().unwrap();
        assert_eq!((keyed.subject.as_str(), keyed.key.as_str()), ("auth0|a", "k-1"));
        let long = "k".repeat(256);
        assert_eq!(request(&caller, Some(&long), "createOrder", b"{}").unwrap_err().problem().status, 422);
    }
}
