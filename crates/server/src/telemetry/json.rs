//! `log.format = "json"`: one JSON object per line, the same object tracing-subscriber's JSON
//! formatter writes with `flatten_event(true)`, `with_current_span(true)` and
//! `with_span_list(false)`:
//!
//! `{"timestamp":"2026-12-01T05:40:01.123456Z","level":"INFO",<event fields>,"target":"…","span":{<span fields>,"name":"request"}}`
//!
//! The difference is the cost. The span's fields are stored once, as JSON text, when the span
//! opens (tracing-subscriber's `JsonFields`); the stock formatter parses that text back into a
//! map and writes it again for every event, through an adaptor that checks each write as UTF-8.
//! Here the stored object is spliced in as it is and the line is written in one piece
//! (docs/benchmarks.md, "Fifth pass"). A test compares the two formatters' lines.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON line formatter; pair it with `fmt_fields(JsonSpanFields)`, whose stored span
/// fields it splices.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S> FormatEvent<S, JsonSpanFields> for JsonLines
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonSpanFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut stamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut stamp))?;
        let mut line = Vec::with_capacity(384);
        line.extend_from_slice(b"{\"timestamp\":");
        push_json_str(&mut line, &stamp);
        line.extend_from_slice(b",\"level\":\"");
        line.extend_from_slice(meta.level().as_str().as_bytes());
        line.push(b'"');
        event.record(&mut FieldWriter { line: &mut line });
        line.extend_from_slice(b",\"target\":");
        push_json_str(&mut line, meta.target());
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            line.extend_from_slice(b",\"span\":");
            let extensions = span.extensions();
            let stored = extensions.get::<FormattedFields<JsonSpanFields>>().map_or("", |f| f.fields.as_str());
            push_span_object(&mut line, stored, span.metadata().name());
        }
        line.extend_from_slice(b"}\n");
        // One UTF-8 check for the line (every piece above is UTF-8), one write.
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
    }
}

/// The span's stored fields (a JSON object, keys sorted, as [`JsonSpanFields`] writes them) with its
/// `name` added last.
fn push_span_object(line: &mut Vec<u8>, stored: &str, name: &str) {
    match stored.trim().strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(inner) if !inner.trim().is_empty() => {
            line.push(b'{');
            line.extend_from_slice(inner.as_bytes());
            line.push(b',');
        }
        Some(_) => line.push(b'{'),
        // Not an object: what the stock formatter writes in a release build.
        None => line.extend_from_slice(b"{\"field_error\":\"field was no a valid object\","),
    }
    line.extend_from_slice(b"\"name\":");
    push_json_str(line, name);
    line.push(b'}');
}

/// `value` as a JSON string, escaped by serde_json (RFC 8259 §7).
fn push_json_str(line: &mut Vec<u8>, value: &str) {
    // Writing into a `Vec` cannot fail, and a `str` always serializes.
    let _ = serde_json::to_writer(&mut *line, value);
}

/// Writes each event field as `,"name":value`, typed as tracing-serde types them: numbers and
/// booleans bare, `Debug` values as their text.
struct FieldWriter<'a> {
    line: &'a mut Vec<u8>,
}

impl FieldWriter<'_> {
    fn entry(&mut self, field: &Field, value: &impl serde::Serialize) {
        self.line.push(b',');
        push_json_str(self.line, field.name());
        self.line.push(b':');
        if serde_json::to_writer(&mut *self.line, value).is_err() {
            self.line.extend_from_slice(b"null");
        }
    }
}

impl Visit for FieldWriter<'_> {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, &value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field, &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field, &format!("{value:?}"));
    }
}

/// A span's fields, stored once as a JSON object when the span opens: the text
/// tracing-subscriber's `JsonFields` stores (keys sorted, a later value for a key replacing an
/// earlier one, `Debug` values as text, `log.` metadata left out, `r#` taken off raw names),
/// written straight from the values rather than through a map of `serde_json::Value`s.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonSpanFields;

impl<'writer> FormatFields<'writer> for JsonSpanFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut entries = SpanEntries::default();
        fields.record(&mut entries);
        entries.0.sort_by_key(|(name, _)| *name);
        // A stable sort keeps recording order: the last of equal keys is the one kept.
        let mut object = Vec::with_capacity(128);
        object.push(b'{');
        for (i, (name, value)) in entries.0.iter().enumerate() {
            if entries.0.get(i + 1).is_some_and(|(next, _)| next == name) {
                continue;
            }
            if object.len() > 1 {
                object.push(b',');
            }
            push_json_str(&mut object, name);
            object.push(b':');
            object.extend_from_slice(value);
        }
        object.push(b'}');
        writer.write_str(std::str::from_utf8(&object).map_err(|_| fmt::Error)?)
    }

    /// Fields recorded after the span opened: merged into the stored object through
    /// `serde_json` (rare: orderdesk records none after the fact).
    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        if current.is_empty() {
            return self.format_fields(current.as_writer(), fields);
        }
        let mut merged: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&current.fields).map_err(|_| fmt::Error)?;
        let mut entries = SpanEntries::default();
        fields.record(&mut entries);
        for (name, value) in entries.0 {
            merged.insert(name.to_owned(), serde_json::from_slice(&value).map_err(|_| fmt::Error)?);
        }
        current.fields = serde_json::to_string(&merged).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

/// A span's fields in recording order, each value as JSON text.
#[derive(Default)]
struct SpanEntries(Vec<(&'static str, Vec<u8>)>);

impl SpanEntries {
    fn push(&mut self, name: &'static str, value: &impl serde::Serialize) {
        let mut text = Vec::with_capacity(16);
        if serde_json::to_writer(&mut text, value).is_err() {
            text = b"null".to_vec();
        }
        self.0.push((name, text));
    }
}

impl Visit for SpanEntries {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field.name(), &value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field.name(), &value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field.name(), &value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field.name(), &value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field.name(), &value);
    }

    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.push(field.name(), &value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        self.push(name.strip_prefix("r#").unwrap_or(name), &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    /// Logs the same events through tracing-subscriber's JSON formatter (`stock`) or ours and
    /// returns the lines, each with its timestamp's value cut out.
    fn lines(stock: bool) -> Vec<String> {
        let out = Captured::default();
        let layer = tracing_subscriber::fmt::layer().json().flatten_event(true).with_current_span(true);
        let layer = layer.with_span_list(false).with_writer(out.clone());
        let dispatch = match stock {
            true => tracing::Dispatch::new(tracing_subscriber::registry().with(layer)),
            false => {
                let layer = layer.fmt_fields(JsonSpanFields).event_format(JsonLines);
                tracing::Dispatch::new(tracing_subscriber::registry().with(layer))
            }
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::info!(count = 3_u64, "outside any span");
            let span = tracing::info_span!("request", request_id = "0193-a", path = %"/api/v1/orders", trace_id = None::<&str>);
            let _entered = span.enter();
            tracing::info!(status = 200_u64, latency_ms = 1_u64, subject = Some("auth0|a"), "request finished");
            tracing::warn!(error = %"a \"quoted\"\nline", signed = -4_i64, ratio = 0.5, flag = true, "odd values");
            tracing::error!(debugged = ?vec!["é", "\u{1}"], big = u128::MAX, "debug values");
            let later = tracing::info_span!("later", b = tracing::field::Empty, a = 1_u64, a = 2_u64);
            later.record("b", "recorded after");
            later.record("b", "and again");
            later.in_scope(|| tracing::info!(r#type = ?"raw", bytes = &b"\x01"[..], "recorded later"));
            let empty = tracing::info_span!("empty");
            let _inner = empty.enter();
            tracing::info!("in an empty span");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let _: serde_json::Value = serde_json::from_str(line).unwrap();
                let (stamp, rest) = line.strip_prefix("{\"timestamp\":\"").unwrap().split_once('"').unwrap();
                assert_eq!(stamp.len(), "2026-12-01T05:40:01.123456Z".len(), "{line}");
                rest.to_owned()
            })
            .collect()
    }

    /// The `log` SMS provider's line: one `message` key (the event's), the SMS under `text`.
    #[test]
    fn the_log_providers_line_keeps_its_message_and_the_text_apart() {
        use orderdesk_domain::ports::SmsGateway;
        let out = Captured::default();
        let layer = tracing_subscriber::fmt::layer().fmt_fields(JsonSpanFields).event_format(JsonLines);
        let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(layer.with_writer(out.clone())));
        let region = orderdesk_domain::PhoneRegion::parse("KE").unwrap();
        let to = orderdesk_domain::PhoneNumber::parse("+254711000001", region).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            let gateway = orderdesk_adapters::sms::LogSmsGateway;
            runtime.block_on(gateway.send(&to, "order ORD-1 received")).unwrap();
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.matches("\"message\":").count(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "SMS (log provider: not sent to a phone)");
        assert_eq!(line["text"], "order ORD-1 received");
    }

    /// Byte for byte, keys in the same order, escapes the same.
    #[test]
    fn lines_are_those_of_tracing_subscribers_json_formatter() {
        let ours = lines(false);
        assert_eq!(ours.len(), 6);
        assert_eq!(ours, lines(true));
        assert!(
            ours[1].contains("\"span\":{\"path\":\"/api/v1/orders\",\"request_id\":\"0193-a\",\"name\":\"request\"}")
        );
        assert!(ours[5].ends_with(",\"span\":{\"name\":\"empty\"}}"), "{}", ours[5]);
    }
}
