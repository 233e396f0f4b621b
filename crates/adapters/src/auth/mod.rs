//! Bearer-token verification against an OpenID issuer's JWKS (Auth0 in production), and the
//! built-in dev issuer that signs tokens for local use.

mod dev_issuer;
mod discovery;
mod jwks;
mod oidc;

use serde::{Deserialize, Serialize};

pub use dev_issuer::{DevIssuer, DevIssuerError};
pub use discovery::DiscoveryError;
pub use jwks::{JwksTokenVerifier, SUPPORTED_ALGORITHMS};
pub use oidc::HttpOidcClient;

/// Verifier settings, nested by the server under `auth`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct AuthSettings {
    /// The issuer, exactly as in the tokens' `iss` (Auth0: `https://TENANT.auth0.com/`, with the slash).
    /// Empty: the dev profile runs its own issuer.
    pub issuer: String,
    /// The API identifier that tokens' `aud` must contain.
    pub audience: String,
    /// Accepted `alg` values (a subset of [`SUPPORTED_ALGORITHMS`]).
    pub algorithms: Vec<String>,
    /// Clock-skew allowance for `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// The least time between two JWKS fetches caused by unknown key ids.
    pub jwks_min_refresh_seconds: u64,
    /// How long fetched keys are used before they are refreshed in the background.
    pub jwks_cache_seconds: u64,
    /// How many successfully verified tokens are remembered (each until its `exp`, or until its
    /// key leaves the JWKS), so a client's repeated calls skip the RSA check. 0: off.
    pub token_cache_capacity: usize,
    /// The JWKS URL; discovered from `{issuer}.well-known/openid-configuration` when empty.
    pub jwks_uri: String,
    /// Timeout for discovery and JWKS requests.
    pub http_timeout_ms: u64,
    /// The dashboard's Auth0 application (Regular Web Application) client id.
    pub client_id: String,
    /// Its client secret (environment only: `ORDERDESK_AUTH__CLIENT_SECRET`).
    pub client_secret: Option<crate::secret::Secret>,
    /// Lets the dev issuer (which signs tokens with every permission for anyone who asks) run on
    /// a server bound to a non-loopback address. Off: such a server refuses to start.
    pub dev_issuer_allow_non_loopback: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            audience: String::new(),
            algorithms: vec!["RS256".into()],
            leeway_seconds: 30,
            jwks_min_refresh_seconds: 30,
            jwks_cache_seconds: 600,
            token_cache_capacity: 10_000,
            jwks_uri: String::new(),
            http_timeout_ms: 5_000,
            client_id: String::new(),
            client_secret: None,
            dev_issuer_allow_non_loopback: false,
        }
    }
}
