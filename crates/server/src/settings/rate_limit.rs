//! `rate_limit.*`: requests per second and burst per client (token subject, else address).
//! Off by default in the dev profile, on in production.

use std::num::NonZeroU32;

use anyhow::bail;
use orderdesk_api::rate_limit::RateLimitOptions;
use serde::{Deserialize, Serialize};

use super::{Profile, Settings};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Unset: on in production, off in dev.
    pub enabled: Option<bool>,
    /// Sustained requests per second per client.
    pub requests_per_second: u32,
    /// Requests a client may send at once after being idle.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self { enabled: None, requests_per_second: 10, burst: 20 }
    }
}

impl RateLimitSettings {
    /// # Errors
    /// A rate or burst of zero.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.requests_per_second == 0 || self.burst == 0 {
            bail!("invalid configuration: rate_limit.requests_per_second and rate_limit.burst must be greater than 0");
        }
        Ok(())
    }
}

impl Settings {
    /// The limit in effect, or `None` when rate limiting is off.
    pub fn rate_limit(&self) -> Option<RateLimitOptions> {
        let enabled = self.rate_limit.enabled.unwrap_or(self.profile == Profile::Production);
        Some(RateLimitOptions {
            requests_per_second: NonZeroU32::new(self.rate_limit.requests_per_second)?,
            burst: NonZeroU32::new(self.rate_limit.burst)?,
        })
        .filter(|_| enabled)
    }
}
