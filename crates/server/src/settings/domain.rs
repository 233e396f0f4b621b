//! `shop.*`, `customers.*` and `orders.*`: defaults the domain parses into its own values.

use anyhow::bail;
use orderdesk_domain::{Currency, Language, NumberPrefix, OrderNumber, PhoneRegion};
use serde::{Deserialize, Serialize};

/// The shop itself.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct ShopSettings {
    /// The shop's name as customers know it: `{shop}` in the SMS texts. 1 to 40 characters,
    /// no control characters.
    pub name: String,
    /// IANA time zone of every time shown to people: the dashboard and the SMS texts.
    pub time_zone: String,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self { name: "orderdesk".into(), time_zone: Self::DEFAULT_TIME_ZONE.into() }
    }
}

impl ShopSettings {
    /// The default `shop.time_zone`; an old `sms.time_zone` may replace it.
    pub const DEFAULT_TIME_ZONE: &'static str = "Africa/Nairobi";

    /// The longest name, in characters: room is left in a one-segment text for the rest.
    pub const MAX_NAME_CHARS: usize = 40;

    /// # Errors
    /// `shop.name` empty, longer than 40 characters or with control characters.
    pub fn validate(&self) -> anyhow::Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS || name.chars().any(char::is_control) {
            bail!(
                "invalid configuration: shop.name {:?} must be 1 to {} characters without control characters \
                 (it is {{shop}} in the SMS texts)",
                self.name,
                Self::MAX_NAME_CHARS
            );
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct CustomerSettings {
    /// ISO 3166 region assumed for phone numbers without a country code.
    pub default_phone_region: String,
    /// The language new customers are texted in when they name none: `en` or `sw`.
    pub default_language: String,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self { default_phone_region: "KE".into(), default_language: Language::default().as_str().into() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrderSettings {
    /// ISO 4217 currency for orders that name none.
    pub default_currency: String,
    /// The lowest number a new order gets (1 to 99999999). Applied at start-up by raising the
    /// number source when it is below; lowering it has no effect (numbers are never reused).
    pub first_number: u32,
    /// What comes before the number in an order's reference: 0 to 4 characters of `A-Z`,
    /// `0-9`, `-` (so a reference is at most 12 characters). Orders keep the reference they
    /// were created with.
    pub number_prefix: String,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            default_currency: "KES".into(),
            first_number: OrderNumber::DEFAULT_FIRST,
            number_prefix: NumberPrefix::default().as_str().to_owned(),
        }
    }
}

/// Settings derived from [`super::Settings`] that are already parsed into domain values.
#[derive(Debug, Clone)]
pub struct DomainDefaults {
    pub phone_region: PhoneRegion,
    pub language: Language,
    pub currency: Currency,
    pub first_number: OrderNumber,
    pub number_prefix: NumberPrefix,
}

impl super::Settings {
    /// `shop.time_zone`, or the old `sms.time_zone` when only that is set.
    ///
    /// # Errors
    /// Both are set to different zones, or the zone is not an IANA name.
    pub fn time_zone(&self) -> anyhow::Result<String> {
        let zone = match self.sms.time_zone.as_deref() {
            Some(old) if old != self.shop.time_zone && self.shop.time_zone != ShopSettings::DEFAULT_TIME_ZONE => {
                bail!(
                    "invalid configuration: shop.time_zone {:?} and its old name sms.time_zone {old:?} disagree; \
                     remove sms.time_zone",
                    self.shop.time_zone
                )
            }
            Some(old) => old,
            None => self.shop.time_zone.as_str(),
        };
        if zone.parse::<chrono_tz::Tz>().is_err() {
            bail!("invalid configuration: shop.time_zone {zone:?} is not an IANA time zone such as \"Africa/Nairobi\"");
        }
        Ok(zone.to_owned())
    }

    /// The warning to log at start-up when the old name `sms.time_zone` is set.
    pub fn renamed_settings_warning(&self) -> Option<&'static str> {
        self.sms.time_zone.as_ref().map(|_| "sms.time_zone is now shop.time_zone; rename it")
    }

    /// The language of customers created without one, and of texts an event has in no other.
    ///
    /// # Errors
    /// Not `en` or `sw`.
    pub fn default_language(&self) -> anyhow::Result<Language> {
        Ok(self.domain_defaults()?.language)
    }
}

impl DomainDefaults {
    /// # Errors
    /// `customers.default_phone_region` or `orders.default_currency` is not a known code,
    /// `customers.default_language` is not `en` or `sw`,
    /// `orders.first_number` is out of range, or `orders.number_prefix` is not 0-4 of `[A-Z0-9-]`.
    pub fn parse(customers: &CustomerSettings, orders: &OrderSettings) -> anyhow::Result<Self> {
        let phone_region = PhoneRegion::parse(&customers.default_phone_region).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: customers.default_phone_region {:?} {e}",
                customers.default_phone_region
            )
        })?;
        let language = Language::parse(&customers.default_language).map_err(|e| {
            anyhow::anyhow!("invalid configuration: customers.default_language {:?} {e}", customers.default_language)
        })?;
        let currency = Currency::parse(&orders.default_currency).map_err(|e| {
            anyhow::anyhow!("invalid configuration: orders.default_currency {:?} {e}", orders.default_currency)
        })?;
        let first_number = OrderNumber::new(i64::from(orders.first_number)).map_err(|e| {
            anyhow::anyhow!("invalid configuration: orders.first_number {} {e} (1 to 99999999)", orders.first_number)
        })?;
        let number_prefix = NumberPrefix::parse(&orders.number_prefix).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: orders.number_prefix {:?} {e} (0 to 4 characters of A-Z, 0-9 and -, so \
                 a reference fits 12 characters)",
                orders.number_prefix
            )
        })?;
        Ok(Self { phone_region, language, currency, first_number, number_prefix })
    }
}
