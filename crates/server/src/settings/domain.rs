//! `customers.*` and `orders.*`: defaults the domain parses into its own values.

use orderdesk_domain::{Currency, PhoneRegion};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct CustomerSettings {
    /// ISO 3166 region assumed for phone numbers without a country code.
    pub default_phone_region: String,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self { default_phone_region: "KE".into() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrderSettings {
    /// ISO 4217 currency for orders that name none.
    pub default_currency: String,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self { default_currency: "KES".into() }
    }
}

/// Settings derived from [`super::Settings`] that are already parsed into domain values.
#[derive(Debug, Clone, Copy)]
pub struct DomainDefaults {
    pub phone_region: PhoneRegion,
    pub currency: Currency,
}

impl DomainDefaults {
    /// # Errors
    /// `customers.default_phone_region` or `orders.default_currency` is not a known code.
    pub fn parse(customers: &CustomerSettings, orders: &OrderSettings) -> anyhow::Result<Self> {
        let phone_region = PhoneRegion::parse(&customers.default_phone_region).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: customers.default_phone_region {:?} {e}",
                customers.default_phone_region
            )
        })?;
        let currency = Currency::parse(&orders.default_currency).map_err(|e| {
            anyhow::anyhow!("invalid configuration: orders.default_currency {:?} {e}", orders.default_currency)
        })?;
        Ok(Self { phone_region, currency })
    }
}
