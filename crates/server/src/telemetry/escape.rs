//! The pretty log format keeps one event on one line: a logged value (a header, an item name)
//! with a line break cannot forge a log line of its own. The JSON format escapes by itself
//! (RFC 8259 section 7).

use std::fmt;

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};

/// Fields as tracing-subscriber's [`DefaultFields`] writes them (without colours), with every
/// control character (CR, LF, tab, ESC, C1 controls) and the Unicode line and paragraph
/// separators written as escapes: `\n`, `\r`, `\t`, `\u{1b}`.
#[derive(Debug, Default)]
pub struct EscapedFields(DefaultFields);

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut plain = String::new();
        self.0.format_fields(Writer::new(&mut plain), fields)?;
        write_escaped(&mut writer, &plain)
    }
}

fn write_escaped(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            '\u{2028}' | '\u{2029}' => write!(out, "\\u{{{:x}}}", u32::from(c))?,
            c if c.is_control() => write!(out, "\\u{{{:x}}}", u32::from(c))?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn line_breaks_in_logged_values_stay_on_the_event_line() {
        let output = Shared::default();
        let writer = output.clone();
        let layer = super::super::pretty_layer(move || writer.clone()).with_ansi(false);
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            let span = tracing::info_span!("request", path = %"/x\r\nFAKE SPAN LINE");
            let _entered = span.enter();
            tracing::warn!(
                item = %"Maize\nFAKE LINE",
                header = ?"a\nb",
                colour = %"\u{1b}[31m",
                "ordered {}",
                "flour\u{2028}FAKE\u{1b}[2J"
            );
        });
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with('\n'), "{text}");
        assert!(!text.contains('\u{1b}'), "no terminal escape: {text}");
        for escaped in ["item=Maize\\nFAKE LINE", "/x\\r\\nFAKE SPAN LINE", "flour\\u{2028}FAKE", "colour=\\u{1b}[31m"]
        {
            assert!(text.contains(escaped), "{escaped} in {text}");
        }
    }
}
