//! [`SmsGateway`] on Africa's Talking's form API (`POST /version1/messaging`), with each
//! outcome classified for the retry policy as the contract describes.

use std::time::Duration;

use async_trait::async_trait;
use orderdesk_domain::PhoneNumber;
use orderdesk_domain::notification::{SmsCost, SmsError, SmsReceipt};
use orderdesk_domain::ports::SmsGateway;
use reqwest::StatusCode;
use serde::Deserialize;

use super::AfricasTalkingSettings;
use crate::secret::Secret;
use crate::setup::SetupError;

/// The most of an answer body read: a send's answer for one recipient is a few hundred bytes.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Sends through Africa's Talking. The API key goes only into the `apiKey` header, and only
/// to the configured host: no redirect is followed ([`crate::http::client`]).
#[derive(Clone)]
pub struct AfricasTalkingSmsGateway {
    http: reqwest::Client,
    endpoint: String,
    username: String,
    api_key: Secret,
    sender_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "SMSMessageData")]
    data: MessageData,
}

#[derive(Debug, Deserialize)]
struct MessageData {
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Recipients", default)]
    recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    status_code: u16,
    #[serde(default)]
    status: String,
    /// `"KES 0.8000"`, or `"0"` for a refused recipient. Read as any JSON value, so an odd
    /// one (a number, say) never makes the whole answer unreadable: the send stands.
    #[serde(default)]
    cost: Option<serde_json::Value>,
    #[serde(default)]
    message_id: Option<String>,
    /// How many parts the message was billed as; only on accepted sends.
    #[serde(default)]
    message_parts: Option<serde_json::Value>,
}

/// The recipient's `cost` as exact money. Text that is not (`"KES 0,80"`, a number) is kept
/// as written for the attempt's log and warned about; it never fails the send.
fn read_cost(cost: Option<serde_json::Value>) -> (Option<SmsCost>, Option<String>) {
    let raw = match cost {
        None | Some(serde_json::Value::Null) => return (None, None),
        Some(serde_json::Value::String(text)) => text,
        Some(other) => other.to_string(),
    };
    match SmsCost::parse_provider(&raw) {
        Ok(cost) => (cost, None),
        Err(why) => {
            let raw: String = raw.chars().take(64).collect();
            tracing::warn!(cost = %raw, reason = %why, "Africa's Talking's cost is not exact money; no cost kept");
            (None, Some(raw))
        }
    }
}

/// `messageParts` as a count; anything but a whole number from 1 up is left out.
fn read_parts(parts: Option<&serde_json::Value>) -> Option<u32> {
    parts.and_then(serde_json::Value::as_u64).and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0)
}

impl AfricasTalkingSmsGateway {
    /// # Errors
    /// No API key is configured, or no HTTP client could be built.
    pub fn new(settings: &AfricasTalkingSettings, timeout: Duration) -> Result<Self, SetupError> {
        let api_key =
            settings.api_key.clone().ok_or_else(|| SetupError::invalid("sms.africastalking.api_key", "is required"))?;
        let http = crate::http::client(timeout)?;
        Ok(Self {
            http,
            endpoint: format!("{}/version1/messaging", settings.effective_base_url()),
            username: settings.username.clone(),
            api_key,
            sender_id: settings.sender_id.clone().filter(|s| !s.is_empty()),
        })
    }
}

/// Per-recipient status codes (contract 1.5): accepted, or a failure and its retry class.
fn classify_recipient(recipient: Recipient) -> Result<SmsReceipt, SmsError> {
    let reason = format!("{} ({})", recipient.status, recipient.status_code);
    match recipient.status_code {
        // Accepted but unnamed: it may be on its way, so this is an unclear outcome (retried
        // at most once), never a plain temporary failure (retried until sms.retry_for).
        100..=102 => match recipient.message_id.filter(|id| !id.is_empty() && id != "None") {
            Some(message_id) => {
                let parts = read_parts(recipient.message_parts.as_ref());
                let (cost, unreadable_cost) = read_cost(recipient.cost);
                Ok(SmsReceipt { message_id, status: recipient.status, cost, parts, unreadable_cost })
            }
            None => Err(SmsError::Ambiguous(format!("accepted without a message id: {reason}"))),
        },
        // CouldNotRoute, DND window, AT internal and gateway errors: worth another try.
        407 | 409 | 500 | 501 => Err(SmsError::Retryable(reason)),
        // RiskHold, InvalidSenderId, InvalidPhoneNumber, UnsupportedNumberType, InsufficientBalance,
        // UserInBlacklist, RejectedByGateway and anything unknown: retrying cannot help.
        _ => Err(SmsError::Permanent(reason)),
    }
}

/// A 2xx (or 409) body: the single recipient's outcome, or the whole request refused. A body
/// that cannot be read may hide an accepted send, so it is an unclear outcome.
fn classify_body(body: &str) -> Result<SmsReceipt, SmsError> {
    let envelope: Envelope = serde_json::from_str(body).map_err(|_| {
        let snippet: String = body.chars().take(120).collect();
        SmsError::Ambiguous(format!("unreadable answer from Africa's Talking: {snippet:?}"))
    })?;
    match envelope.data.recipients.into_iter().next() {
        Some(recipient) => classify_recipient(recipient),
        // "Whole request refused with HTTP 2xx": Message names the reason.
        None => match envelope.data.message.as_str() {
            "InvalidSenderId" | "InsufficientBalance" | "RiskHold" | "UserInBlacklist" => {
                Err(SmsError::Permanent(format!("request refused: {}", envelope.data.message)))
            }
            other => Err(SmsError::Retryable(format!("request refused: {other:?}"))),
        },
    }
}

#[async_trait]
impl SmsGateway for AfricasTalkingSmsGateway {
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    async fn send(&self, to: &PhoneNumber, message: &str) -> Result<SmsReceipt, SmsError> {
        let mut form =
            vec![("username", self.username.as_str()), ("to", to.as_str()), ("message", message), ("bulkSMSMode", "1")];
        if let Some(sender) = &self.sender_id {
            form.push(("from", sender));
        }
        let response = self
            .http
            .post(&self.endpoint)
            .headers(crate::trace_context::outgoing_headers())
            .header("apiKey", self.api_key.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                // Errors never carry the key: it is only in a header, and reqwest does not print headers.
                if e.is_timeout() {
                    SmsError::Ambiguous(format!("no answer within the timeout: {e}"))
                } else {
                    SmsError::Retryable(format!("cannot reach Africa's Talking: {e}"))
                }
            })?;
        let status = response.status();
        let body = crate::http::read_bounded(response, MAX_ANSWER_BYTES).await.map_err(|e| {
            // The request reached the provider: what it did is unknown unless it said 4xx/5xx.
            if status.is_success() || matches!(&e, crate::http::BodyError::Transport(t) if t.is_timeout()) {
                SmsError::Ambiguous(format!("answer cut off: {e}"))
            } else {
                SmsError::Retryable(format!("answer cut off: {e}"))
            }
        })?;
        match status {
            s if s.is_success() => classify_body(&body),
            StatusCode::UNAUTHORIZED => Err(SmsError::Permanent(
                "Africa's Talking refused the credentials (401): check sms.africastalking.username and the API key"
                    .into(),
            )),
            StatusCode::TOO_MANY_REQUESTS => Err(SmsError::Retryable("rate limited (429)".into())),
            s if s.is_server_error() => Err(SmsError::Retryable(format!("Africa's Talking answered {s}"))),
            // 409 carries the recipient (Nigerian DND); other 4xx are our mistakes.
            StatusCode::CONFLICT => classify_body(&body),
            s if s.is_redirection() => Err(SmsError::Permanent(format!(
                "Africa's Talking answered {s} (a redirect; not followed, so the API key stays with the configured \
                 host): check sms.africastalking.base_url"
            ))),
            s => Err(SmsError::Permanent(format!(
                "Africa's Talking answered {s}: {}",
                body.chars().take(120).collect::<String>()
            ))),
        }
    }
}
