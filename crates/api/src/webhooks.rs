//! Africa's Talking's callbacks, each under `/webhooks/africastalking/…/{secret}`:
//! `delivery-reports`, `incoming` (messages customers send) and `opt-outs` (bulk SMS
//! opt-outs). AT signs nothing, so the secret in the path (`sms.webhook_secret`, compared in
//! constant time) is the credential. Bodies are forms (contract §2.1); unknown fields are
//! ignored, as AT adds fields.

use orderdesk_domain::inbox::IncomingSms;
use orderdesk_domain::notification::{DeliveryReport, IgnoredReport, ReportDecision};
use orderdesk_domain::service::Delivery;
use orderdesk_signin::token::constant_time_eq;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::PlainText;
use poem_openapi::{Object, OpenApi};
use serde::Deserialize;

use crate::Services;
use crate::body::FormBody;
use crate::problem::{ApiError, Errors, FieldProblem, ProblemType, error_sets};
use crate::tags::ApiTags;

error_sets! {
    /// `receiveDeliveryReport`, `receiveOptOut`, `receiveIncomingMessage`: a wrong secret is a 401.
    WebhookErrors: [MalformedRequest, Validation, Unauthenticated, RequestTimeout, PayloadTooLarge, UnsupportedMediaType,
        Internal, Unavailable];
}

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
        check_fields(&[
            ("id", Some(&self.id)),
            ("status", Some(&self.status)),
            ("phoneNumber", self.phone_number.as_ref()),
            ("networkCode", self.network_code.as_ref()),
            ("failureReason", self.failure_reason.as_ref()),
        ])
    }
}

/// Each present field holds 1 to 256 characters and no control characters (PostgreSQL refuses
/// NUL), so both databases store it alike.
///
/// # Errors
/// 422 naming each field that does not.
fn check_fields(fields: &[(&str, Option<&String>)]) -> Result<(), ApiError> {
    let refused: Vec<FieldProblem> = fields
        .iter()
        .filter_map(|(field, value)| {
            let value = (*value)?;
            let message = if value.chars().any(char::is_control) {
                "must not contain control characters"
            } else if value.is_empty() || value.chars().count() > 256 {
                "must be 1 to 256 characters"
            } else {
                return None;
            };
            Some(FieldProblem { row: None, field: (*field).to_owned(), message: message.to_owned() })
        })
        .collect();
    if refused.is_empty() { Ok(()) } else { Err(ApiError::validation(refused)) }
}

/// The body as text: UTF-8 without NUL (which PostgreSQL cannot store), kept for audit.
///
/// # Errors
/// 400 otherwise.
fn form_text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec())
        .ok()
        .filter(|raw| !raw.contains('\0'))
        .ok_or_else(|| ApiError::new(ProblemType::MalformedRequest, "the form is not UTF-8 text"))
}

/// Africa's Talking's bulk SMS opt-out callback (contract §2.1): a subscriber asked AT to
/// stop texts from a sender id. Unknown fields are ignored.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "OptOut")]
pub struct OptOutForm {
    /// The sender id (alphanumeric sender or shortcode) the subscriber opted out of.
    #[oai(rename = "senderId")]
    #[serde(rename = "senderId")]
    pub sender_id: Option<String>,
    /// The subscriber's number, E.164 (a number without `+country` is read in
    /// `customers.default_phone_region`).
    #[oai(rename = "phoneNumber")]
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
}

/// Africa's Talking's incoming-message callback (contract §2.1): a text sent to the app's
/// shortcode or number. Unknown fields (`networkCode`, `cost`, …) are ignored or kept only in
/// the stored form.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(rename = "IncomingMessageCallback")]
pub struct IncomingForm {
    /// AT's message id; a repeated callback with the same id is stored once.
    pub id: String,
    /// The sender's number (E.164).
    pub from: String,
    /// The shortcode or number the message was sent to.
    pub to: String,
    /// What the sender wrote: up to 1600 characters; line breaks and tabs are kept, other
    /// control characters refused.
    pub text: String,
    /// When the message was sent, as AT writes it (`2026-11-30 09:30:12`, read as UTC).
    pub date: Option<String>,
    /// AT's link id, for premium/on-demand shortcodes.
    #[oai(rename = "linkId")]
    #[serde(rename = "linkId")]
    pub link_id: Option<String>,
    /// The sender's mobile network (e.g. `63902` Safaricom).
    #[oai(rename = "networkCode")]
    #[serde(rename = "networkCode")]
    pub network_code: Option<String>,
}

impl IncomingForm {
    /// The longest message text accepted, in characters (AT joins the parts of a long SMS).
    pub const MAX_TEXT_CHARS: usize = 1600;

    /// The short fields as in [`check_fields`]; `text` may be empty and may hold line breaks
    /// and tabs, but no other control characters, and at most [`Self::MAX_TEXT_CHARS`].
    ///
    /// # Errors
    /// 422 naming each field that breaks them.
    fn check_text(&self) -> Result<(), ApiError> {
        let short = check_fields(&[
            ("id", Some(&self.id)),
            ("from", Some(&self.from)),
            ("to", Some(&self.to)),
            ("date", self.date.as_ref()),
            ("linkId", self.link_id.as_ref()),
            ("networkCode", self.network_code.as_ref()),
        ]);
        let text = if self.text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            Some("must not contain control characters other than line breaks and tabs")
        } else if self.text.chars().count() > Self::MAX_TEXT_CHARS {
            Some("must be at most 1600 characters")
        } else {
            None
        };
        let text = text.map(|message| FieldProblem { row: None, field: "text".into(), message: message.into() });
        match (short, text) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(text)) => Err(ApiError::validation(vec![text])),
            (Err(error), None) => Err(error),
            (Err(error), Some(text)) => {
                let mut fields = error.problem().errors.clone().unwrap_or_default();
                fields.push(text);
                Err(ApiError::validation(fields))
            }
        }
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

    /// # Errors
    /// 401 when `given` is not the secret (or none is configured).
    fn check_secret(&self, given: &str, callback: &str) -> Result<(), ApiError> {
        if self.secret_matches(given) {
            return Ok(());
        }
        tracing::warn!("{callback} with a wrong secret refused");
        Err(ApiError::new(ProblemType::Unauthenticated, "unknown webhook secret"))
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
        self.check_secret(&secret.0, "delivery report")?;
        let raw = form_text(body.bytes())?;
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
        let decision = services.notifications.record_delivery_report(&report).await.map_err(ApiError::from)?;
        match decision {
            ReportDecision::Apply(_) => {
                tracing::info!(provider_message_id = %report.provider_message_id, status = %report.status, "delivery report applied")
            }
            ReportDecision::Ignore(IgnoredReport::UnknownMessage) => {
                tracing::warn!(provider_message_id = %report.provider_message_id, "delivery report for an unknown message")
            }
            ReportDecision::Ignore(_) => {
                tracing::info!(provider_message_id = %report.provider_message_id, status = %report.status, "delivery report ignored (duplicate or stale)")
            }
        }
        Ok(PlainText("OK"))
    }

    /// Receive an Africa's Talking bulk SMS opt-out
    ///
    /// Set `{public_url}/webhooks/africastalking/opt-outs/{sms.webhook_secret}` as the app's
    /// Bulk SMS Opt Out callback URL. Every customer with the number `phoneNumber` gets
    /// `sms_opt_out: true` (its version and `updated_at` move, `updated_by` is
    /// `africastalking`); customers already opted out are unchanged, so a repeated callback
    /// changes nothing. A number no customer has is acknowledged. `phoneNumber` that is no
    /// phone number is 422.
    #[oai(path = "/webhooks/africastalking/opt-outs/:secret", method = "post", operation_id = "receiveOptOut")]
    async fn opt_out(
        &self,
        services: Data<&Services>,
        /// The setting `sms.webhook_secret`, as written in the callback URL at Africa's Talking.
        secret: Path<String>,
        body: FormBody<OptOutForm>,
    ) -> Result<PlainText<&'static str>, Errors<WebhookErrors>> {
        self.check_secret(&secret.0, "opt-out")?;
        form_text(body.bytes())?;
        let form = body.parse()?;
        check_fields(&[("senderId", form.sender_id.as_ref()), ("phoneNumber", Some(&form.phone_number))])?;
        let changed = services.inbox.opt_out(&form.phone_number).await?;
        tracing::info!(
            sender_id = form.sender_id.as_deref().unwrap_or_default(),
            customers = changed,
            "opt-out received"
        );
        Ok(PlainText("OK"))
    }

    /// Receive an Africa's Talking incoming message
    ///
    /// Set `{public_url}/webhooks/africastalking/incoming/{sms.webhook_secret}` as the app's
    /// Incoming Messages callback URL. The message is stored once per AT `id` (a repeated
    /// callback stores nothing more) and listed by `listCustomerMessages` for the customers
    /// with the sender's number. A text that is only a stop word (`STOP`, `ACHA` or
    /// `SITISHA`, ignoring case and spacing) opts those customers out as `receiveOptOut`
    /// does; any other text changes nothing.
    #[oai(path = "/webhooks/africastalking/incoming/:secret", method = "post", operation_id = "receiveIncomingMessage")]
    async fn incoming(
        &self,
        services: Data<&Services>,
        /// The setting `sms.webhook_secret`, as written in the callback URL at Africa's Talking.
        secret: Path<String>,
        body: FormBody<IncomingForm>,
    ) -> Result<PlainText<&'static str>, Errors<WebhookErrors>> {
        self.check_secret(&secret.0, "incoming message")?;
        let raw = form_text(body.bytes())?;
        let form = body.parse()?;
        form.check_text()?;
        let sms = IncomingSms {
            provider_id: form.id,
            from: form.from,
            to: form.to,
            text: form.text,
            link_id: form.link_id,
            date: form.date,
            network_code: form.network_code,
            raw,
        };
        let provider_id = sms.provider_id.clone();
        let received = services.inbox.receive(sms).await?;
        let repeated = received.delivery == Delivery::Duplicate;
        tracing::info!(
            provider_id = %provider_id,
            repeated,
            stop_word = received.stop_word,
            opted_out_customers = received.opted_out_customers,
            "incoming message received"
        );
        Ok(PlainText("OK"))
    }
}
