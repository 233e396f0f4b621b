//! Outbound HTTP: one TLS provider (ring) for the whole process, bounded timeouts.

use std::time::Duration;

/// A reqwest client with rustls on ring and the given overall timeout. It follows no
/// redirects: every call carries a credential (an API key, a client secret) or trusts the
/// answer's origin, and a redirect would hand either to another host.
///
/// # Errors
/// The TLS configuration cannot be built (no usable root store).
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // Installing twice is harmless: the first provider stays; reqwest panics if none is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("orderdesk/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a response body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body was longer than the bound.
    #[error("the answer is longer than {limit} bytes")]
    TooLong {
        /// The bound, in bytes.
        limit: usize,
    },
    /// The connection failed or timed out while the body was read.
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body as text (lossy UTF-8), refusing more than `limit` bytes, so a
/// misbehaving server cannot make us buffer without bound.
///
/// # Errors
/// [`BodyError::TooLong`] past `limit`, [`BodyError::Transport`] when reading fails.
pub async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Result<String, BodyError> {
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(BodyError::TooLong { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLong { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
