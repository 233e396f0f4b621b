//! `web.*`: the dashboard's public URL, sessions and cookie key.

use anyhow::bail;
use orderdesk_adapters::auth::AuthSettings;
use orderdesk_adapters::secret::Secret;
use serde::{Deserialize, Serialize};

use super::Profile;

/// The web dashboard.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct WebSettings {
    /// The public base URL (`https://orders.example.com`) for the callback and sign-out return
    /// URLs. Dev default: `http://127.0.0.1:<port>`.
    pub public_url: String,
    pub session_ttl_minutes: u64,
    /// Key for the sign-in cookie, 32+ characters (environment only; generated into the data
    /// directory in dev when unset).
    pub cookie_secret: Option<Secret>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self { public_url: String::new(), session_ttl_minutes: 480, cookie_secret: None }
    }
}

impl WebSettings {
    /// Checks what signing in through `auth` needs.
    ///
    /// # Errors
    /// A short cookie secret, or a configured client without its secret, public URL, https or
    /// (in production) cookie secret.
    pub fn validate(&self, auth: &AuthSettings, profile: Profile) -> anyhow::Result<()> {
        if self.cookie_secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
            bail!("invalid configuration: web.cookie_secret must be at least 32 characters");
        }
        // The dev issuer's own client, or no dashboard at all.
        if auth.issuer.is_empty() || auth.client_id.is_empty() {
            return Ok(());
        }
        if auth.client_secret.is_none() {
            bail!("invalid configuration: auth.client_id is set but ORDERDESK_AUTH__CLIENT_SECRET is not");
        }
        if self.public_url.is_empty() {
            bail!(
                "invalid configuration: web.public_url is required for the dashboard (the Auth0 callback URL is {{web.public_url}}/callback)"
            );
        }
        if profile == Profile::Production {
            if !self.public_url.starts_with("https://") {
                bail!(
                    "invalid configuration: web.public_url must use https in production (session cookies are Secure)"
                );
            }
            if self.cookie_secret.is_none() {
                bail!(
                    "invalid configuration: the production profile requires ORDERDESK_WEB__COOKIE_SECRET (32+ characters)"
                );
            }
        }
        Ok(())
    }
}
