//! What SMS cost, as exact money a shop can add up: the provider's price of each accepted send
//! ([`SmsCost`], kept with its [`super::Attempt`]) and the totals of a period
//! ([`NotificationSummary`]). Never a float.
//!
//! Source: Africa's Talking's send answer (contract §1.4) gives each recipient's `cost` as
//! `"<ISO 4217 code> <decimal>"`, e.g. `"KES 0.8000"` (four decimals as observed), and `"0"`
//! for a refused recipient; `messageParts` is how many parts it billed.
//!
//! Precision: costs are kept in millionths of the currency's major unit (micros), so every
//! non-zero digit of up to six decimals is kept exactly; a cost with a seventh non-zero decimal
//! is refused rather than rounded. Storage sums micros in SQL as integers on every backend.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::money::Currency;
use crate::notification::NotificationStatus;

/// Why a provider's cost text was not read as an [`SmsCost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCost {
    /// Not `"<code> <decimal>"` with one space and a plain decimal (`1e3`, `0,80`, `.5`, spaces).
    #[error("is not \"<ISO 4217 code> <decimal>\" such as \"KES 0.8000\"")]
    Format,
    /// The code is not an active ISO 4217 code written in upper case.
    #[error("does not name an active ISO 4217 currency in upper case")]
    Currency,
    /// A negative amount: a send is never paid back through its answer.
    #[error("is negative")]
    Negative,
    /// More non-zero decimals than kept.
    #[error("has more than {max} non-zero decimals")]
    TooManyDecimals {
        /// [`SmsCost::DECIMALS`].
        max: u32,
    },
    /// Above [`SmsCost::MAX_MICROS`].
    #[error("is too large")]
    TooLarge,
}

/// What the provider charged for one accepted send: a non-negative exact amount in one currency,
/// in millionths of the major unit (`KES 0.8000` is 800 000 micros).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsCost {
    currency: Currency,
    micros: i64,
}

/// Micros in one major unit.
const MICROS_PER_UNIT: i64 = 1_000_000;

impl SmsCost {
    /// Decimals kept: six (micros). Africa's Talking writes four.
    pub const DECIMALS: u32 = 6;
    /// The largest cost accepted, in micros (15 digits: 999 999 999.999999).
    pub const MAX_MICROS: i64 = 999_999_999_999_999;
    /// The longest cost text read.
    const MAX_CHARS: usize = 40;

    /// Reads Africa's Talking's per-recipient `cost` (contract §1.4): `"KES 0.8000"`,
    /// `"USD 0.0100"`. `"0"` (a refused recipient; no currency) means no charge: `Ok(None)`.
    /// A written zero with a currency (`"KES 0.0000"`) is a zero cost in that currency.
    ///
    /// # Errors
    /// [`InvalidCost`]: not exactly `"<code> <decimal>"` with one space, a lower-case or unknown
    /// code, a negative amount, a seventh non-zero decimal, or more than [`Self::MAX_MICROS`].
    pub fn parse_provider(text: &str) -> Result<Option<Self>, InvalidCost> {
        if text == "0" {
            return Ok(None);
        }
        if text.len() > Self::MAX_CHARS {
            return Err(InvalidCost::Format);
        }
        let (code, amount) = text.split_once(' ').ok_or(InvalidCost::Format)?;
        let (negative, digits) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !plain(whole) || !plain(fraction) || (digits.contains('.') && fraction.is_empty()) {
            return Err(InvalidCost::Format);
        }
        let currency = Currency::parse(code).map_err(|_| InvalidCost::Currency)?;
        let whole = whole.trim_start_matches('0');
        let fraction = fraction.trim_end_matches('0');
        if negative && !(whole.is_empty() && fraction.is_empty()) {
            return Err(InvalidCost::Negative);
        }
        if fraction.len() > Self::DECIMALS as usize {
            return Err(InvalidCost::TooManyDecimals { max: Self::DECIMALS });
        }
        // Nine whole digits and six decimals fit the 15-digit bound; checked on the text first.
        if whole.len() > 9 {
            return Err(InvalidCost::TooLarge);
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| InvalidCost::TooLarge)? };
        let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| InvalidCost::Format)?;
        Self::new(currency, whole * MICROS_PER_UNIT + fraction).map(Some)
    }

    /// A cost of `micros` millionths of `currency`'s major unit (as stored).
    ///
    /// # Errors
    /// [`InvalidCost::Negative`] or [`InvalidCost::TooLarge`].
    pub fn new(currency: Currency, micros: i64) -> Result<Self, InvalidCost> {
        if micros < 0 {
            return Err(InvalidCost::Negative);
        }
        if micros > Self::MAX_MICROS {
            return Err(InvalidCost::TooLarge);
        }
        Ok(Self { currency, micros })
    }

    /// The currency charged in.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in millionths of the major unit.
    pub fn micros(&self) -> i64 {
        self.micros
    }

    /// The amount as an exact decimal string with at least the currency's minor digits and
    /// every non-zero decimal: `"0.80"`, `"0.8012"`, `"1"` for JPY.
    pub fn amount_string(&self) -> String {
        micros_string(i128::from(self.micros), self.currency)
    }
}

impl fmt::Display for SmsCost {
    /// As the provider writes it, normalised: `KES 0.80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency, self.amount_string())
    }
}

/// `micros` millionths of `currency` (any size, e.g. a sum) as an exact decimal string with at
/// least the currency's minor digits (at most six) and no trailing zero beyond them:
/// `800000` KES → `"0.80"`, `801200` → `"0.8012"`, `-5` → `"-0.000005"`.
pub fn micros_string(micros: i128, currency: Currency) -> String {
    let decimals = SmsCost::DECIMALS as usize;
    let keep = (currency.minor_digits() as usize).min(decimals);
    let magnitude = format!("{:0>width$}", micros.unsigned_abs(), width = decimals + 1);
    let (whole, fraction) = magnitude.split_at(magnitude.len() - decimals);
    let significant = fraction.trim_end_matches('0').len().max(keep);
    let sign = if micros < 0 { "-" } else { "" };
    if significant == 0 { format!("{sign}{whole}") } else { format!("{sign}{whole}.{}", &fraction[..significant]) }
}

/// The total cost of some attempts in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostTotal {
    /// The currency charged in.
    pub currency: Currency,
    /// The costs added up, in millionths of the major unit; wide enough never to overflow.
    pub micros: i128,
    /// How many attempts had a cost in this currency.
    pub attempts: u64,
    /// The parts (`messageParts`) those attempts were billed for; attempts without a part
    /// count add nothing.
    pub parts: u64,
}

impl CostTotal {
    /// The total as an exact decimal string ([`micros_string`]): `"12.40"`.
    pub fn amount_string(&self) -> String {
        micros_string(self.micros, self.currency)
    }

    /// Adds up `costs` (each with its part count) per currency, ordered by currency code.
    pub fn add_up(costs: impl IntoIterator<Item = (SmsCost, Option<u32>)>) -> Vec<Self> {
        let mut totals: Vec<Self> = Vec::new();
        for (cost, parts) in costs {
            let index = match totals.iter().position(|t| t.currency == cost.currency) {
                Some(index) => index,
                None => {
                    totals.push(Self { currency: cost.currency, micros: 0, attempts: 0, parts: 0 });
                    totals.len() - 1
                }
            };
            let total = &mut totals[index];
            total.micros += i128::from(cost.micros);
            total.attempts += 1;
            total.parts += u64::from(parts.unwrap_or(0));
        }
        totals.sort_by_key(|t| t.currency.code());
        totals
    }
}

/// SMS of a period `[from, to)`: how many notifications created in it are in each status
/// now, and what the attempts made in it cost, per currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSummary {
    /// The period's start (inclusive).
    pub from: DateTime<Utc>,
    /// The period's end (exclusive).
    pub to: DateTime<Utc>,
    /// Notifications created in the period, by current status. From the service: every
    /// status of [`NotificationStatus::ALL`] in that order, zero included.
    pub counts: Vec<(NotificationStatus, u64)>,
    /// The costs of the attempts made in the period, per currency, ordered by currency code.
    pub costs: Vec<CostTotal>,
}

impl NotificationSummary {
    /// How many notifications of the period are in `status`.
    pub fn count(&self, status: NotificationStatus) -> u64 {
        self.counts.iter().filter(|(s, _)| *s == status).map(|(_, n)| n).sum()
    }

    /// The same summary with a count for every status of [`NotificationStatus::ALL`], in that
    /// order (zero for a status the store did not name).
    pub fn with_every_status(self) -> Self {
        let counts = NotificationStatus::ALL.into_iter().map(|s| (s, self.count(s))).collect();
        Self { counts, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kes(micros: i64) -> SmsCost {
        SmsCost::new(Currency::parse("KES").unwrap(), micros).unwrap()
    }

    #[test]
    fn africas_talking_costs_are_read_exactly() {
        let read = |text: &str| SmsCost::parse_provider(text).unwrap().unwrap();
        assert_eq!(read("KES 0.8000"), kes(800_000));
        assert_eq!(read("KES 0.8000").amount_string(), "0.80");
        assert_eq!(read("KES 1.6012").amount_string(), "1.6012");
        assert_eq!(read("KES 12").amount_string(), "12.00");
        assert_eq!(read("KES 0.000001").micros(), 1);
        assert_eq!(read("KES 0.1234560000").micros(), 123_456, "trailing zeros beyond six decimals are fine");
        assert_eq!(read("KES 0007.50").micros(), 7_500_000);
        assert_eq!(read("USD 0.0100").to_string(), "USD 0.01");
        assert_eq!(read("JPY 3.0000").amount_string(), "3");
        assert_eq!(read("JPY 0.5").amount_string(), "0.5");
        assert_eq!(read("KWD 0.0100").amount_string(), "0.010");
        assert_eq!(read("KES 999999999.999999").micros(), SmsCost::MAX_MICROS);
        assert_eq!(read("KES 0.0000"), kes(0), "a written zero keeps its currency");
        assert_eq!(read("KES -0.00"), kes(0));
    }

    #[test]
    fn a_refused_recipients_zero_is_no_charge() {
        assert_eq!(SmsCost::parse_provider("0"), Ok(None));
    }

    #[test]
    fn anything_else_is_refused_with_a_reason() {
        let cases = [
            ("", InvalidCost::Format),
            ("garbage", InvalidCost::Format),
            ("KES", InvalidCost::Format),
            ("KES ", InvalidCost::Format),
            ("KES  0.80", InvalidCost::Format),
            (" KES 0.80", InvalidCost::Format),
            ("KES 0.80 ", InvalidCost::Format),
            ("KES 1e3", InvalidCost::Format),
            ("KES 0,80", InvalidCost::Format),
            ("KES .80", InvalidCost::Format),
            ("KES 1.", InvalidCost::Format),
            ("KES +1", InvalidCost::Format),
            ("KES NaN", InvalidCost::Format),
            ("0.8000", InvalidCost::Format),
            ("00", InvalidCost::Format),
            ("kes 0.8000", InvalidCost::Currency),
            ("Kes 0.8000", InvalidCost::Currency),
            ("KSH 0.8000", InvalidCost::Currency),
            ("XAU 1", InvalidCost::Currency),
            ("KES -0.8000", InvalidCost::Negative),
            ("KES 0.1234567", InvalidCost::TooManyDecimals { max: 6 }),
            ("KES 0.00000001", InvalidCost::TooManyDecimals { max: 6 }),
            ("KES 1000000000", InvalidCost::TooLarge),
            (&format!("KES {}", "9".repeat(40)), InvalidCost::Format),
        ];
        for (text, why) in cases {
            assert_eq!(SmsCost::parse_provider(text), Err(why), "{text:?}");
        }
        assert_eq!(SmsCost::new(Currency::parse("KES").unwrap(), -1), Err(InvalidCost::Negative));
        assert_eq!(SmsCost::new(Currency::parse("KES").unwrap(), SmsCost::MAX_MICROS + 1), Err(InvalidCost::TooLarge));
    }

    #[test]
    fn totals_add_up_exactly_per_currency() {
        let usd = SmsCost::new(Currency::parse("USD").unwrap(), 10_000).unwrap();
        let totals = CostTotal::add_up([(kes(800_000), Some(1)), (usd, None), (kes(1_600_000), Some(2))]);
        assert_eq!(totals.len(), 2);
        assert_eq!((totals[0].currency.code(), totals[0].amount_string().as_str()), ("KES", "2.40"));
        assert_eq!((totals[0].attempts, totals[0].parts), (2, 3));
        assert_eq!((totals[1].currency.code(), totals[1].amount_string().as_str()), ("USD", "0.01"));
        assert_eq!((totals[1].attempts, totals[1].parts), (1, 0));
        // Ten thousand attempts at 0.8000 are 8000.00, not 7999.999…
        let many = CostTotal::add_up((0..10_000).map(|_| (kes(800_000), Some(1))));
        assert_eq!(many[0].amount_string(), "8000.00");
        let huge = i128::from(i64::MAX) * 10;
        assert_eq!(micros_string(huge, Currency::parse("KES").unwrap()), "92233720368547.75807");
        assert_eq!(micros_string(-5, Currency::parse("KES").unwrap()), "-0.000005");
    }
}
