//! The customer aggregate and its value objects.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use phonenumber::{Mode, country};
use uuid::Uuid;

use crate::audit::AuditTrail;
use crate::auth::Actor;
use crate::error::InvalidValue;
use crate::text::bounded_text;

/// Identifies a customer. New ids are UUIDv7, so they sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(Uuid);

impl CustomerId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }
    /// Wraps an id that came from storage or a request.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A customer's display name: trimmed, 1 to 200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 200;

    /// Parses a name as a person typed it.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`], [`InvalidValue::TooLong`] or [`InvalidValue::ControlCharacters`].
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        bounded_text(input, Self::MAX_CHARS).map(Self)
    }
    /// The trimmed name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A shop's own short code for a customer: 1 to 32 letters, digits, `-` or `_`.
/// Codes are unique ignoring case; the spelling given first is kept for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCode(String);

impl CustomerCode {
    /// The longest code accepted, in characters.
    pub const MAX_CHARS: usize = 32;
    /// The characters [`Self::parse`] accepts, as a regular expression (for API documents).
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]+$";

    /// Parses a code, trimming surrounding whitespace.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`], [`InvalidValue::TooLong`] or [`InvalidValue::CodeCharacters`].
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let code = input.trim();
        if code.is_empty() {
            return Err(InvalidValue::Empty);
        }
        if code.len() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong { max: Self::MAX_CHARS });
        }
        if !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(InvalidValue::CodeCharacters);
        }
        Ok(Self(code.to_owned()))
    }
    /// The code as first given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The case-folded form that uniqueness is checked on.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The region assumed for phone numbers written without a country code (ISO 3166 alpha-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(country::Id);

impl PhoneRegion {
    /// Parses an ISO 3166 alpha-2 code such as `KE`.
    ///
    /// # Errors
    /// [`InvalidValue::Region`] for a code the phone-number metadata does not know.
    pub fn parse(code: &str) -> Result<Self, InvalidValue> {
        country::Id::from_str(&code.trim().to_ascii_uppercase()).map(Self).map_err(|_| InvalidValue::Region)
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        Self(country::Id::KE)
    }
}

/// A phone number validated against the numbering plan, held in E.164 form (`+254712345678`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The longest input accepted, in bytes after trimming.
    pub const MAX_INPUT_BYTES: usize = 64;

    /// Parses a number; one without a `+country` prefix is read in `region`.
    ///
    /// # Errors
    /// [`InvalidValue::Empty`] or [`InvalidValue::Phone`].
    pub fn parse(input: &str, region: PhoneRegion) -> Result<Self, InvalidValue> {
        let input = input.trim();
        if input.is_empty() {
            return Err(InvalidValue::Empty);
        }
        // The metadata parser copes badly with absurd inputs; no real number is this long.
        if input.len() > Self::MAX_INPUT_BYTES {
            return Err(InvalidValue::Phone);
        }
        let number = phonenumber::parse(Some(region.0), input).map_err(|_| InvalidValue::Phone)?;
        if !phonenumber::is_valid(&number) {
            return Err(InvalidValue::Phone);
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
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

/// A customer of the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    id: CustomerId,
    name: CustomerName,
    code: CustomerCode,
    phone: PhoneNumber,
    audit: AuditTrail,
}

impl Customer {
    /// A new customer created by `actor` at `now`.
    pub fn new(name: CustomerName, code: CustomerCode, phone: PhoneNumber, now: DateTime<Utc>, actor: &Actor) -> Self {
        Self { id: CustomerId::generate(), name, code, phone, audit: AuditTrail::new(now, actor) }
    }

    /// Rebuilds a customer from stored, already valid parts.
    pub fn restore(
        id: CustomerId,
        name: CustomerName,
        code: CustomerCode,
        phone: PhoneNumber,
        audit: AuditTrail,
    ) -> Self {
        Self { id, name, code, phone, audit }
    }

    /// The customer's id.
    pub fn id(&self) -> CustomerId {
        self.id
    }
    /// The display name.
    pub fn name(&self) -> &CustomerName {
        &self.name
    }
    /// The shop's code for the customer.
    pub fn code(&self) -> &CustomerCode {
        &self.code
    }
    /// The phone number, in E.164 form.
    pub fn phone(&self) -> &PhoneNumber {
        &self.phone
    }
    /// When the customer was created.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.audit.created_at
    }
    /// When the customer last changed.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.audit.updated_at
    }
    /// Who created and last changed the customer, and when.
    pub fn audit(&self) -> &AuditTrail {
        &self.audit
    }

    /// Applies the given changes; the audit trail moves only when something changed.
    pub fn change(
        &mut self,
        name: Option<CustomerName>,
        code: Option<CustomerCode>,
        phone: Option<PhoneNumber>,
        now: DateTime<Utc>,
        actor: &Actor,
    ) {
        let before = self.clone();
        if let Some(name) = name {
            self.name = name;
        }
        if let Some(code) = code {
            self.code = code;
        }
        if let Some(phone) = phone {
            self.phone = phone;
        }
        if *self != before {
            self.audit.touch(now, actor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kenya() -> PhoneRegion {
        PhoneRegion::default()
    }

    #[test]
    fn local_kenyan_number_is_normalised_to_e164() {
        let phone = PhoneNumber::parse(" 0712 345 678 ", kenya()).unwrap();
        assert_eq!(phone.as_str(), "+254712345678");
    }

    #[test]
    fn international_number_ignores_default_region() {
        let phone = PhoneNumber::parse("+44 20 7946 0958", kenya()).unwrap();
        assert_eq!(phone.as_str(), "+442079460958");
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for bad in ["", "12", "+254 1", "not a phone", "+999123456789"] {
            assert!(PhoneNumber::parse(bad, kenya()).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn unknown_region_is_refused() {
        assert_eq!(PhoneRegion::parse("XX"), Err(InvalidValue::Region));
        assert!(PhoneRegion::parse("tz").is_ok());
    }

    #[test]
    fn code_key_ignores_case_but_spelling_is_kept() {
        let code = CustomerCode::parse("Alice-01").unwrap();
        assert_eq!(code.as_str(), "Alice-01");
        assert_eq!(code.key(), "alice-01");
    }

    #[test]
    fn code_limits() {
        assert_eq!(CustomerCode::parse("  "), Err(InvalidValue::Empty));
        assert_eq!(CustomerCode::parse(&"a".repeat(33)), Err(InvalidValue::TooLong { max: 32 }));
        assert_eq!(CustomerCode::parse("a b"), Err(InvalidValue::CodeCharacters));
        assert_eq!(CustomerCode::parse("ñ"), Err(InvalidValue::CodeCharacters));
        assert!(CustomerCode::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(CustomerName::parse("  Alice  ").unwrap().as_str(), "Alice");
        assert_eq!(CustomerName::parse(""), Err(InvalidValue::Empty));
        assert_eq!(CustomerName::parse("a\u{0}b"), Err(InvalidValue::ControlCharacters));
        assert!(CustomerName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(CustomerName::parse(&"é".repeat(201)), Err(InvalidValue::TooLong { max: 200 }));
    }

    proptest! {
        #[test]
        fn any_valid_code_parses_to_itself(code in "[A-Za-z0-9_-]{1,32}") {
            let parsed = CustomerCode::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(parsed.key(), code.to_ascii_lowercase());
        }

        #[test]
        fn parsed_names_are_trimmed_and_never_empty(input in "\\PC{0,250}") {
            if let Ok(name) = CustomerName::parse(&input) {
                prop_assert_eq!(name.as_str(), input.trim());
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= 200);
            }
        }

        #[test]
        fn phone_parsing_never_panics_and_yields_e164(input in "\\PC{0,40}") {
            if let Ok(phone) = PhoneNumber::parse(&input, kenya()) {
                prop_assert!(phone.as_str().starts_with('+'));
                prop_assert!(phone.as_str()[1..].bytes().all(|b| b.is_ascii_digit()));
                // Normalisation is idempotent.
                prop_assert_eq!(PhoneNumber::parse(phone.as_str(), kenya()).unwrap(), phone);
            }
        }

        #[test]
        fn kenyan_mobile_numbers_round_trip(rest in "[0-9]{8}") {
            let local = format!("07{rest}");
            if let Ok(phone) = PhoneNumber::parse(&local, kenya()) {
                prop_assert_eq!(phone.as_str(), format!("+2547{rest}"));
            }
        }
    }
}
