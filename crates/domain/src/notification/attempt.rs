//! One attempt to hand a notification to the provider, and what it came to.

use chrono::{DateTime, Utc};

use super::SmsCost;
use crate::customer::PhoneNumber;

/// What an attempt came to: the one name for it in the attempt's log (stored as text in
/// `notification_attempts.outcome`), in the dispatcher's log lines and in the
/// `orderdesk_sms_attempts_total{result}` counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// The provider accepted the SMS.
    Sent,
    /// It failed and will be tried again ([`super::RetryPolicy::retry_at`] gave a time).
    Retry,
    /// It failed and will not be tried again.
    Failed,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Sent, Self::Retry, Self::Failed];

    /// The stored and wire name: `sent`, `retry` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }

    /// Parses a name given by [`AttemptOutcome::as_str`]; unknown names give `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// One attempt to hand a notification to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The attempt's number, from 1.
    pub number: u32,
    /// When the attempt ended.
    pub attempted_at: DateTime<Utc>,
    /// What it came to.
    pub outcome: AttemptOutcome,
    /// The number this attempt texted.
    pub recipient: PhoneNumber,
    /// Why it failed. On a sent attempt `None`, or a note on what the provider's answer said
    /// that could not be kept (a cost that is not exact money, with the provider's text).
    pub error: Option<String>,
    /// What the provider charged for this attempt (only a sent attempt has a cost; `None` when
    /// the provider named none, charged nothing, or wrote a cost that could not be read).
    pub cost: Option<SmsCost>,
    /// How many parts the provider billed this attempt as (Africa's Talking's `messageParts`);
    /// only a sent attempt has them.
    pub parts: Option<u32>,
}
