//! One request-body extractor for every format: the bytes are read (within the body limit)
//! when the request arrives, and parsed only when the operation asks, after its permission or
//! secret check, so a caller without the right learns nothing from parse errors.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, ProblemType};

/// A media type a [`RawBody`] accepts.
pub trait BodyFormat: Send + Sync + 'static {
    /// The media type the document names.
    const CONTENT_TYPE: &'static str;
    /// Whether a request's `Content-Type` is this format.
    fn accepts(essence: &str) -> bool;
}

/// `application/json`, or any `application/*+json` type (such as merge-patch).
pub struct JsonFormat;

impl BodyFormat for JsonFormat {
    const CONTENT_TYPE: &'static str = "application/json";
    fn accepts(essence: &str) -> bool {
        essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
    }
}

/// `application/x-www-form-urlencoded`.
pub struct FormFormat;

impl BodyFormat for FormFormat {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";
    fn accepts(essence: &str) -> bool {
        essence == Self::CONTENT_TYPE
    }
}

/// A request body documented as `T` in format `F`, held as bytes until parsed.
pub struct RawBody<T, F> {
    bytes: Vec<u8>,
    shape: PhantomData<fn() -> (T, F)>,
}

/// A JSON body; see [`crate::json::parse`].
pub type JsonBody<T> = RawBody<T, JsonFormat>;
/// A form body.
pub type FormBody<T> = RawBody<T, FormFormat>;

impl<T, F> RawBody<T, F> {
    /// The body as received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<T: DeserializeOwned> RawBody<T, JsonFormat> {
    /// Parses the body.
    ///
    /// # Errors
    /// 400 for malformed JSON, 422 naming the field for the wrong shape.
    pub fn parse(self) -> Result<T, ApiError> {
        crate::json::parse(&self.bytes)
    }
}

impl<T: DeserializeOwned> RawBody<T, FormFormat> {
    /// Parses the body.
    ///
    /// # Errors
    /// 400 for a malformed form.
    pub fn parse(&self) -> Result<T, ApiError> {
        serde_urlencoded::from_bytes(&self.bytes)
            .map_err(|e| ApiError::new(ProblemType::MalformedRequest, format!("malformed form: {e}")))
    }
}

impl<T: Type, F: BodyFormat> Payload for RawBody<T, F> {
    const CONTENT_TYPE: &'static str = F::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        F::accepts(&content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Send, F: BodyFormat> ParsePayload for RawBody<T, F> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes =
            body.take()?.into_vec().await.map_err(|e| {
                ApiError::new(ProblemType::MalformedRequest, format!("cannot read the request body: {e}"))
            })?;
        Ok(Self { bytes, shape: PhantomData })
    }
}

poem_openapi::impl_apirequest_for_payload!(RawBody<T, F>, T: Type + Send, F: BodyFormat);
