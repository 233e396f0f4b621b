//! The request's W3C trace id, as request data. The server's trace-context middleware
//! (`orderdesk_adapters::trace_context`, OpenTelemetry's propagator) reads the caller's
//! `traceparent` and sets it; the request's log span and problem details show it.

use poem::Request;

/// A trace id: 32 lowercase hex digits, not all zero (W3C Trace Context §3.2.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceId(pub String);

/// The trace id of the request, when the server set one.
pub fn trace_id(req: &Request) -> Option<&str> {
    req.data::<TraceId>().map(|id| id.0.as_str())
}
