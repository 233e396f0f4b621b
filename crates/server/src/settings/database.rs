//! `database.*`: the adapters' connection settings plus start-up migrations.

use anyhow::bail;
use orderdesk_adapters::DatabaseSettings;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct DatabaseSection {
    #[serde(flatten)]
    pub connection: DatabaseSettings,
    /// Apply pending migrations at start-up.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { connection: DatabaseSettings::default(), migrate_on_start: true }
    }
}

impl DatabaseSection {
    /// # Errors
    /// An unsupported URL scheme or an empty pool.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = &self.connection.url;
        if url.trim().is_empty() {
            bail!(
                "invalid configuration: database.url is required (DATABASE_URL or ORDERDESK_DATABASE__URL, \
                 e.g. postgres://orderdesk@db/orderdesk or sqlite:///var/lib/orderdesk/orderdesk.db)"
            );
        }
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("invalid configuration: database.url must start with sqlite:, postgres:// or postgresql://");
        }
        if self.connection.max_connections == 0 {
            bail!("invalid configuration: database.max_connections must be greater than 0");
        }
        if self.connection.sqlite_read_connections == 0 {
            bail!("invalid configuration: database.sqlite_read_connections must be greater than 0");
        }
        Ok(())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}
