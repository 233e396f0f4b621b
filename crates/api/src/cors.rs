//! CORS for browser clients on other origins. poem's `Cors` refuses requests from other
//! origins with 403 and allows every origin when none is listed; here a listed origin gets
//! the CORS headers, any other request passes through untouched (the browser then keeps the
//! response from the page), and preflights are answered before authentication.

use std::collections::HashSet;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, Request, Response};

use crate::metrics::respond;

/// Methods the API serves.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST, PATCH, DELETE";
/// Request headers a browser may send.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match";
/// Response headers a page may read.
pub const EXPOSE_HEADERS: &str = "Location, ETag, x-request-id, Idempotent-Replayed, Retry-After, traceparent";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE: &str = "600";

/// The origins allowed, exactly as browsers send them (`https://shop.example`, no path).
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Arc<HashSet<String>>);

impl AllowedOrigins {
    pub fn new(origins: impl IntoIterator<Item = String>) -> Self {
        Self(Arc::new(origins.into_iter().collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Answers preflights from allowed origins and adds CORS headers to their requests' responses.
/// Without allowed origins, requests pass through untouched.
pub async fn cors<E: Endpoint>(next: E, req: Request, allowed: AllowedOrigins) -> poem::Result<Response> {
    if allowed.is_empty() {
        return Ok(respond(next.call(req).await));
    }
    let origin =
        req.header(header::ORIGIN).filter(|o| allowed.0.contains(*o)).and_then(|o| HeaderValue::from_str(o).ok());
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&origin, preflight) {
        (Some(_), true) => {
            let mut response = Response::builder().status(StatusCode::NO_CONTENT).finish();
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
            response
        }
        // Errors become responses here, so a browser can read a 401 or 429 too.
        _ => respond(next.call(req).await),
    };
    let headers = response.headers_mut();
    // Answers differ by Origin: shared caches must keep them apart.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if !preflight {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
        }
    }
    Ok(response)
}
