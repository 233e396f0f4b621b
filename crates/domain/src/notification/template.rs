//! The order SMS text: a template with placeholders, filled in one pass so that customer data
//! is never read as template (an item named `{time}` stays `{time}`).

use std::borrow::Cow;

use chrono_tz::Tz;
use unicode_segmentation::UnicodeSegmentation;

use super::encoding::{self, SmsEncoding, SmsLength, gsm7_lossy};
use crate::language::Language;
use crate::money::Money;
use crate::order::Order;
use crate::status::CancelReason;

/// A placeholder the template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Reference,
    Item,
    Amount,
    Currency,
    Date,
    Time,
    Shop,
    CancelReason,
}

impl Field {
    const ALL: [(&'static str, Field); 8] = [
        ("reference", Field::Reference),
        ("item", Field::Item),
        ("amount", Field::Amount),
        ("currency", Field::Currency),
        ("date", Field::Date),
        ("time", Field::Time),
        ("shop", Field::Shop),
        ("cancel_reason", Field::CancelReason),
    ];
}

/// The placeholders a template may use, as written: `{reference}`, `{item}`, ...
pub const PLACEHOLDERS: [&str; 8] =
    ["reference", "item", "amount", "currency", "date", "time", "shop", "cancel_reason"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(Field),
}

/// Whether `name` is written like a placeholder: ASCII letters, digits and `_`, starting with a letter.
fn is_placeholder_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Splits a template into literal text and placeholders. A `{` that does not open a
/// placeholder-like name (`{ }`, `{1}`, an unclosed `{`) stays literal.
///
/// # Errors
/// [`TemplateError::UnknownPlaceholder`] for a `{name}` that is not one of [`PLACEHOLDERS`].
fn parse(template: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let named = after.find('}').map(|close| (&after[..close], close)).filter(|(name, _)| is_placeholder_name(name));
        let field = match named {
            Some((name, close)) => match Field::ALL.iter().find(|(n, _)| *n == name) {
                Some((_, field)) => Some((*field, close)),
                None => return Err(TemplateError::UnknownPlaceholder(name.to_owned())),
            },
            None => None,
        };
        match field {
            Some((field, close)) => {
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                segments.push(Segment::Field(field));
                rest = &after[close + 1..];
            }
            None => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    Ok(segments)
}

/// The widest `{reference}`: a 4-character prefix and 8 digits ([`OrderReference::MAX_CHARS`]).
const REFERENCE_WIDTH: usize = crate::OrderReference::MAX_CHARS;
/// The widest `{currency}`: an ISO 4217 code.
const CURRENCY_WIDTH: usize = 3;
/// The widest `{amount}`: every digit [`Money::MAX_MINOR_UNITS`] has, and a decimal point
/// (ISO 4217 minor units have at most 4 digits, so no amount needs a leading `0.`).
const AMOUNT_WIDTH: usize = decimal_digits(Money::MAX_MINOR_UNITS) + 1;
/// The widest `{date}` (`%d %b %Y`, years 0001-9999): `26 Nov 2026`.
const DATE_WIDTH: usize = 11;
/// The widest `{time}` (`%H:%M`): `09:30`.
const TIME_WIDTH: usize = 5;
/// The room kept for each `{item}`: one character and the ellipsis, `x...`.
const MIN_ITEM_WIDTH: usize = 4;
/// What a shortened item ends with (GSM-7 and one unit a character in either coding).
const ELLIPSIS: &str = "...";

const fn decimal_digits(mut n: i64) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

impl Field {
    /// The most characters the field's value can have in `language` (`None` for the item,
    /// which is cut to fit; the shop's name is fixed text by then).
    fn widest(self, language: Language) -> Option<usize> {
        match self {
            Field::Reference => Some(REFERENCE_WIDTH),
            Field::Item | Field::Shop => None,
            Field::Amount => Some(AMOUNT_WIDTH),
            Field::Currency => Some(CURRENCY_WIDTH),
            Field::Date => Some(DATE_WIDTH),
            Field::Time => Some(TIME_WIDTH),
            Field::CancelReason => {
                CancelReason::ALL.into_iter().map(|r| cancel_reason_text(r, language).chars().count()).max()
            }
        }
    }
}

/// How a cancel reason reads in a customer's text (GSM-7 only, so it never changes the coding).
pub fn cancel_reason_text(reason: CancelReason, language: Language) -> &'static str {
    match (language, reason) {
        (Language::En, CancelReason::CustomerRequest) => "at your request",
        (Language::En, CancelReason::OutOfStock) => "out of stock",
        (Language::En, CancelReason::Duplicate) => "duplicate order",
        (Language::En, CancelReason::PaymentFailed) => "payment failed",
        (Language::En, CancelReason::Other) => "other reasons",
        (Language::Sw, CancelReason::CustomerRequest) => "kwa ombi lako",
        (Language::Sw, CancelReason::OutOfStock) => "bidhaa imeisha",
        (Language::Sw, CancelReason::Duplicate) => "imeagizwa mara mbili",
        (Language::Sw, CancelReason::PaymentFailed) => "malipo hayakufanikiwa",
        (Language::Sw, CancelReason::Other) => "kwa sababu nyingine",
    }
}

/// What every template of a shop shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOptions {
    /// IANA time zone of `{date}` and `{time}` (setting `sms.time_zone`).
    pub time_zone: String,
    /// The segments a message may take, at least 1 (setting `sms.max_segments`).
    pub max_segments: u8,
    /// Replace typographic look-alikes by GSM-7 characters (setting `sms.transliterate`).
    pub transliterate: bool,
    /// What `{shop}` reads (setting `shop.name`).
    pub shop_name: String,
}

/// Why [`MessageTemplate::new`] refused a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template is empty or only whitespace.
    #[error("the SMS template must not be empty")]
    Empty,
    /// A `{name}` that is not a placeholder ([`PLACEHOLDERS`]).
    #[error(
        "{{{0}}} is not a placeholder; use {{reference}}, {{item}}, {{amount}}, {{currency}}, {{date}}, {{time}}, {{shop}} or {{cancel_reason}}"
    )]
    UnknownPlaceholder(String),
    /// The time zone is not an IANA time zone name.
    #[error("{0:?} is not an IANA time zone")]
    TimeZone(String),
    /// `max_segments` is 0.
    #[error("the SMS may not take 0 segments; allow at least 1")]
    NoSegments,
    /// Even with every placeholder at its widest and the shortest item, the message would not
    /// fit `max_segments` segments in the template's own coding. Lengths are in that coding's
    /// units (septets for GSM-7, UTF-16 code units for UCS-2); `limit` is
    /// [`SmsEncoding::guaranteed_units`].
    #[error(
        "the SMS template does not fit {max_segments} segment(s): in {encoding} it needs {needed} {units} \
         ({fixed} of fixed text, {placeholders} for placeholders at their widest, {item} for a shortest item) \
         but {max_segments} segment(s) hold {limit}",
        units = .encoding.unit_name()
    )]
    TooLong {
        /// The template's coding: GSM-7 if its fixed text is (after transliteration), else UCS-2.
        encoding: SmsEncoding,
        /// The units of the fixed text.
        fixed: usize,
        /// The units of the placeholders other than `{item}` at their widest.
        placeholders: usize,
        /// The units kept for the item(s): 4 (`x...`) for each `{item}`.
        item: usize,
        /// `fixed + placeholders + item`.
        needed: usize,
        /// The segments allowed.
        max_segments: u8,
        /// The units that always fit in `max_segments` segments.
        limit: usize,
    },
}

/// An order's SMS, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedSms {
    /// The message text.
    pub text: String,
    /// The coding the text needs (GSM-7 or UCS-2).
    pub encoding: SmsEncoding,
    /// The SMS segments it takes: 1 up to the template's `max_segments`.
    pub segments: u8,
}

/// Renders the order SMS from a template with `{reference}`, `{item}`, `{amount}`,
/// `{currency}`, `{date}` and `{time}` (in the configured time zone), so that it always fits
/// the configured number of SMS segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    segments: Vec<Segment>,
    language: Language,
    time_zone: Tz,
    max_segments: u8,
    transliterate: bool,
    encoding: SmsEncoding,
}

impl MessageTemplate {
    /// The template used unless one is configured: GSM-7, 23 septets of fixed text, so even
    /// with the widest reference, amount, currency, date and time there is room for an item in
    /// a single segment in GSM-7 (94 septets) and in UCS-2 (4 code units).
    pub const DEFAULT: &'static str = "Order {reference}: {item}, {currency} {amount}, {date} {time}. Thanks!";
    /// The segments a message may take unless configured (setting `sms.max_segments`).
    pub const DEFAULT_MAX_SEGMENTS: u8 = 1;
    /// Whether look-alikes are transliterated unless configured (setting `sms.transliterate`).
    pub const DEFAULT_TRANSLITERATE: bool = true;

    /// A template whose messages take at most `max_segments` SMS segments (setting
    /// `sms.max_segments`, at least 1). With `transliterate` (setting `sms.transliterate`),
    /// typographic look-alikes in the template and in each item are replaced by GSM-7
    /// characters first ([`transliterate`](super::transliterate)).
    ///
    /// The template's coding is GSM-7 if its fixed text (after transliteration) is all GSM-7,
    /// else UCS-2. It is refused unless, in that coding, its fixed text, plus every placeholder
    /// other than `{item}` at its widest (reference 12, currency 3, amount 16 — the longest
    /// [`Money`] amount string —, date 11, time 5), plus 4 units (`x...`) for each `{item}`,
    /// fits in [`SmsEncoding::guaranteed_units`]`(max_segments)`: 160 septets or 70 UTF-16
    /// code units for one segment; for two or more, 152 septets or 66 code units each (the
    /// 153 / 67 of 3GPP TS 23.040 §9.2.3.24.1, less the one unit an escape sequence or a
    /// surrogate pair moved whole to the next segment may leave unused). That is what lets
    /// [`MessageTemplate::render`] always fit.
    ///
    /// # Errors
    /// [`TemplateError::Empty`] for an empty template, [`TemplateError::TimeZone`] for an
    /// unknown time zone, [`TemplateError::NoSegments`] for `max_segments` 0,
    /// [`TemplateError::TooLong`] (with the units needed and the limit) for a template that
    /// does not leave room for an item.
    pub fn new(template: &str, time_zone: &str, max_segments: u8, transliterate: bool) -> Result<Self, TemplateError> {
        let options =
            TemplateOptions { time_zone: time_zone.to_owned(), max_segments, transliterate, shop_name: "".into() };
        Self::in_language(template, &options, Language::En)
    }

    /// A template for texts in `language`: `{date}` names the month in it and
    /// `{cancel_reason}` reads as [`cancel_reason_text`]. `{shop}` is `options.shop_name`,
    /// taken as fixed text (measured, and transliterated, with it). Otherwise as [`Self::new`].
    ///
    /// # Errors
    /// As [`Self::new`], and [`TemplateError::UnknownPlaceholder`].
    pub fn in_language(template: &str, options: &TemplateOptions, language: Language) -> Result<Self, TemplateError> {
        let TemplateOptions { time_zone, max_segments, transliterate, shop_name } = options;
        let (max_segments, transliterate) = (*max_segments, *transliterate);
        if template.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        let time_zone: Tz = time_zone.parse().map_err(|_| TemplateError::TimeZone(time_zone.clone()))?;
        if max_segments == 0 {
            return Err(TemplateError::NoSegments);
        }
        let mut segments = parse(template)?;
        for segment in &mut segments {
            if *segment == Segment::Field(Field::Shop) {
                *segment = Segment::Text(shop_name.clone());
            }
        }
        if transliterate {
            for segment in &mut segments {
                if let Segment::Text(text) = segment
                    && let Cow::Owned(changed) = encoding::transliterate(text)
                {
                    *text = changed;
                }
            }
        }
        let fixed_text: String =
            segments.iter().filter_map(|s| if let Segment::Text(t) = s { Some(t.as_str()) } else { None }).collect();
        let encoding = SmsEncoding::of(&fixed_text);
        // Placeholder values and the ellipsis are GSM-7 (digits, A-Z, English month names),
        // one unit a character in either coding.
        let fixed = SmsEncoding::measure(&fixed_text).units;
        let fields = segments.iter().filter_map(|s| if let Segment::Field(f) = s { Some(*f) } else { None });
        let (placeholders, items) = fields.fold((0, 0), |(widths, items), field| match field.widest(language) {
            Some(width) => (widths + width, items),
            None => (widths, items + 1),
        });
        let item = items * MIN_ITEM_WIDTH;
        let needed = fixed + placeholders + item;
        let limit = encoding.guaranteed_units(max_segments);
        if needed > limit {
            return Err(TemplateError::TooLong { encoding, fixed, placeholders, item, needed, max_segments, limit });
        }
        Ok(Self { segments, language, time_zone, max_segments, transliterate, encoding })
    }

    /// The language the template writes in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Whether the template uses `{cancel_reason}`.
    pub fn uses_cancel_reason(&self) -> bool {
        self.segments.contains(&Segment::Field(Field::CancelReason))
    }

    /// The segments a message may take.
    pub fn max_segments(&self) -> u8 {
        self.max_segments
    }

    /// The coding of the template's fixed text: a message is GSM-7 only if this is.
    pub fn encoding(&self) -> SmsEncoding {
        self.encoding
    }

    /// The reference a customer can quote: the order's, e.g. `"ORD-1042"` (at most 12 characters).
    pub fn reference(order: &Order) -> String {
        order.reference().as_str().to_owned()
    }

    /// The message for `order`, filled in one pass (customer data is never read as template),
    /// taking at most [`MessageTemplate::max_segments`] segments. Lengths are measured with
    /// [`SmsEncoding::measure`]: the coding follows the whole text (GSM-7 only if every
    /// character is), in septets or UTF-16 code units, packed into segments without splitting
    /// an escape sequence or a surrogate pair (3GPP TS 23.038 §6.2.1, TS 23.040 §9.2.3.24.1).
    ///
    /// The item (transliterated first when the template transliterates) is chosen as follows,
    /// taking the first that fits:
    /// 1. the whole item;
    /// 2. the item cut after its k-th grapheme cluster (so a flag, an emoji sequence or a letter
    ///    with combining marks is never split), trailing white space dropped, and `...`
    ///    appended, for k from one less than the item's cluster count down to 1: the longest
    ///    prefix of the item that fits. A shorter prefix may fit where a longer one does not
    ///    because it stops before the item's first non-GSM-7 character and so stays GSM-7;
    /// 3. the item's GSM-7 form — each cluster without a GSM-7 first character replaced by one
    ///    `?`, the non-GSM-7 characters of the others (combining marks) dropped — whole, then
    ///    cut as in 2 for k from one less than its cluster count down to 0 (`...` alone).
    ///    This is reached when no prefix of the item fits, e.g. because its non-GSM-7
    ///    characters force UCS-2 and the fixed text leaves no room in UCS-2's 70 (or 67) units
    ///    a segment, or because its first cluster alone is too long.
    ///
    /// The start-up check of [`MessageTemplate::new`] makes the last step (`...`) always fit.
    pub fn render(&self, order: &Order) -> RenderedSms {
        self.render_with(order, order.lifecycle().cancellation.as_ref().map(|c| c.reason))
    }

    /// As [`Self::render`], with `{cancel_reason}` read from `cancel_reason` (empty when
    /// `None`) instead of the order's own cancellation: to preview a cancellation text.
    pub fn render_with(&self, order: &Order, cancel_reason: Option<CancelReason>) -> RenderedSms {
        let local = order.ordered_at().with_timezone(&self.time_zone);
        let reference = Self::reference(order);
        let amount = order.amount().amount_string();
        let currency = order.amount().currency().code();
        let date = match self.language {
            Language::En => local.format("%d %b %Y").to_string(),
            Language::Sw => local.format_localized("%d %b %Y", chrono::Locale::sw_KE).to_string(),
        };
        let time = local.format("%H:%M").to_string();
        let cancel_reason = cancel_reason.map(|r| cancel_reason_text(r, self.language)).unwrap_or_default();
        let fill = |item: &str| {
            let mut out = String::new();
            for segment in &self.segments {
                out.push_str(match segment {
                    Segment::Text(text) => text,
                    Segment::Field(Field::Reference) => &reference,
                    Segment::Field(Field::Item) => item,
                    Segment::Field(Field::Amount) => &amount,
                    Segment::Field(Field::Currency) => currency,
                    Segment::Field(Field::Date) => &date,
                    Segment::Field(Field::Time) => &time,
                    Segment::Field(Field::CancelReason) => cancel_reason,
                    // Replaced by fixed text in `in_language`.
                    Segment::Field(Field::Shop) => "",
                });
            }
            out
        };
        let fitting = |item: &str| {
            let text = fill(item);
            let length = SmsEncoding::measure(&text);
            length.fits(self.max_segments).then(|| RenderedSms::new(text, length))
        };
        let item = order.item().as_str();
        let item = if self.transliterate { encoding::transliterate(item) } else { Cow::Borrowed(item) };
        if let Some(sms) = fitting(&item).or_else(|| shortened(&item, 1, &fitting)) {
            return sms;
        }
        let lossy = gsm7_lossy(&item);
        if let Some(sms) = fitting(&lossy).or_else(|| shortened(&lossy, 0, &fitting)) {
            return sms;
        }
        // Unreachable: `new` checked that the template fits with `...` for each item.
        let text = fill(ELLIPSIS);
        let length = SmsEncoding::measure(&text);
        RenderedSms::new(text, length)
    }
}

impl RenderedSms {
    fn new(text: String, length: SmsLength) -> Self {
        Self { text, encoding: length.encoding, segments: u8::try_from(length.segments).unwrap_or(u8::MAX) }
    }
}

/// The first of `item` cut after its k-th grapheme cluster (trailing white space dropped) with
/// `...` appended, for k from one less than its cluster count down to `min_clusters`, that
/// `fitting` accepts. A prefix left empty by dropping white space is tried only when
/// `min_clusters` is 0.
fn shortened<T>(item: &str, min_clusters: usize, fitting: &impl Fn(&str) -> Option<T>) -> Option<T> {
    let starts: Vec<usize> = item.grapheme_indices(true).map(|(start, _)| start).collect();
    starts.iter().enumerate().skip(min_clusters).rev().find_map(|(k, &end)| {
        let mut prefix = &item[..end];
        while let Some((start, last)) = prefix.grapheme_indices(true).next_back() {
            if !last.trim().is_empty() {
                break;
            }
            prefix = &prefix[..start];
        }
        if prefix.is_empty() && k > 0 && min_clusters > 0 {
            return None;
        }
        fitting(&format!("{prefix}{ELLIPSIS}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Currency, CustomerId, ItemName, Money};
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn order_with(item: &str, amount: &str, currency: &str) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 6, 30, 0).unwrap();
        let money = Money::parse(amount, Currency::parse(currency).unwrap()).unwrap();
        let reference = crate::NumberPrefix::default().reference(crate::OrderNumber::new(1042).unwrap());
        Order::new(CustomerId::generate(), reference, ItemName::parse(item).unwrap(), money, at, at, &Actor::new("t"))
    }

    fn order(item: &str) -> Order {
        order_with(item, "250.50", "KES")
    }

    fn template(text: &str, max_segments: u8) -> MessageTemplate {
        MessageTemplate::new(text, "Africa/Nairobi", max_segments, true).unwrap()
    }

    fn default_template() -> MessageTemplate {
        template(MessageTemplate::DEFAULT, MessageTemplate::DEFAULT_MAX_SEGMENTS)
    }

    /// Whether `text` is `item` cut after a whole number of grapheme clusters (trailing white
    /// space dropped) and `...`.
    fn is_cut_at_clusters(text: &str, item: &str) -> bool {
        let Some(prefix) = text.strip_suffix(ELLIPSIS) else { return false };
        let clusters: Vec<&str> = item.graphemes(true).collect();
        let kept: Vec<&str> = prefix.graphemes(true).collect();
        kept.len() < clusters.len() && clusters[..kept.len()] == kept[..]
    }

    #[test]
    fn message_uses_local_time_and_exact_amount() {
        let order = order("Maize flour 2kg");
        let sms = default_template().render(&order);
        let reference = MessageTemplate::reference(&order);
        assert_eq!(sms.text, format!("Order {reference}: Maize flour 2kg, KES 250.50, 26 Nov 2026 09:30. Thanks!"));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
        assert_eq!(reference, "ORD-1042");
    }

    #[test]
    fn placeholders_inside_customer_data_are_not_expanded() {
        let template = template("{item} at {time}", 1);
        let sms = template.render(&order("Tea {time} {amount} {item}"));
        assert_eq!(sms.text, "Tea {time} {amount} {item} at 09:30");
        assert_eq!(sms.encoding, SmsEncoding::Gsm7, "braces are in the GSM-7 extension table");
    }

    #[test]
    fn unclosed_and_non_name_braces_stay_literal_and_unknown_names_are_refused() {
        assert_eq!(template("{ } {1} {item} {", 1).render(&order("Tea")).text, "{ } {1} Tea {");
        assert_eq!(
            MessageTemplate::new("{x} {item}", "UTC", 1, true),
            Err(TemplateError::UnknownPlaceholder("x".into()))
        );
        assert_eq!(
            MessageTemplate::new("{Item}", "UTC", 1, true),
            Err(TemplateError::UnknownPlaceholder("Item".into()))
        );
    }

    fn options(shop: &str) -> TemplateOptions {
        TemplateOptions {
            time_zone: "Africa/Nairobi".into(),
            max_segments: 1,
            transliterate: true,
            shop_name: shop.into(),
        }
    }

    #[test]
    fn swahili_dates_and_reasons_and_the_shop_name_as_fixed_text() {
        let text = "{shop}: Oda {reference} ({item}) {date}: {cancel_reason}";
        let sw = MessageTemplate::in_language(text, &options("Duka la {item} Mama"), Language::Sw).unwrap();
        let sms = sw.render_with(&order("Chai"), Some(CancelReason::OutOfStock));
        assert_eq!(sms.text, "Duka la {item} Mama: Oda ORD-1042 (Chai) 26 Nov 2026: bidhaa imeisha");
        let august = Utc.with_ymd_and_hms(2026, 8, 3, 6, 30, 0).unwrap();
        let mut order = order("Chai");
        order.change(None, None, Some(august), august, &Actor::new("t"));
        assert!(sw.render(&order).text.contains("03 Ago 2026"), "{}", sw.render(&order).text);
        let en = MessageTemplate::in_language(text, &options("Shop"), Language::En).unwrap();
        assert!(en.render(&order).text.contains("03 Aug 2026"));
        assert!(en.render(&order).text.ends_with(": "), "no cancellation: empty reason");
    }

    #[test]
    fn the_shop_name_counts_against_the_segment() {
        let long = "x".repeat(157);
        let err = MessageTemplate::in_language("{shop} {item}", &options(&long), Language::En).unwrap_err();
        assert!(matches!(err, TemplateError::TooLong { fixed: 158, .. }), "{err:?}");
        // The widest reason in Swahili is "malipo hayakufanikiwa" (21 characters).
        let fits = format!("{}{{cancel_reason}}", "x".repeat(139));
        assert!(MessageTemplate::in_language(&fits, &options(""), Language::Sw).is_ok());
        let over = format!("{}{{cancel_reason}}", "x".repeat(140));
        let err = MessageTemplate::in_language(&over, &options(""), Language::Sw).unwrap_err();
        assert!(matches!(err, TemplateError::TooLong { placeholders: 21, .. }), "{err:?}");
    }

    #[test]
    fn extension_characters_keep_an_item_gsm7() {
        let sms = default_template().render(&order("Rice [5kg] {promo}"));
        assert!(sms.text.contains("Rice [5kg] {promo}"));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
    }

    #[test]
    fn look_alikes_are_transliterated_only_when_configured() {
        let shoes = order("Men’s shoes size 42");
        let sms = default_template().render(&shoes);
        assert!(sms.text.contains("Men's shoes size 42"));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
        let literal = MessageTemplate::new(MessageTemplate::DEFAULT, "UTC", 1, false).unwrap();
        let sms = literal.render(&shoes);
        assert_eq!(sms.encoding, SmsEncoding::Ucs2);
        assert!(sms.text.contains("Men’s shoes"), "{}", sms.text);
        // The template's own text is transliterated too.
        let quoted = template("“{item}” – thanks…", 1);
        assert_eq!(quoted.encoding(), SmsEncoding::Gsm7);
        assert_eq!(quoted.render(&order("Tea")).text, "\"Tea\" - thanks...");
    }

    #[test]
    fn long_gsm7_items_are_cut_to_one_segment() {
        let item = "x".repeat(200);
        let sms = default_template().render(&order(&item));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
        assert_eq!(SmsEncoding::measure(&sms.text).units, 160);
        let only = template("{item}", 1).render(&order(&item));
        assert_eq!(only.text, format!("{}...", "x".repeat(157)));
        assert!(is_cut_at_clusters(&only.text, &item));
        // Two segments: 306 septets, of which the item takes 303 and the ellipsis 3.
        assert_eq!(template("{item}", 2).render(&order(&"x".repeat(200))).text.len(), 200);
    }

    #[test]
    fn cuts_drop_trailing_white_space() {
        let item = format!("{} tea", "x".repeat(157));
        assert_eq!(template("{item}", 1).render(&order(&item)).text, format!("{}...", "x".repeat(157)));
    }

    #[test]
    fn non_gsm_items_are_cut_to_one_ucs2_segment() {
        let item = "ж".repeat(100);
        let sms = default_template().render(&order(&item));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Ucs2, 1));
        assert!(sms.text.contains("жж..."), "{}", sms.text);
        let only = template("{reference}: {item}", 1).render(&order(&item));
        assert_eq!(SmsEncoding::measure(&only.text).units, 70);
    }

    #[test]
    fn a_prefix_before_the_first_non_gsm_character_may_win() {
        // In UCS-2 the fixed text alone is too long; cut before the `ж` the item stays GSM-7.
        let template = template(&format!("{} {{item}}", "x".repeat(100)), 1);
        let sms = template.render(&order("Rice 5kg ж"));
        assert_eq!(sms.text, format!("{} Rice 5kg...", "x".repeat(100)));
        assert_eq!(sms.encoding, SmsEncoding::Gsm7);
    }

    #[test]
    fn items_that_cannot_fit_in_ucs2_fall_back_to_gsm7() {
        let template = template(&format!("{} {{item}}", "x".repeat(100)), 1);
        let sms = template.render(&order("Жанна 🇰🇪 e\u{301}"));
        assert_eq!(sms.text, format!("{} ????? ? e", "x".repeat(100)));
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Gsm7, 1));
        // Too long even as GSM-7: the GSM-7 form is cut.
        let sms = template.render(&order(&"ж".repeat(200)));
        assert_eq!(sms.text, format!("{} {}...", "x".repeat(100), "?".repeat(56)));
        // A single cluster too long for any room: `?`.
        let zalgo = format!("ж{}", "\u{301}".repeat(150));
        assert_eq!(template.render(&order(&zalgo)).text, format!("{} ?", "x".repeat(100)));
    }

    #[test]
    fn cuts_never_split_a_grapheme_cluster() {
        let clusters = ["🇰🇪", "👨\u{200D}👩\u{200D}👧\u{200D}👦", "👍🏽", "e\u{301}"];
        for cluster in clusters {
            for filler in 50..72 {
                // UCS-2: 70 units; and GSM-7 filler before a cluster that is not GSM-7.
                for item in [
                    format!("{}{cluster}{}", "ж".repeat(filler), "ж".repeat(80)),
                    format!("{}{cluster}{}", "x".repeat(filler + 90), "x".repeat(30)),
                ] {
                    let sms = template("{item}", 1).render(&order(&item));
                    assert!(is_cut_at_clusters(&sms.text, &item), "{cluster:?} {filler}: {:?}", sms.text);
                    assert_eq!(sms.segments, 1);
                }
            }
        }
    }

    #[test]
    fn the_default_template_fits_one_segment_with_room_for_an_item_even_in_ucs2() {
        assert_eq!(default_template().encoding(), SmsEncoding::Gsm7);
        assert_eq!(default_template().max_segments(), 1);
        // In UCS-2 (one non-GSM character in its fixed text) it would not leave the shortest
        // item's 4 units next to a 12-character reference.
        let err = MessageTemplate::new(&format!("ж{}", MessageTemplate::DEFAULT), "UTC", 1, true).unwrap_err();
        assert_eq!(
            err,
            TemplateError::TooLong {
                encoding: SmsEncoding::Ucs2,
                fixed: 24,
                placeholders: 47,
                item: 4,
                needed: 75,
                max_segments: 1,
                limit: 70,
            }
        );
        // A non-GSM item with an 8-character reference still fits one UCS-2 segment; with a
        // longer one it is sent in GSM-7 look-alikes instead (see `render`).
        let widest = order_with("жжжжж", "9999999999999.99", "KES");
        let sms = default_template().render(&widest);
        assert_eq!((sms.encoding, sms.segments), (SmsEncoding::Ucs2, 1));
        assert!(sms.text.contains(": ж..., KES 9999999999999.99,"), "{}", sms.text);
    }

    #[test]
    fn a_template_without_room_for_an_item_is_refused_with_its_numbers() {
        let long = format!("{} {{item}} {{reference}}", "x".repeat(150));
        let err = MessageTemplate::new(&long, "UTC", 1, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the SMS template does not fit 1 segment(s): in gsm7 it needs 168 septets (152 of fixed text, \
             12 for placeholders at their widest, 4 for a shortest item) but 1 segment(s) hold 160"
        );
        assert!(MessageTemplate::new(&long, "UTC", 2, true).is_ok());
        let ucs2 = format!("{} {{item}}", "ж".repeat(150));
        let err = MessageTemplate::new(&ucs2, "UTC", 2, true).unwrap_err();
        assert!(err.to_string().contains("in ucs2 it needs 155 UTF-16 code units"), "{err}");
        assert!(err.to_string().contains("2 segment(s) hold 132"), "{err}");
        assert!(MessageTemplate::new(&ucs2, "UTC", 3, true).is_ok());
    }

    #[test]
    fn bad_templates_zones_and_segment_counts_are_refused() {
        assert_eq!(MessageTemplate::new(" ", "Africa/Nairobi", 1, true), Err(TemplateError::Empty));
        assert_eq!(
            MessageTemplate::new("x", "Mars/Olympus", 1, true),
            Err(TemplateError::TimeZone("Mars/Olympus".into()))
        );
        assert_eq!(MessageTemplate::new("{item}", "UTC", 0, true), Err(TemplateError::NoSegments));
    }

    #[test]
    fn the_widest_amount_is_the_longest_money_string() {
        assert_eq!(AMOUNT_WIDTH, 16);
        for code in ["KES", "JPY", "KWD", "CLF", "USD"] {
            let currency = Currency::from_stored(code).unwrap();
            let widest = Money::from_minor_units(Money::MAX_MINOR_UNITS, currency).unwrap().amount_string();
            assert!(widest.len() <= AMOUNT_WIDTH, "{code}: {widest}");
        }
        let kes = Money::from_minor_units(Money::MAX_MINOR_UNITS, Currency::parse("KES").unwrap()).unwrap();
        assert_eq!(kes.amount_string().len(), AMOUNT_WIDTH);
    }

    /// Characters that exercise the rules: GSM-7 basic and extension, look-alikes, joiners,
    /// combining marks, regional indicators, skin tones, astral emoji, other scripts.
    fn item_char() -> impl Strategy<Value = char> {
        prop_oneof![
            3 => any::<char>(),
            2 => proptest::char::range(' ', '~'),
            2 => prop::sample::select(vec![
                '€', '[', '{', '|', '^', '\u{200D}', '\u{301}', '\u{1F1F0}', '\u{1F1EA}', '👍', '\u{1F3FD}',
                '👩', 'ж', '中', '’', '…', '\u{A0}', 'é', 'Ç', ' ',
            ]),
        ]
    }

    proptest! {
        #[test]
        fn every_rendered_message_fits_its_segments(
            chars in proptest::collection::vec(item_char(), 1..200),
            max_segments in 1u8..=3,
            transliterate in any::<bool>(),
            widest in any::<bool>(),
        ) {
            let item: String = chars.into_iter().collect();
            let Ok(name) = ItemName::parse(&item) else { return Ok(()) };
            let (amount, currency) = if widest { ("9999999999999.99", "KES") } else { ("12", "JPY") };
            let order = order_with(name.as_str(), amount, currency);
            let widest_fixed = format!("{}{{item}}", "y".repeat(160 - 4));
            let two_items = "{item} / {item} ({reference})";
            let mut templates = vec![MessageTemplate::DEFAULT, "{item}", two_items, "Заказ {reference}: {item}, {amount} {currency}"];
            if max_segments == 1 {
                templates.push(&widest_fixed);
            }
            for text in templates {
                let template = MessageTemplate::new(text, "Africa/Nairobi", max_segments, transliterate).unwrap();
                let sms = template.render(&order);
                let length = SmsEncoding::measure(&sms.text);
                prop_assert!(length.fits(max_segments), "{text}: {length:?} {:?}", sms.text);
                prop_assert_eq!(usize::from(sms.segments), length.segments);
                prop_assert_eq!(sms.encoding, length.encoding);
                let item = if transliterate { encoding::transliterate(name.as_str()) } else { Cow::Borrowed(name.as_str()) };
                if text == "{item}" && sms.text != item {
                    let lossy = gsm7_lossy(&item);
                    prop_assert!(
                        is_cut_at_clusters(&sms.text, &item) || sms.text == *lossy || is_cut_at_clusters(&sms.text, &lossy),
                        "{:?} from {:?}", sms.text, item
                    );
                }
            }
        }
    }
}
