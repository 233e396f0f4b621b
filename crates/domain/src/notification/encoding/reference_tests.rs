//! Replays `data/sms/lengths.tsv` (written by `data/sms/generate.py` from the `gsm0338` codec and
//! Twilio's `sms-segments-calculator`) through [`SmsEncoding::measure`].

use super::*;

/// The references the table was generated with; the table's header must name them.
const GSM0338_VERSION: &str = "1.1.0";
const SMS_SEGMENTS_CALCULATOR_VERSION: &str = "1.3.0";

/// Input as a JSON string, encoding, units, segments, and the source of the expectation:
/// `reference`, or `spec:CATEGORY` where a reference departs from the specs (README.md).
const LENGTHS: &str = include_str!("../../../data/sms/lengths.tsv");

/// Decodes a JSON string literal (quotes included), as Python's `json.dumps` writes it.
fn json_string(literal: &str) -> Result<String, String> {
    let inner = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(|| format!("not a JSON string: {literal:?}"))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex4 = |chars: &mut std::str::Chars<'_>| -> Result<u32, String> {
        let digits: String = chars.take(4).collect();
        u32::from_str_radix(&digits, 16).map_err(|e| format!("bad \\u{digits}: {e}"))
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let escaped = match chars.next() {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{08}',
            Some('f') => '\u{0C}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => {
                let unit = hex4(&mut chars)?;
                let code = if (0xD800..0xDC00).contains(&unit) {
                    if chars.next() != Some('\\') || chars.next() != Some('u') {
                        return Err(format!("lone high surrogate in {literal:?}"));
                    }
                    let low = hex4(&mut chars)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err(format!("bad low surrogate in {literal:?}"));
                    }
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                char::from_u32(code).ok_or_else(|| format!("bad code point {code:#x} in {literal:?}"))?
            }
            other => return Err(format!("bad escape {other:?} in {literal:?}")),
        };
        out.push(escaped);
    }
    Ok(out)
}

#[test]
fn json_strings_decode_like_python_writes_them() {
    assert_eq!(json_string(r#""a\"b\\c\n\t\f\u001b""#).unwrap(), "a\"b\\c\n\t\u{0C}\u{1B}");
    assert_eq!(json_string(r#""\u0436\ud83d\ude00\ud83c\uddf0\ud83c\uddea""#).unwrap(), "ж😀🇰🇪");
    assert!(json_string(r#""\ud83d""#).is_err());
    assert!(json_string("no quotes").is_err());
}

#[test]
fn the_length_table_names_its_reference_versions() {
    let header = LENGTHS.lines().next().unwrap();
    assert!(
        header.starts_with(&format!(
            "# gsm0338 {GSM0338_VERSION} + sms-segments-calculator {SMS_SEGMENTS_CALCULATOR_VERSION} "
        )),
        "header {header:?} does not name gsm0338 {GSM0338_VERSION} and sms-segments-calculator {SMS_SEGMENTS_CALCULATOR_VERSION}"
    );
}

#[test]
fn agrees_with_the_references_on_every_row_of_the_length_table() {
    let mut rows = 0;
    let mut spec_rows = 0;
    let mut disagreements = Vec::new();
    for line in LENGTHS.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [input, encoding, units, segments, source] = fields[..] else {
            panic!("malformed row {line:?}");
        };
        let input = json_string(input).unwrap();
        let expected = SmsLength {
            encoding: SmsEncoding::parse(encoding).unwrap(),
            units: units.parse().unwrap(),
            segments: segments.parse().unwrap(),
        };
        assert!(source == "reference" || source.starts_with("spec:"), "bad source in {line:?}");
        rows += 1;
        spec_rows += usize::from(source != "reference");
        let got = SmsEncoding::measure(&input);
        if got != expected {
            disagreements.push(format!(
                "{input:?} ({source}): expected {} {} units {} segments, we {} {} units {} segments",
                expected.encoding, expected.units, expected.segments, got.encoding, got.units, got.segments
            ));
        }
    }
    assert!(rows > 3000, "only {rows} rows");
    assert!(spec_rows * 10 < rows, "{spec_rows} of {rows} rows overrule the references");
    assert!(disagreements.is_empty(), "{} of {rows} rows disagree:\n{}", disagreements.len(), disagreements.join("\n"));
}
