//! `metrics.*` (Prometheus at `GET /metrics`) and `cors.*` (browser origins allowed to call the API).

use anyhow::bail;
use orderdesk_adapters::secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct MetricsSettings {
    /// Serve `GET /metrics`.
    pub enabled: bool,
    /// Lets peers other than loopback scrape with `Authorization: Bearer <token>`; environment
    /// only (`ORDERDESK_METRICS__TOKEN`).
    pub token: Option<Secret>,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { enabled: true, token: None }
    }
}

impl MetricsSettings {
    /// # Errors
    /// A token too short to be a credential.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            bail!("invalid configuration: metrics.token must be at least 16 characters");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct CorsSettings {
    /// Exact origins (`https://shop.example`); a list in TOML, or a comma-separated string in
    /// `ORDERDESK_CORS__ALLOWED_ORIGINS`.
    #[serde(deserialize_with = "list_or_commas")]
    pub allowed_origins: Vec<String>,
}

impl CorsSettings {
    /// # Errors
    /// An entry that is not a bare `scheme://host[:port]` origin.
    pub fn validate(&self) -> anyhow::Result<()> {
        for origin in &self.allowed_origins {
            let serialized = url::Url::parse(origin).ok().map(|u| u.origin().ascii_serialization());
            if serialized.as_deref() != Some(origin.as_str()) {
                bail!(
                    "invalid configuration: cors.allowed_origins: {origin:?} is not an origin as browsers send it \
                     (scheme://host[:port], lowercase, no path or trailing slash)"
                );
            }
        }
        Ok(())
    }
}

/// A TOML list, or one string of comma-separated items (as environment variables give it).
pub(super) fn list_or_commas<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCommas {
        List(Vec<String>),
        Commas(String),
    }
    let items = match ListOrCommas::deserialize(deserializer)? {
        ListOrCommas::List(items) => items,
        ListOrCommas::Commas(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
}
