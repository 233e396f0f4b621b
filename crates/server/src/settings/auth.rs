//! `auth.*`: the token issuer. The verifier's own rules (the `alg` allow-list) are checked by
//! the adapter that enforces them; this adds what depends on the rest of the configuration.

use anyhow::bail;
use orderdesk_adapters::auth::AuthSettings;

use super::{Profile, ServerSettings, Settings, in_range};

impl Settings {
    /// Whether the server runs its own dev issuer (dev profile, no tenant configured).
    pub fn uses_dev_issuer(&self) -> bool {
        self.auth.issuer.is_empty()
    }
}

/// # Errors
/// Production without a tenant, an issuer that is not an https URL (plain http only on
/// loopback), a disallowed algorithm, or the dev issuer reachable from other machines.
pub fn validate(auth: &AuthSettings, profile: Profile, server: &ServerSettings) -> anyhow::Result<()> {
    if profile == Profile::Production && (auth.issuer.is_empty() || auth.audience.is_empty()) {
        bail!(
            "invalid configuration: the production profile requires auth.issuer (ORDERDESK_AUTH__ISSUER, \
             e.g. https://TENANT.auth0.com/) and auth.audience (ORDERDESK_AUTH__AUDIENCE, the Auth0 API identifier)"
        );
    }
    auth.check_algorithms().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    in_range("auth.leeway_seconds", auth.leeway_seconds, 0, 300)?;
    in_range("auth.http_timeout_ms", auth.http_timeout_ms, 100, 60_000)?;
    in_range("auth.jwks_min_refresh_seconds", auth.jwks_min_refresh_seconds, 1, 3_600)?;
    in_range("auth.jwks_cache_seconds", auth.jwks_cache_seconds, 1, 86_400)?;
    if auth.issuer.is_empty() {
        return check_dev_issuer_bind(auth, server);
    }
    if auth.audience.is_empty() {
        bail!("invalid configuration: auth.audience is required when auth.issuer is set");
    }
    let issuer = url::Url::parse(&auth.issuer)
        .map_err(|e| anyhow::anyhow!("invalid configuration: auth.issuer {:?} is not a URL: {e}", auth.issuer))?;
    let loopback = match issuer.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
        bail!("invalid configuration: auth.issuer must use https (plain http only for loopback hosts)");
    }
    Ok(())
}

/// The dev issuer signs a token with every permission for whoever asks, so by default it only
/// runs where nobody else can ask.
fn check_dev_issuer_bind(auth: &AuthSettings, server: &ServerSettings) -> anyhow::Result<()> {
    if server.is_loopback() || auth.dev_issuer_allow_non_loopback {
        return Ok(());
    }
    bail!(
        "invalid configuration: server.bind {} is not a loopback address, and with auth.issuer unset the server runs \
         its built-in dev issuer, which hands a token with every permission to anyone who can reach it. Bind to \
         127.0.0.1, configure a real issuer (auth.issuer and auth.audience), or, if every machine that can reach \
         this address is trusted, set auth.dev_issuer_allow_non_loopback = true \
         (ORDERDESK_AUTH__DEV_ISSUER_ALLOW_NON_LOOPBACK)",
        server.bind
    )
}
