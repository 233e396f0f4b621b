//! The languages a customer can be texted in.

use std::fmt;

use crate::error::InvalidValue;

/// A language the shop texts its customers in, by its ISO 639-1 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Language {
    /// English (`en`).
    #[default]
    En,
    /// Swahili (`sw`), as spoken in Kenya.
    Sw,
}

impl Language {
    /// Every language, in the order settings and documents list them.
    pub const ALL: [Self; 2] = [Self::En, Self::Sw];

    /// The stored and wire name: the ISO 639-1 code, `en` or `sw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sw => "sw",
        }
    }

    /// Parses an ISO 639-1 code this server texts in: exactly `en` or `sw` (lower case, as
    /// BCP 47 writes a language subtag).
    ///
    /// # Errors
    /// [`InvalidValue::UnknownLanguage`] for anything else.
    pub fn parse(code: &str) -> Result<Self, InvalidValue> {
        Self::ALL.into_iter().find(|l| l.as_str() == code).ok_or(InvalidValue::UnknownLanguage)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_nothing_else_parses() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.as_str()), Ok(language));
        }
        for refused in ["EN", "Sw", " en", "fr", "", "en-KE"] {
            assert_eq!(Language::parse(refused), Err(InvalidValue::UnknownLanguage), "{refused:?}");
        }
    }
}
