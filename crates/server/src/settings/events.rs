//! `events.*`: how long the event feed keeps events.

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct EventSettings {
    /// Days an event stays in `GET /api/v1/events` (and can still be delivered); older ones
    /// are swept.
    pub retention_days: u32,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self { retention_days: 30 }
    }
}

impl EventSettings {
    /// # Errors
    /// A retention of 0 or more than a year.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=366).contains(&self.retention_days) {
            bail!("invalid configuration: events.retention_days must be between 1 and 366");
        }
        Ok(())
    }

    /// The retention as a duration.
    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.retention_days))
    }
}
