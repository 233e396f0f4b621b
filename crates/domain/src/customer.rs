//! The customer aggregate and its value objects.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::AuditTrail;
use crate::auth::Actor;
use crate::error::InvalidValue;
use crate::language::Language;
pub use crate::phone::{PhoneNumber, PhoneRegion};
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

/// A customer of the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    id: CustomerId,
    name: CustomerName,
    code: CustomerCode,
    phone: PhoneNumber,
    sms: SmsPreferences,
    audit: AuditTrail,
}

/// How a customer wants to be texted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SmsPreferences {
    /// The language of the customer's texts.
    pub language: Language,
    /// The customer asked for no texts: their notifications are stored as skipped, never sent.
    pub opted_out: bool,
}

impl Customer {
    /// A new customer created by `actor` at `now`, texted in English until
    /// [`Customer::with_sms_preferences`].
    pub fn new(name: CustomerName, code: CustomerCode, phone: PhoneNumber, now: DateTime<Utc>, actor: &Actor) -> Self {
        let sms = SmsPreferences::default();
        Self { id: CustomerId::generate(), name, code, phone, sms, audit: AuditTrail::new(now, actor) }
    }

    /// The same customer with these SMS preferences (at creation, or when restoring from storage).
    pub fn with_sms_preferences(mut self, sms: SmsPreferences) -> Self {
        self.sms = sms;
        self
    }

    /// Rebuilds a customer from stored, already valid parts (its SMS preferences through
    /// [`Customer::with_sms_preferences`]).
    pub fn restore(
        id: CustomerId,
        name: CustomerName,
        code: CustomerCode,
        phone: PhoneNumber,
        audit: AuditTrail,
    ) -> Self {
        Self { id, name, code, phone, sms: SmsPreferences::default(), audit }
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
    /// How the customer wants to be texted.
    pub fn sms_preferences(&self) -> SmsPreferences {
        self.sms
    }
    /// The language of the customer's texts.
    pub fn language(&self) -> Language {
        self.sms.language
    }
    /// Whether the customer asked for no texts.
    pub fn sms_opt_out(&self) -> bool {
        self.sms.opted_out
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

    /// Applies the given changes; the audit trail (`updated_at`, `updated_by`, `version`)
    /// moves only when something changed, so setting a field to its current value (opting out
    /// a customer who already is) keeps the version and its `ETag`.
    pub fn change(&mut self, edit: CustomerEdit, now: DateTime<Utc>, actor: &Actor) {
        let before = self.clone();
        if let Some(name) = edit.name {
            self.name = name;
        }
        if let Some(code) = edit.code {
            self.code = code;
        }
        if let Some(phone) = edit.phone {
            self.phone = phone;
        }
        if let Some(language) = edit.language {
            self.sms.language = language;
        }
        if let Some(opted_out) = edit.sms_opt_out {
            self.sms.opted_out = opted_out;
        }
        if *self != before {
            self.audit.touch(now, actor);
        }
    }
}

/// Parsed changes to a customer for [`Customer::change`]; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerEdit {
    /// A new display name.
    pub name: Option<CustomerName>,
    /// A new code.
    pub code: Option<CustomerCode>,
    /// A new phone number.
    pub phone: Option<PhoneNumber>,
    /// A new language for the customer's texts.
    pub language: Option<Language>,
    /// Opt the customer out of texts (`true`) or back in (`false`).
    pub sms_opt_out: Option<bool>,
}

impl CustomerEdit {
    /// Only the opt-out flag: what an opt-out callback or a stop word changes.
    pub fn opt_out() -> Self {
        Self { sms_opt_out: Some(true), ..Self::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    fn alice() -> Customer {
        let phone = PhoneNumber::parse("0712345678", PhoneRegion::default()).unwrap();
        let name = CustomerName::parse("Alice").unwrap();
        let created = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 9, 0, 0).unwrap();
        Customer::new(name, CustomerCode::parse("A-1").unwrap(), phone, created, &Actor::new("auth0|clerk"))
    }

    #[test]
    fn sms_preferences_change_with_the_version_only_when_they_differ() {
        let mut customer = alice();
        let later = customer.created_at() + chrono::Duration::minutes(5);
        let gateway = Actor::new("africastalking");
        customer.change(CustomerEdit { language: Some(Language::En), ..Default::default() }, later, &gateway);
        assert_eq!(customer.audit().version, 0, "English already: nothing changed");
        customer.change(CustomerEdit::opt_out(), later, &gateway);
        assert!(customer.sms_opt_out());
        assert_eq!((customer.audit().version, customer.updated_at()), (1, later));
        assert_eq!(customer.audit().updated_by.as_deref(), Some("africastalking"));
        customer.change(CustomerEdit::opt_out(), later + chrono::Duration::minutes(1), &gateway);
        assert_eq!((customer.audit().version, customer.updated_at()), (1, later), "already opted out");
        customer.change(CustomerEdit { language: Some(Language::Sw), ..Default::default() }, later, &gateway);
        assert_eq!((customer.language(), customer.audit().version), (Language::Sw, 2));
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
    }
}
