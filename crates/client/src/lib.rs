//! A typed client for the orderdesk API, generated at build time from `docs/openapi.json` with
//! progenitor (see `build.rs`). README.md shows how to use it.
//!
//! Every operation is a method on [`Client`] returning a builder; `send()` gives
//! `Result<ResponseValue<T>, Error<types::Problem>>`, so an error response is read as an
//! RFC 9457 problem with its stable `type` (`/problems/{slug}`).

mod generated {
    // Generated code: not held to the workspace's lints.
    #![allow(clippy::all, clippy::pedantic, clippy::unwrap_used, missing_docs, unused_qualifications)]
    include!(concat!(env!("OUT_DIR"), "/orderdesk.rs"));
}

pub use generated::*;
pub use reqwest;

/// Why [`Client::with_bearer_token`] could not build a client.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the access token cannot be sent in a header: {0}")]
    InvalidToken(#[from] reqwest::header::InvalidHeaderValue),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl Client {
    /// A client for `base_url` (scheme, host, port; e.g. `http://127.0.0.1:8080`) that sends
    /// `token` as `Authorization: Bearer <token>` on every request, with a 30 s timeout.
    ///
    /// TLS uses rustls on ring; the ring provider is installed as the process default if none is.
    ///
    /// # Errors
    /// The token is not a valid header value, or the HTTP client cannot be built.
    pub fn with_bearer_token(base_url: &str, token: &str) -> Result<Self, ConnectError> {
        // reqwest is built without a default TLS provider in this workspace (ring only).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut authorization = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?;
        authorization.set_sensitive(true);
        let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::AUTHORIZATION, authorization)]);
        let http =
            reqwest::Client::builder().default_headers(headers).timeout(std::time::Duration::from_secs(30)).build()?;
        Ok(Self::new_with_client(base_url.trim_end_matches('/'), http))
    }
}
