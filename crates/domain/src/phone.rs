//! Phone numbers: the default region a number is read in, and numbers validated against
//! the numbering plans, held in ITU-T E.164 form.
//!
//! The rules are libphonenumber's, at metadata version [`PHONE_METADATA_VERSION`]: which
//! digits make a valid number of a country (the numbering plan), how national trunk
//! prefixes and international (IDD) prefixes are read, and which country a `+` number
//! belongs to. The metadata is embedded (`data/phone/PhoneNumberMetadata.xml`, converted
//! from libphonenumber by `data/phone/generate.py`) and read by the `phonenumber` crate's
//! loader; the parsing steps below follow libphonenumber's `parse` and `isValidNumber`
//! (the crate's own parser differs from them) and are checked against a table of
//! libphonenumber's verdicts (`data/phone/verdicts.tsv`). A number's line type
//! ([`PhoneLineType`], [`PhoneNumber::line_type`]) is libphonenumber's `getNumberType`,
//! checked against the same table; it decides whether an SMS is sent to the number.
//!
//! One rule is stricter than libphonenumber: **a letter is never a digit**. libphonenumber
//! reads `0712 345 6O8` as `0712 345 668` (keypad letters) and drops `ext. 12`; here any
//! alphabetic character refuses the number, and so do the extension marks `#`, `~`, `;`
//! and `,` (an E.164 number has no extension).

use std::str::FromStr;
use std::sync::{LazyLock, PoisonError};

use phonenumber::country;
use phonenumber::metadata::{Database, Descriptor, Metadata};

use crate::error::InvalidValue;

mod line_type;

pub use line_type::PhoneLineType;

/// The libphonenumber metadata version the numbering plans come from.
pub const PHONE_METADATA_VERSION: &str = "9.0.43";

/// libphonenumber's metadata in the `phonenumber` crate's XML dialect; its first line names
/// the version (checked against [`PHONE_METADATA_VERSION`] by a test).
const METADATA_XML: &str = include_str!("../data/phone/PhoneNumberMetadata.xml");

/// The numbering plans, parsed once on first use (regular expressions compile lazily).
static DATABASE: LazyLock<Database> = LazyLock::new(|| {
    // Invariant: the embedded, generated XML parses; `tests::embedded_metadata_parses` proves it.
    Database::parse(METADATA_XML).expect("the embedded phone metadata parses")
});

/// Evaluates `$body` with `$re` bound to the compiled `$pattern`, from the metadata's
/// regex cache; `None` if the pattern does not compile (the metadata's patterns are
/// checked when it loads). A macro, because the cache's regex type is not nameable here.
macro_rules! with_regex {
    ($pattern:expr, |$re:ident| $body:expr) => {{
        let cache = DATABASE.cache();
        let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.compile(&$pattern).ok().map(|$re| $body)
    }};
}

/// The region assumed for phone numbers written without a country code (ISO 3166 alpha-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(country::Id);

impl PhoneRegion {
    /// Parses an ISO 3166 alpha-2 code such as `KE` (any case, surrounding spaces ignored).
    ///
    /// # Errors
    /// [`InvalidValue::Region`] for a code the phone-number metadata does not know.
    pub fn parse(code: &str) -> Result<Self, InvalidValue> {
        country::Id::from_str(&code.trim().to_ascii_uppercase()).map(Self).map_err(|_| InvalidValue::Region)
    }

    fn code(&self) -> &str {
        self.0.as_ref()
    }
}

impl Default for PhoneRegion {
    /// Kenya.
    fn default() -> Self {
        Self(country::Id::KE)
    }
}

/// A phone number valid in its country's numbering plan, held in ITU-T E.164 form
/// (`+254712345678`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The longest input accepted, in bytes after trimming.
    pub const MAX_INPUT_BYTES: usize = 64;

    /// Parses a number as a person writes it.
    ///
    /// Accepted shapes (libphonenumber's, metadata [`PHONE_METADATA_VERSION`]): national,
    /// with or without the trunk prefix (`0712 345 678`, `712345678` in `KE`); international
    /// with `+` (`+254 712 345 678`, also `+254 0712 345678` where libphonenumber strips the
    /// trunk `0`); international with the region's own IDD prefix (`000 254 712 345 678` in
    /// `KE`, whose IDD is `000`: `00254…` is not international there). Digits may be grouped
    /// with spaces, dashes, dots, slashes and parentheses. A number without `+` or IDD is
    /// read in `region`. The whole number must be valid in its numbering plan: a number
    /// that only starts like a valid one is refused.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`] for a blank input; [`InvalidValue::Phone`] for an input over
    /// [`Self::MAX_INPUT_BYTES`], one containing any letter (any Unicode alphabetic
    /// character, extensions such as `ext 12` included) or an extension mark (`#`, `~`,
    /// `;`, `,`), or one that is not a valid number.
    pub fn parse(input: &str, region: PhoneRegion) -> Result<Self, InvalidValue> {
        let input = input.trim();
        if input.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if input.len() > Self::MAX_INPUT_BYTES {
            return Err(InvalidValue::Phone);
        }
        // A letter is never a digit (libphonenumber maps keypad letters); no extensions.
        if input.chars().any(|c| c.is_alphabetic() || matches!(c, '#' | '＃' | '~' | '～' | ';' | ',')) {
            return Err(InvalidValue::Phone);
        }
        parse_e164(input, region.code()).map(Self).ok_or(InvalidValue::Phone)
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+254712345678` → `***5678`: enough to tell numbers apart (in logs, or for a caller
    /// without `read:customers`), not to text them.
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
        format!("***{tail}")
    }
}

// ---- libphonenumber's parse and isValidNumber, over the embedded metadata ----------------

/// libphonenumber's shortest and longest national significant numbers.
const MIN_NSN: usize = 2;
const MAX_NSN: usize = 17;
const MAX_COUNTRY_CODE_DIGITS: usize = 3;

/// The E.164 form of `input` read in `region`, if libphonenumber finds it valid.
/// `input` has no letters and no extension (checked by the caller).
fn parse_e164(input: &str, region: &str) -> Option<String> {
    let number = extract_possible_number(input);
    if !is_viable(number) {
        return None;
    }
    let default = DATABASE.by_id(region);
    if default.is_none() && !number.starts_with(is_plus) {
        return None;
    }
    let (mut code, mut national) = extract_country_code(number, default)?;
    let mut meta = default;
    if code == 0 {
        national = normalize(number);
        code = default?.country_code();
    } else {
        let main_region = *DATABASE.region(&code)?.first()?;
        if main_region != region {
            meta = metadata_for(code, main_region);
        }
    }
    if national.len() < MIN_NSN {
        return None;
    }
    if let Some(meta) = meta {
        let potential = strip_national_prefix(&national, meta);
        if matches!(possible_length(&potential, meta.descriptors().general()), Length::Possible | Length::TooLong) {
            national = potential;
        }
    }
    if !(MIN_NSN..=MAX_NSN).contains(&national.len()) {
        return None;
    }
    is_valid(code, &national).then(|| format!("+{code}{national}"))
}

fn is_plus(c: char) -> bool {
    matches!(c, '+' | '＋')
}

/// The first characters of each block of ten Unicode decimal digits that libphonenumber
/// reads as digits (ASCII, Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali,
/// Thai, Myanmar, full width).
const DIGIT_ZEROS: [u32; 8] = [0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1040, 0xFF10];

fn digit(c: char) -> Option<char> {
    let c = u32::from(c);
    DIGIT_ZEROS.iter().find(|&&zero| (zero..zero + 10).contains(&c)).and_then(|&zero| char::from_digit(c - zero, 10))
}

/// The ASCII digits of `text`, everything else dropped.
fn normalize(text: &str) -> String {
    text.chars().filter_map(digit).collect()
}

/// libphonenumber's `extractPossibleNumber`: from the first `+` or digit, without trailing
/// characters that are neither letters, digits nor `#`.
fn extract_possible_number(input: &str) -> &str {
    let Some(start) = input.find(|c: char| is_plus(c) || digit(c).is_some()) else {
        return "";
    };
    input[start..].trim_end_matches(|c: char| c == '_' || (c != '#' && !c.is_alphanumeric()))
}

/// libphonenumber's punctuation inside numbers (letters aside: they are refused earlier).
fn is_punctuation(c: char) -> bool {
    matches!(c,
        '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF0D}'..='\u{FF0F}' | ' '
        | '\u{00A0}' | '\u{00AD}' | '\u{200B}' | '\u{2060}' | '\u{3000}' | '(' | ')'
        | '\u{FF08}' | '\u{FF09}' | '\u{FF3B}' | '\u{FF3D}' | '.' | '[' | ']' | '/' | '~'
        | '\u{2053}' | '\u{223C}' | '\u{FF5E}' | '*')
}

/// libphonenumber's `isViablePhoneNumber`: two digits, or leading pluses then at least
/// three digits among punctuation.
fn is_viable(number: &str) -> bool {
    if number.chars().count() == MIN_NSN {
        return number.chars().all(|c| digit(c).is_some());
    }
    let body = number.trim_start_matches(is_plus);
    body.chars().all(|c| digit(c).is_some() || is_punctuation(c))
        && body.chars().filter(|&c| digit(c).is_some()).count() >= 3
}

/// libphonenumber's `maybeExtractCountryCode`: `(code, national digits)`, or `(0, "")` when
/// the number carries no country code; `None` for an unknown code or too few digits.
fn extract_country_code(number: &str, default: Option<&Metadata>) -> Option<(u16, String)> {
    let (from_default, digits) = if number.starts_with(is_plus) {
        (false, normalize(number.trim_start_matches(is_plus)))
    } else {
        let digits = normalize(number);
        match default.and_then(Metadata::international_prefix).and_then(|idd| strip_idd(idd.as_str(), &digits)) {
            Some(rest) => (false, rest),
            None => (true, digits),
        }
    };
    if !from_default {
        if digits.len() <= MIN_NSN || digits.starts_with('0') {
            return None;
        }
        return (1..=MAX_COUNTRY_CODE_DIGITS.min(digits.len())).find_map(|len| {
            let code: u16 = digits[..len].parse().ok()?;
            DATABASE.region(&code).map(|_| (code, digits[len..].to_owned()))
        });
    }
    if let Some(meta) = default {
        let code = meta.country_code();
        if let Some(rest) = digits.strip_prefix(&code.to_string()) {
            let general = meta.descriptors().general();
            let potential = strip_national_prefix(rest, meta);
            let pattern = general.national_number().as_str();
            if (!full_match(pattern, &digits) && full_match(pattern, &potential))
                || possible_length(&digits, general) == Length::TooLong
            {
                return Some((code, potential));
            }
        }
    }
    Some((0, String::new()))
}

/// libphonenumber's `parsePrefixAsIdd`: the digits after the IDD prefix, unless the next
/// digit is `0` (no country code starts with 0) or none follows.
fn strip_idd(idd: &str, digits: &str) -> Option<String> {
    let end = with_regex!(format!("^(?:{idd})"), |re| re.find(digits).map(|m| m.end()))??;
    let rest = &digits[end..];
    (!rest.is_empty() && !rest.starts_with('0')).then(|| rest.to_owned())
}

/// libphonenumber's `maybeStripNationalPrefixAndCarrierCode`: the number without its trunk
/// prefix (or transformed by the region's rule), unless that would spoil a number that
/// fitted the national pattern.
fn strip_national_prefix(number: &str, meta: &Metadata) -> String {
    let Some(prefix) = meta.national_prefix_for_parsing().map(|re| re.as_str()).filter(|p| !p.is_empty()) else {
        return number.to_owned();
    };
    if number.is_empty() {
        return number.to_owned();
    }
    let transform = meta.national_prefix_transform_rule().filter(|t| !t.is_empty());
    let stripped = with_regex!(format!("^(?:{prefix})"), |re| {
        let captures = re.captures(number)?;
        let end = captures.get(0)?.end();
        let groups = captures.len() - 1;
        let last_group_matched = groups > 0 && captures.get(groups).is_some();
        Some(match transform {
            Some(rule) if last_group_matched => re.replace(number, rule).into_owned(),
            _ => number[end..].to_owned(),
        })
    })
    .flatten();
    let Some(stripped) = stripped else {
        return number.to_owned();
    };
    let general = meta.descriptors().general().national_number().as_str();
    if full_match(general, number) && !full_match(general, &stripped) {
        return number.to_owned();
    }
    stripped
}

#[derive(Debug, PartialEq, Eq)]
enum Length {
    Possible,
    LocalOnly,
    TooShort,
    TooLong,
    Invalid,
}

/// libphonenumber's `testNumberLength` against a descriptor's possible lengths.
fn possible_length(number: &str, desc: &Descriptor) -> Length {
    let lengths = desc.possible_length();
    let len = u16::try_from(number.len()).unwrap_or(u16::MAX);
    let (Some(&min), Some(&max)) = (lengths.first(), lengths.last()) else {
        return Length::Invalid;
    };
    if desc.possible_local_length().contains(&len) {
        Length::LocalOnly
    } else if len == min {
        Length::Possible
    } else if len < min {
        Length::TooShort
    } else if len > max {
        Length::TooLong
    } else if lengths.contains(&len) {
        Length::Possible
    } else {
        Length::Invalid
    }
}

/// The metadata of `region`, or of the non-geographic entity `code` (region `001`).
fn metadata_for(code: u16, region: &str) -> Option<&'static Metadata> {
    if region == "001" { DATABASE.by_code(&code)?.into_iter().next() } else { DATABASE.by_id(region) }
}

/// libphonenumber's `getRegionCodeForNumber`, as metadata: the numbering plan of the region
/// the national significant number `nsn` of country `code` belongs to. The only region of
/// the code; where several regions share it (+1, +7, +44 …), the first (main region first)
/// whose leading digits start `nsn`, or, for a region without leading digits, where `nsn`
/// has a type (`getNumberTypeHelper` is not UNKNOWN).
fn region_metadata(code: u16, nsn: &str) -> Option<&'static Metadata> {
    let candidates = DATABASE.by_code(&code)?;
    if let [only] = candidates[..] {
        return Some(only);
    }
    candidates.into_iter().find(|meta| match meta.leading_digits() {
        Some(leading) => with_regex!(format!("^(?:{})", leading.as_str()), |re| re.is_match(nsn)).unwrap_or(false),
        None => line_type::number_type(meta, nsn) != PhoneLineType::Unknown,
    })
}

/// libphonenumber's `isValidNumber`: the number has a type (`getNumberTypeHelper` is not
/// UNKNOWN) in the numbering plan of its region, the whole national significant number
/// fitting the type's pattern and lengths.
fn is_valid(code: u16, nsn: &str) -> bool {
    region_metadata(code, nsn).is_some_and(|meta| line_type::number_type(meta, nsn) != PhoneLineType::Unknown)
}

/// libphonenumber's `isNumberMatchingDesc`: a possible length, and the whole pattern.
fn matches_desc(desc: Option<&Descriptor>, nsn: &str) -> bool {
    let Some(desc) = desc else {
        return false;
    };
    let len = u16::try_from(nsn.len()).unwrap_or(u16::MAX);
    if !desc.possible_length().is_empty() && !desc.possible_length().contains(&len) {
        return false;
    }
    full_match(desc.national_number().as_str(), nsn)
}

fn full_match(pattern: &str, text: &str) -> bool {
    with_regex!(format!("^(?:{pattern})$"), |re| re.is_match(text)).unwrap_or(false)
}

#[cfg(test)]
mod tests;
