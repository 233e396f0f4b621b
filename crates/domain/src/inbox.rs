//! Text messages customers send to the shop's number or shortcode (Africa's Talking's
//! incoming-message callback, contract §2.1), and the stop words that opt a sender out.

use chrono::{DateTime, NaiveDateTime, Utc};
use uuid::Uuid;

/// The words that, sent alone, opt the sender out of texts: English `STOP`, and Swahili
/// `ACHA` ("leave off") and `SITISHA` ("stop, suspend").
pub const STOP_WORDS: [&str; 3] = ["STOP", "ACHA", "SITISHA"];

/// Whether `text` asks for no more texts: after trimming and collapsing inner white space,
/// the whole text is one of [`STOP_WORDS`], ignoring ASCII case. So `"stop "`, `" Acha"` and
/// `"SITISHA\n"` are stop words; `"stop please"` and `"STOPP"` are not.
pub fn is_stop_word(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    let normalised = words.join(" ");
    STOP_WORDS.iter().any(|word| word.eq_ignore_ascii_case(&normalised))
}

/// A message as Africa's Talking posted it: raw text fields, not yet interpreted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncomingSms {
    /// AT's `id`: unique per message, so a repeated callback is recognised.
    pub provider_id: String,
    /// AT's `from`: the sender's number, usually E.164.
    pub from: String,
    /// AT's `to`: the shortcode or number the message was sent to.
    pub to: String,
    /// AT's `text`: what the customer wrote (may contain line breaks).
    pub text: String,
    /// AT's `linkId`: present for messages to a premium/on-demand shortcode.
    pub link_id: Option<String>,
    /// AT's `date`, as sent (e.g. `2026-11-30 09:30:12`); see [`parse_provider_date`].
    pub date: Option<String>,
    /// AT's `networkCode`: the sender's mobile network (e.g. `63902` Safaricom).
    pub network_code: Option<String>,
    /// The whole form as received, kept for audit.
    pub raw: String,
}

/// A stored incoming message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Our id (UUIDv7, so lists sort by arrival).
    pub id: Uuid,
    /// AT's `id`; unique.
    pub provider_id: String,
    /// The sender in E.164 when it parses as a phone number, else as sent. Messages are
    /// matched to customers by this number when read, not when stored.
    pub sender: String,
    /// The shortcode or number it was sent to (AT's `to`).
    pub recipient: String,
    /// The text as sent.
    pub text: String,
    /// AT's `linkId`.
    pub link_id: Option<String>,
    /// AT's `date` as sent.
    pub date_raw: Option<String>,
    /// AT's `date` read as UTC; `None` when absent or unreadable.
    pub sent_at: Option<DateTime<Utc>>,
    /// When this server received it.
    pub received_at: DateTime<Utc>,
    /// The sender's mobile network code.
    pub network_code: Option<String>,
    /// Whether the text was a stop word ([`is_stop_word`]).
    pub stop_word: bool,
    /// The form as received.
    pub raw: String,
}

/// Reads AT's `date`. AT writes `YYYY-MM-DD HH:MM:SS` (optionally with fractions of a
/// second) without a zone; it is read as UTC. An RFC 3339 time (`…T…Z`, `…+03:00`, as AT's
/// inbox API writes) is read with its offset. Anything else, or a year outside 0001-9999, is
/// `None` (the raw text is kept).
pub fn parse_provider_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let parsed = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .into_iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .map(|naive| naive.and_utc())
    })?;
    use chrono::Datelike;
    (1..=9999).contains(&parsed.year()).then(|| chrono::SubsecRound::trunc_subsecs(parsed, 6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stop_words_are_whole_texts_ignoring_case_and_spacing() {
        for text in ["STOP", "stop ", " Acha", "SITISHA\n", "\tsItIsHa\r\n", "  stop  "] {
            assert!(is_stop_word(text), "{text:?}");
        }
        for text in ["stop please", "STOPP", "S TOP", "", "   ", "acha!", "please stop", "ſtop"] {
            assert!(!is_stop_word(text), "{text:?}");
        }
    }

    #[test]
    fn provider_dates_read_as_utc() {
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 9, 30, 12).unwrap();
        assert_eq!(parse_provider_date("2026-11-30 09:30:12"), Some(at));
        assert_eq!(parse_provider_date("2026-11-30T09:30:12Z"), Some(at));
        assert_eq!(parse_provider_date("2026-11-30T12:30:12+03:00"), Some(at));
        assert_eq!(parse_provider_date("2026-11-30 09:30:12.250"), Some(at + chrono::Duration::milliseconds(250)));
        for unreadable in ["", "yesterday", "30/11/2026 09:30", "2026-13-01 00:00:00"] {
            assert_eq!(parse_provider_date(unreadable), None, "{unreadable:?}");
        }
    }
}
