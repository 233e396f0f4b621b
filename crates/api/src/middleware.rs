//! The HTTP pipeline around the routes: request id and access log, panic and framework-error
//! conversion to problem+json, and the request-body size limit.

use std::any::Any;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError};
use poem::http::{HeaderValue, StatusCode, header};
use poem::middleware::PanicHandler;
use poem::{Request, Response};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use uuid::Uuid;

use crate::problem::{FieldProblem, PROBLEM_JSON, Problem, ProblemType};
use crate::security::www_authenticate;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Takes a well-behaved incoming request id (for tracing across services), or makes one.
fn request_id(req: &Request) -> String {
    req.header(REQUEST_ID_HEADER)
        .filter(|id| {
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned)
}

/// The path as logged. The webhooks' paths end in their secret, so everything after a
/// `delivery-reports` segment (or, under `webhooks`, an `incoming` or `opt-outs` segment) is
/// masked, and everything after `webhooks` that is not part of those routes, whatever the
/// slashes, case or percent-encoding.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    // Most paths name neither route and escape nothing: logged as they are without decoding
    // each segment (what `masked_path` would find for them; a test compares the two).
    let may_mask = |segment: &str| ["webhooks", "delivery-reports"].iter().any(|s| segment.eq_ignore_ascii_case(s));
    if !path.contains('%') && !path.split('/').any(may_mask) {
        return path.into();
    }
    masked_path(path)
}

/// [`loggable_path`] for any path: each segment percent-decoded and compared without case.
fn masked_path(path: &str) -> Cow<'_, str> {
    const CALLBACKS: [&str; 3] = ["delivery-reports", "incoming", "opt-outs"];
    const WEBHOOK_ROUTE: [&str; 5] = ["", "africastalking", CALLBACKS[0], CALLBACKS[1], CALLBACKS[2]];
    let mut shown = String::with_capacity(path.len());
    let mut in_webhooks = false;
    for (i, segment) in path.split('/').enumerate() {
        let decoded = String::from_utf8_lossy(&percent_decode(segment)).to_ascii_lowercase();
        let whole = !decoded.contains('/');
        let mask = if in_webhooks {
            !(whole && WEBHOOK_ROUTE.contains(&decoded.as_str()))
        } else {
            !whole && decoded.split('/').any(|part| part == "webhooks" || CALLBACKS.contains(&part))
        };
        if i > 0 {
            shown.push('/');
        }
        if mask {
            shown.push_str("***");
            return shown.into();
        }
        shown.push_str(segment);
        if decoded == "delivery-reports" || (in_webhooks && CALLBACKS.contains(&decoded.as_str())) {
            if path.len() > shown.len() {
                shown.push_str("/***");
            }
            return shown.into();
        }
        in_webhooks |= decoded == "webhooks";
    }
    match shown == path {
        true => path.into(),
        false => shown.into(),
    }
}

/// `%XX` escapes decoded once (as the router does); anything malformed is kept as it is.
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (byte, _, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    decoded
}

/// Who made the request, once its token or session says: set by the security checks, logged
/// by [`request_context`] with the request's last line. A cell in the request's data rather
/// than a field recorded into the span later: a JSON log re-reads and rewrites a span's fields
/// on every such record.
#[derive(Debug, Clone, Default)]
pub struct RequestSubject(Arc<OnceLock<String>>);

impl RequestSubject {
    /// The caller's subject (the first one set wins).
    pub fn set(&self, subject: &str) {
        let _ = self.0.set(subject.to_owned());
    }

    /// The subject, when a check set one.
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// The request's id, its caller once known, and when it started: opened before the request
/// is handled, closed with its response (one access-log line, the id echoed).
#[derive(Debug)]
pub struct RequestContext {
    id: String,
    caller: RequestSubject,
    started: Instant,
}

impl RequestContext {
    /// Takes (or makes) the request's id and puts a [`RequestSubject`] in its data; returns the
    /// span the request runs in, carrying its id, method, loggable path and trace id.
    pub fn open(req: &mut Request) -> (Self, tracing::Span) {
        let id = request_id(req);
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %loggable_path(req.uri().path()),
            trace_id = crate::trace::trace_id(req),
        );
        let caller = RequestSubject::default();
        req.set_data(caller.clone());
        (Self { id, caller, started: Instant::now() }, span)
    }

    /// When the request started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Logs the request's line (`request finished`, or `request failed` at `error` for a 5xx,
    /// with `status`, `latency_ms` and the caller's `subject` when known), and sets
    /// `x-request-id` and `x-content-type-options: nosniff` on the response. Call inside the
    /// request's span.
    pub fn close(self, response: &mut Response) {
        let status = response.status().as_u16();
        let latency_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let subject = self.caller.get();
        if response.status().is_server_error() {
            tracing::error!(status, latency_ms, subject, "request failed");
        } else {
            tracing::info!(status, latency_ms, subject, "request finished");
        }
        if let Ok(value) = HeaderValue::from_str(&self.id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    }
}

/// Reads the whole body, refusing one over `limit` bytes with 413 whether or not
/// `Content-Length` is sent; `None` when it was read (and put back as bytes). Bodiless requests
/// pass untouched (unlike poem's `SizeLimit`, which demands a length). A body whose stream
/// fails with `TimedOut` (the server's body read timeout) gets 408, and the connection is
/// closed.
pub async fn read_body(req: &mut Request, limit: usize) -> Option<Response> {
    let too_large = || Problem::new(ProblemType::PayloadTooLarge, too_large_detail(limit)).into_response();
    let declared = req.header(header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Some(too_large());
    }
    match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => {
            req.set_body(bytes);
            None
        }
        Err(ReadBodyError::PayloadTooLarge) => Some(too_large()),
        Err(ReadBodyError::Io(e)) if e.kind() == std::io::ErrorKind::TimedOut => {
            let mut response =
                Problem::new(ProblemType::RequestTimeout, "the request body did not arrive in time").into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            Some(response)
        }
        Err(e) => Some(
            Problem::new(ProblemType::MalformedRequest, format!("cannot read the request body: {e}")).into_response(),
        ),
    }
}

/// "the request body is over the 64 KiB limit (65536 bytes)".
fn too_large_detail(limit: usize) -> String {
    match limit {
        l if l >= 1024 * 1024 && l % (1024 * 1024) == 0 => {
            format!("the request body is over the {} MiB limit ({limit} bytes)", l / (1024 * 1024))
        }
        l if l >= 1024 && l % 1024 == 0 => {
            format!("the request body is over the {} KiB limit ({limit} bytes)", l / 1024)
        }
        _ => format!("the request body is over the limit of {limit} bytes"),
    }
}

/// Converts framework errors (routing, parameters, content type) into problem+json.
pub fn error_response(error: poem::Error) -> Response {
    if error.is::<NotFoundError>() || error.is::<ParsePathError>() {
        return Problem::new(ProblemType::NotFound, "no resource exists at this URL").into_response();
    }
    if error.is::<AuthorizationError>() {
        let mut response =
            Problem::new(ProblemType::Unauthenticated, "send an access token: Authorization: Bearer <token>")
                .into_response();
        if let Ok(challenge) = HeaderValue::from_str(&www_authenticate(None)) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        return response;
    }
    if error.is::<MethodNotAllowedError>() {
        return Problem::new(ProblemType::MethodNotAllowed, "this URL does not support the method").into_response();
    }
    if let Some(e) = error.downcast_ref::<ParseParamError>() {
        let field = FieldProblem { row: None, field: e.name.to_owned(), message: e.reason.clone() };
        return Problem::new(ProblemType::Validation, e.to_string()).with_errors(vec![field]).into_response();
    }
    if let Some(e) = error.downcast_ref::<ContentTypeError>() {
        return Problem::new(ProblemType::UnsupportedMediaType, e.to_string()).into_response();
    }
    if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        return Problem::new(ProblemType::MalformedRequest, e.to_string()).into_response();
    }
    let response = error.into_response();
    if response.content_type().is_some_and(|ct| ct.starts_with(PROBLEM_JSON)) {
        return response;
    }
    // Anything else: keep the status, never the (possibly internal) text.
    let status = response.status();
    tracing::warn!(status = status.as_u16(), "unclassified framework error");
    generic_problem(status).into_response()
}

fn generic_problem(status: StatusCode) -> Problem {
    Problem {
        problem_type: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: None,
        errors: None,
    }
}

/// Answers a panic with a problem+json 500 and logs it; the server keeps serving.
#[derive(Debug, Clone, Copy)]
pub struct ProblemOnPanic;

impl PanicHandler for ProblemOnPanic {
    type Response = Response;

    fn get_response(&self, panic: Box<dyn Any + Send + 'static>) -> Response {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %message, "handler panicked");
        Problem::new(ProblemType::Internal, "an unexpected error occurred").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_of_webhook_path_is_masked_after_the_route() {
        let masked = "/webhooks/africastalking/delivery-reports/***";
        for path in [
            "/webhooks/africastalking/delivery-reports/s3cret",
            "/webhooks/africastalking/delivery-reports/s3cret/",
            "/webhooks/africastalking/delivery-reports/s3cret/x/y",
            "/webhooks/africastalking/delivery-reports//s3cret",
        ] {
            assert_eq!(loggable_path(path), masked, "{path}");
        }
        for callback in ["incoming", "opt-outs"] {
            for path in [
                format!("/webhooks/africastalking/{callback}/s3cret"),
                format!("/webhooks/africastalking/{callback}/s3cret/"),
            ] {
                assert_eq!(loggable_path(&path), format!("/webhooks/africastalking/{callback}/***"), "{path}");
            }
        }
        let cases = [
            ("/webhooks/africastalking/opt-outs%2Fs3cret", "/webhooks/africastalking/***"),
            ("/webhooks/africastalking/Incoming/s3cret", "/webhooks/africastalking/Incoming/***"),
            ("/webhooks//africastalking/delivery-reports/s3cret", "/webhooks//africastalking/delivery-reports/***"),
            ("/webhooks/africastalking/delivery%2Dreports/s3cret", "/webhooks/africastalking/delivery%2Dreports/***"),
            ("/WEBHOOKS/africastalking/Delivery-Reports/s3cret", "/WEBHOOKS/africastalking/Delivery-Reports/***"),
            ("/webhooks/africastalking/delivery-reports%2Fs3cret", "/webhooks/africastalking/***"),
            ("/webhooks%2Fafricastalking%2Fdelivery-reports%2Fs3cret", "/***"),
            ("/webhooks/africastalking/s3cret", "/webhooks/africastalking/***"),
            ("/webhooks/s3cret/delivery-reports", "/webhooks/***"),
        ];
        for (path, shown) in cases {
            assert_eq!(loggable_path(path), shown, "{path}");
        }
    }

    #[test]
    fn other_paths_are_logged_as_they_are() {
        for path in [
            "/",
            "/api/v1/orders/0193",
            "/healthz",
            "/webhooks/africastalking/delivery-reports",
            "/webhooks/africastalking/incoming",
            "/api/v1/customers/0193/messages",
        ] {
            assert_eq!(loggable_path(path), path);
        }
    }

    /// The shortcut for paths without escapes or webhook segments agrees with the full
    /// masking on every path made of these segments, up to five deep.
    #[test]
    fn the_shortcut_agrees_with_the_full_masking() {
        let segments =
            ["", "api", "webhooks", "WebHooks", "africastalking", "delivery-reports", "Incoming", "opt-outs", "s3cret"];
        let mut paths = vec![String::new()];
        for _ in 0..5 {
            paths = paths.iter().flat_map(|p| segments.iter().map(move |s| format!("{p}/{s}"))).collect();
            for path in &paths {
                assert_eq!(loggable_path(path), masked_path(path), "{path}");
            }
        }
    }

    #[test]
    fn the_413_detail_names_the_configured_limit() {
        assert_eq!(too_large_detail(65536), "the request body is over the 64 KiB limit (65536 bytes)");
        assert_eq!(too_large_detail(2 * 1024 * 1024), "the request body is over the 2 MiB limit (2097152 bytes)");
        assert_eq!(too_large_detail(1000), "the request body is over the limit of 1000 bytes");
    }
}
