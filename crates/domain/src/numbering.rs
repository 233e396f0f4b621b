//! Order numbers and the references customers quote: `"ORD-1042"`.
//!
//! The number comes from storage (a PostgreSQL sequence, a one-row counter on SQLite) and is
//! never reused; the reference is a prefix from the settings plus the number, fixed when the
//! order is created. A prefix of at most [`NumberPrefix::MAX_CHARS`] characters and numbers
//! up to [`OrderNumber::MAX`] keep every reference within [`OrderReference::MAX_CHARS`], what
//! an M-Pesa account reference holds.

use std::fmt;

use crate::error::InvalidValue;

/// An order's number: 1 to [`OrderNumber::MAX`], unique and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderNumber(u32);

impl OrderNumber {
    /// The largest number (eight digits), so a reference stays within 12 characters.
    pub const MAX: u32 = 99_999_999;
    /// The first number of a new installation (`orders.first_number` by default).
    pub const DEFAULT_FIRST: u32 = 1001;

    /// # Errors
    /// [`InvalidValue::NotPositive`] for 0 or less, [`InvalidValue::TooLarge`] above [`OrderNumber::MAX`].
    pub fn new(number: i64) -> Result<Self, InvalidValue> {
        if number < 1 {
            return Err(InvalidValue::NotPositive);
        }
        match u32::try_from(number) {
            Ok(n) if n <= Self::MAX => Ok(Self(n)),
            _ => Err(InvalidValue::TooLarge),
        }
    }

    /// The number.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What comes before the number in a reference (`orders.number_prefix`): 0 to 4 characters
/// of `A-Z`, `0-9` and `-`, so it reads out over the phone and fits an M-Pesa reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPrefix(String);

impl NumberPrefix {
    /// The longest prefix, in characters.
    pub const MAX_CHARS: usize = 4;

    /// # Errors
    /// [`InvalidValue::TooLong`] over 4 characters, [`InvalidValue::CodeCharacters`] for
    /// anything but `A-Z`, `0-9` and `-`.
    pub fn parse(prefix: &str) -> Result<Self, InvalidValue> {
        if prefix.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong { max: Self::MAX_CHARS });
        }
        if !prefix.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-') {
            return Err(InvalidValue::CodeCharacters);
        }
        Ok(Self(prefix.to_owned()))
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reference of order `number` under this prefix.
    pub fn reference(&self, number: OrderNumber) -> OrderReference {
        OrderReference { number, text: format!("{}{number}", self.0) }
    }
}

impl Default for NumberPrefix {
    /// `"ORD-"`.
    fn default() -> Self {
        Self("ORD-".to_owned())
    }
}

/// An order's number and its reference (`"ORD-1042"`), as given when it was created: a later
/// change of prefix does not rename it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReference {
    number: OrderNumber,
    text: String,
}

impl OrderReference {
    /// The longest reference: a 4-character prefix and 8 digits.
    pub const MAX_CHARS: usize = NumberPrefix::MAX_CHARS + 8;

    /// Rebuilds a stored reference.
    pub fn restore(number: OrderNumber, text: String) -> Self {
        Self { number, text }
    }
    /// The number.
    pub fn number(&self) -> OrderNumber {
        self.number
    }
    /// The reference text, e.g. `"ORD-1042"`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_prefix_and_number_within_12_characters() {
        let longest = NumberPrefix::parse("SHOP").unwrap().reference(OrderNumber::new(99_999_999).unwrap());
        assert_eq!(longest.as_str(), "SHOP99999999");
        assert_eq!(longest.as_str().len(), OrderReference::MAX_CHARS);
        assert_eq!(NumberPrefix::default().reference(OrderNumber::new(1042).unwrap()).as_str(), "ORD-1042");
        assert_eq!(NumberPrefix::parse("").unwrap().reference(OrderNumber::new(7).unwrap()).as_str(), "7");
    }

    #[test]
    fn prefixes_and_numbers_out_of_range_are_refused() {
        assert_eq!(NumberPrefix::parse("SHOP-"), Err(InvalidValue::TooLong { max: 4 }));
        assert_eq!(NumberPrefix::parse("ord-"), Err(InvalidValue::CodeCharacters));
        assert_eq!(NumberPrefix::parse("O D"), Err(InvalidValue::CodeCharacters));
        assert_eq!(OrderNumber::new(0), Err(InvalidValue::NotPositive));
        assert_eq!(OrderNumber::new(100_000_000), Err(InvalidValue::TooLarge));
        assert_eq!(OrderNumber::new(1).map(OrderNumber::get), Ok(1));
    }
}
