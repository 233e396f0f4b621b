//! When and by whom a record was created and last changed.

use chrono::{DateTime, Utc};

use crate::auth::Actor;

/// Creation and last-change stamps, and the version. The actors are token subjects; rows written before
/// authentication existed have none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTrail {
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// The token subject that created it; `None` for rows older than authentication.
    pub created_by: Option<String>,
    /// When the record last changed (equals `created_at` until the first change).
    pub updated_at: DateTime<Utc>,
    /// The token subject that last changed it; `None` for rows older than authentication.
    pub updated_by: Option<String>,
    /// Counts the changes (0 when created): the record's strong `ETag`, and what a
    /// conditional write (`If-Match`) compares.
    pub version: u32,
}

impl AuditTrail {
    /// A record created by `actor` at `now`.
    pub fn new(now: DateTime<Utc>, actor: &Actor) -> Self {
        Self {
            created_at: now,
            created_by: Some(actor.as_str().to_owned()),
            updated_at: now,
            updated_by: Some(actor.as_str().to_owned()),
            version: 0,
        }
    }

    /// Records a change by `actor` at `now`.
    pub fn touch(&mut self, now: DateTime<Utc>, actor: &Actor) {
        self.updated_at = now;
        self.updated_by = Some(actor.as_str().to_owned());
        self.version = self.version.wrapping_add(1);
    }
}
