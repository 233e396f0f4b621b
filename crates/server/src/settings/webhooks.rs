//! `webhooks.*`: where outgoing webhooks may go, how long failing deliveries are retried, and
//! whether this process runs the webhook dispatcher. The values are here (the code's defaults),
//! documented in the README; `config/default.toml` only names them.

use std::time::Duration;

use anyhow::bail;
use orderdesk_domain::webhook::WebhookRetryPolicy;
use serde::{Deserialize, Serialize};

use super::{Profile, Settings, in_range};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct WebhookSettings {
    /// Let endpoints use plain http and private, loopback or link-local addresses. Unset: true
    /// in the dev profile (a receiver on 127.0.0.1), false in production.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private_targets: Option<bool>,
    /// How long a failing delivery is retried before it fails and its endpoint is disabled, as
    /// a duration such as `"72h"` (1 second to 30 days; issue #24: 3 days).
    pub retry_for: String,
    /// Run the webhook dispatcher in this process (`orderdesk dispatch` always does).
    pub dispatcher: bool,
    /// How often the dispatcher looks for new events and due retries (10 ms to 60 s).
    pub poll_interval_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { allow_private_targets: None, retry_for: "72h".into(), dispatcher: true, poll_interval_ms: 1_000 }
    }
}

impl WebhookSettings {
    /// # Errors
    /// `webhooks.retry_for` is not a duration between 1 s and 30 days, or the poll interval is
    /// out of range.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.retry_for()?;
        in_range("webhooks.poll_interval_ms", self.poll_interval_ms, 10, 60_000)
    }

    fn retry_for(&self) -> anyhow::Result<Duration> {
        let retry_for = humantime::parse_duration(self.retry_for.trim()).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: webhooks.retry_for {:?} is not a duration such as \"72h\" ({e})",
                self.retry_for
            )
        })?;
        if retry_for < Duration::from_secs(1) || retry_for > Duration::from_secs(30 * 24 * 3600) {
            bail!("invalid configuration: webhooks.retry_for must be between 1s and 30d (it is {:?})", self.retry_for);
        }
        Ok(retry_for)
    }
}

impl Settings {
    /// `webhooks.allow_private_targets`, or the profile's default (dev: yes, production: no).
    pub fn webhooks_allow_private_targets(&self) -> bool {
        self.webhooks.allow_private_targets.unwrap_or(self.profile == Profile::Dev)
    }

    /// The dispatcher's retry policy: the domain's backoff (30 s doubling to 6 h) within
    /// `webhooks.retry_for`.
    ///
    /// # Errors
    /// `webhooks.retry_for` is not a valid duration (checked at start-up).
    pub fn webhook_retry_policy(&self) -> anyhow::Result<WebhookRetryPolicy> {
        Ok(WebhookRetryPolicy::default().retrying_for(self.webhooks.retry_for()?))
    }
}
