//! CORS for browser clients on other origins. poem's `Cors` refuses requests from other
//! origins with 403 and allows every origin when none is listed; here a listed origin gets
//! the CORS headers, any other request passes through untouched (the browser then keeps the
//! response from the page), and preflights are answered before authentication.

use std::collections::HashSet;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Request, Response};

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

/// What CORS makes of one request: the allowed origin it came from (if any) and whether it
/// is a preflight (`OPTIONS` with `Access-Control-Request-Method`, Fetch standard §3.2.2).
#[derive(Debug)]
pub struct CorsRequest {
    origin: Option<HeaderValue>,
    preflight: bool,
}

impl CorsRequest {
    /// `None` when no origins are allowed: the request and its response stay untouched.
    pub fn of(req: &Request, allowed: &AllowedOrigins) -> Option<Self> {
        if allowed.is_empty() {
            return None;
        }
        let origin =
            req.header(header::ORIGIN).filter(|o| allowed.0.contains(*o)).and_then(|o| HeaderValue::from_str(o).ok());
        let preflight =
            req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        Some(Self { origin, preflight })
    }

    /// The answer to a preflight from an allowed origin (204, before authentication and rate
    /// limits); `None` for every other request, which goes on to its route.
    pub fn preflight_answer(&self) -> Option<Response> {
        if self.origin.is_none() || !self.preflight {
            return None;
        }
        let mut response = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
        Some(response)
    }

    /// Adds the CORS headers to the response (errors included, so a browser can read a 401 or
    /// 429 too).
    pub fn finish(self, response: &mut Response) {
        let headers = response.headers_mut();
        // Answers differ by Origin: shared caches must keep them apart.
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if !self.preflight {
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
            }
        }
    }
}
