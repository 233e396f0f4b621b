//! OpenID Connect Discovery 1.0 (§4): `{issuer}/.well-known/openid-configuration`, fetched for
//! the JWKS verifier (its `jwks_uri`) and the sign-in client (its authorization and token
//! endpoints). One fetch for both: same URL, trace headers, and issuer check.

use serde::Deserialize;

/// The fields of the discovery document orderdesk uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProviderMetadata {
    /// Must equal the configured issuer exactly (Discovery §4.3).
    pub issuer: String,
    /// Where the signing keys are (RFC 7517 JWK Set).
    pub jwks_uri: String,
    /// The authorization-code flow's start (absent from a bare JWKS host is an error for sign-in only).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Where a code is exchanged for tokens.
    #[serde(default)]
    pub token_endpoint: Option<String>,
}

/// Why the discovery document could not be used; logged, never shown to callers.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The document could not be fetched or read.
    #[error("request to {url} failed: {source}")]
    Http {
        /// The document's URL.
        url: String,
        /// What reqwest said.
        source: reqwest::Error,
    },
    /// The document names another issuer: its keys and endpoints are not ours.
    #[error("discovery document names issuer {found:?}, expected {expected:?}")]
    IssuerMismatch {
        /// The issuer named in the document.
        found: String,
        /// The configured issuer.
        expected: String,
    },
}

/// The discovery document's URL for `issuer` (with or without a trailing slash).
pub(crate) fn url(issuer: &str) -> String {
    let separator = if issuer.ends_with('/') { "" } else { "/" };
    format!("{issuer}{separator}.well-known/openid-configuration")
}

/// Fetches and checks `issuer`'s discovery document, continuing the current trace.
///
/// # Errors
/// [`DiscoveryError::Http`] when it cannot be fetched or parsed, [`DiscoveryError::IssuerMismatch`].
pub(crate) async fn fetch(http: &reqwest::Client, issuer: &str) -> Result<ProviderMetadata, DiscoveryError> {
    let url = url(issuer);
    let http_error = |source| DiscoveryError::Http { url: url.clone(), source };
    let response = http.get(&url).headers(crate::trace_context::outgoing_headers()).send().await.map_err(http_error)?;
    let metadata: ProviderMetadata =
        response.error_for_status().map_err(http_error)?.json().await.map_err(http_error)?;
    if metadata.issuer != issuer {
        return Err(DiscoveryError::IssuerMismatch { found: metadata.issuer, expected: issuer.to_owned() });
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_under_the_issuer_with_or_without_a_slash() {
        assert_eq!(url("https://t.auth0.com/"), "https://t.auth0.com/.well-known/openid-configuration");
        assert_eq!(url("http://127.0.0.1:8080"), "http://127.0.0.1:8080/.well-known/openid-configuration");
    }
}
