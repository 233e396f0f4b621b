//! `POST /api/v1/sms/preview`: the exact text an order event sends, without sending it.

use orderdesk_domain::service::{PreviewRequest, SmsPreview};
use orderdesk_domain::{OrderId, Permission};
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use uuid::Uuid;

use crate::Services;
use crate::dto::not_null;
use crate::json::JsonBody;
use crate::problem::{Errors, error_sets};
use crate::security::BearerAuth;
use crate::tags::ApiTags;

error_sets! {
    /// `previewSms`: an unknown order is a 404, an event without a text a 422.
    PreviewErrors: [MalformedRequest, Unauthenticated, Forbidden, NotFound, RequestTimeout, PayloadTooLarge,
        UnsupportedMediaType, Validation, RateLimited, Internal, Unavailable];
}

/// What to preview.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "SmsPreviewRequest", example)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    /// The order the text is about.
    pub order_id: Uuid,
    /// `order.created`, `order.confirmed`, `order.ready`, `order.out_for_delivery`,
    /// `order.completed` or `order.cancelled` (enabled or not in `sms.events`).
    #[oai(validator(min_length = 1, max_length = 32))]
    pub event: String,
    /// `en` or `sw`; the order's customer's language when absent.
    #[oai(skip_serializing_if_is_none, validator(min_length = 1, max_length = 8))]
    #[serde(default, deserialize_with = "not_null")]
    pub language: Option<String>,
    /// Only with `order.cancelled`: the reason to write (`customer_request`, `out_of_stock`,
    /// `duplicate`, `payment_failed`, `other`); the order's own when it is cancelled. Required
    /// to preview the cancellation of an order that is not cancelled.
    #[oai(skip_serializing_if_is_none, validator(min_length = 1, max_length = 32))]
    #[serde(default, deserialize_with = "not_null")]
    pub cancel_reason: Option<String>,
}

impl Example for PreviewBody {
    fn example() -> Self {
        Self {
            order_id: Uuid::from_u128(0x019a_bc00_0000_7000_8000_0000_0000_0002),
            event: "order.ready".into(),
            language: Some("sw".into()),
            cancel_reason: None,
        }
    }
}

/// The text an event sends about an order, as the notification would hold it.
#[derive(Debug, Clone, Object)]
#[oai(rename = "SmsPreview")]
pub struct PreviewResponse {
    /// The event previewed.
    pub event: String,
    /// The language of `message`: the one asked for (or the customer's), or the setting
    /// `customers.default_language` when the event has no text in it.
    pub language: String,
    /// The text, cut to fit the setting `sms.max_segments`.
    pub message: String,
    /// `gsm7` or `ucs2` (3GPP TS 23.038).
    pub encoding: String,
    /// SMS segments billed (3GPP TS 23.040 concatenation: 160/153 GSM-7 septets, 70/67 UCS-2 units).
    pub segments: u32,
    /// Unicode characters in `message`.
    pub characters: u32,
}

impl From<SmsPreview> for PreviewResponse {
    fn from(preview: SmsPreview) -> Self {
        Self {
            event: preview.event.as_str().to_owned(),
            language: preview.language.as_str().to_owned(),
            characters: u32::try_from(preview.sms.text.chars().count()).unwrap_or(u32::MAX),
            message: preview.sms.text,
            encoding: preview.sms.encoding.as_str().to_owned(),
            segments: u32::from(preview.sms.segments),
        }
    }
}

/// SMS endpoints that are not about one notification.
pub struct SmsApi;

#[OpenApi(tag = "ApiTags::Orders")]
impl SmsApi {
    /// Preview an order's SMS
    ///
    /// The exact text, encoding and segments the event would write into the outbox for this
    /// order now, rendered by the same templates; nothing is sent or stored. Use it to check
    /// the texts in `sms.events` in each language.
    ///
    /// Requires the `read:orders` permission.
    #[oai(path = "/api/v1/sms/preview", method = "post", operation_id = "previewSms")]
    async fn preview(
        &self,
        services: Data<&Services>,
        auth: BearerAuth,
        body: JsonBody<PreviewBody>,
    ) -> Result<Json<PreviewResponse>, Errors<PreviewErrors>> {
        auth.require(Permission::ReadOrders)?;
        let body = body.parse()?;
        let request = PreviewRequest {
            order_id: OrderId::from_uuid(body.order_id),
            event: body.event,
            language: body.language,
            cancel_reason: body.cancel_reason,
        };
        Ok(Json(services.orders.preview_sms(request).await?.into()))
    }
}
