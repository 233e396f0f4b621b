//! W3C Trace Context (`traceparent`, `tracestate`; <https://www.w3.org/TR/trace-context/>):
//! the one place the process reads and writes it, through OpenTelemetry's
//! `TraceContextPropagator`. The server's middleware [`continue_or_start`]s a context for
//! each request and runs the request [`in_scope`]; every outgoing call made on the request's
//! behalf (Africa's Talking, the JWKS, webhooks) sends [`outgoing_headers`], and the response
//! names the server's span with [`traceparent`].

use std::collections::HashMap;
use std::future::Future;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt, TraceFlags, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

tokio::task_local! {
    /// The server's span of the request being served.
    static CURRENT: SpanContext;
}

/// The caller's span, from a valid `traceparent` (and its `tracestate`); an invalid or
/// absent header gives an empty context (the caller is not trusted to have sent one).
pub fn caller(headers: &HeaderMap) -> Context {
    // Without `traceparent` the propagator extracts nothing and answers the current context;
    // most calls send none, so its map and parse are skipped.
    if !headers.contains_key("traceparent") {
        return Context::current();
    }
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), headers.get(name)?.to_str().ok()?.to_owned())))
        .collect();
    TraceContextPropagator::new().extract(&carrier)
}

/// A new span of this server in the caller's trace (same trace id, flags and state), or the
/// root of a new, sampled trace when the caller sent no valid context.
pub fn continue_or_start(headers: &HeaderMap) -> SpanContext {
    let ids = RandomIdGenerator::default();
    let caller = caller(headers);
    let parent = caller.span().span_context().clone();
    if parent.is_valid() {
        SpanContext::new(
            parent.trace_id(),
            ids.new_span_id(),
            parent.trace_flags(),
            false,
            parent.trace_state().clone(),
        )
    } else {
        new_root(&ids)
    }
}

fn new_root(ids: &RandomIdGenerator) -> SpanContext {
    SpanContext::new(ids.new_trace_id(), ids.new_span_id(), TraceFlags::SAMPLED, false, TraceState::NONE)
}

/// The W3C fields naming `span` as the parent, as the propagator writes them: `traceparent`,
/// and `tracestate` when not empty.
fn injected(span: &SpanContext) -> HashMap<String, String> {
    let mut carrier = HashMap::new();
    let context = Context::new().with_remote_span_context(span.clone());
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier
}

/// The headers naming `span` as the parent: `traceparent`, and `tracestate` when not empty.
pub fn headers_for(span: &SpanContext) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in injected(span) {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    headers
}

/// The `traceparent` value naming `span` (for a response): `00-{trace id}-{span id}-{flags}`
/// in lowercase hex, only the sampled flag kept, as the propagator writes it (a test compares
/// the two on random contexts); `None` for an invalid span. Written straight into 55 bytes:
/// the propagator's map, `format!` and header-name lookup cost more than the rest of the
/// trace context on each request (docs/benchmarks.md, "Sixth pass").
pub fn traceparent(span: &SpanContext) -> Option<HeaderValue> {
    if !span.is_valid() {
        return None;
    }
    let flags = [span.trace_flags().to_u8() & TraceFlags::SAMPLED.to_u8()];
    let mut value = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let (trace_id, rest) = value[3..].split_at_mut(32);
    let (span_id, rest) = rest[1..].split_at_mut(16);
    hex::encode_to_slice(span.trace_id().to_bytes(), trace_id).ok()?;
    hex::encode_to_slice(span.span_id().to_bytes(), span_id).ok()?;
    hex::encode_to_slice(flags, &mut rest[1..]).ok()?;
    HeaderValue::from_bytes(&value).ok()
}

/// Runs `work` with `span` as the current request's span, for [`outgoing_headers`].
pub async fn in_scope<F: Future>(span: SpanContext, work: F) -> F::Output {
    CURRENT.scope(span, work).await
}

/// The trace headers for an outgoing call: the current request's span as the parent, or a
/// new trace when no request is being served (the SMS dispatcher sends after the request).
pub fn outgoing_headers() -> HeaderMap {
    let span = CURRENT.try_with(Clone::clone).unwrap_or_else(|_| new_root(&RandomIdGenerator::default()));
    headers_for(&span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_traceparent(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_str(value).unwrap());
        headers
    }

    const INCOMING: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    /// The response's `traceparent` is the propagator's, on random contexts of either flag.
    #[test]
    fn traceparent_is_written_as_the_propagator_writes_it() {
        let ids = RandomIdGenerator::default();
        for round in 0..2_000_u32 {
            let flags = TraceFlags::new(u8::try_from(round % 256).unwrap());
            let span = SpanContext::new(ids.new_trace_id(), ids.new_span_id(), flags, round % 3 == 0, TraceState::NONE);
            let expected = injected(&span).remove("traceparent");
            let written = traceparent(&span).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(written, expected, "{span:?}");
        }
        assert_eq!(traceparent(&SpanContext::empty_context()), None);
        assert_eq!(injected(&SpanContext::empty_context()).remove("traceparent"), None);
    }

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span() {
        let mut headers = with_traceparent(INCOMING);
        headers.insert("tracestate", HeaderValue::from_static("vendor=opaque"));
        let span = continue_or_start(&headers);
        assert_eq!(span.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(span.span_id().to_string(), "00f067aa0ba902b7");
        let outgoing = headers_for(&span);
        let traceparent = outgoing["traceparent"].to_str().unwrap();
        assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && traceparent.ends_with("-01"));
        assert_eq!(outgoing["tracestate"], "vendor=opaque");
        // What we send is what a next hop reads back.
        assert_eq!(caller(&outgoing).span().span_context().span_id(), span.span_id());
    }

    #[test]
    fn invalid_traceparents_start_a_new_trace() {
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert!(!caller(&with_traceparent(invalid)).span().span_context().is_valid(), "{invalid}");
            let span = continue_or_start(&with_traceparent(invalid));
            assert!(span.is_valid() && span.is_sampled(), "{invalid}");
            assert_ne!(span.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736", "{invalid}");
        }
        // A later version may append fields.
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
        assert!(caller(&with_traceparent(future)).span().span_context().is_valid());
    }

    #[tokio::test]
    async fn outgoing_calls_continue_the_request_in_scope_and_start_a_trace_outside_it() {
        let span = continue_or_start(&with_traceparent(INCOMING));
        let expected = traceparent(&span).unwrap();
        let sent = in_scope(span, async { outgoing_headers() }).await;
        assert_eq!(sent["traceparent"], expected);
        let outside = outgoing_headers();
        let root = caller(&outside).span().span_context().clone();
        assert!(root.is_valid());
        assert_ne!(root.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }
}
