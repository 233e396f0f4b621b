//! Exact money: an integer count of the currency's minor units. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::error::InvalidValue;

/// An ISO 4217 currency that has a minor unit (KES, USD, JPY, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(iso_currency::Currency);

/// Where the ISO 4217 list comes from: the `iso_currency` crate's table (list one, with each
/// code's minor unit and whether it is withdrawn, a fund or a special unit). To refresh it,
/// raise the crate's version in the workspace manifest and here; a test names it.
pub const ISO_4217_SOURCE: &str = "iso_currency 0.7.1";

impl Currency {
    /// The codes [`Self::parse`] accepts, as a regular expression (for API documents).
    pub const PATTERN: &'static str = "^[A-Z]{3}$";

    /// Parses an active ISO 4217 code written as three upper-case letters (`KES`).
    ///
    /// # Errors
    /// [`InvalidValue::Currency`] for anything else: lower case or padding, unknown codes,
    /// withdrawn codes (`BGN`, `HRK`, `CUC`, `SLL`, `ZWL`, ...), funds (`BOV`, `CLF`, ...),
    /// and special units without a minor unit (gold, SDR, the test code `XTS`).
    pub fn parse(code: &str) -> Result<Self, InvalidValue> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(InvalidValue::Currency);
        }
        let currency = Self::from_stored(code)?;
        if !currency.0.flags().is_empty() {
            return Err(InvalidValue::Currency);
        }
        Ok(currency)
    }

    /// A code read back from storage: any ISO 4217 code with a minor unit, withdrawn ones
    /// included, so orders taken before a code was withdrawn stay readable.
    ///
    /// # Errors
    /// [`InvalidValue::Currency`] for codes ISO 4217 never had, or without a minor unit.
    pub fn from_stored(code: &str) -> Result<Self, InvalidValue> {
        let currency = iso_currency::Currency::from_code(code).ok_or(InvalidValue::Currency)?;
        currency.exponent().ok_or(InvalidValue::Currency)?;
        Ok(Self(currency))
    }
    /// The upper-case ISO code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }
    /// How many decimal places the minor unit has (2 for KES, 0 for JPY, 3 for KWD).
    pub fn minor_digits(&self) -> u32 {
        // `parse` admits only currencies that have an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }

    /// A total of `minor_units` (any size, e.g. a sum of many amounts) as an exact decimal
    /// string with the currency's decimal places: `123456789012345678.90`.
    pub fn format_total(&self, minor_units: i128) -> String {
        let digits = self.minor_digits() as usize;
        let magnitude = minor_units.unsigned_abs().to_string();
        let padded = format!("{magnitude:0>width$}", width = digits + 1);
        let (whole, fraction) = padded.split_at(padded.len() - digits);
        let sign = if minor_units < 0 { "-" } else { "" };
        if digits == 0 { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A positive amount of money in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    minor_units: i64,
    currency: Currency,
}

impl Money {
    /// The largest amount accepted, in minor units: 15 digits, so any value also survives
    /// a round trip through an IEEE double unchanged.
    pub const MAX_MINOR_UNITS: i64 = 999_999_999_999_999;
    /// The text [`Self::parse`] reads as a number, as a regular expression (for API documents);
    /// it must also be positive, fit the currency's minor digits and 15 digits.
    pub const PATTERN: &'static str = "^[0-9]+(\\.[0-9]+)?$";
    /// The longest amount text accepted, leading and trailing zeros included (15 significant
    /// digits fit with room to spare).
    pub const MAX_CHARS: usize = 32;

    /// Parses a decimal string such as `"250.50"` in `currency`.
    ///
    /// # Errors
    /// [`InvalidValue::Decimal`], [`InvalidValue::NotPositive`], [`InvalidValue::TooManyDecimals`]
    /// or [`InvalidValue::TooLarge`].
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, InvalidValue> {
        if amount.len() > Self::MAX_CHARS {
            return Err(InvalidValue::TooLong { max: Self::MAX_CHARS });
        }
        let (negative, digits) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let plain_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !plain_digits(whole)
            || !plain_digits(fraction)
            || (digits.contains('.') && fraction.is_empty())
        {
            return Err(InvalidValue::Decimal);
        }
        // Checked on the text, before any arithmetic, so no length of input can overflow.
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        let max_decimals = currency.minor_digits();
        if whole.is_empty() && fraction.is_empty() || negative {
            return Err(InvalidValue::NotPositive);
        }
        if fraction.len() > max_decimals as usize {
            return Err(InvalidValue::TooManyDecimals { max: max_decimals });
        }
        if whole.len() + max_decimals as usize > 15 {
            return Err(InvalidValue::TooLarge);
        }
        let exact = format!("{}.{fraction}", if whole.is_empty() { "0" } else { whole });
        let minor = Decimal::from_str_exact(&exact)
            .ok()
            .and_then(|value| value.checked_mul(Decimal::from(10_i64.pow(max_decimals))))
            .and_then(|m| m.to_i64())
            .ok_or(InvalidValue::TooLarge)?;
        Self::from_minor_units(minor, currency)
    }

    /// Builds an amount from stored minor units.
    ///
    /// # Errors
    /// [`InvalidValue::NotPositive`] or [`InvalidValue::TooLarge`].
    pub fn from_minor_units(minor_units: i64, currency: Currency) -> Result<Self, InvalidValue> {
        if minor_units <= 0 {
            return Err(InvalidValue::NotPositive);
        }
        if minor_units > Self::MAX_MINOR_UNITS {
            return Err(InvalidValue::TooLarge);
        }
        Ok(Self { minor_units, currency })
    }

    /// The amount in the currency's minor units (cents for KES: `25050` is 250.50).
    pub fn minor_units(&self) -> i64 {
        self.minor_units
    }
    /// The currency of the amount.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The amount as a decimal string with exactly the currency's minor digits: `"250.50"`.
    pub fn amount_string(&self) -> String {
        Decimal::new(self.minor_units, self.currency.minor_digits()).to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

impl FromStr for Currency {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_beyond_i64_format_exactly() {
        let kes = Currency::parse("KES").unwrap();
        assert_eq!(kes.format_total(5), "0.05");
        assert_eq!(kes.format_total(-25_050), "-250.50");
        let big = i128::from(i64::MAX) * 1000 + 7;
        assert_eq!(kes.format_total(big), "92233720368547758070.07");
        assert_eq!(Currency::parse("JPY").unwrap().format_total(1200), "1200");
        assert_eq!(Currency::parse("KWD").unwrap().format_total(1), "0.001");
    }
    use proptest::prelude::*;

    fn kes() -> Currency {
        Currency::parse("KES").unwrap()
    }

    #[test]
    fn decimal_strings_become_minor_units() {
        assert_eq!(Money::parse("250.50", kes()).unwrap().minor_units(), 25050);
        assert_eq!(Money::parse("250.5", kes()).unwrap().minor_units(), 25050);
        assert_eq!(Money::parse("7", kes()).unwrap().minor_units(), 700);
        assert_eq!(Money::parse("0.01", kes()).unwrap().amount_string(), "0.01");
    }

    #[test]
    fn amounts_are_refused_with_a_reason() {
        assert_eq!(Money::parse("0", kes()), Err(InvalidValue::NotPositive));
        assert_eq!(Money::parse("-1", kes()), Err(InvalidValue::NotPositive));
        assert_eq!(Money::parse("1.005", kes()), Err(InvalidValue::TooManyDecimals { max: 2 }));
        assert_eq!(Money::parse("1e3", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse("abc", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse("1.", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse(".5", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse("+5", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse("-0", kes()), Err(InvalidValue::NotPositive));
        assert_eq!(Money::parse("0.00", kes()), Err(InvalidValue::NotPositive));
        assert_eq!(Money::parse("0012.300", kes()).unwrap().minor_units(), 1230);
        assert_eq!(Money::parse("9999999999999.99", kes()).unwrap().minor_units(), Money::MAX_MINOR_UNITS);
        assert_eq!(Money::parse(" 1", kes()), Err(InvalidValue::Decimal));
        assert_eq!(Money::parse("10000000000000", kes()), Err(InvalidValue::TooLarge));
        assert_eq!(Money::parse(&"9".repeat(5000), kes()), Err(InvalidValue::TooLong { max: Money::MAX_CHARS }));
        assert_eq!(Money::parse(&format!("{}1", "0".repeat(40)), kes()), Err(InvalidValue::TooLong { max: 32 }));
        assert_eq!(Money::parse(&format!("{}1", "0".repeat(30)), kes()).unwrap().minor_units(), 100);
        assert_eq!(Money::parse("99999999999999999999999999999", kes()), Err(InvalidValue::TooLarge));
        assert_eq!(
            Money::parse("0.00000000000000000000000000001", kes()),
            Err(InvalidValue::TooManyDecimals { max: 2 })
        );
    }

    #[test]
    fn only_active_iso_4217_codes_in_upper_case_are_accepted() {
        assert_eq!(ISO_4217_SOURCE, "iso_currency 0.7.1", "refresh the crate and this name together");
        for active in ["KES", "TZS", "UGX", "NGN", "EUR", "SLE", "ZWG", "XCG", "VED"] {
            assert!(Currency::parse(active).is_ok(), "{active}");
        }
        let withdrawn = ["BGN", "HRK", "CUC", "SLL", "ZWL"];
        let funds_and_special = ["BOV", "CLF", "COU", "MXV", "USN", "UYI", "CHE", "CHW", "XTS", "XXX", "XAU", "XDR"];
        for refused in
            withdrawn.iter().chain(&funds_and_special).chain(&["kes", "Kes", " KES", "KES ", "KESH", "ZZZ", ""])
        {
            assert_eq!(Currency::parse(refused), Err(InvalidValue::Currency), "{refused:?}");
        }
        for stored in withdrawn {
            assert!(Currency::from_stored(stored).is_ok(), "{stored} orders stay readable");
        }
    }

    #[test]
    fn currencies_carry_their_minor_digits() {
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_digits(), 3);
        assert_eq!(Money::parse("1.5", Currency::parse("JPY").unwrap()), Err(InvalidValue::TooManyDecimals { max: 0 }));
        assert_eq!(Currency::parse("XAU"), Err(InvalidValue::Currency));
        assert_eq!(Currency::parse("ZZZ"), Err(InvalidValue::Currency));
    }

    proptest! {
        #[test]
        fn minor_units_round_trip_through_the_decimal_string(minor in 1..=Money::MAX_MINOR_UNITS) {
            let money = Money::from_minor_units(minor, kes()).unwrap();
            let again = Money::parse(&money.amount_string(), kes()).unwrap();
            prop_assert_eq!(again, money);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(input in "\\PC{0,50}") {
            let _ = Money::parse(&input, kes());
        }
    }
}
