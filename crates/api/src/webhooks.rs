//! `POST /webhooks/africastalking/delivery-reports/{secret}`: Africa's Talking's delivery
//! reports. AT signs nothing, so the secret in the path is the credential.

use std::marker::PhantomData;

use orderdesk_domain::notification::{DeliveryReport, ReportEffect};
use orderdesk_domain::service::NotificationService;
use poem::{Request, RequestBody};
use poem_openapi::param::Path;
use poem_openapi::payload::{ParsePayload, Payload, PlainText};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::problem::{ApiError, ProblemType};
use crate::tags::ApiTags;

/// The form fields Africa's Talking posts. Unknown fields are ignored.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "DeliveryReport")]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReportForm {
    /// The provider's message id (`messageId` from the send response).
    pub id: String,
    /// `Sent`, `Submitted`, `Buffered`, `Rejected`, `Success`, `Failed`, `AbsentSubscriber`, `Expired`.
    pub status: String,
    #[oai(rename = "phoneNumber")]
    pub phone_number: Option<String>,
    #[oai(rename = "networkCode")]
    pub network_code: Option<String>,
    #[oai(rename = "failureReason")]
    pub failure_reason: Option<String>,
}

/// A form body parsed only after the secret is checked, so a stranger learns nothing.
pub struct FormBody<T> {
    bytes: Vec<u8>,
    shape: PhantomData<fn() -> T>,
}

impl<T: Type> Payload for FormBody<T> {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn check_content_type(content_type: &str) -> bool {
        content_type.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case(Self::CONTENT_TYPE)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + Send> ParsePayload for FormBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(_request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes =
            body.take()?.into_vec().await.map_err(|e| {
                ApiError::new(ProblemType::MalformedRequest, format!("cannot read the request body: {e}"))
            })?;
        Ok(Self { bytes, shape: PhantomData })
    }
}

poem_openapi::impl_apirequest_for_payload!(FormBody<T>, T: Type + Send);

/// Webhook endpoints.
pub struct WebhooksApi {
    notifications: NotificationService,
    secret: Option<String>,
}

impl WebhooksApi {
    /// `secret` is `sms.webhook_secret`; without it every call is refused.
    pub fn new(notifications: NotificationService, secret: Option<String>) -> Self {
        Self { notifications, secret }
    }

    fn secret_matches(&self, given: &str) -> bool {
        self.secret.as_deref().is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(given.as_bytes())))
    }
}

#[OpenApi(tag = "ApiTags::Webhooks")]
impl WebhooksApi {
    /// Receive an Africa's Talking delivery report
    ///
    /// Set `{public_url}/webhooks/africastalking/delivery-reports/{sms.webhook_secret}` as the
    /// app's Delivery Reports callback URL. Idempotent; a final status is never replaced by an
    /// earlier one; reports for unknown messages are acknowledged and logged.
    #[oai(
        path = "/webhooks/africastalking/delivery-reports/:secret",
        method = "post",
        operation_id = "receiveDeliveryReport"
    )]
    async fn delivery_report(
        &self,
        secret: Path<String>,
        body: FormBody<DeliveryReportForm>,
    ) -> Result<PlainText<&'static str>, ApiError> {
        if !self.secret_matches(&secret.0) {
            tracing::warn!("delivery report with a wrong secret refused");
            return Err(ApiError::new(ProblemType::Unauthenticated, "unknown webhook secret"));
        }
        let raw = String::from_utf8_lossy(&body.bytes).into_owned();
        let form: DeliveryReportForm = serde_urlencoded::from_bytes(&body.bytes)
            .map_err(|e| ApiError::new(ProblemType::MalformedRequest, format!("malformed delivery report: {e}")))?;
        let report = DeliveryReport {
            provider_message_id: form.id,
            status: form.status,
            phone_number: form.phone_number,
            network_code: form.network_code,
            failure_reason: form.failure_reason,
            raw,
        };
        let effect = self.notifications.record_delivery_report(&report).await.map_err(ApiError::from)?;
        match effect {
            ReportEffect::Applied => {
                tracing::info!(provider_message_id = %report.provider_message_id, status = %report.status, "delivery report applied")
            }
            ReportEffect::Ignored => {
                tracing::info!(provider_message_id = %report.provider_message_id, status = %report.status, "delivery report ignored (duplicate or stale)")
            }
            ReportEffect::UnknownMessage => {
                tracing::warn!(provider_message_id = %report.provider_message_id, "delivery report for an unknown message")
            }
        }
        Ok(PlainText("OK"))
    }
}
