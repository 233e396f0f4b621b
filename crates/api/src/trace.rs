//! W3C trace context (`traceparent`): a request continues its caller's trace, or starts one.
//! The server puts the context in request data; the request's log span carries its trace id.
//! The format is small and fixed, so it is parsed here rather than pulling in OpenTelemetry.

use poem::Request;
use uuid::Uuid;

pub const TRACEPARENT: &str = "traceparent";

/// This server's span within a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    span_id: String,
    flags: String,
}

impl TraceContext {
    /// Continues a valid incoming `traceparent` (same trace id and flags, a new span id);
    /// starts a new trace when it is absent or invalid.
    pub fn continue_or_start(incoming: Option<&str>) -> Self {
        match incoming.and_then(parse) {
            Some((trace_id, flags)) => Self { trace_id, span_id: random_hex(16), flags },
            None => Self { trace_id: random_hex(32), span_id: random_hex(16), flags: "01".into() },
        }
    }

    /// 32 lowercase hex digits.
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The header value naming this span as the parent, for responses and outgoing calls.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }
}

/// The trace id of the request, when the server set a context.
pub fn trace_id(req: &Request) -> Option<&str> {
    req.data::<TraceContext>().map(TraceContext::trace_id)
}

/// `version-traceid-parentid-flags`; returns the trace id and flags of a valid value.
fn parse(value: &str) -> Option<(String, String)> {
    let value = value.trim();
    let parts: Vec<&str> = value.splitn(5, '-').collect();
    let [version, trace_id, parent_id, flags, rest @ ..] = parts.as_slice() else { return None };
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let valid = hex(version, 2)
        && *version != "ff"
        // Version 00 has exactly four fields; later versions may append more.
        && (rest.is_empty() || *version != "00")
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && hex(flags, 2);
    valid.then(|| (trace_id.to_string(), flags.to_string()))
}

fn random_hex(len: usize) -> String {
    let mut hex = Uuid::new_v4().simple().to_string();
    hex.truncate(len);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_is_continued_with_a_new_span() {
        let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::continue_or_start(Some(incoming));
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let outgoing = context.traceparent();
        assert!(outgoing.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && outgoing.ends_with("-01"));
        assert_ne!(outgoing, incoming);
        assert_eq!(parse(&outgoing).map(|(t, _)| t), Some(context.trace_id().to_owned()));
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
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
        ] {
            assert_eq!(parse(invalid), None, "{invalid}");
            let context = TraceContext::continue_or_start(Some(invalid));
            assert_eq!(context.trace_id().len(), 32);
            assert_ne!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        }
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some());
    }
}
