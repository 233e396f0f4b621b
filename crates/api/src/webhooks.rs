//! `POST /webhooks/africastalking/delivery-reports/{secret}`: Africa's Talking's delivery
//! reports. AT signs nothing, so the secret in the path is the credential.

use orderdesk_domain::notification::DeliveryReport;
use orderdesk_domain::service::ReportEffect;
use orderdesk_signin::token::constant_time_eq;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::PlainText;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use crate::Services;
use crate::body::FormBody;
use crate::problem::{ApiError, Errors, FieldProblem, ProblemType, WebhookErrors};
use crate::tags::ApiTags;

/// Africa's Talking's dashboard takes callback URLs as typed: one ending in `/` reaches the
/// same handler as one without.
pub(crate) fn trim_trailing_slash(req: &mut poem::Request) {
    let path = req.uri().path();
    if !(path.starts_with("/webhooks/") && path.len() > "/webhooks/".len() && path.ends_with('/')) {
        return;
    }
    let trimmed = match req.uri().query() {
        Some(query) => format!("{}?{query}", path.trim_end_matches('/')),
        None => path.trim_end_matches('/').to_owned(),
    };
    if let Ok(uri) = trimmed.parse() {
        *req.uri_mut() = uri;
    }
}

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

impl DeliveryReportForm {
    /// Every field is text a database stores as it is on SQLite and PostgreSQL alike: no
    /// control characters (PostgreSQL refuses NUL), 1 to 256 characters.
    ///
    /// # Errors
    /// 422 naming each field that is not.
    fn check_text(&self) -> Result<(), ApiError> {
        let fields = [
            ("id", Some(&self.id)),
            ("status", Some(&self.status)),
            ("phoneNumber", self.phone_number.as_ref()),
            ("networkCode", self.network_code.as_ref()),
            ("failureReason", self.failure_reason.as_ref()),
        ];
        let refused: Vec<FieldProblem> = fields
            .into_iter()
            .filter_map(|(field, value)| {
                let value = value?;
                let message = if value.chars().any(char::is_control) {
                    "must not contain control characters"
                } else if value.is_empty() || value.chars().count() > 256 {
                    "must be 1 to 256 characters"
                } else {
                    return None;
                };
                Some(FieldProblem { field: field.to_owned(), message: message.to_owned() })
            })
            .collect();
        if refused.is_empty() { Ok(()) } else { Err(ApiError::validation(refused)) }
    }
}

/// Webhook endpoints.
pub struct WebhooksApi {
    secret: Option<String>,
}

impl WebhooksApi {
    /// `secret` is `sms.webhook_secret`; without it every call is refused.
    pub fn new(secret: Option<String>) -> Self {
        Self { secret }
    }

    fn secret_matches(&self, given: &str) -> bool {
        self.secret.as_deref().is_some_and(|expected| constant_time_eq(given, expected))
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
        services: Data<&Services>,
        /// The setting `sms.webhook_secret`, as written in the callback URL at Africa's Talking.
        secret: Path<String>,
        body: FormBody<DeliveryReportForm>,
    ) -> Result<PlainText<&'static str>, Errors<WebhookErrors>> {
        if !self.secret_matches(&secret.0) {
            tracing::warn!("delivery report with a wrong secret refused");
            return Err(ApiError::new(ProblemType::Unauthenticated, "unknown webhook secret").into());
        }
        let raw = String::from_utf8(body.bytes().to_vec())
            .ok()
            .filter(|raw| !raw.contains('\0'))
            .ok_or_else(|| ApiError::new(ProblemType::MalformedRequest, "the form is not UTF-8 text"))?;
        let form = body.parse()?;
        form.check_text()?;
        let report = DeliveryReport {
            provider_message_id: form.id,
            status: form.status,
            phone_number: form.phone_number,
            network_code: form.network_code,
            failure_reason: form.failure_reason,
            raw,
        };
        let effect = services.notifications.record_delivery_report(&report).await.map_err(ApiError::from)?;
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
