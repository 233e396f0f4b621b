//! The `Idempotency-Key` header on writing operations: the request's identity (caller, key,
//! operation, body fingerprint), the answer a retry replays (encoded here, opaque to the
//! domain and the stores), and [`write_once`], which runs a keyed write.

use std::future::Future;
use std::sync::Arc;

use orderdesk_domain::idempotency::{IdempotencyKey, IdempotentRequest, Recorder, StoredResponse};
use orderdesk_domain::service::IdempotencyService;
use orderdesk_domain::{CustomerError, OrderError, Principal};
use poem_openapi::payload::Json;
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

/// The answer to a write that a retry with its key gets again: the written resource's body,
/// its `ETag`, and (for a create) its `Location`. Encoded as one JSON document for the store
/// (`{"location", "etag", "body"}`), which keeps it opaque.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<B> {
    /// The resource as written.
    pub body: B,
    /// Its entity tag (the version it was written at).
    pub etag: String,
    /// Where a created resource is; `None` for a change.
    pub location: Option<String>,
    /// Whether this is the answer of an earlier request with the key (`Idempotent-Replayed`).
    pub replayed: bool,
}

impl<B> Answer<B> {
    /// The answer to a write made now.
    pub fn new(body: B, etag: String, location: Option<String>) -> Self {
        Self { body, etag, location, replayed: false }
    }

    /// `Idempotent-Replayed: true` for a replay, else no header.
    pub fn replayed_header(&self) -> Option<String> {
        self.replayed.then(|| "true".to_owned())
    }

    /// The parts of a 201 Created: body, `Location`, `ETag`, `Idempotent-Replayed`.
    pub fn into_created(self) -> (Json<B>, String, String, Option<String>) {
        let replayed = self.replayed_header();
        (Json(self.body), self.location.unwrap_or_default(), self.etag, replayed)
    }
}

impl<B: ToJSON> Answer<B> {
    fn encode(&self) -> StoredResponse {
        let document = serde_json::json!({
            "location": self.location,
            "etag": self.etag,
            "body": self.body.to_json(),
        });
        StoredResponse::new(document.to_string())
    }
}

impl<B: ParseFromJSON> Answer<B> {
    /// A stored answer read back, as a replay.
    ///
    /// # Errors
    /// 500 if it does not parse (it was written by [`Answer::encode`], or by the store in the
    /// same envelope for a row kept before responses were opaque).
    fn decode(stored: &StoredResponse) -> Result<Self, ApiError> {
        let corrupt = || ApiError::internal("a stored idempotent response does not parse");
        let mut document: serde_json::Value = serde_json::from_str(stored.as_str()).map_err(|_| corrupt())?;
        let etag = document.get("etag").and_then(|e| e.as_str()).ok_or_else(corrupt)?.to_owned();
        let location = document.get("location").and_then(|l| l.as_str()).map(str::to_owned);
        let body = B::parse_from_json(document.get_mut("body").map(serde_json::Value::take)).map_err(|_| corrupt())?;
        Ok(Self { body, etag, location, replayed: true })
    }
}

/// An error of a keyed use case that can say the key was taken by a concurrent request.
pub trait KeyedError {
    /// Whether a request with the same key was stored first.
    fn key_taken(&self) -> bool;
}

impl KeyedError for CustomerError {
    fn key_taken(&self) -> bool {
        matches!(self, Self::KeyTaken)
    }
}

impl KeyedError for OrderError {
    fn key_taken(&self) -> bool {
        matches!(self, Self::KeyTaken)
    }
}

/// Runs a keyed write once per key: the one helper behind every operation that takes an
/// `Idempotency-Key`. `write` gets the recorder (for a keyed request) that stores `answer`'s
/// rendering of what it wrote in the same transaction. A stored answer for the same request
/// is replayed instead; another request with the key is 422; when a concurrent request
/// stored the key first, its answer is replayed, or 409 if it left none.
///
/// # Errors
/// Whatever `write` fails with, 422 `idempotency-key-reused`, 409 `idempotency-key-in-use`,
/// 500 when a stored answer does not parse.
pub async fn write_once<T, B, E, Fut>(
    keys: &IdempotencyService,
    keyed: Option<IdempotentRequest>,
    answer: impl Fn(&T) -> Answer<B> + Send + Sync + 'static,
    write: impl FnOnce(Option<Recorder<T>>) -> Fut,
) -> Result<Answer<B>, ApiError>
where
    T: 'static,
    B: ToJSON + ParseFromJSON,
    E: KeyedError,
    Fut: Future<Output = Result<T, E>>,
    ApiError: From<E>,
{
    if let Some(request) = &keyed
        && let Some(stored) = keys.prior(request).await?
    {
        return Answer::decode(&stored);
    }
    let answer = Arc::new(answer);
    let recorder = keyed.clone().map(|request| {
        let render = answer.clone();
        keys.recorder(request, Box::new(move |written: &T| render(written).encode()))
    });
    match write(recorder).await {
        Ok(written) => Ok(answer(&written)),
        Err(error) if error.key_taken() => match &keyed {
            Some(request) => match keys.prior(request).await? {
                Some(stored) => Answer::decode(&stored),
                None => Err(ApiError::from(error)),
            },
            None => Err(ApiError::from(error)),
        },
        Err(error) => Err(ApiError::from(error)),
    }
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

    #[test]
    fn an_answer_reads_back_as_a_replay_with_its_location_and_entity_tag() {
        let answer = Answer::new("x".to_owned(), "\"3\"".into(), Some("/api/v1/orders/1".into()));
        let replay = Answer::<String>::decode(&answer.encode()).unwrap();
        assert_eq!(replay, Answer { replayed: true, ..answer });
        assert_eq!(replay.replayed_header().as_deref(), Some("true"));
        assert!(Answer::<String>::decode(&StoredResponse::new("{}")).is_err());
    }
}
