//! SMS: the Africa's Talking gateway, the `log` gateway for development, and the outbox
//! dispatcher's run loop.

mod africastalking;
mod dispatcher;
mod log;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use africastalking::AfricasTalkingSmsGateway;
pub use dispatcher::{TokioOutboxSignal, run_dispatcher};
pub use log::LogSmsGateway;

use crate::secret::Secret;

/// Which gateway sends SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    /// Africa's Talking (sandbox when the username is `sandbox`).
    Africastalking,
    /// Write each SMS to the log and record it as sent (development).
    Log,
    /// Send nothing and write no notifications.
    Disabled,
}

/// Africa's Talking account settings, nested under `sms.africastalking`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct AfricasTalkingSettings {
    /// The app's username; `sandbox` selects the sandbox. Required with an API key (no default,
    /// so a live key is never sent to the sandbox by accident).
    pub username: String,
    /// The API key (environment only: `ORDERDESK_SMS__AFRICASTALKING__API_KEY`).
    pub api_key: Option<Secret>,
    /// A registered alphanumeric sender id or short code; AT's default sender when unset.
    pub sender_id: Option<String>,
    /// The API host; chosen from the username when empty (sandbox or live).
    pub base_url: String,
}

impl AfricasTalkingSettings {
    pub const LIVE_URL: &'static str = "https://api.africastalking.com";
    pub const SANDBOX_URL: &'static str = "https://api.sandbox.africastalking.com";

    /// Whether the username selects the sandbox (compared case-insensitively, as the SDKs do).
    pub fn is_sandbox(&self) -> bool {
        self.username.eq_ignore_ascii_case("sandbox")
    }

    /// The configured base URL, or the sandbox/live default.
    pub fn effective_base_url(&self) -> &str {
        match self.base_url.trim_end_matches('/') {
            "" if self.is_sandbox() => Self::SANDBOX_URL,
            "" => Self::LIVE_URL,
            url => url,
        }
    }
}

/// SMS settings, nested by the server under `sms`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SmsSettings {
    /// Unset: `africastalking` when an API key is configured, else `log` (dev) or an error (production).
    pub provider: Option<SmsProvider>,
    pub africastalking: AfricasTalkingSettings,
    /// The secret in the delivery-report callback path (environment only: `ORDERDESK_SMS__WEBHOOK_SECRET`).
    pub webhook_secret: Option<Secret>,
    /// The delay before the second attempt; doubled per attempt up to `max_backoff_ms`, jittered.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How long temporary failures (an outage) are retried before an SMS is given up, as a
    /// duration such as `"24h"` or `"90m"`.
    pub retry_for: String,
    /// An order whose `ordered_at` is more than this many hours old is stored without an SMS.
    pub max_order_age_hours: u64,
    /// Every message is cut to fit this many SMS segments (1 to 10).
    pub max_segments: u8,
    /// Send GSM-7 look-alikes for typographic quotes, dashes, ellipses and no-break spaces, so
    /// one such character does not turn the whole message into UCS-2.
    pub transliterate: bool,
    /// Bound on each call to the provider.
    pub request_timeout_ms: u64,
    /// Run the dispatcher in this process.
    pub dispatcher: bool,
    /// How often the dispatcher looks for due SMS when nothing wakes it.
    pub poll_interval_ms: u64,
    /// How long a claimed SMS stays with one dispatcher before another may take it over.
    pub lease_seconds: u64,
    /// The texts per order event (`order.created`, `order.ready`, ...): whether each is sent,
    /// and its template per language. Shipped in `config/default.toml`.
    pub events: BTreeMap<String, SmsEventSettings>,
    /// The old name of `shop.time_zone`, still read (with a warning at start-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// One order event's texts (`sms.events."<event>"`): whether it is sent, and its template in
/// English (`en`) and Swahili (`sw`). A language without a template gets the default
/// language's (`customers.default_language`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SmsEventSettings {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sw: Option<String>,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            provider: None,
            africastalking: AfricasTalkingSettings::default(),
            webhook_secret: None,
            initial_backoff_ms: 2_000,
            max_backoff_ms: 600_000,
            retry_for: "24h".into(),
            max_order_age_hours: 24,
            max_segments: 1,
            transliterate: true,
            request_timeout_ms: 10_000,
            dispatcher: true,
            poll_interval_ms: 1_000,
            lease_seconds: 60,
            events: BTreeMap::new(),
            time_zone: None,
        }
    }
}
