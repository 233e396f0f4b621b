//! Times as requests write them: RFC 3339 §5.6 `date-time` exactly, read into UTC.
//!
//! chrono alone is lenient where clients are not: it reads a leap second (`:60`, which
//! Python and JavaScript cannot parse back and PostgreSQL rounds to the next minute) and
//! more. The grammar is checked here first, then chrono checks the calendar.

use chrono::{DateTime, Timelike, Utc};

use crate::error::InvalidValue;

/// The most fractional-second digits accepted (nanoseconds).
pub const MAX_FRACTION_DIGITS: usize = 9;

/// Parses `2026-11-26T09:30:00Z`, `2026-11-26T12:30:00.5+03:00` (lower-case `t`/`z` too, as
/// RFC 3339 allows) into UTC.
///
/// # Errors
/// [`InvalidValue::Timestamp`] for anything else: second 60, `+0300`, `UTC`, a space for `T`,
/// surrounding spaces, more than [`MAX_FRACTION_DIGITS`] fractional digits, impossible dates.
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, InvalidValue> {
    if !follows_the_grammar(text.as_bytes()) {
        return Err(InvalidValue::Timestamp);
    }
    let time = DateTime::parse_from_rfc3339(text).map_err(|_| InvalidValue::Timestamp)?;
    // chrono keeps a leap second as a nanosecond count of one second or more.
    if time.nanosecond() >= 1_000_000_000 {
        return Err(InvalidValue::Timestamp);
    }
    Ok(time.with_timezone(&Utc))
}

/// `full-date "T" partial-time time-offset` with `time-offset = "Z" / ("+" / "-") hh ":" mm`.
fn follows_the_grammar(text: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| text.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let at = |i: usize, allowed: &[u8]| text.get(i).is_some_and(|b| allowed.contains(b));
    let head = digits(0..4)
        && at(4, b"-")
        && digits(5..7)
        && at(7, b"-")
        && digits(8..10)
        && at(10, b"Tt")
        && digits(11..13)
        && at(13, b":")
        && digits(14..16)
        && at(16, b":")
        && digits(17..19);
    if !head {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 || count > MAX_FRACTION_DIGITS {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_date_times_are_read_into_utc() {
        let cases = [
            ("2026-11-26T09:30:00Z", "2026-11-26T09:30:00+00:00"),
            ("2026-11-26t09:30:00z", "2026-11-26T09:30:00+00:00"),
            ("2026-11-26T12:30:00+03:00", "2026-11-26T09:30:00+00:00"),
            ("2026-11-26T09:30:00.123456789-01:30", "2026-11-26T11:00:00.123456789+00:00"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"),
        ];
        for (text, utc) in cases {
            assert_eq!(parse_rfc3339(text).unwrap().to_rfc3339(), utc, "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "2026-11-26T09:30:60Z",
            "2026-12-31T23:59:60Z",
            "2026-11-26T09:30:00+0300",
            "2026-11-26T09:30:00 UTC",
            "2026-11-26T09:30:00UTC",
            "2026-11-26 09:30:00Z",
            " 2026-11-26T09:30:00Z",
            "2026-11-26T09:30:00Z ",
            "2026-11-26T09:30Z",
            "2026-11-26T09:30:00",
            "2026-11-26T09:30:00.Z",
            "2026-11-26T09:30:00.1234567891Z",
            "2026-02-30T09:30:00Z",
            "2026-11-26T24:00:00Z",
            "2026-11-26T09:30:00+24:00",
            "+12026-11-26T09:30:00Z",
            "2026-11-26T09:30:00+03:00:00",
            "",
        ] {
            assert_eq!(parse_rfc3339(text), Err(InvalidValue::Timestamp), "{text:?}");
        }
    }
}
