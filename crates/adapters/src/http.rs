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

tokio::task_local! {
    /// The `traceparent` naming the server's span of the request being served; the server sets
    /// it around each request, so calls made on the request's behalf continue its trace.
    pub static TRACEPARENT: String;
}

/// The `traceparent` header for an outgoing call: the current request's, or a new trace when
/// no request is being served (the SMS dispatcher sends after the request has finished).
pub fn trace_headers() -> reqwest::header::HeaderMap {
    let value = TRACEPARENT.try_with(Clone::clone).unwrap_or_else(|_| {
        let ids = uuid::Uuid::new_v4().simple().to_string();
        let span = uuid::Uuid::new_v4().simple().to_string();
        format!("00-{ids}-{}-01", &span[..16])
    });
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
        headers.insert("traceparent", value);
    }
    headers
}
