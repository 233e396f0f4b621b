//! `idempotency.*`: how long an `Idempotency-Key` and its response are kept.

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct IdempotencySettings {
    /// Hours a key replays its first response; expired keys are swept and may be reused.
    pub retention_hours: u64,
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        Self { retention_hours: 24 }
    }
}

impl IdempotencySettings {
    /// # Errors
    /// A retention of 0 or more than a year.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=24 * 366).contains(&self.retention_hours) {
            bail!("invalid configuration: idempotency.retention_hours must be between 1 and 8784");
        }
        Ok(())
    }

    /// The retention as a duration.
    pub fn retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.retention_hours * 3600)
    }
}
