//! Outbound HTTP: one TLS provider (ring) for the whole process, bounded timeouts.

use std::time::Duration;

/// A reqwest client with rustls on ring and the given overall timeout.
///
/// # Errors
/// The TLS configuration cannot be built (no usable root store).
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // Installing twice is harmless: the first provider stays; reqwest panics if none is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("orderdesk/", env!("CARGO_PKG_VERSION")))
        .build()
}
